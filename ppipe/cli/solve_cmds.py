"""``ppipe solve``: plan a group of models on a GPU mix, or replay a reference plan.

Exit codes (:class:`ppipe.errors.ExitCode`): OK with a plan, INFEASIBLE when
the problem has none, NO_SOLUTION when the solver stopped without one,
CANCELLED on Ctrl-C (the best plan so far is still saved), BAD_INPUT for
input errors. Schedulers and solver backends are the registries', read when
the command runs (a scheduler registered later is accepted and listed).
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.background import LiveStatus, run_in_background
from ppipe.cli.common import (
    DataOption,
    JsonOption,
    LiveChoicesCommand,
    err_console,
    finite,
    given,
    is_stdout,
    note,
    open_store,
    out_console,
    output_file,
    parse_counts,
    print_json,
    read_plan_checked,
    registry_choice,
    unfinished_plan_path,
    warn,
    write_error,
)
from ppipe.errors import ExitCode, InputError
from ppipe.textparse import parse_csv_list

#: Without --time-limit a solve stops after this many seconds (saying so); ``--time-limit none`` (or 0)
#: lets it run to optimality however long that takes.
DEFAULT_TIME_LIMIT_S = 600.0
#: Without a terminal (a log, CI), a solve reports where it is on stderr this often.


def _time_limit(value: Optional[str]) -> Optional[float]:
    """``--time-limit``: seconds > 0, or 0 / none / inf for no limit; default :data:`DEFAULT_TIME_LIMIT_S`."""
    if value is None:
        return DEFAULT_TIME_LIMIT_S
    text = value.strip().lower()
    if text in ("none", "no", "off", "inf", "infinity", "0", "0.0"):
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise InputError(f"--time-limit {value!r}: give seconds > 0, or none (or 0) for no limit") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise InputError(f"--time-limit {value!r}: give seconds > 0, or none (or 0) for no limit")
    return seconds


def _cluster_from_flags(gpus: Optional[str], cluster: Optional[str], mps: Optional[str],
                        gps: Optional[str], bw: Optional[float]):
    """Flags -> cluster: a preset (HC1..HC4) that ``--gpus``, ``--mps``, ``--gpus-per-server``
    and ``--bw`` override."""
    from ppipe.planning.request import GpuRow, build_cluster, preset_rows

    rows, bw_value = preset_rows(cluster) if cluster else ([], None)
    if gpus:
        counts = parse_counts(gpus, "GPU count", int, "--gpus")
        old = {r.gpu: r for r in rows}
        rows = [GpuRow(g, n, old[g].mps if g in old else None, old[g].per_server if g in old else None)
                for g, n in counts.items()]
    names = [r.gpu for r in rows]
    mps_map = parse_counts(mps, "MPS level", int, "--mps") if mps else {}
    gps_map = parse_counts(gps, "GPUs per server", int, "--gpus-per-server") if gps else {}
    for g in list(mps_map) + list(gps_map):
        if g not in names:
            raise InputError(f"{g} is given MPS/server settings but is not in the GPU mix {','.join(names)}")
    rows = [GpuRow(r.gpu, r.count, mps_map.get(r.gpu, r.mps), gps_map.get(r.gpu, r.per_server)) for r in rows]
    return build_cluster(rows, bw if bw is not None else bw_value)


def _check_mps(spec, profiles, mps: Optional[str]) -> None:
    """An MPS level the user asked for that no model's profile has is an error, not a silent cap."""
    if not mps:
        return
    for g, level in parse_counts(mps, "MPS level", int, "--mps").items():
        have = max((max(p.mps_splits(g), default=0) for p in profiles), default=0)
        if level > have:
            raise InputError(f"--mps {g}={level}: the profiles have MPS splits up to {have} on {g}"
                             f" ({', '.join(p.name for p in profiles)})")


