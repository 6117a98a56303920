"""``ppipe solve``: plan a group of models on a GPU mix, or replay a reference plan.

Exit codes (:class:`ppipe.errors.ExitCode`): OK with a plan, INFEASIBLE when
the problem has none, NO_SOLUTION when the solver stopped without one,
CANCELLED on Ctrl-C (the best plan so far is still saved), BAD_INPUT for
input errors. Schedulers and solver backends are the registries', read when
the command runs (a scheduler registered later is accepted and listed).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.common import (
    DataOption,
    JsonOption,
    LiveChoicesCommand,
    err_console,
    open_store,
    out_console,
    print_json,
    registry_choice,
)
from ppipe.errors import ExitCode, InputError
from ppipe.textparse import parse_csv_list, parse_kv


def _cluster_from_flags(gpus: Optional[str], cluster: Optional[str], mps: Optional[str],
                        gps: Optional[str], bw: Optional[float]):
    """Flags -> cluster: a preset (HC1..HC4) that ``--gpus``, ``--mps``, ``--gpus-per-server``
    and ``--bw`` override."""
    from ppipe.planning.request import GpuRow, build_cluster, preset_rows

    rows, bw_value = preset_rows(cluster) if cluster else ([], None)
    if gpus:
        counts = parse_kv(gpus, "GPU count", int)
        old = {r.gpu: r for r in rows}
        rows = [GpuRow(g, n, old[g].mps if g in old else None, old[g].per_server if g in old else None)
                for g, n in counts.items()]
    names = [r.gpu for r in rows]
    mps_map = parse_kv(mps, "MPS level", int) if mps else {}
    gps_map = parse_kv(gps, "GPUs per server", int) if gps else {}
    for g in list(mps_map) + list(gps_map):
        if g not in names:
            raise InputError(f"{g} is given MPS/server settings but is not in the GPU mix {','.join(names)}")
    rows = [GpuRow(r.gpu, r.count, mps_map.get(r.gpu, r.mps), gps_map.get(r.gpu, r.per_server)) for r in rows]
    return build_cluster(rows, bw if bw is not None else bw_value)


class _Live:
    """Rich live status on stderr fed by the solver's progress callback."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.text = "building model"
        self.lock = threading.Lock()

    def __call__(self, p) -> None:
        parts = []
        if p.message:
            parts.append(p.message)
        if p.incumbent is not None:
            parts.append(f"incumbent {p.incumbent:,.2f}")
        if p.bound is not None:
            parts.append(f"bound {p.bound:,.2f}")
        if p.gap is not None:
            parts.append(f"gap {100 * p.gap:.3f}%")
        with self.lock:
            self.text = " | ".join(parts) or self.text


def _run_solve(fn, live: _Live, cancel: threading.Event):
    """Run ``fn`` in a worker thread so Ctrl-C cancels the solve (keeping its best plan)."""
    box: dict = {}
    done = threading.Event()

    def work():
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the main thread
            box["error"] = exc
        finally:
            done.set()

    th = threading.Thread(target=work, name="ppipe-solve", daemon=True)
    t0 = time.perf_counter()
    th.start()
    interrupted = False
    status = err_console.status("solving", spinner="dots") if live.enabled else None
    if status is not None:
        status.start()
    try:
        # Wait on an Event, not Thread.join: an interrupted join can leave the
        # thread looking finished while it still runs.
        while not done.is_set():
            try:
                done.wait(0.1)
            except KeyboardInterrupt:
                interrupted = True
                cancel.set()
                continue
            if status is not None:
                with live.lock:
                    status.update(f"solving ({time.perf_counter() - t0:.1f} s) {live.text}")
    finally:
        if status is not None:
            status.stop()
    if "error" in box:
        raise box["error"]
    return box["result"], interrupted


