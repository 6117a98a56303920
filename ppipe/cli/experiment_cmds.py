"""``ppipe experiment main|ablation`` and ``ppipe figures``: the paper's evaluation, headless.

The work is done by :mod:`ppipe.experiments` (no UI imports); this module adds
the rich progress bar, the rich tables and the plotext charts (plotext and the
optional matplotlib are imported only when drawing).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.common import (
    DataOption,
    JsonOption,
    LiveChoicesCommand,
    err_console,
    out_console,
    print_json,
    registry_choice,
)
from ppipe.errors import ExitCode, InputError
from ppipe.textparse import parse_csv_list

experiment_app = typer.Typer(
    name="experiment", no_args_is_help=True,
    help="Reproduce the paper's evaluation: solve every setting, sweep load factors, write a results table.")
app.add_typer(experiment_app, name="experiment")

WorkersOption = typer.Option(1, "--workers", "-j", help="Settings run in parallel processes.")
SeedsOption = typer.Option(1, "--seeds", help="Seeds per load factor (counts pooled).")
DurationOption = typer.Option(30.0, "--duration", help="Seconds of arrivals per simulation.")
LoadFactorsOption = typer.Option(None, "--load-factors", help="Load factors to run, e.g. 100,90,80 (default 100,95,...,5).")
SolverOption = typer.Option("highs", "--solver", callback=registry_choice("solvers"), help="MILP backend: {solvers}.")
FreshOption = typer.Option(False, "--fresh", help="Discard the folder's earlier results and plans first.")
AccountingOption = typer.Option("true", "--accounting", help="Late requests in the summary: true (all) or reference (the artifact parser's).")
ExecutorOption = typer.Option("local", "--executor", help="Where settings run: local (a process pool, default) or ray (pip install 'ppipe[ray]').")
AddressOption = typer.Option(None, "--address", help="ray: the cluster to connect to (default $RAY_ADDRESS, else a Ray instance started here with --workers CPUs).")
ShardOption = typer.Option(None, "--shard", help="Run only shard I of N (I/N, e.g. 0/4): the settings sorted by id, every N-th; combine the folders with `ppipe experiment merge`.")


def _grid(value: Optional[str]) -> Optional[list[int]]:
    if value is None:
        return None
    out = []
    for item in parse_csv_list(value, "load factor"):
        try:
            out.append(int(item))
        except ValueError:
            raise InputError(f"malformed load factor {item!r}: expected an integer percentage") from None
    return out


def _check(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise InputError(f"unknown {what} {value!r} (choose {' or '.join(choices)})")
    return value


def _run(settings, spec, out: Path, workers: int, fresh: bool, as_json: bool, accounting: str,
         executor: str = "local", address: Optional[str] = None, shard: Optional[str] = None) -> None:
    from ppipe.experiments.executors import get as get_executor
    from ppipe.experiments.settings import parse_shard
    from ppipe.experiments.settings import shard as shard_of

    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    ex = get_executor(executor)
    ex.runner()  # not installed: one line now
    if address is not None and "address" not in ex.options:
        raise InputError(f"--address applies to --executor ray, not {executor}")
    options = {"address": address} if address is not None else {}
    sh = parse_shard(shard)
    total_all = len(settings)
    if sh is not None:
        settings = shard_of(settings, *sh)
        err_console.print(f"shard {sh[0]}/{sh[1]}: {len(settings)} of {total_all} settings", markup=False)
        if not settings:
            raise InputError(f"shard {shard} of {total_all} settings is empty")
    try:
        _run_inner(settings, spec, out, workers, fresh, as_json, accounting, executor, options)
    except KeyboardInterrupt:
        err_console.print("ppipe: interrupted; re-run to resume", markup=False)
        raise typer.Exit(ExitCode.CANCELLED) from None


def _progress_line(state: dict) -> str:
    s = f"{state['done']}/{state['total']} done, {state['running']} running, {state['failed']} failed"
    if state.get("cpus"):
        s += f", {state['cpus']} CPUs ({state['executor']})"
    return s


def _run_inner(settings, spec, out: Path, workers: int, fresh: bool, as_json: bool, accounting: str,
               executor: str, options: dict) -> None:
    from ppipe.experiments.figures import load_results, summarize
    from ppipe.experiments.runner import run_experiment

    err_console.print(f"{spec.set}: {len(settings)} settings, arrivals: {spec.arrivals_label()}; "
                      f"load factor 100 = {'the PPipe plan throughput' if spec.load_base == 'plan' else 'weight x PPipe objective'}; "
                      f"{len(spec.grid)} load factors x {len(spec.seeds)} seed(s) x {spec.duration_s:g} s; "
                      f"results in {out}", markup=False, soft_wrap=True)
    t0 = time.perf_counter()
    state = {"done": 0, "total": len(settings), "running": 0, "failed": 0, "cpus": None, "executor": executor}
    run_kw = dict(workers=workers, fresh=fresh, executor=executor, executor_options=options)

    def track(kind: str, info: dict) -> None:
        if kind == "start":
            state["done"] = info["done"]
        elif kind == "status":
            state["running"] = info.get("running", state["running"])
            state["cpus"] = info.get("cpus") or state["cpus"]
        else:
            state["done"] += 1
            state["failed"] += 0 if info["ok"] else 1
            state["running"] = max(0, min(state["running"], state["total"] - state["done"]))

    if err_console.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn("settings"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[state]}"),
                      TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                      TextColumn("{task.description}"), console=err_console, transient=False) as prog:
            task = prog.add_task("", total=len(settings), state="")

            def on_event(kind: str, info: dict) -> None:
                track(kind, info)
                if kind == "start":
                    prog.update(task, completed=info["done"])
                    if info["done"]:
                        prog.console.print(f"resuming: {info['done']} of {info['total']} settings already done")
                elif kind == "setting":
                    prog.update(task, advance=1, description=info["setting"] + ("" if info["ok"] else " FAILED"))
                    if not info["ok"]:
                        prog.console.print(f"{info['setting']}: {info['message']}", markup=False)
                label = f"{state['running']} running, {state['failed']} failed" + (
                    f", {state['cpus']} CPUs" if executor == "ray" and state["cpus"] else "")
                prog.update(task, state=label)

            rep = run_experiment(settings, spec, out, on_event=on_event, **run_kw)
    else:
        def on_event(kind: str, info: dict) -> None:
            track(kind, info)
            if kind == "start":
                if info["done"]:
                    err_console.print(f"resuming: {info['done']} of {info['total']} settings already done")
                return
            if kind != "setting":
                return
            el = time.perf_counter() - t0
            new_done = state["done"] - (len(settings) - len(pending_ids))
            eta = el / new_done * (state["total"] - state["done"]) if new_done > 0 else None
            status = "ok" if info["ok"] else f"FAILED: {info['message']}"
            err_console.print(f"[{_progress_line(state)}] {info['setting']} {status} "
                              f"({info.get('wall_seconds', 0):.1f} s; elapsed {el:.0f} s"
                              + (f", ETA {eta:.0f} s)" if eta is not None else ")"), markup=False, soft_wrap=True)

        from ppipe.experiments.outdir import OutDir

        od = OutDir(out)
        pending_ids = [s.id for s in settings if fresh or not od.done(s)]
        rep = run_experiment(settings, spec, out, on_event=on_event, **run_kw)
    wall = time.perf_counter() - t0
    df = load_results(out)
    selected = {s.id for s in settings}
    df = df[(df["set"] == spec.set) & (df["setting"].isin(selected))]
    summary = summarize(df, accounting, out=out)
    summary.update(wall_seconds=wall, out=str(out), set=spec.set, arrivals=spec.arrivals_label(),
                   settings={"total": rep.total, "skipped": rep.skipped, "computed": len(rep.computed),
                             "failed": [{"setting": r["setting"], "message": r["message"]} for r in rep.failed]})
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)
        out_console.print(f"{rep.total} settings ({rep.skipped} already done, {len(rep.computed)} computed, "
                          f"{len(rep.failed)} failed) in {wall:.1f} s; charts: ppipe figures {out}")
    if rep.failed:
        no_plan = [r for r in rep.failed if r.get("no_plan")]
        other = [r for r in rep.failed if not r.get("no_plan")]
        if no_plan:
            err_console.print(f"ppipe: {len(no_plan)} of {rep.total} settings have no plan that meets the SLO "
                              f"(first: {no_plan[0]['setting']}: {no_plan[0]['message']})",
                              markup=False, soft_wrap=True)
        if other:
            err_console.print(f"ppipe: {len(other)} of {rep.total} settings failed (first: "
                              f"{other[0]['setting']}: {other[0]['message']}); re-run to retry them",
                              markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.FAILED)  # the run finished, but some settings have no results


@experiment_app.command("main", cls=LiveChoicesCommand)
def main_cmd(
    set_name: str = typer.Option("maf19", "--set", help="maf19 (Poisson arrivals) or maf21 (bursty: --trace FILE, else $PPIPE_TRACES, else a generator calibrated to the Azure code trace)."),
    groups: Optional[str] = typer.Option(None, "--groups", help="Model groups, e.g. G1,G2 (default all six)."),
    clusters: Optional[str] = typer.Option(None, "--clusters", help="Clusters, e.g. HC1,HC3 (default HC1..HC4)."),
    schedulers: Optional[str] = typer.Option(None, "--schedulers", help="Schedulers to evaluate: ppipe,np,dart-r (default all; PPipe is always solved for load factor 100)."),
    workers: int = WorkersOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default ppipe-experiments/<set>); re-running skips finished work."),
    seeds: int = SeedsOption,
    duration: float = DurationOption,
    load_factors: Optional[str] = LoadFactorsOption,
    trace: Optional[Path] = typer.Option(None, "--trace", help="maf21: arrival trace CSV (MAF'21 end_timestamp+duration, or TIMESTAMP) folded to each load (default $PPIPE_TRACES: a file, or a folder holding one)."),
    arrivals_kind: str = typer.Option("auto", "--arrivals", help="maf21: auto (a trace when one is at hand, else calibrated), trace, calibrated (fitted to the Azure code trace's burstiness) or bursty (the uncalibrated MMPP, --burst-*)."),
    burst_ratio: Optional[float] = typer.Option(None, "--burst-ratio", help="bursty: arrival rate in a burst / between bursts (default 4)."),
    burst_fraction: Optional[float] = typer.Option(None, "--burst-fraction", help="bursty: long-run share of time in bursts (default 0.2)."),
    burst_seconds: Optional[float] = typer.Option(None, "--burst-seconds", help="bursty: mean burst length in s (default 1)."),
    load_base: str = typer.Option("objective", "--load-base", help="Load factor 100: objective (default: weight x the PPipe plan's max-min objective, as the artifact's plans record it) or plan (the capacity the plan provisions per model)."),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Solver time limit per plan in seconds (the artifact's main sets use 60)."),
    solver: str = SolverOption,
    fresh: bool = FreshOption,
    accounting: str = AccountingOption,
    executor: str = ExecutorOption,
    address: Optional[str] = AddressOption,
    shard: Optional[str] = ShardOption,
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """The main sets: 6 model groups x 4 clusters, PPipe vs NP vs DART-r (SPEC sections 5 and 8)."""
    from ppipe.experiments.settings import build_settings
    from ppipe.experiments.spec import ExperimentSpec
    from ppipe.sim.arrivals import arrivals_spec

    _check(set_name, ("maf19", "maf21"), "set")
    _check(accounting, ("true", "reference"), "accounting")
    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    note = None
    if set_name == "maf19":
        if trace is not None or arrivals_kind != "auto" or any(
                v is not None for v in (burst_ratio, burst_fraction, burst_seconds)):
            raise InputError("--trace, --arrivals and --burst-* apply to --set maf21 (maf19 uses Poisson arrivals)")
        arrivals = arrivals_spec("poisson")
    else:
        from ppipe.experiments.spec import maf21_arrivals

        arrivals, note = maf21_arrivals(arrivals_kind, trace, burst_ratio, burst_fraction, burst_seconds)
    settings = build_settings(set_name, parse_csv_list(groups, "group") or None,
                              parse_csv_list(clusters, "cluster") or None,
                              parse_csv_list(schedulers, "scheduler") or None)
    spec = ExperimentSpec.for_set(set_name, arrivals=arrivals, duration_s=duration, seeds=list(range(seeds)),
                                  grid=_grid(load_factors), time_limit=time_limit, solver=solver,
                                  load_base=load_base, data=str(data) if data else None)
    if note:
        err_console.print(note, markup=False, soft_wrap=True)
    _run(settings, spec, out or Path("ppipe-experiments") / set_name, workers, fresh, as_json, accounting,
         executor, address, shard)


@experiment_app.command("ablation", cls=LiveChoicesCommand)
def ablation_cmd(
    models: Optional[str] = typer.Option(None, "--models", "-m", help="Models (names or unique prefixes; default all 18)."),
    clusters: Optional[str] = typer.Option(None, "--clusters", help="Clusters (default HC2)."),
    schedulers: Optional[str] = typer.Option(None, "--schedulers", help="np-single,ppipe-nexus,ppipe (default all)."),
    max_parts: int = typer.Option(3, "--max-parts", "-P", help="Maximum partitions per pipeline (SPEC: 3)."),
    workers: int = WorkersOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default ppipe-experiments/ablation)."),
    seeds: int = SeedsOption,
    duration: float = DurationOption,
    load_factors: Optional[str] = LoadFactorsOption,
    time_limit: float = typer.Option(300.0, "--time-limit", help="Solver time limit per plan in seconds."),
    solver: str = SolverOption,
    fresh: bool = FreshOption,
    accounting: str = AccountingOption,
    executor: str = ExecutorOption,
    address: Optional[str] = AddressOption,
    shard: Optional[str] = ShardOption,
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """The ablation: each model alone on HC2 (P = 3, discount 0.1); single-model NP vs PPipe with the
    Nexus-style balancer vs PPipe with resource reservation (Fig. 10)."""
    from ppipe.experiments.settings import build_settings
    from ppipe.experiments.spec import ExperimentSpec
    from ppipe.sim.arrivals import arrivals_spec

    _check(accounting, ("true", "reference"), "accounting")
    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    settings = build_settings("ablation", None, parse_csv_list(clusters, "cluster") or None,
                              parse_csv_list(schedulers, "scheduler") or None,
                              parse_csv_list(models, "model") or None)
    spec = ExperimentSpec.for_set("ablation", arrivals=arrivals_spec("poisson"), duration_s=duration,
                                  seeds=list(range(seeds)), grid=_grid(load_factors), time_limit=time_limit,
                                  solver=solver, max_parts=max_parts, data=str(data) if data else None)
    _run(settings, spec, out or Path("ppipe-experiments") / "ablation", workers, fresh, as_json, accounting,
         executor, address, shard)


def _floats(value: Optional[str], what: str) -> Optional[list[float]]:
    if value is None:
        return None
    out = []
    for item in parse_csv_list(value, what):
        try:
            out.append(float(item))
        except ValueError:
            raise InputError(f"malformed {what} {item!r}: expected a number") from None
    return out


def _splits(value: Optional[str]) -> Optional[list[tuple[int, int]]]:
    if value is None:
        return None
    out = []
    for item in parse_csv_list(value, "split"):
        a, sep, b = item.partition(":")
        try:
            if not sep:
                raise ValueError
            pair = (int(a), int(b))
        except ValueError:
            raise InputError(f"malformed split {item!r}: expected L4:P4 counts, e.g. 4:12") from None
        if min(pair) < 0 or sum(pair) == 0 or max(pair) > 100_000:
            raise InputError(f"split {item!r}: counts must be 0..100000 and not both 0")
        out.append(pair)
    return out


@experiment_app.command("sensitivity", cls=LiveChoicesCommand)
def sensitivity_cmd(
    models: Optional[str] = typer.Option(None, "--models", "-m", help="Models (names or unique prefixes; default the ablation's 18)."),
    studies: Optional[str] = typer.Option(None, "--studies", help="slo, mix, discount (default all three; the centre point is shared)."),
    multipliers: Optional[str] = typer.Option(None, "--multipliers", help="(a) SLO multipliers (default 2,3,5,7,10)."),
    splits: Optional[str] = typer.Option(None, "--splits", help="(b) L4:P4 splits (default 2:14,4:12,6:10,8:8,10:6,12:4)."),
    discounts: Optional[str] = typer.Option(None, "--discounts", help="(c) SLO discounts (default 0,0.2,0.4,0.6)."),
    schedulers: Optional[str] = typer.Option(None, "--schedulers", help="ppipe,np-single (default both)."),
    max_parts: int = typer.Option(3, "--max-parts", "-P", help="Maximum partitions per pipeline (as the ablation: 3)."),
    workers: int = WorkersOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default ppipe-experiments/sensitivity)."),
    seeds: int = SeedsOption,
    duration: float = DurationOption,
    load_factors: Optional[str] = LoadFactorsOption,
    time_limit: float = typer.Option(300.0, "--time-limit", help="Solver time limit per plan in seconds."),
    solver: str = SolverOption,
    fresh: bool = FreshOption,
    accounting: str = AccountingOption,
    executor: str = ExecutorOption,
    address: Optional[str] = AddressOption,
    shard: Optional[str] = ShardOption,
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """Figure 13: each model alone on the small HC1 testbed (L4 + P4, 16 GPUs, 6 Gbit/s), PPipe vs NP,
    sweeping (a) the SLO multiplier, (b) the L4:P4 split, (c) the SLO discount around x5, 4:12, 0.4."""
    from ppipe.experiments.settings import build_settings
    from ppipe.experiments.spec import ExperimentSpec
    from ppipe.sim.arrivals import arrivals_spec

    _check(accounting, ("true", "reference"), "accounting")
    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    values = {}
    for key, v in (("slo", _floats(multipliers, "SLO multiplier")), ("mix", _splits(splits)),
                   ("discount", _floats(discounts, "SLO discount"))):
        if v is not None:
            values[key] = v
    for m in values.get("slo", []):
        if not 0 < m <= 1000:
            raise InputError(f"SLO multiplier {m:g} out of range (0, 1000]")
    for d in values.get("discount", []):
        if not 0 <= d < 1:
            raise InputError(f"SLO discount {d:g} out of range [0, 1)")
    settings = build_settings("sensitivity", None, None, parse_csv_list(schedulers, "scheduler") or None,
                              parse_csv_list(models, "model") or None, parse_csv_list(studies, "study") or None,
                              values or None)
    spec = ExperimentSpec.for_set("sensitivity", arrivals=arrivals_spec("poisson"), duration_s=duration,
                                  seeds=list(range(seeds)), grid=_grid(load_factors), time_limit=time_limit,
                                  solver=solver, max_parts=max_parts, data=str(data) if data else None)
    _run(settings, spec, out or Path("ppipe-experiments") / "sensitivity", workers, fresh, as_json, accounting,
         executor, address, shard)


@experiment_app.command("scalability", cls=LiveChoicesCommand)
def scalability_cmd(
    studies: Optional[str] = typer.Option(None, "--studies", help="size (Fig. 14a), types (Fig. 14b) (default both)."),
    groups: Optional[str] = typer.Option(None, "--groups", help="Model groups planned at every point (default G1..G6)."),
    sizes: Optional[str] = typer.Option(None, "--sizes", help="(a) HC1 sizes in GPUs, 1 L4 : 3 P4 (default 100,1000,10000,100000)."),
    types: Optional[str] = typer.Option(None, "--types", help="(b) GPU type counts: 2 = L4+P4 (HC1), 3 = +25 T4, 4 = +25 V100 (default 2,3,4)."),
    max_parts: int = typer.Option(2, "--max-parts", "-P", help="Maximum partitions per pipeline (the main sets': 2)."),
    time_limit: float = typer.Option(600.0, "--time-limit", help="Solver time limit per solve in seconds (a point that reaches it is recorded as time_limit)."),
    solver: str = SolverOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default ppipe-experiments/scalability)."),
    fresh: bool = FreshOption,
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """Figure 14: PPipe planner solve time as HC1 grows from 100 to 100,000 GPUs (a) and with 2, 3 and 4 GPU
    types (b), one solver thread, points one at a time; resumable like the other studies."""
    from ppipe.experiments import scaling as SC

    if max_parts < 1:
        raise InputError(f"--max-parts must be >= 1, got {max_parts}")
    if not time_limit > 0 or time_limit == float("inf"):
        raise InputError("--time-limit must be a positive number of seconds")

    def ints(value, what):
        if value is None:
            return None
        try:
            return [int(v) for v in parse_csv_list(value, what)]
        except ValueError:
            raise InputError(f"malformed {what} list {value!r}: expected integers") from None

    points = SC.build_points(parse_csv_list(studies, "study") or None, parse_csv_list(groups, "group") or None,
                             ints(sizes, "size"), ints(types, "type count"))
    cfg = SC.config(max_parts, time_limit, solver, str(data) if data else None)
    out = out or Path("ppipe-experiments") / "scalability"
    err_console.print(f"scalability: {len(points)} solves (PPipe, P = {max_parts}, one thread, time limit "
                      f"{time_limit:g} s); results in {out}", markup=False, soft_wrap=True)
    t0 = time.perf_counter()
    state = {"done": 0, "total": len(points)}

    def on_event(kind: str, info: dict) -> None:
        if kind == "start":
            state["done"] = info["done"]
            if info["done"]:
                err_console.print(f"resuming: {info['done']} of {info['total']} points already done", markup=False)
        elif info["state"] == "start":
            err_console.print(f"[{state['done']}/{state['total']}] {info['point']} ...", markup=False)
        else:
            state["done"] += 1
            r = info["row"]
            err_console.print(f"[{state['done']}/{state['total']}] {info['point']}: {r['status']}, PPipe "
                              f"{r['solve_seconds']:.2f} s (+ NP estimate {r['est_seconds']:.2f} s); "
                              f"elapsed {time.perf_counter() - t0:.0f} s", markup=False, soft_wrap=True)

    try:
        df = SC.run_scalability(points, cfg, out, fresh=fresh, on_event=on_event)
    except KeyboardInterrupt:
        err_console.print("ppipe: interrupted; re-run to resume", markup=False)
        raise typer.Exit(ExitCode.CANCELLED) from None
    data14 = SC.fig14(df)
    wall = time.perf_counter() - t0
    if as_json:
        print_json({"figures": {"14": data14}, "out": str(out), "wall_seconds": wall})
        return
    _table_fig14(data14)
    out_console.print(f"{len(points)} points in {wall:.1f} s; charts: ppipe figures {out}")


@experiment_app.command("merge")
def merge_cmd(
    out: Path = typer.Argument(..., metavar="OUT", help="The combined folder (created, or one of the same experiment)."),
    dirs: list[Path] = typer.Argument(..., metavar="DIR...", help="Experiment folders of one specification, e.g. the --shard runs."),
    accounting: str = AccountingOption,
    as_json: bool = JsonOption,
) -> None:
    """Combine experiment folders (such as `--shard i/n` runs) into one; their fingerprints must match."""
    from ppipe.atomic import write_json_atomic
    from ppipe.experiments.figures import load_results, summarize
    from ppipe.experiments.outdir import OutDir, lock_folder, merge_folders

    _check(accounting, ("true", "reference"), "accounting")
    for d in dirs:
        if not d.is_dir():
            raise InputError(f"{d}: {'a file, not an experiment folder' if d.exists() else 'no such folder'}")
    info = merge_folders(out, [str(d) for d in dirs])
    df = load_results(out)
    summary = summarize(df, accounting, out=OutDir(out))
    summary["merged_from"] = info["sources"]
    with lock_folder(out):
        write_json_atomic(OutDir(out).summary, summary)
    if as_json:
        print_json(dict(summary, out=str(out), settings_merged=info["settings"]))
        return
    _print_summary(summary)
    out_console.print(f"merged {info['settings']} settings from {len(dirs)} folders into {out}; "
                      f"charts: ppipe figures {out}")


# ------------------------------------------------------------------ tables

def _f(v, spec=".1f") -> str:
    return "-" if v is None else f"{v:{spec}}"


def _label(s: str) -> str:
    from ppipe.experiments.variants import label

    return label(s)


def _print_summary(summary: dict) -> None:
    from rich.table import Table

    from ppipe.cli.tables import print_fitted

    for st, d in summary.get("sets", {}).items():
        if st == "sensitivity":
            _table_fig13(d.get("sensitivity") or {})
            continue
        paper = d.get("paper", {})
        ref = d.get("reference_plans_our_simulator", {})
        note = d.get("artifact_plot_script_note", {})
        t = Table(title=f"{st}: mean load factor at 99 % attainment ({summary['accounting']} accounting; "
                        f"{', '.join(d['arrivals'])})", header_style="bold", title_justify="left")
        t.add_column("scheduler")
        t.add_column("ours", justify="right")
        t.add_column("paper", justify="right")
        if ref:
            t.add_column("ref. plans, our sim", justify="right")
        if note:
            t.add_column("artifact script", justify="right")
        for hc in d["mean_lf99_by_cluster"]:
            t.add_column(hc, justify="right")
        t.add_column("low util %", justify="right")
        t.add_column("paper", justify="right")
        t.add_column("none passed", justify="right")
        for s, v in d["mean_lf99"].items():
            row = [_label(s), _f(v), _f(paper.get("mean_lf99", {}).get(s))]
            if ref:
                row.append(_f(ref.get(s)))
            if note:
                row.append(_f(note.get(s)))
            row += [_f(d["mean_lf99_by_cluster"][hc].get(s)) for hc in d["mean_lf99_by_cluster"]]
            row += [_f(d["low_class_utilization"].get(s)), _f(paper.get("low_class_utilization", {}).get(s)),
                    str(d["none_passed"].get(s, 0))]
            t.add_row(*row)
        print_fitted(out_console, t)
        gains = {b: g for b, g in (d.get("ppipe_gain_percent") or {}).items() if g}
        if gains:
            out_console.print("PPipe serves " + ", ".join(f"{g['mean']:+.1f} % load vs {_label(b)}"
                                                          for b, g in gains.items())
                              + " (mean over models" + ("; paper: +32.2 % .. +75.1 %)" if st != "ablation" else ")"),
                              markup=False, soft_wrap=True)
        if d.get("ppipe_beats_baselines_in_every_cluster") is not None:
            out_console.print("PPipe beats the baselines in every cluster: "
                              + ("yes" if d["ppipe_beats_baselines_in_every_cluster"] else "no"))
    st = summary.get("solve_seconds") or {}
    if st:
        out_console.print("solve times: " + "; ".join(
            f"{p} {v['solves']} solves, mean {_f(v['mean'], '.2f')} s, max {_f(v['max'], '.2f')} s"
            + (f" ({v['slowest_setting']})" if v.get("slowest_setting") else "")
            + ("" if set(v["statuses"]) <= {"optimal"} else f" statuses {v['statuses']}")
            for p, v in st.items()), markup=False, soft_wrap=True)


# ------------------------------------------------------------------ figures

def _load_dir(path: Path):
    """The results of DIR, or of its immediate subfolders (e.g. ppipe-experiments/): the
    experiments' results table (None if none) and the scalability table (None if none),
    with the folders they came from."""
    import pandas as pd

    from ppipe.errors import DataError
    from ppipe.experiments import scaling as SC
    from ppipe.experiments.figures import load_results

    if not path.exists():
        raise DataError(f"{path}: no such folder")
    if path.is_file():
        if path.name == SC.RESULTS:
            return None, SC.load(path), [path]
        return load_results(path), None, [path]
    if not path.is_dir():
        raise DataError(f"{path}: not a folder or a CSV file")
    try:
        dirs = [path] + sorted(p for p in path.iterdir() if p.is_dir())
    except OSError as exc:
        raise DataError(f"{path}: cannot list the folder ({exc.strerror or exc.__class__.__name__})") from None
    res = [d for d in dirs if (d / "results.csv").exists()]
    scal = [d for d in dirs if (d / SC.RESULTS).exists()]
    if (path / "results.csv").exists() or (path / SC.RESULTS).exists():
        res = [d for d in res if d == path]
        scal = [d for d in scal if d == path]
    if not res and not scal:
        raise DataError(f"{path}: no results.csv or {SC.RESULTS} here or in its subfolders "
                        f"(run `ppipe experiment main --out {path}` first)")
    df = pd.concat([load_results(p) for p in res], ignore_index=True) if res else None
    sdf = pd.concat([SC.load(p) for p in scal], ignore_index=True) if scal else None
    return df, sdf, res + scal


def _render(text: str) -> None:
    import plotext as plt

    if not out_console.is_terminal:
        text = plt.uncolorize(text)
    sys.stdout.write(text + "\n")


def _heading(text: str) -> None:
    out_console.print(f"[bold]{text}[/]", soft_wrap=True)


def _hc_label(hc: str) -> str:
    from ppipe.experiments.figures import CLUSTER_LABELS

    return CLUSTER_LABELS.get(hc, hc)


def _reset() -> None:
    """A blank plotext figure (clear_figure alone clears only the active subplot)."""
    import plotext as plt

    plt.main()
    plt.clear_figure()


def _width() -> int:
    import plotext as plt

    return max(60, min(180, (plt.terminal_width() or 120) if out_console.is_terminal else 120))


def _markers(n: int) -> list:
    if out_console.is_terminal:
        return [None] * n
    return ["░", "▒", "█", "▚", "▞", "#"][:n] + [None] * max(0, n - 6)


def _grid_dims(n: int) -> tuple[int, int]:
    return (1, n) if n <= 2 else (2, (n + 1) // 2)


def _draw_fig6(data: dict) -> None:
    import plotext as plt
    from rich.table import Table

    from ppipe.cli.tables import print_fitted

    for st, per_hc in data.items():
        hcs = list(per_hc)
        rows, cols = _grid_dims(len(hcs))
        _reset()
        plt.plotsize(_width(), 18 * rows)
        plt.subplots(rows, cols)
        for i, hc in enumerate(hcs):
            plt.subplot(i // cols + 1, i % cols + 1)
            groups = list(per_hc[hc])
            scheds = list(dict.fromkeys(s for g in groups for s in per_hc[hc][g]))
            ys = [[per_hc[hc][g].get(s, {}).get("mean") or 0.0 for g in groups] for s in scheds]
            plt.multiple_bar(groups, ys, labels=[_label(s) for s in scheds], marker=_markers(len(scheds)))
            plt.ylim(0, 105)
            plt.title(_hc_label(hc))
        plt.theme("clear")
        _heading(f"Fig. 6 ({st}): mean load factor at 99 % attainment per model group, by cluster")
        _render(plt.build())
        t = Table(title=f"Fig. 6 ({st}): mean load factor at 99 % attainment", header_style="bold",
                  title_justify="left")
        t.add_column("group")
        scheds = list(dict.fromkeys(s for hc in hcs for g in per_hc[hc] for s in per_hc[hc][g]))
        for hc in hcs:
            for s in scheds:
                t.add_column(f"{hc} {_label(s)}", justify="right")
        groups = list(dict.fromkeys(g for hc in hcs for g in per_hc[hc]))
        for g in groups:
            t.add_row(g, *[_f(per_hc[hc].get(g, {}).get(s, {}).get("mean")) for hc in hcs for s in scheds])
        print_fitted(out_console, t)


def _draw_fig7(data: dict) -> None:
    import plotext as plt
    from rich.table import Table

    from ppipe.cli.tables import print_fitted

    for st, d in data.items():
        curves = d["curves"]
        hcs = list(curves)
        rows, cols = _grid_dims(len(hcs))
        _reset()
        plt.plotsize(_width(), 18 * rows)
        plt.subplots(rows, cols)
        lo = 100.0
        for i, hc in enumerate(hcs):
            plt.subplot(i // cols + 1, i % cols + 1)
            for j, (s, c) in enumerate(curves[hc].items()):
                plt.plot(c["load_factor"], c["attainment"], label=_label(s),
                         marker=(None if out_console.is_terminal else "·+*x"[j % 4]))
                lo = min([lo] + c["attainment"])
            plt.hline(99.0)
            plt.title(_hc_label(hc))
            plt.xlim(0, 101)
        for i in range(len(hcs)):
            plt.subplot(i // cols + 1, i % cols + 1)
            plt.ylim(max(0.0, min(lo, 90.0) - 2), 100.5)
        plt.theme("clear")
        _heading(f"Fig. 7 ({st}): SLO attainment % vs load factor, {d['group']} (mean over its models); "
                 f"line at 99 %; arrivals: {'; '.join(d.get('arrivals', [])) or '?'}")
        _render(plt.build())
        t = Table(title=f"Fig. 7 ({st}): attainment % of {d['group']} (mean over its models)", header_style="bold",
                  title_justify="left")
        t.add_column("load factor", justify="right")
        cols_ = [(hc, s) for hc in hcs for s in curves[hc]]
        for hc, s in cols_:
            t.add_column(f"{hc} {_label(s)}", justify="right")
        lfs = sorted({lf for hc, s in cols_ for lf in curves[hc][s]["load_factor"]}, reverse=True)
        for lf in lfs:
            cells = []
            for hc, s in cols_:
                c = curves[hc][s]
                cells.append(_f(c["attainment"][c["load_factor"].index(lf)], ".2f") if lf in c["load_factor"]
                             else "-")
            t.add_row(str(lf), *cells)
        print_fitted(out_console, t)


def _draw_fig8(data: dict) -> None:
    import plotext as plt
    from rich.table import Table

    from ppipe.cli.tables import print_fitted

    for st, per_hc in data.items():
        hcs = list(per_hc)
        scheds = list(dict.fromkeys(s for hc in hcs for s in per_hc[hc]))
        series, labels = [], []
        for s in scheds:
            for c in ("high", "low"):
                series.append([per_hc[hc].get(s, {}).get(c) or 0.0 for hc in hcs])
                labels.append(f"{_label(s)} {c}")
        _reset()
        plt.plotsize(_width(), 22)
        plt.multiple_bar(hcs, series, labels=labels, marker=_markers(len(series)))
        plt.ylim(0, 100)
        plt.theme("clear")
        _heading(f"Fig. 8 ({st}): GPU utilisation % of high- and low-class GPUs at lf99")
        _render(plt.build())
        t = Table(title=f"Fig. 8 ({st}): GPU utilisation % at lf99 (busy GPU time / all GPUs of the class in "
                        f"the cluster; mean over groups)", header_style="bold", title_justify="left")
        t.add_column("cluster")
        for s in scheds:
            t.add_column(f"{_label(s)} high", justify="right")
            t.add_column(f"{_label(s)} low", justify="right")
        for hc in hcs:
            t.add_row(hc, *[_f(per_hc[hc].get(s, {}).get(c)) for s in scheds for c in ("high", "low")])
        print_fitted(out_console, t)


def _draw_fig10(data: dict, note: dict) -> None:
    import plotext as plt
    from rich.table import Table

    from ppipe.cli.tables import print_fitted
    from ppipe.experiments.figures import PAPER

    scheds = list(data)
    _reset()
    plt.plotsize(min(_width(), 80), 18)
    plt.bar([_label(s) for s in scheds], [data[s]["mean"] or 0.0 for s in scheds], width=0.4)
    plt.ylim(0, 105)
    plt.theme("clear")
    _heading("Fig. 10 (ablation): mean load factor at 99 % attainment")
    _render(plt.build())
    paper = PAPER["ablation"]["mean_lf99"]
    t = Table(title="Fig. 10 (ablation, HC2, P = 3, discount 0.1)", header_style="bold", title_justify="left")
    for col in ("scheduler", "mean lf99", "std", "models", "paper", "artifact script"):
        t.add_column(col, justify="right" if col != "scheduler" else "left")
    for s in scheds:
        t.add_row(_label(s), _f(data[s]["mean"]), _f(data[s]["std"]), str(data[s]["n"]), _f(paper.get(s)),
                  _f(note.get(s)))
    print_fitted(out_console, t)


def _table_fig13(data: dict) -> None:
    from rich.table import Table

    from ppipe.cli.tables import print_fitted
    from ppipe.experiments.figures import SENSITIVITY_LABELS

    for study, rows in data.items():
        base = _label(rows[0]["baseline"]) if rows and rows[0].get("baseline") else "NP"
        t = Table(title=f"Fig. 13 {SENSITIVITY_LABELS.get(study, study)}: PPipe vs {base}, mean lf99 and gain",
                  header_style="bold", title_justify="left")
        for col in ("point", "PPipe", base, "gain %", "mean gain %", "models", "no plan", "paper gain %"):
            t.add_column(col, justify="left" if col == "point" else "right")
        for r in rows:
            paper = r.get("paper")
            t.add_row(r["label"], _f(r["ppipe"]), _f(r["base"]), _f(r["gain"], "+.1f"), _f(r["mean_gain"], "+.1f"),
                      str(r["models"]), str(r.get("no_plan", 0)),
                      "-" if paper is None else (f"{paper:+.2f}" if isinstance(paper, (int, float)) else str(paper)))
        print_fitted(out_console, t)
    if data:
        out_console.print("gain % = mean PPipe lf99 / mean NP lf99 - 1; mean gain % = mean over models of the "
                          "per-model ratio (models where NP serves nothing left out)", markup=False, soft_wrap=True)


def _draw_fig13(data: dict) -> None:
    import plotext as plt

    from ppipe.experiments.figures import SENSITIVITY_LABELS

    studies = list(data)
    if not studies:
        return
    _reset()
    plt.plotsize(_width(), 20)
    plt.subplots(1, len(studies))
    for i, st in enumerate(studies):
        plt.subplot(1, i + 1)
        rows = data[st]
        labels = [r["label"] for r in rows]
        ours = [r["gain"] or 0.0 for r in rows]
        paper = [r["paper"] if isinstance(r.get("paper"), (int, float)) else 0.0 for r in rows]
        plt.multiple_bar(labels, [ours, paper], labels=["ours", "paper"], marker=_markers(2))
        plt.title(SENSITIVITY_LABELS.get(st, st))
    plt.theme("clear")
    _heading("Fig. 13 (sensitivity): PPipe's gain in mean lf99 over NP, % (paper: where its text gives a number)")
    _render(plt.build())
    _table_fig13(data)


def _table_fig14(data: dict) -> None:
    from rich.table import Table

    from ppipe.cli.tables import print_fitted

    titles = {"size": "(a) HC1 size, 1 L4 : 3 P4", "types": "(b) GPU types: L4+P4, +T4, +V100"}
    for st, rows in data.items():
        t = Table(title=f"Fig. 14 {titles.get(st, st)}: PPipe solve seconds, one HiGHS thread, mean over "
                        f"{rows[0]['n'] if rows else 0} group(s); paper: Gurobi",
                  header_style="bold", title_justify="left")
        for col in ("point", "CPU s", "max CPU s", "wall s", "statuses", "paper s"):
            t.add_column(col, justify="left" if col == "point" else "right")
        for r in rows:
            paper = r.get("paper")
            t.add_row(r["label"], _f(r.get("mean_cpu"), ".2f"), _f(r.get("max_cpu"), ".2f"), _f(r["mean"], ".2f"),
                      ", ".join(f"{k} {v}" for k, v in r["statuses"].items()),
                      "-" if paper is None else _f(paper, ".1f"))
        print_fitted(out_console, t)
    if "size" in data:
        out_console.print("paper (a): nearly flat from 100 to 100,000 GPUs", markup=False)


def _draw_fig14(data: dict) -> None:
    import plotext as plt

    studies = list(data)
    if not studies:
        return
    _reset()
    plt.plotsize(_width(), 20)
    plt.subplots(1, len(studies))
    for i, st in enumerate(studies):
        plt.subplot(1, i + 1)
        rows = data[st]
        labels = [r["label"].replace(" GPUs", "").replace(" types", "") for r in rows]
        ours = [r["mean_cpu"] for r in rows]
        if st == "types":
            paper = [r["paper"] if isinstance(r.get("paper"), (int, float)) else 0.0 for r in rows]
            plt.multiple_bar(labels, [ours, paper], labels=["ours (HiGHS)", "paper (Gurobi)"], marker=_markers(2))
            plt.title("(b) GPU types")
        else:
            plt.bar(labels, ours, marker=_markers(1)[0])
            plt.title("(a) HC1 GPUs")
        plt.ylabel("CPU s")
    plt.theme("clear")
    _heading("Fig. 14 (scalability): PPipe solve time (CPU s), mean over model groups")
    _render(plt.build())
    _table_fig14(data)



FIGS = ("6", "7", "8", "10", "13", "14")


@app.command("figures")
def figures_cmd(
    path: Path = typer.Argument(..., metavar="DIR", help="An experiment's output folder (or a folder of them)."),
    fig: Optional[str] = typer.Option(None, "--fig", help="Only this figure: 6, 7, 8, 10, 13 or 14."),
    png: Optional[Path] = typer.Option(None, "--png", help="Also write an image (needs the 'figures' extra: matplotlib); without --fig one file per figure, FILE-fig6.png etc."),
    group: Optional[str] = typer.Option(None, "--group", help="Fig. 7: the model group (default G1)."),
    accounting: str = AccountingOption,
    as_json: bool = JsonOption,
) -> None:
    """Figures 6, 7, 8 (main sets), 10 (ablation), 13 (sensitivity) and 14 (scalability) as terminal charts
    and tables, with the paper's numbers."""
    import pandas as pd

    from ppipe.experiments import figures as F
    from ppipe.experiments import scaling as SC
    from ppipe.experiments.outdir import COLUMNS

    _check(accounting, ("true", "reference"), "accounting")
    if fig is not None:
        _check(fig, FIGS, "figure")
    df, sdf, sources = _load_dir(path)
    if df is None:
        df = pd.DataFrame(columns=COLUMNS)
    main = df[df["set"].isin(("maf19", "maf21"))]
    has = {"main": not main.empty, "ablation": bool((df["set"] == "ablation").any()),
           "sensitivity": bool((df["set"] == "sensitivity").any()), "scalability": sdf is not None and not sdf.empty}
    needs = {"6": "main", "7": "main", "8": "main", "10": "ablation", "13": "sensitivity", "14": "scalability"}
    runs = {"main": "ppipe experiment main", "ablation": "ppipe experiment ablation",
            "sensitivity": "ppipe experiment sensitivity", "scalability": "ppipe experiment scalability"}
    wanted = [fig] if fig else [f for f in FIGS if has[needs[f]]]
    if fig is not None and not has[needs[fig]]:
        what = "main-set" if needs[fig] == "main" else needs[fig]
        raise InputError(f"{path}: no {what} results for Fig. {fig} (run `{runs[needs[fig]]}`)")
    if group is not None and has["main"] and group not in set(main["group"]):
        raise InputError(f"group {group!r} is not in the results (have {', '.join(sorted(set(main['group'])))})")
    data = {}
    if "6" in wanted:
        data["6"] = F.fig6(main, accounting)
    if "7" in wanted:
        data["7"] = F.fig7(main, group)
    if "8" in wanted:
        data["8"] = F.fig8(main, accounting)
    if "10" in wanted:
        data["10"] = F.fig10(df, accounting)
    if "13" in wanted:
        data["13"] = F.fig13(df, accounting)
    if "14" in wanted:
        data["14"] = SC.fig14(sdf)
    summary = F.summarize(df[df["set"] != "sensitivity"], accounting) if not df.empty else {}
    written = []
    if png is not None:
        from ppipe.experiments.png import write_png

        for f in wanted:
            target = png if len(wanted) == 1 else png.with_name(f"{png.stem}-fig{f}{png.suffix or '.png'}")
            write_png(f, data[f], target)
            written.append(str(target))
    if as_json:
        print_json({"figures": data, "summary": summary, "sources": [str(s) for s in sources], "png": written})
        return
    for f in wanted:
        if f == "6":
            _draw_fig6(data["6"])
        elif f == "7":
            _draw_fig7(data["7"])
        elif f == "8":
            _draw_fig8(data["8"])
        elif f == "10":
            _draw_fig10(data["10"], F.ARTIFACT_ABLATION_NOTE)
        elif f == "13":
            _draw_fig13(data["13"])
        else:
            _draw_fig14(data["14"])
    if summary:
        _print_summary(summary)
    for w in written:
        err_console.print(f"wrote {w}", markup=False)
