"""Estimated profiles from layer graphs: the model zoo that ships in ``data/profiles``.

:func:`estimate_profile` turns one layer graph into a :class:`~ppipe.profiles.store.ModelProfile`:
it chunks the graph with the exact pre-partitioner (balanced on the estimated
batch-1 per-layer latencies of the requested GPUs, minimum total cut size),
then estimates each chunk's latency for batch sizes 1..max_batch and MPS splits
1..mps_levels on every GPU, and the whole-model batch-1 runtime (also on the
SLO reference GPU, L4). :func:`build_zoo` does this for every graph in
``data/graphs`` and is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppipe import __version__
from ppipe.errors import InputError
from ppipe.jsonio import check_name
from ppipe.paths import SHIPPED_DATA
from ppipe.profiles.model import SLO_REFERENCE_GPU, ModelProfile
from ppipe.profiles.ownformat import PROFILE_SUFFIX, write_profile_file
from ppipe.zoo.estimator import Estimator, GraphFeatures
from ppipe.zoo.graph import ModelGraph, list_graphs, read_graph

ZOO_GRAPHS = SHIPPED_DATA / "graphs"
#: GPU types the shipped profiles cover.
ZOO_GPUS = ("V100", "T4", "L4", "P4", "A10", "A100", "L40S", "H100")
DEFAULT_CHUNKS = 10
DEFAULT_MAX_BATCH = 8
#: Largest batch size and chunk count estimated (tables are chunks x batches per GPU and split).
MAX_BATCH_LIMIT = 256
MAX_CHUNKS = 1000
#: Most MPS splits estimated per GPU (NVIDIA MPS: 48 clients per GPU).
MAX_MPS = 48


def _round(a: np.ndarray) -> np.ndarray:
    return np.round(a, 1)


@dataclass
class ZooEntry:
    model: str
    graph: Path
    profile: Path
    chunks: int
    tag: str
    runtime_us: dict[str, float]


def estimate_profile(graph: ModelGraph, estimator: Estimator, gpus: list[str], *,
                     chunks: int = DEFAULT_CHUNKS, max_batch: int = DEFAULT_MAX_BATCH,
                     mps_levels: dict[str, int] | None = None, name: str | None = None,
                     graph_label: str | None = None) -> tuple[ModelProfile, object]:
    """An estimated profile of ``graph`` on ``gpus``; also returns the chunking result."""
    from ppipe.partition.prepartition import partition_layers  # noqa: F401 (imported lazily: heavy)

    if not gpus:
        raise InputError("no GPU types given")
    if len(set(gpus)) != len(gpus):
        raise InputError(f"GPU types listed twice: {', '.join(gpus)}")
    if isinstance(chunks, bool) or not 1 <= int(chunks) <= MAX_CHUNKS:
        raise InputError(f"the chunk count must be at least 1 and at most {MAX_CHUNKS}, got {chunks}")
    if isinstance(max_batch, bool) or not 1 <= int(max_batch) <= MAX_BATCH_LIMIT:
        raise InputError(f"the maximum batch size must be at least 1 and at most {MAX_BATCH_LIMIT}, got {max_batch}")
    if name is not None:
        check_name(name, "model name", "--name", error=InputError)
    for g in gpus:
        estimator.gpu(g)  # unknown GPU -> one-line error before any work
    for g, level in (mps_levels or {}).items():
        if g not in gpus:
            raise InputError(f"MPS level given for {g}, which is not among the GPUs estimated ({', '.join(gpus)})")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_MPS:
            raise InputError(f"MPS level {g}:{level} must be a whole number between 1 and {MAX_MPS}")
    feat = GraphFeatures.of(graph)
    L = len(graph)
    K = min(int(chunks), L)
    layer_lat = {g: estimator.layer_latency(feat, g, 1, 1) for g in gpus}
    if L == 1:
        starts = [0]
        result = None
        cut = np.zeros(0)
    else:
        from ppipe.partition.prepartition import InfeasibleError

        cut_all = graph.cut_bytes()
        while True:  # fewer chunks when one layer is too heavy for K balanced chunks (as the artifact's 9)
            try:
                result = partition_layers(layer_lat, cut_all, K)
                break
            except InfeasibleError:
                if K == 1:
                    raise
                K -= 1
        starts = list(result.boundaries)
        cut = graph.chunk_cut_bytes(starts)
    batches = np.arange(1, int(max_batch) + 1)
    latency: dict[str, dict[int, np.ndarray]] = {}
    for g in gpus:
        spec, _ = estimator.gpu(g)
        levels = (mps_levels or {}).get(g, spec.mps_levels)
        latency[g] = {k: _round(estimator.chunk_latency(feat, g, k, batches, starts))
                      for k in range(1, max(1, int(levels)) + 1)}
    runtime_gpus = list(gpus) + ([SLO_REFERENCE_GPU] if SLO_REFERENCE_GPU not in gpus
                                 and SLO_REFERENCE_GPU in estimator.specs else [])
    runtime = {g: round(estimator.model_latency(feat, g, 1, 1), 1) for g in runtime_gpus}
    ends = starts[1:] + [L]
    label = graph_label or (Path(graph.path).name if graph.path else f"{graph.model} graph")
    prof = ModelProfile(
        name=name or graph.model, cut_bytes=np.asarray(cut, dtype=float), latency=latency,
        runtime_us=runtime, slo_gpu=SLO_REFERENCE_GPU,
        provenance=f"estimated by ppipe {__version__} from {label}",
        estimated=True, chunk_layers=[graph.names[s:e] for s, e in zip(starts, ends)],
    )
    prof.validate()
    return prof, result


def build_zoo(graphs: Path = ZOO_GRAPHS, out: Path | None = None, gpus: tuple[str, ...] = ZOO_GPUS,
              estimator: Estimator | None = None, models: list[str] | None = None,
              progress=None, force: bool = False) -> list[ZooEntry]:
    """(Re)write an estimated profile for every graph in ``graphs`` (deterministic) into ``out``.

    There is no default output folder (the shipped ``data/profiles`` is never written by
    default), and existing profile files are replaced only with ``force``: they are all
    checked before anything is written."""
    if out is None:
        raise InputError("build_zoo needs an output folder (the shipped profiles are never a default)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file, not a folder")
    est = estimator or Estimator.load()
    paths = list_graphs(graphs)
    if not paths:
        raise InputError(f"no layer graphs (*.graph.json[.gz]) in {graphs}")
    if models:
        by_name = {read_graph(p).model: p for p in paths}
        missing = [m for m in models if m not in by_name]
        if missing:
            raise InputError(f"no graph for {', '.join(missing)} in {graphs}")
        paths = [by_name[m] for m in models]
    graphs_read = [(p, read_graph(p)) for p in paths]  # every name checked before anything is written
    if not force:
        existing = [out / f"{g.model}{PROFILE_SUFFIX}" for _, g in graphs_read
                    if (out / f"{g.model}{PROFILE_SUFFIX}").exists()]
        if existing:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise InputError(f"{existing[0]}{more} already exist{'s' if len(existing) == 1 else ''}; "
                             "--force replaces them")
    entries = []
    for p, g in graphs_read:
        prof, res = estimate_profile(g, est, list(gpus), graph_label=p.name)
        dest = write_profile_file(prof, out / f"{prof.name}{PROFILE_SUFFIX}")
        entries.append(ZooEntry(model=prof.name, graph=p, profile=dest, chunks=prof.num_chunks,
                                tag=res.tag if res is not None else "-", runtime_us=prof.runtime_us))
        if progress:
            progress(entries[-1])
    return entries