@app.command("solve", cls=LiveChoicesCommand)
def solve_cmd(
    models: Optional[str] = typer.Option(None, "--models", "-m", help="Comma-separated model names (or unique prefixes)."),
    group: Optional[str] = typer.Option(None, "--group", help="A model group of the paper: G1..G6."),
    gpus: Optional[str] = typer.Option(None, "--gpus", "-g", help="GPU mix, e.g. L4:25,T4:75."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Cluster preset HC1..HC4 (flags override it)."),
    weights: Optional[str] = typer.Option(None, "--weights", "-w", help="Workload weights, e.g. 0.3,0.33,0.37, or maf19 / maf21."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", "-s", callback=registry_choice("schedulers"), help="Scheduler: {schedulers} (default ppipe; with --replay, the plan's own)."),
    max_parts: Optional[int] = typer.Option(None, "--max-parts", "-P", help="Maximum partitions per pipeline (default 2)."),
    mps: Optional[str] = typer.Option(None, "--mps", help="MPS levels per type, e.g. L4=4,T4=4."),
    gpus_per_server: Optional[str] = typer.Option(None, "--gpus-per-server", help="GPUs per server per type, e.g. L4=4,T4=2."),
    bw: Optional[float] = typer.Option(None, "--bw", help="Network bandwidth in Gbit/s."),
    slo_multiplier: float = typer.Option(5.0, "--slo-multiplier", help="SLO = multiplier x batch-1 runtime on L4."),
    slo_discount: float = typer.Option(0.4, "--slo-discount", help="Share of the SLO held back for queueing."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Solver time limit in seconds."),
    solver: str = typer.Option("highs", "--solver", callback=registry_choice("solvers"), help="MILP backend: {solvers}."),
    no_fallback: bool = typer.Option(False, "--no-fallback", help="With --solver gurobi: fail instead of falling back to HiGHS."),
    method: str = typer.Option("auto", "--method", help="PPipe MILP method: auto (default; loss-budget for one model with P >= 3), direct or loss-budget."),
    fill: bool = typer.Option(False, "--fill", help="Give GPUs the max-min optimum leaves idle to the models (second solve)."),
    replay: Optional[Path] = typer.Option(None, "--replay", help="Re-solve exactly the problem a reference plan records."),
    np_split: Optional[Path] = typer.Option(None, "--np-split", help="DART-r: take the GPU split from this NP plan."),
    own_np_split: bool = typer.Option(False, "--own-np-split", help="DART-r replay: solve NP instead of using the reference _bl plan."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Plan file to write (default: saved_plans/<descriptive name>)."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not write a plan file."),
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """Plan a group of models on a heterogeneous GPU mix (PPipe MILP or a baseline)."""
    from ppipe import schedulers
    from ppipe.paths import DEFAULT_PLAN_DIR
    from ppipe.planfile.naming import plan_file_name
    from ppipe.planfile.plan import read_plan, write_plan
    from ppipe.planning.milp import SolveOptions
    from ppipe.planning.problem import build_problem
    from ppipe.planning.request import default_weights, group_models, parse_weights
    from ppipe.planning.solve import solve

    store = open_store(data)
    np_plan = None
    reference_objective = None
    if time_limit is not None and not time_limit > 0:
        raise InputError("--time-limit must be > 0 seconds")
    if replay is not None:
        from ppipe.planning.replay import replay_problem, sibling_np_plan

        counts = list(parse_kv(gpus, "GPU count", int).values()) if gpus else None
        w = parse_weights(weights, len(read_plan(replay).models)) if weights else None
        rp = replay_problem(replay, store, counts=counts, weights=w, max_parts=max_parts)
        problem = rp.problem
        reference_objective = rp.reference_objective
        if scheduler is None:
            scheduler = rp.scheduler if rp.scheduler in schedulers.SCHEDULERS else "ppipe"
        if scheduler == "dart-r" and np_split is None and not own_np_split:
            sib = sibling_np_plan(replay)
            if sib is not None:
                np_split = sib
                err_console.print(f"DART-r: using the NP GPU split of the reference {sib.name} (--own-np-split to solve NP)")
        estimate = False
    else:
        names = group_models(group) if group else []
        if models:
            names = [store.resolve(m) for m in parse_csv_list(models, "model")]
        if not names:
            raise InputError("give --models A,B,C or --group G1..G6 (or --replay PLAN)")
        weights = default_weights(group, len(names), weights)
        spec = _cluster_from_flags(gpus, cluster, mps, gpus_per_server, bw)
        problem = build_problem([store.get(n) for n in names], spec, parse_weights(weights, len(names)),
                                max_parts=max_parts or 2, slo_multiplier=slo_multiplier, slo_discount=slo_discount)
        estimate = True
        scheduler = scheduler or "ppipe"
    if fill:
        problem = replace(problem, fill_leftover=True)
    if np_split is not None:
        np_plan = read_plan(np_split)
    live = _Live(enabled=err_console.is_terminal)
    cancel = threading.Event()
    opts = SolveOptions(time_limit=time_limit, progress=live, cancel=cancel)
    res, interrupted = _run_solve(
        lambda: solve(problem, scheduler, solver=solver, opts=opts, estimate=estimate, fallback=not no_fallback,
                      on_message=lambda m: err_console.print(f"note: {m}", markup=False), np_plan=np_plan,
                      method=method),
        live, cancel)
    plan_file = None
    if res.plan is not None and not no_save:
        c = problem.cluster
        path = output or DEFAULT_PLAN_DIR / plan_file_name(problem.names, problem.weights, list(c.gpus),
                                                           list(c.limits), c.bw_gbps, problem.slo_multiplier,
                                                           scheduler)
        plan_file = write_plan(res.plan_for_file(), path)
    if as_json:
        out = res.to_json(problem, str(plan_file) if plan_file else None)
        if replay is not None:
            out["reference_objective"] = reference_objective
            out["relative_difference"] = (abs(res.objective - reference_objective) / reference_objective
                                          if res.objective is not None and reference_objective else None)
        print_json(out)
    else:
        _print_human(res, problem, reference_objective, plan_file)
    if res.status == "cancelled":
        err_console.print("ppipe: solve cancelled" + (f"; best plan so far saved to {plan_file}" if plan_file else ""))
        raise typer.Exit(ExitCode.CANCELLED)
    if res.status == "infeasible":
        err_console.print(f"ppipe: infeasible: {res.message}", markup=False)
        raise typer.Exit(ExitCode.INFEASIBLE)
    if res.plan is None:
        err_console.print(f"ppipe: no plan found ({res.status}{': ' + res.message if res.message else ''})",
                          markup=False)
        raise typer.Exit(ExitCode.NO_SOLUTION)


def _print_human(res, problem, reference_objective, plan_file) -> None:
    from rich.table import Table

    gap = f"{100 * res.gap:.4f}%" if res.gap is not None else "n/a"
    head = (f"[bold]{res.scheduler}[/] {res.status}: objective {res.objective:,.2f} "
            f"(min throughput/weight), gap {gap}, {res.solve_seconds:.2f} s" if res.objective is not None
            else f"[bold]{res.scheduler}[/] {res.status}")
    out_console.print(head)
    if reference_objective is not None and res.objective is not None:
        rel = abs(res.objective - reference_objective) / reference_objective
        out_console.print(f"reference objective {reference_objective:,.2f} (relative difference {rel:.2e})")
    if res.plan is None:
        return
    t = Table(title_justify="left")
    t.add_column("model", no_wrap=True, overflow="ellipsis", max_width=34)
    for col in ("req/s", "weight", "req/s/w", "pipes", *problem.cluster.gpus):
        t.add_column(col, justify="right", no_wrap=True)
    for r in res.model_rows(problem):
        t.add_row(r["name"], f"{r['throughput']:,.1f}", f"{r['weight']:g}", f"{r['throughput'] / r['weight']:,.1f}",
                  str(r["pipelines"]), *[f"{r['gpus'].get(g, 0):g}" for g in problem.cluster.gpus])
    used = res.plan.gpus_used()
    t.add_row("[dim]GPUs used/limit[/]", "", "", "", "",
              *[f"{used.get(g, 0):g}/{n}" for g, n in zip(problem.cluster.gpus, problem.cluster.limits)])
    out_console.print(t)
    idle = {g: n - used.get(g, 0) for g, n in zip(problem.cluster.gpus, problem.cluster.limits) if n - used.get(g, 0) > 0}
    if idle and not problem.fill_leftover and len(problem.models) > 1:
        err_console.print(f"note: {', '.join(f'{v:g} {g}' for g, v in idle.items())} left idle by the max-min optimum;"
                          " --fill gives them to the models")
    if plan_file:
        err_console.print(f"plan saved to {plan_file}")
