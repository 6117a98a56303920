"""``ppipe profile ...``: estimated profiles from layer graphs (the model zoo)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.common import JsonOption, err_console, output_dir, output_file, parse_counts, print_json
from ppipe.errors import InputError
from ppipe.textparse import parse_csv_list

profile_app = typer.Typer(help="Estimate chunk-latency profiles from model layer graphs.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")

ForceOption = typer.Option(False, "--force", help="Replace existing profile files.")
CatalogOption = typer.Option(None, "--catalog", help="Extra GPU catalog file(s) with data-sheet figures (incl. sm_count).")
EstimatorOption = typer.Option(None, "--params", help="Estimator parameter file (default: data/estimator.json).")


def _gpus(value: Optional[str]) -> list[str]:
    from ppipe.zoo.build import ZOO_GPUS

    return parse_csv_list(value, "GPU") if value is not None else list(ZOO_GPUS)


def _summary(prof, result, dest) -> dict:
    return {
        "model": prof.name, "file": str(dest) if dest else None, "chunks": prof.num_chunks,
        "ladder_step": result.tag if result is not None else None,
        "cut_bytes": [float(b) for b in prof.cut_bytes],
        "runtime_us": prof.runtime_us, "sla_us": prof.sla_us(),
        "gpus": {g: prof.mps_splits(g) for g in prof.gpus},
        "provenance": prof.provenance, "estimated": True,
    }


@profile_app.command("estimate")
def estimate_cmd(
    graph: Path = typer.Option(..., "--graph", help="Layer graph file (*.graph.json[.gz], see `ppipe profile graph`)."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="Comma-separated GPU types (default: V100,T4,L4,P4,A10,A100,L40S,H100)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Profile file to write (default: the user profile folder, where `ppipe models` finds it)."),
    name: Optional[str] = typer.Option(None, "--name", help="Model name (default: the graph's)."),
    chunks: int = typer.Option(10, "--chunks", help="Chunks to cut the model into (fewer if a layer is too heavy)."),
    max_batch: int = typer.Option(8, "--max-batch", help="Largest batch size to estimate."),
    mps: Optional[str] = typer.Option(None, "--mps", help="MPS levels per GPU, e.g. T4:2,P4:1 (default: the catalog's)."),
    catalog: Optional[list[Path]] = CatalogOption,
    params: Optional[Path] = EstimatorOption,
    force: bool = ForceOption,
    as_json: bool = JsonOption,
) -> None:
    """Estimate a model's chunk latencies on GPU types from its layer graph and their data sheets."""
    from ppipe.paths import user_data_dir
    from ppipe.profiles.ownformat import PROFILE_SUFFIX, write_profile_file
    from ppipe.zoo.build import estimate_profile
    from ppipe.zoo.estimator import Estimator
    from ppipe.zoo.graph import read_graph

    gpu_list = _gpus(gpus)
    if len(set(gpu_list)) != len(gpu_list):
        raise InputError(f"--gpus {gpus}: a GPU type is listed twice")
    levels = parse_counts(mps, "MPS level", int, "--mps") if mps else None
    output_file(output, "--output")
    est = Estimator.load(params, catalog)
    g = read_graph(graph)
    prof, result = estimate_profile(g, est, gpu_list, chunks=chunks, max_batch=max_batch, mps_levels=levels,
                                    name=name, graph_label=Path(graph).name)
    dest = output or (user_data_dir() / "profiles" / f"{prof.name}{PROFILE_SUFFIX}")
    if dest.name.endswith(PROFILE_SUFFIX) and dest.name != f"{prof.name}{PROFILE_SUFFIX}":
        # a profile folder is read by file name: another name would break `ppipe models --data` on it
        raise InputError(f"{dest}: a profile of model {prof.name!r} must be named {prof.name}{PROFILE_SUFFIX} "
                         "(or give --name)")
    if dest.exists() and not force:
        raise InputError(f"{dest} already exists; --force replaces it")
    write_profile_file(prof, dest)
    summary = _summary(prof, result, dest)
    if as_json:
        print_json(summary)
        return
    rt = ", ".join(f"{gpu} {v / 1000:.2f} ms" for gpu, v in prof.runtime_us.items())
    err_console.print(f"wrote {dest}: {prof.name}, {prof.num_chunks} chunks on {', '.join(gpu_list)}"
                      f" (estimated); batch-1 runtime {rt}", markup=False, soft_wrap=True)


