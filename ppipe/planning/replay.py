"""Rebuild the exact planning problem a reference plan records.

Models, GPU types, SLO, adjustments, est_xput, transmit times, MPS levels,
GPUs per server, bandwidth and P come from each entry's ``config``; GPU counts,
weights and the scheduler come from the artifact's file-name convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ppipe.errors import DataError, InputError
from ppipe.planfile.naming import parse_plan_file_name
from ppipe.planfile.plan import Plan, read_plan
from ppipe.planning.problem import ClusterSpec, ModelSpec, PlanningProblem
from ppipe.profiles.store import ProfileStore


@dataclass
class Replay:
    problem: PlanningProblem
    reference: Plan
    scheduler: str
    weights: list[float]

    @property
    def reference_objective(self) -> float:
        return self.reference.objective(self.weights)


def replay_problem(path: str | Path, store: ProfileStore, counts: list[int] | None = None,
                   weights: list[float] | None = None, max_parts: int | None = None) -> Replay:
    path = Path(path)
    ref = read_plan(path)
    name = parse_plan_file_name(path, ref.model_names)
    if name is None and (counts is None or weights is None):
        raise InputError(f"{path.name}: file name does not follow the artifact convention; "
                         "give --gpus counts and --weights")
    c0 = ref.models[0].config
    try:
        gpus = tuple(c0["gpu_name_arr"])
        cluster = ClusterSpec(
            gpus=gpus,
            limits=tuple(counts if counts is not None else name.counts),
            mps_levels=tuple(int(v) for v in c0["num_mps_levels"]),
            gpus_per_server=tuple(int(v) for v in c0["num_gpu_per_server_arr"]),
            bw_gbps=float(c0["bw_gbps"]),
        )
        w = list(weights if weights is not None else name.weights)
        if not w and len(ref.models) == 1:
            w = [1.0]  # single-model plans carry no weights in their names
        if not w:
            raise InputError(f"{path.name}: the file name gives no weights for {len(ref.models)} models; "
                             "give --weights")
        if len(w) != len(ref.models):
            raise InputError(f"{len(w)} weights for {len(ref.models)} models")
        models = []
        for mp, wi in zip(ref.models, w):
            cfg = mp.config
            prof = store.get(cfg["dnn_name"])
            trans = [float(v) for v in cfg["transmit_time_us_arr"]]
            if len(trans) != prof.num_chunks - 1:
                raise DataError(f"{path}: {cfg['dnn_name']} has {len(trans)} transmit times but its profile has "
                                f"{prof.num_chunks} chunks")
            models.append(ModelSpec(profile=prof, weight=float(wi), sla=float(cfg["sla"]),
                                    hist_adjustment=cfg["hist_adjustment"], est_xput=cfg.get("est_xput"),
                                    transmit_us=trans))
        problem = PlanningProblem(models=models, cluster=cluster,
                                  max_parts=int(max_parts or c0.get("max_num_parts", 2)),
                                  batch_build_factor=float(c0.get("batch_build_factor", 1.3)),
                                  meta={"replay": str(path)})
    except KeyError as exc:
        raise DataError(f"{path}: config lacks {exc}") from None
    return Replay(problem, ref, name.scheduler if name else "ppipe", w)


def sibling_np_plan(path: str | Path) -> Path | None:
    """The reference NP (``_bl``) plan of the same setting as a DART-r plan, if present."""
    path = Path(path)
    if path.name.endswith("_dart-r.json"):
        sib = path.with_name(path.name[: -len("_dart-r.json")] + "_bl.json")
        if sib.exists():
            return sib
    return None
