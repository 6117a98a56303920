"""``ppipe show`` and ``ppipe check``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.common import (
    DataOption,
    JsonOption,
    note,
    open_store,
    out_console,
    parse_counts,
    plan_mismatches,
    print_json,
    read_plan_checked,
    warn_plan_mismatches,
)
from ppipe.errors import ExitCode, InputError


def _plan_tree(plan):
    from rich.tree import Tree

    root = Tree(f"[bold]{plan.path.name if plan.path else 'plan'}[/]")
    for m in plan.models:
        node = root.add(f"[bold]{m.name}[/]  {m.xput:,.1f} req/s  SLO {m.sla / 1000:.1f} ms  "
                        f"GPUs {', '.join(f'{g}:{v:g}' for g, v in m.gpus_used().items()) or 'none'}")
        for i, pl in enumerate(m.pipelines):
            pn = node.add(f"pipeline {i}: {' -> '.join(pl.gpu_sequence)}  batch {pl.batch_size}  "
                          f"{pl.xput:,.1f} req/s  latency {pl.latency_us / 1000:.1f} ms")
            for q, p in enumerate(pl.partitions):
                pn.add(f"[{q}] chunks {p.start}-{p.end - 1}  {p.gpu} x{p.num_gpu:g}"
                       f"{f' (MPS 1/{p.k}, {p.instances} inst.)' if p.k > 1 else ''}  bs {p.bs}  "
                       f"infer {p.lat_infer / 1000:.2f} ms  send {p.lat_trans / 1000:.2f} ms  {p.xput:,.1f} req/s")
    return root


@app.command("show")
def show_cmd(plan_path: Path = typer.Argument(..., metavar="PLAN", help="Plan file (artifact JSON format)."),
             data: Optional[Path] = DataOption, as_json: bool = JsonOption) -> None:
    """Show a plan as a tree (model -> pipeline -> partition) and its GPU use per type.

    The plan is checked against the profiles at hand: a plan made with other profiles,
    or one that breaks an SLO or a GPU limit, gets a warning on stderr (``warnings`` in
    ``--json``)."""
    from ppipe.planfile.plan import summary_rows
    from ppipe.planfile.provenance import get_provenance, mixed_sources
    from ppipe.planning.record import plan_limits

    plan = read_plan_checked(plan_path)
    limits = plan_limits(plan, plan_path)
    used = plan.gpus_used()
    warnings = plan_mismatches(plan, plan_path, open_store(data))
    mixed = mixed_sources(get_provenance(plan))
    if as_json:
        print_json({"file": str(plan_path), "models": [{"name": m.name, "throughput": m.xput, "sla_us": m.sla,
                                                        "gpus": m.gpus_used(), "pipelines": len(m.pipelines)}
                                                       for m in plan.models],
                    "partitions": summary_rows(plan), "gpus_used": used, "gpu_limits": limits,
                    "mipgap": plan.mipgap, "runtime": plan.runtime, "made_with": get_provenance(plan),
                    "estimated_profiles": mixed, "warnings": warnings})
        return
    warn_plan_mismatches(warnings, plan_path)
    if mixed:
        note(f"this plan mixes measured and estimated profiles: {', '.join(mixed)} estimated")
    from rich.table import Table

    out_console.print(_plan_tree(plan))
    t = Table(title="GPU use", title_justify="left")
    for col in ("GPU", "used", "limit", "share"):
        t.add_column(col)
    for g, v in used.items():
        lim = (limits or {}).get(g)
        t.add_row(g, f"{v:g}", str(lim) if lim is not None else "?", f"{100 * v / lim:.0f}%" if lim else "")
    out_console.print(t)


def _check_limits(gpus: str) -> dict[str, int]:
    """``--gpus`` of check: known GPU types, each once, counts >= 0."""
    from ppipe.catalog.gpus import GpuCatalog

    limits = parse_counts(gpus, "GPU count", int, "--gpus")
    catalog = GpuCatalog.load()
    for g, n in limits.items():
        if g not in catalog:
            raise InputError(f"--gpus {gpus}: unknown GPU type {g!r} (known: {', '.join(catalog.names())})")
        if n < 0:
            raise InputError(f"--gpus {gpus}: a GPU count must be >= 0, got {g}:{n}")
    return limits


@app.command("check")
def check_cmd(plan_path: Path = typer.Argument(..., metavar="PLAN", help="Plan file to verify."),
              gpus: Optional[str] = typer.Option(None, "--gpus", help="GPU limits, e.g. L4:25,T4:75 (default: from the file name, else the plan's record)."),
              data: Optional[Path] = DataOption, as_json: bool = JsonOption) -> None:
    """Recompute every partition from the profiles; verify SLOs, GPU limits and throughput claims."""
    from ppipe.planning.check import check_plan
    from ppipe.planning.record import plan_limits

    limits = _check_limits(gpus) if gpus is not None else None
    plan = read_plan_checked(plan_path)
    store = open_store(data)
    if limits is None:
        limits = plan_limits(plan, plan_path)  # the file name's, else the plan's own record (as `show`)
        if limits is None:
            note("GPU limits unknown (give --gpus); limits not checked")
    rep = check_plan(plan, store, limits)
    if as_json:
        print_json(rep.to_json())
    else:
        if rep.ok:
            out_console.print(f"OK: {rep.checked_partitions} partitions match the profiles; SLOs"
                              f"{', GPU limits' if limits else ''} and throughput claims hold")
        else:
            out_console.print(f"{len(rep.violations)} violation(s):")
            for v in rep.violations:
                out_console.print(f"  - {v}", markup=False, soft_wrap=True)
    if not rep.ok:
        raise typer.Exit(ExitCode.FAILED)