@profile_app.command("build-zoo")
def build_zoo_cmd(
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="Folder of layer graphs (default: data/graphs)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Destination folder (default: the user profile folder, where `ppipe models` finds them; never the shipped data/profiles unless named)."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="Comma-separated GPU types (default: the zoo's eight)."),
    models: Optional[str] = typer.Option(None, "--models", help="Only these models."),
    catalog: Optional[list[Path]] = CatalogOption,
    params: Optional[Path] = EstimatorOption,
    force: bool = ForceOption,
    as_json: bool = JsonOption,
) -> None:
    """Estimate profiles for every layer graph of a folder (deterministic); to regenerate the
    shipped ones: --out data/profiles --force."""
    from ppipe.paths import user_data_dir
    from ppipe.zoo.build import ZOO_GRAPHS, build_zoo
    from ppipe.zoo.estimator import Estimator

    output_dir(out, "--out")
    if graphs is not None and not graphs.is_dir():
        raise InputError(f"--graphs {graphs}: not a folder")
    gpu_list = _gpus(gpus)
    if len(set(gpu_list)) != len(gpu_list):
        raise InputError(f"--gpus {gpus}: a GPU type is listed twice")
    est = Estimator.load(params, catalog)
    entries = build_zoo(graphs or ZOO_GRAPHS, out or (user_data_dir() / "profiles"), tuple(gpu_list), est,
                        parse_csv_list(models, "model") if models is not None else None, force=force)
    rows = [{"model": e.model, "graph": str(e.graph), "profile": str(e.profile), "chunks": e.chunks,
             "ladder_step": e.tag, "runtime_us": e.runtime_us} for e in entries]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        err_console.print(f"{r['profile']}: {r['chunks']} chunks ({r['ladder_step']})", markup=False, soft_wrap=True)
    err_console.print(f"wrote {len(rows)} profiles", markup=False)


@profile_app.command("graph")
def graph_cmd(
    graph: Path = typer.Argument(..., help="Layer graph file."),
    layers: bool = typer.Option(False, "--layers", help="List every layer."),
    as_json: bool = JsonOption,
) -> None:
    """Summarise a layer graph (layers, FLOPs, parameters, cut sizes)."""
    from rich.table import Table

    from ppipe.cli.common import out_console
    from ppipe.zoo.graph import read_graph

    g = read_graph(graph)
    s = g.summary()
    if as_json:
        doc = dict(s)
        if layers:
            cuts = g.cut_bytes_after()
            doc["layers_detail"] = [{"name": ly.name, "op": ly.op, "kind": ly.kind, "flops": ly.flops,
                                     "param_bytes": ly.param_bytes, "out_bytes": ly.out_bytes,
                                     "cut_bytes_after": float(c)} for ly, c in zip(g.layers, cuts)]
        print_json(doc)
        return
    out_console.print(f"{s['model']} ({s['task'] or '?'}): {s['layers']} layers, {s['gflops']:.2f} GFLOP/sample,"
                      f" {s['params_mb']:.1f} M parameters, largest cut {s['max_cut_mb']:.2f} MB/sample; inputs {s['inputs']}",
                      markup=False, soft_wrap=True)
    if layers:
        t = Table(title_justify="left")
        for col in ("#", "layer", "kind", "MFLOP", "out KB", "cut after KB"):
            t.add_column(col)
        for i, (ly, c) in enumerate(zip(g.layers, g.cut_bytes_after())):
            t.add_row(str(i), ly.name, ly.kind, f"{ly.flops / 1e6:.1f}", f"{ly.out_bytes / 1e3:.1f}", f"{c / 1e3:.1f}")
        out_console.print(t)
