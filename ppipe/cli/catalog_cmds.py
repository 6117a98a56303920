"""``ppipe models``, ``ppipe gpus`` and ``ppipe data import``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.common import (
    DataOption,
    JsonOption,
    err_console,
    finite,
    open_store,
    out_console,
    output_dir,
    print_json,
)
from ppipe.errors import ExitCode, InputError

data_app = typer.Typer(help="Manage profile data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@app.command("models")
def models_cmd(data: Optional[Path] = DataOption, slo_multiplier: float = typer.Option(5.0, help="SLO = multiplier x batch-1 runtime on the SLO GPU."), as_json: bool = JsonOption) -> None:
    """List the models in the profile store with their chunks, GPUs, runtime and SLO."""
    finite(slo_multiplier, "--slo-multiplier")
    store = open_store(data)
    rows = []
    for name in store.model_names():
        p = store.get(name)
        rows.append({
            "model": name, "chunks": p.num_chunks,
            "gpus": {g: p.mps_splits(g) for g in p.gpus},
            "runtime_us": p.base_runtime_us, "slo_gpu": p.slo_gpu, "sla_us": p.sla_us(slo_multiplier),
            "estimated": p.estimated, "provenance": p.provenance, "source": p.source,
        })
    if as_json:
        print_json(rows)
        return
    if not rows:
        err_console.print("no models found; set PPIPE_ARTIFACT or pass --data (searched: " + store.describe() + ")")
        raise typer.Exit(ExitCode.FAILED)
    from rich.table import Table

    t = Table(title=f"{len(rows)} models", title_justify="left")
    for col in ("model", "chunks", "GPUs (MPS splits)", "runtime ms", "SLO ms", "provenance"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r["model"], str(r["chunks"]),
                  " ".join(f"{g}:{','.join(map(str, ks))}" for g, ks in r["gpus"].items()),
                  f"{r['runtime_us'] / 1000:.2f}", f"{r['sla_us'] / 1000:.1f}", r["provenance"])
    out_console.print(t)


@app.command("gpus")
def gpus_cmd(catalog: Optional[list[Path]] = typer.Option(None, "--catalog", help="Extra catalog file(s) to merge."), as_json: bool = JsonOption) -> None:
    """List the GPU catalog (data-sheet figures and serving defaults)."""
    from ppipe.catalog.gpus import GpuCatalog

    cat = GpuCatalog.load(catalog)
    rows = [g.to_json() for g in cat]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    t = Table(title="GPU catalog", title_justify="left")
    for col in ("name", "class", "per server", "MPS", "net Gb/s", "FP32 TF", "TF32 TF", "FP16 TF", "mem GB/s"):
        t.add_column(col)
    for g in cat:
        t.add_row(g.name, g.gpu_class, str(g.gpus_per_server), str(g.mps_levels), f"{g.network_gbps:g}",
                  f"{g.fp32_tflops:g}", f"{g.tf32_tflops:g}", f"{g.fp16_tflops:g}", f"{g.mem_bw_gbps:g}")
    out_console.print(t)


@data_app.command("import")
def data_import(src: Path = typer.Argument(..., help="Artifact data folder (the layout of SPEC section 1)."),
                to: Optional[Path] = typer.Option(None, "--to", help="Destination folder (default: user data dir/profiles)."),
                models: Optional[str] = typer.Option(None, "--models", help="Comma-separated subset of models."),
                force: bool = typer.Option(False, "--force", help="Replace profile files that already exist."),
                as_json: bool = JsonOption) -> None:
    """Convert artifact profiles into ppipe's own one-file-per-model format."""
    from rich.progress import Progress

    from ppipe.paths import user_data_dir
    from ppipe.profiles.ownformat import PROFILE_SUFFIX, write_profile_file
    from ppipe.profiles.store import ProfileStore
    from ppipe.textparse import parse_csv_list

    output_dir(to, "--to")
    store = ProfileStore.open(src)
    dest = to or (user_data_dir() / "profiles")
    names = [store.resolve(n) for n in parse_csv_list(models, "model")] if models is not None else store.model_names()
    profiles = [store.get(n) for n in names]  # all read (and checked) before anything is written
    if not force:
        existing = [Path(dest) / f"{p.name}{PROFILE_SUFFIX}" for p in profiles
                    if (Path(dest) / f"{p.name}{PROFILE_SUFFIX}").exists()]
        if existing:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise InputError(f"{existing[0]}{more} already exist{'s' if len(existing) == 1 else ''}; "
                             "--force replaces them")
    written = []
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("importing", total=len(names))
        for p in profiles:
            path = write_profile_file(p, Path(dest) / f"{p.name}{PROFILE_SUFFIX}")
            written.append({"model": p.name, "file": str(path)})
            progress.advance(task)
    if as_json:
        print_json({"destination": str(dest), "models": written})
    else:
        err_console.print(f"imported {len(written)} models into {dest}")