def _note_mixed_sources(profiles) -> None:
    """Measured and estimated profiles in one plan: say which are which (stderr)."""
    est = [p for p in profiles if p.estimated]
    if est and len(est) < len(profiles):
        measured = [p.name for p in profiles if not p.estimated]
        where = sorted({str(Path(p.source).parent) if p.source.endswith(".json") else p.source
                        for p in est if p.source})
        note(f"mixing profile sources: {', '.join(p.name for p in est)} estimated"
             f"{' (' + ', '.join(where) + ')' if where else ''}, {', '.join(measured)} measured; "
             "pass --data DIR to plan from one source only")


def _check_flags(ctx, *, replay, scheduler, np_split, own_np_split, output, no_save, method, no_fallback,
                 solver, models, group) -> None:
    """Flags that do nothing together are an error (or, when harmless, a warning)."""
    if models and group:
        raise InputError("give --models or --group, not both")
    if no_save and output is not None:
        raise InputError("--no-save and --output contradict each other: drop one")
    if replay is not None:
        ignored = [f for name, f in (("models", "--models"), ("group", "--group"), ("cluster", "--cluster"),
                                     ("mps", "--mps"), ("gpus_per_server", "--gpus-per-server"), ("bw", "--bw"),
                                     ("slo_multiplier", "--slo-multiplier"), ("slo_discount", "--slo-discount"))
                   if given(ctx, name)]
        if ignored:
            raise InputError(f"--replay takes the problem from the plan; {', '.join(ignored)} would be ignored "
                             "(only --gpus counts, --weights and --max-parts change it)")
    if np_split is not None and replay is None and (scheduler or "ppipe") != "dart-r":
        raise InputError(f"--np-split applies only to --scheduler dart-r (the scheduler here is {scheduler or 'ppipe'})")
    if own_np_split and (replay is None or scheduler not in (None, "dart-r")):
        raise InputError("--own-np-split applies only to a DART-r --replay")
    if given(ctx, "method") and scheduler not in (None, "ppipe"):
        warn(f"--method {method} applies only to the ppipe scheduler; ignored for {scheduler}")
    if no_fallback and solver != "gurobi":
        warn(f"--no-fallback applies only with --solver gurobi; ignored for {solver}")


@app.command("solve", cls=LiveChoicesCommand)
def solve_cmd(
    ctx: typer.Context,
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
    time_limit: Optional[str] = typer.Option(None, "--time-limit", help=f"Time limit of the whole solve in seconds (default {DEFAULT_TIME_LIMIT_S:g}; none or 0: no limit)."),
    solver: str = typer.Option("highs", "--solver", callback=registry_choice("solvers"), help="MILP backend: {solvers}."),
    no_fallback: bool = typer.Option(False, "--no-fallback", help="With --solver gurobi: fail instead of falling back to HiGHS."),
    method: str = typer.Option("auto", "--method", help="PPipe MILP method: auto (default; loss-budget for one model with P >= 3), direct or loss-budget."),
    fill: bool = typer.Option(False, "--fill", help="Give GPUs the max-min optimum leaves idle to the models (second solve)."),
    replay: Optional[Path] = typer.Option(None, "--replay", help="Re-solve exactly the problem a reference plan records."),
    np_split: Optional[Path] = typer.Option(None, "--np-split", help="DART-r: take the GPU split from this NP plan."),
    own_np_split: bool = typer.Option(False, "--own-np-split", help="DART-r replay: solve NP instead of using the reference _bl plan."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Plan file to write (default: saved_plans/<descriptive name>)."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not write a plan file."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Say where the time went (configurations enumerated and kept, MILP size, restarts) on stderr."),
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """Plan a group of models on a heterogeneous GPU mix (PPipe MILP or a baseline)."""
    from ppipe import schedulers
    from ppipe.paths import DEFAULT_PLAN_DIR
    from ppipe.planfile.naming import plan_file_name, settings_items
    from ppipe.planfile.plan import write_plan
    from ppipe.planning.milp import SolveOptions
    from ppipe.planning.problem import build_problem, check_max_parts
    from ppipe.planning.record import stamp_plan
    from ppipe.planning.request import default_weights, group_models, parse_weights
    from ppipe.planning.solve import solve

    _check_flags(ctx, replay=replay, scheduler=scheduler, np_split=np_split, own_np_split=own_np_split,
                 output=output, no_save=no_save, method=method, no_fallback=no_fallback, solver=solver,
                 models=models, group=group)
    if as_json and is_stdout(output):
        raise InputError("--json and -o - both write to standard output: drop one")
    limit = _time_limit(time_limit)
    if max_parts is not None and max_parts < 1:
        raise InputError(f"--max-parts must be at least 1, got {max_parts}")
    finite(bw, "--bw", unit=" Gbit/s")
    finite(slo_multiplier, "--slo-multiplier")
    finite(slo_discount, "--slo-discount", low=0.0, low_open=False, high=1.0, high_open=True)
    output_file(output, "--output")
    store = open_store(data)
    np_plan = None
    reference_objective = None
    if replay is not None:
        from ppipe.planning.replay import replay_problem, sibling_np_plan

        ref = read_plan_checked(replay)
        counts = None
        if gpus:
            given_counts = parse_counts(gpus, "GPU count", int, "--gpus")
            types = list(ref.models[0].config.get("gpu_name_arr") or [])
            if types and list(given_counts) != types:
                raise InputError(f"--gpus {gpus}: the plan's GPU types are {','.join(types)} (give a count for each,"
                                 " in that order)")
            counts = list(given_counts.values())
        w = parse_weights(weights, len(ref.models)) if weights else None
        rp = replay_problem(replay, store, counts=counts, weights=w, max_parts=max_parts)
        problem = rp.problem
        reference_objective = rp.reference_objective
        if scheduler is None:
            scheduler = rp.scheduler if rp.scheduler in schedulers.SCHEDULERS else "ppipe"
        if scheduler == "dart-r" and np_split is None and not own_np_split:
            sib = sibling_np_plan(replay)
            if sib is not None:
                np_split = sib
                note(f"DART-r: using the NP GPU split of the reference {sib.name} (--own-np-split to solve NP)")
        estimate = False
    else:
        names = group_models(group) if group else []
        if models:
            names = [store.resolve(m) for m in parse_csv_list(models, "model")]
        if not names:
            raise InputError("give --models A,B,C or --group G1..G6 (or --replay PLAN)")
        weights = default_weights(group, len(names), weights)
        spec = _cluster_from_flags(gpus, cluster, mps, gpus_per_server, bw)
        profiles = [store.get(n) for n in names]
        _check_mps(spec, profiles, mps)
        check_max_parts(max_parts, profiles)
        problem = build_problem(profiles, spec, parse_weights(weights, len(names)),
                                max_parts=max_parts or 2, slo_multiplier=slo_multiplier, slo_discount=slo_discount)
        _note_mixed_sources(profiles)
        estimate = True
        scheduler = scheduler or "ppipe"
    if np_split is not None and scheduler != "dart-r":
        raise InputError(f"--np-split applies only to --scheduler dart-r (the scheduler here is {scheduler})")
    if fill:
        problem = replace(problem, fill_leftover=True)
    if np_split is not None:
        np_plan = read_plan_checked(np_split, "NP plan")
    live = LiveStatus("building model")
    cancel = threading.Event()
    opts = SolveOptions(time_limit=limit, progress=live, cancel=cancel)
    res, interrupted = run_in_background(
        lambda: solve(problem, scheduler, solver=solver, opts=opts, estimate=estimate, fallback=not no_fallback,
                      on_message=lambda m: err_console.print(f"note: {m}", markup=False), np_plan=np_plan,
                      method=method),
        live, cancel)
    plan_file = None
    save_error = None
    kept_note = None
    if res.plan is not None and not no_save:
        c = problem.cluster
        items = settings_items(max_parts=max_parts, slo_discount=None if replay is not None else slo_discount,
                               mps=parse_counts(mps, "MPS level", int, "--mps") if mps and replay is None else None,
                               fill=fill, method=method if scheduler == "ppipe" else None)
        path = output or DEFAULT_PLAN_DIR / plan_file_name(problem.names, problem.weights, list(c.gpus),
                                                           list(c.limits), c.bw_gbps, problem.slo_multiplier,
                                                           scheduler, items)
        path, kept_note = unfinished_plan_path(path, res.status, res.gap)
        plan = res.plan_for_file()
        stamp_plan(plan, problem, scheduler, store, method=method if scheduler == "ppipe" else None,
                   status=str(res.status), gap=res.gap)
        try:
            plan_file = write_plan(plan, path)
        except OSError as exc:  # full disk, read-only folder, no permission: the result is still shown
            save_error = write_error(path, exc)
    if res.status == "infeasible":
        from ppipe.planning.check import explain_infeasible

        why = explain_infeasible(problem)
        if why:
            res = replace(res, message=why)
    if as_json:
        out = res.to_json(problem, str(plan_file) if plan_file else None)
        # where each model's profile came from: measured and estimated ones can mix (see the note)
        out["profiles"] = [{"model": m.name, "estimated": bool(m.profile.estimated), "source": m.profile.source,
                            "provenance": m.profile.provenance} for m in problem.models]
        if replay is not None:
            out["reference_objective"] = reference_objective
            out["relative_difference"] = (abs(res.objective - reference_objective) / reference_objective
                                          if res.objective is not None and reference_objective else None)
        print_json(out)
    else:
        # with -o - the plan is the data on stdout, so the summary goes to stderr
        _print_human(res, problem, reference_objective, plan_file, err_console if is_stdout(output) else out_console)
    if verbose:
        for line in time_report(res, problem.names):
            err_console.print(line, markup=False, soft_wrap=True)
    if save_error is not None:
        err_console.print(f"ppipe: error: {save_error}; the plan was not saved", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.BAD_INPUT)
    if res.status == "time_limit" and time_limit is None and limit is not None:
        note(f"stopped at the default time limit of {limit:g} s"
             f"{' with a plan of gap ' + format(100 * res.gap, '.3f') + '%' if res.gap is not None else ''}; "
             "--time-limit SECONDS to change it, --time-limit none for no limit")
    if kept_note and plan_file is not None:
        note(kept_note)
    if res.status == "cancelled":
        err_console.print("ppipe: solve cancelled" + (f"; best plan so far saved to {plan_file}" if plan_file else ""),
                          markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.CANCELLED)
    if res.status == "infeasible":
        err_console.print(f"ppipe: infeasible: {res.message}", markup=False)
        raise typer.Exit(ExitCode.INFEASIBLE)
    if res.plan is None:
        err_console.print(f"ppipe: no plan found ({res.status}{': ' + res.message if res.message else ''})",
                          markup=False)
        raise typer.Exit(ExitCode.NO_SOLUTION)


def time_report(res, names: list[str]) -> list[str]:
    """Where a solve's time went, from its ``stats`` (what is not recorded is left out)."""
    st = res.stats or {}
    out = [f"where the time went ({res.solve_seconds:.2f} s in all, {res.scheduler or '?'}):"]
    enum = st.get("configs_enumerated")
    kept = st.get("configs")
    if isinstance(enum, list) and isinstance(kept, list) and len(enum) == len(names) == len(kept):
        per = "; ".join(f"{n} {e:,} -> {k:,}" for n, e, k in zip(names, enum, kept))
        secs = st.get("enumerate_seconds")
        out.append(f"  configurations enumerated -> kept: {per}"
                   + (f" ({secs:.2f} s)" if isinstance(secs, (int, float)) else ""))
    if "vars" in st:
        size = (f"{st['vars']:,} variables ({st.get('integer', 0):,} integer), {st.get('rows', 0):,} rows"
                + (f", {st['nodes']:,} nodes" if isinstance(st.get("nodes"), int) else ""))
        timing = ", ".join(f"{what} {st[key]:.2f} s" for what, key in (("built in", "build_seconds"),
                                                                      ("solved in", "solver_seconds"))
                           if isinstance(st.get(key), (int, float)))
        out.append(f"  MILP ({st.get('method', 'direct')}): {size}" + (f"; {timing}" if timing else ""))
    pool = st.get("pool")
    priced = pool.get("priced") if isinstance(pool, dict) else None
    searched = isinstance(priced, dict) and bool(priced.get("proved"))  # the proof is the search's
    if isinstance(pool, dict) and isinstance(pool.get("bound"), (int, float)):
        line = (f"  pool relaxation (whole GPUs per pool, beside the MILP): bound {pool['bound']:,.2f} "
                f"in {pool.get('relaxation_seconds', 0):.2f} s")
        if isinstance(pool.get("completion"), (int, float)):
            line += f"; each model on its pools: {pool['completion']:,.2f}"
        line += (" (proves the optimum)" if pool.get("proved") and not searched else
                 f" ({'time limit' if pool.get('status') == 'time_limit' else 'bounds only'})")
        out.append(line)
    elif isinstance(pool, dict) and pool.get("error"):
        out.append(f"  pool relaxation failed: {pool['error']}")
    if isinstance(priced, dict) and isinstance(priced.get("bound"), (int, float)):
        line = (f"  with each model's rounding priced at {priced.get('level', 0):,.2f}: bound "
                f"{priced['bound']:,.2f} in {priced.get('seconds', 0):.2f} s")
        if isinstance(priced.get("plan"), (int, float)):
            line += (f"; {priced.get('rounds', 0)} rounds, {priced.get('cuts', 0)} cuts, plan {priced['plan']:,.2f}"
                     + (" (proves the optimum)" if priced.get("proved") else ""))
        out.append(line)
    elif isinstance(priced, dict) and priced.get("error"):
        out.append(f"  pricing each model's rounding failed: {priced['error']}")
    seed = st.get("seed")
    if isinstance(seed, dict):
        out.append(f"  first plan over {'+'.join(map(str, seed.get('configs', [])))} configurations: "
                   f"{seed.get('objective', 0):,.2f} in {seed.get('seconds', 0):.2f} s ({seed.get('status', '?')})")
    r = st.get("restart")
    if isinstance(r, dict):
        before = r.get("configs_before")
        rounds = st.get("restarts")
        line = ("  priced restart" + (f" (round {rounds})" if isinstance(rounds, int) and rounds > 1 else "")
                + f" after {r.get('after_seconds', 0):.2f} s at {r.get('incumbent', 0):,.2f}")
        if r.get("fluid_bound") is not None:
            line += f" (fluid bound {r['fluid_bound']:,.2f})"
        if isinstance(before, list) and isinstance(kept, list):
            line += f": configurations {'+'.join(map(str, before))} -> {'+'.join(map(str, kept))}"
        if isinstance(r.get("seconds"), (int, float)):
            line += f", {r['seconds']:.2f} s"
        if isinstance(r.get("cost_seconds"), (int, float)):
            line += f" (pricing each model's rounding {r['cost_seconds']:.2f} s)"
        out.append(line)
    rounds = st.get("rounds")
    if isinstance(rounds, list) and rounds:
        out.append(f"  loss-budget search: {len(rounds)} round(s), last budget {rounds[-1].get('budget', 0):,.3g}, "
                   f"{st.get('items', 0):,} items, fluid bound {st.get('fluid_bound', 0):,.2f}")
    if len(out) == 1:  # stopped before any phase finished (its message says where), or a baseline
        message = getattr(res, "message", None)
        out.append(f"  ({message})" if message else "  (no breakdown recorded for this scheduler)")
    return out


def _model_tables(header: list[str], rows: list[list[str]], total: list[str], width: int, split: int) -> list:
    """The per-model result table for a terminal ``width`` columns wide: the model names are
    shortened (ellipsis) so that the figures fit beside them; where even then the names would
    be cut below 16 characters (many GPU types), the columns from ``split`` on (the GPU types)
    go to a second table. Print each with :func:`ppipe.cli.tables.print_fitted`, which splits a
    table that is still too wide, so no figure is ever cut."""
    from rich import box
    from rich.table import Table

    from ppipe.cli.tables import frame, span

    longest = max(len(header[0]), len(total[0]), *(len(r[0]) for r in rows))
    cost = frame(Table(box=box.SIMPLE_HEAD, pad_edge=False))

    def room(cols: list[int]) -> int:
        """Columns left for the names beside ``cols``."""
        figures = [max(len(header[i]), *(len(r[i]) for r in [*rows, total])) for i in cols]
        return width - span([0, *figures], cost)

    def shortened(name: str, n: int) -> str:
        return name if len(name) <= n else name[: n - 1] + "…"

    def table(cols: list[int]) -> Table:
        n = max(8, min(longest, 34, room(cols)))
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        t.add_column(header[0], no_wrap=True)
        for i in cols:
            t.add_column(header[i], justify="right", no_wrap=True)
        for r in rows:
            t.add_row(shortened(r[0], n), *(r[i] for i in cols))
        if any(total[i] for i in cols):
            t.add_row(f"[dim]{total[0]}[/]", *(total[i] for i in cols))
        return t

    every = list(range(1, len(header)))
    if room(every) >= min(16, max(len(r[0]) for r in rows)) or split >= len(header):
        return [table(every)]
    return [table(list(range(1, split))), table(list(range(split, len(header))))]


def _print_human(res, problem, reference_objective, plan_file, console=None) -> None:
    from rich.text import Text

    from ppipe.cli.tables import print_fitted

    console = console or out_console

    gap = f"{100 * res.gap:.4f}%" if res.gap is not None else "n/a"
    head = f" {res.status}"
    if res.objective is not None:
        gloss = " (min throughput/weight)"
        body, tail = f": objective {res.objective:,.2f}", f", gap {gap}, {res.solve_seconds:.2f} s"
        if len(res.scheduler + head + body + gloss + tail) > console.width:
            gloss = ""  # on 80 columns the line would wrap ("25.82" / "s"): the gloss gives way
        head += body + gloss + tail
    console.print(Text.assemble((res.scheduler, "bold"), head))
    if reference_objective is not None and res.objective is not None:
        rel = abs(res.objective - reference_objective) / reference_objective
        console.print(f"reference objective {reference_objective:,.2f} (relative difference {rel:.2e})")
    if res.plan is None:
        return
    used = res.plan.gpus_used()
    rows = [[r["name"], f"{r['throughput']:,.1f}", f"{r['weight']:g}", f"{r['throughput'] / r['weight']:,.1f}",
             str(r["pipelines"]), *[f"{r['gpus'].get(g, 0):g}" for g in problem.cluster.gpus]]
            for r in res.model_rows(problem)]
    total = ["GPUs used", "", "", "", "",
             *[f"{used.get(g, 0):g}/{n}" for g, n in zip(problem.cluster.gpus, problem.cluster.limits)]]
    for table in _model_tables(["model", "req/s", "weight", "req/s/w", "pipes", *problem.cluster.gpus], rows, total,
                               console.width, split=5):
        print_fitted(console, table)
    idle = {g: n - used.get(g, 0) for g, n in zip(problem.cluster.gpus, problem.cluster.limits) if n - used.get(g, 0) > 0}
    if idle and not problem.fill_leftover and len(problem.models) > 1:
        err_console.print(f"note: {', '.join(f'{v:g} {g}' for g, v in idle.items())} left idle by the max-min optimum;"
                          " --fill gives them to the models")
    if plan_file and not is_stdout(plan_file):
        err_console.print(f"plan saved to {plan_file}")
