"""``ppipe simulate`` and ``ppipe sweep``: run a plan through the data-plane simulator.

The simulator itself lives in :mod:`ppipe.sim` (imported inside the commands
so ``ppipe --help`` stays fast); rich only for human output, plotext only by
``sweep`` when it draws. Balancers and arrival kinds are the registries'
(:mod:`ppipe.sim.balancers`, :mod:`ppipe.sim.arrivals`), read when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.common import (
    DataOption,
    JsonOption,
    LiveChoicesCommand,
    err_console,
    finite,
    given,
    note,
    out_console,
    output_file,
    plan_mismatches,
    print_json,
    read_plan_checked,
    registry_choice,
    warn_plan_mismatches,
    write_error,
)
from ppipe.errors import ExitCode, InputError

ModelOption = typer.Option(None, "--model", "-m", help="Model of the plan: name, unique prefix or index (default: the first).")
BaseOption = typer.Option(None, "--base", help="Plan whose throughput for this model is load factor 100 (default: the plan itself).")
BalancerOption = typer.Option("reservation", "--balancer", callback=registry_choice("balancers"),
                              help="Front/inner balancers: {balancers} (reservation: PPipe's; nexus: the SLO-aware ablation).")
ArrivalsOption = typer.Option(None, "--arrivals", callback=registry_choice("arrivals"),
                              help="Arrival process: {arrivals} (default poisson; --trace and --bursty imply theirs).")
DurationOption = typer.Option(30.0, "--duration", help="Seconds of arrivals to simulate.")
TraceOption = typer.Option(None, "--trace", help="Arrival trace CSV (MAF'21 end_timestamp+duration, or TIMESTAMP), folded to the load.")
BurstyOption = typer.Option(False, "--bursty", help="Bursty arrivals: a 2-state Markov-modulated Poisson process.")
BurstRatioOption = typer.Option(4.0, "--burst-ratio", help="Bursty: arrival rate in a burst / between bursts.")
BurstFractionOption = typer.Option(0.2, "--burst-fraction", help="Bursty: long-run share of time in bursts.")
BurstSecondsOption = typer.Option(1.0, "--burst-seconds", help="Bursty: mean burst length (s).")
AccountingOption = typer.Option("true", "--accounting", help="Late requests: true (all) or reference (the artifact parser's: unpartitioned pipelines only).")
#: The default of --max-requests (ppipe.sim.engine.DEFAULT_MAX_REQUESTS, not imported here: start-up).
MAX_REQUESTS_DEFAULT = 5_000_000
MaxRequestsOption = typer.Option(MAX_REQUESTS_DEFAULT, "--max-requests", help="Refuse a simulation of more requests than this (load x duration, all seeds); 0: no cap (memory is still checked).")
#: Most seeds per load factor in a sweep.
MAX_SEEDS = 1000
#: Most load factor (%) and load (req/s) taken at all: beyond, numbers overflow before any cap applies.
MAX_LOAD_FACTOR = 1e6
MAX_LOAD = 1e9
#: Most burst/calm switches a bursty stream may make (each is a step in Python).
MAX_BURST_SWITCHES = 2_000_000
SIZE_HINT = "--max-requests N raises the cap"
#: A sweep may simulate this many times --max-requests in all (its 20 points, every seed).
SWEEP_WORK = 10
#: Without a terminal, a long sweep reports where it is on stderr this often.
PROGRESS_EVERY_S = 10.0


def _cap(max_requests: int) -> Optional[int]:
    if max_requests < 0:
        raise InputError(f"--max-requests must be >= 0 (0: no cap), got {max_requests}")
    return max_requests or None


def _check_common(ctx, *, duration: float, seed: Optional[int], arrivals: Optional[str], trace: Optional[Path],
                  bursty: bool, burst_ratio: float, burst_fraction: float, burst_seconds: float) -> None:
    """Flags shared by simulate and sweep: finite, in range, and not ignored."""
    from ppipe.sim.engine import MAX_DURATION_S

    finite(duration, "--duration", high=MAX_DURATION_S, unit=" s")
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    kind = arrivals or ("trace" if trace is not None else "bursty" if bursty else "poisson")
    burst_flags = [f for name, f in (("burst_ratio", "--burst-ratio"), ("burst_fraction", "--burst-fraction"),
                                     ("burst_seconds", "--burst-seconds")) if given(ctx, name)]
    if burst_flags and kind != "bursty":
        raise InputError(f"{', '.join(burst_flags)} appl{'ies' if len(burst_flags) == 1 else 'y'} only to bursty "
                         f"arrivals (add --bursty); the arrivals here are {kind}")
    if kind == "bursty":
        finite(burst_ratio, "--burst-ratio", low=1.0, low_open=False)
        finite(burst_fraction, "--burst-fraction", low=0.0, high=1.0, high_open=True)
        finite(burst_seconds, "--burst-seconds", unit=" s")
        switches = duration * burst_fraction / burst_seconds
        if switches > MAX_BURST_SWITCHES:
            raise InputError(f"--burst-seconds {burst_seconds:g} over --duration {duration:g} s makes about "
                             f"{switches:,.0f} burst switches (at most {MAX_BURST_SWITCHES:,}): longer bursts or "
                             "a shorter --duration")


def _load_model(plan_path: Path, model: Optional[str], data: Optional[Path]):
    from ppipe.profiles.store import ProfileStore

    plan = read_plan_checked(plan_path)
    mp = plan.model(model) if model is not None else plan.models[0]
    store = ProfileStore.open(data)
    profile = store.get(mp.name)
    return plan, mp, profile, plan_mismatches(plan, plan_path, store)


def _warn_mismatches(warnings: list[str], plan_path: Path) -> None:
    """Said once the run is set up (a plan that cannot be simulated at all gets its one-line
    error alone)."""
    warn_plan_mismatches(warnings, plan_path, " (requests may miss their SLO or be dropped)")


def _base_xput(plan, mp, base: Optional[Path]) -> float:
    if base is None:
        return float(mp.xput)
    return float(read_plan_checked(base, "base plan").model(mp.name).xput)


def _arrival_factory(kind: Optional[str], trace: Optional[Path], bursty: bool, ratio: float, fraction: float,
                     seconds: float):
    """``load -> ArrivalProcess`` for the arrival kind asked for (validated now: one-line errors)."""
    from ppipe.sim.arrivals import arrival_factory, arrivals_spec

    if trace is not None and bursty:
        raise InputError("give either --trace or --bursty, not both")
    implied = "trace" if trace is not None else "bursty" if bursty else None
    if kind is None:
        kind = implied or "poisson"
    elif implied is not None and implied != kind:
        raise InputError(f"--arrivals {kind} contradicts --{'trace' if trace is not None else 'bursty'}")
    return arrival_factory(arrivals_spec(kind, trace=trace, ratio=ratio, burst_fraction=fraction,
                                         burst_s=seconds))


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise InputError(f"unknown {what} {value!r} (choose {' or '.join(choices)})")
    return value


@app.command("simulate", cls=LiveChoicesCommand)
def simulate_cmd(
    ctx: typer.Context,
    plan_path: Path = typer.Argument(..., metavar="PLAN", help="Plan file (JSON)."),
    model: Optional[str] = ModelOption,
    load: Optional[float] = typer.Option(None, "--load", help="Offered load in requests per second."),
    load_factor: Optional[float] = typer.Option(None, "--load-factor", "--lf", help="Load as % of the base plan's throughput (reference rounding)."),
    base: Optional[Path] = BaseOption,
    duration: float = DurationOption,
    seed: int = typer.Option(0, "--seed", help="Seed of the arrival stream."),
    arrivals: Optional[str] = ArrivalsOption,
    trace: Optional[Path] = TraceOption,
    bursty: bool = BurstyOption,
    burst_ratio: float = BurstRatioOption,
    burst_fraction: float = BurstFractionOption,
    burst_seconds: float = BurstSecondsOption,
    balancer: str = BalancerOption,
    accounting: str = AccountingOption,
    log: Optional[Path] = typer.Option(None, "--log", help="Write a per-request CSV (like the reference's master.csv)."),
    max_requests: int = MaxRequestsOption,
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """Simulate one model of a plan for --duration seconds and report SLO attainment."""
    import numpy as np

    from ppipe.sim.engine import Simulation
    from ppipe.sim.lfsearch import lf_load, lf_rng
    from ppipe.sim.metrics import ACCOUNTINGS

    _check_choice(accounting, ACCOUNTINGS, "accounting")
    if (load is None) == (load_factor is None):
        raise InputError("give exactly one of --load QPS and --load-factor LF")
    finite(load_factor, "--load-factor", high=MAX_LOAD_FACTOR, unit=" %")
    finite(load, "--load", high=MAX_LOAD, unit=" req/s")
    if base is not None and load is not None:
        raise InputError("--base sets what --load-factor 100 means; with --load it does nothing")
    _check_common(ctx, duration=duration, seed=seed, arrivals=arrivals, trace=trace, bursty=bursty,
                  burst_ratio=burst_ratio, burst_fraction=burst_fraction, burst_seconds=burst_seconds)
    cap = _cap(max_requests)
    output_file(log, "--log")
    factory = _arrival_factory(arrivals, trace, bursty, burst_ratio, burst_fraction, burst_seconds)
    plan, mp, profile, mismatches = _load_model(plan_path, model, data)
    if load_factor is not None:
        x = _base_xput(plan, mp, base)
        lf = int(load_factor) if float(load_factor).is_integer() else load_factor
        q = lf_load(lf, x) if isinstance(lf, int) else int(lf * int(x) / 100)
        if q <= 0:
            raise InputError(f"load factor {load_factor:g} of {x:.1f} req/s is no load at all")
        rng = lf_rng(seed, lf) if isinstance(lf, int) else np.random.default_rng(seed)
        load_value = float(q)
    else:
        rng = np.random.default_rng(seed)
        load_value = float(load)
    sim = Simulation(mp, profile, factory(load_value), rng=rng, seed=seed, balancer=balancer,
                     duration_s=duration, accounting=accounting, max_requests=cap, size_hint=SIZE_HINT)
    _warn_mismatches(mismatches, plan_path)
    if len(plan.models) > 1 and model is None and not as_json:
        note(f"simulating model 0 of {len(plan.models)}: {mp.name} (choose with --model)")
    _run_with_progress(sim)
    res = sim.result()
    doc = res.to_json()
    doc["plan"] = str(plan_path)
    if load_factor is not None:
        doc["load_factor"] = load_factor
    if as_json:
        print_json(doc)
    else:
        _print_result(doc)
    if log is not None:
        try:
            sim.write_log(log)
        except OSError as exc:  # the result is already out; the log could not be written
            err_console.print(f"ppipe: error: {write_error(log, exc)}; the request log was not written",
                              markup=False, soft_wrap=True)
            raise typer.Exit(ExitCode.BAD_INPUT)


def _run_with_progress(sim) -> None:
    """Run to the end; on a terminal a rich progress bar when the run is long, without one a
    plain line on stderr every :data:`PROGRESS_EVERY_S` seconds."""
    if sim.total_requests < 200_000:
        sim.run()
        return
    step = max(sim.duration_us // 100, 1)
    if not err_console.is_terminal:  # (rich only when it may be used)
        import time

        last = t0 = time.perf_counter()
        while not sim.done:
            sim.run(until=sim.now + step)
            now = time.perf_counter()
            if now - last >= PROGRESS_EVERY_S and not sim.done:
                last = now
                err_console.print(f"simulating: {min(sim.now, sim.duration_us) / max(sim.duration_us, 1):.0%} of "
                                  f"{sim.duration_us / 1e6:g} s, {now - t0:.0f} s", markup=False)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=err_console, transient=True) as prog:
        task = prog.add_task("sim", total=sim.duration_us)
        while not sim.done:
            sim.run(until=sim.now + step)
            prog.update(task, completed=min(sim.now, sim.duration_us))


def _fmt(v, spec=".2f", scale=1.0, unit=""):
    return "-" if v is None else f"{v * scale:{spec}}{unit}"


def _print_result(doc: dict) -> None:
    from rich.table import Table

    c = doc["counts"]
    out_console.print(f"[bold]{doc['model']}[/]  {doc['balancer']} balancer, {doc['arrivals']['kind']} arrivals at "
                      f"{doc['load']:.0f} req/s for {doc['duration_s']:g} s (seed {doc['seed']})")
    t = Table(show_header=True, header_style="bold", box=None)
    for col in ("", "requests", "attainment", "dropped", "violated", "passes 99%"):
        t.add_column(col, justify="right")
    for acc in ("true", "reference"):
        d = c[acc]
        t.add_row(f"{acc} accounting", str(d["requests"]), _fmt(d["attainment"], ".3%"), _fmt(d["dropped"], ".3%"),
                  _fmt(d["violated"], ".3%"), "yes" if d["passed"] else "no")
    out_console.print(t)
    lat = doc["latency_ms"]
    out_console.print(f"latency ms: p50 {_fmt(lat['p50'])}  p90 {_fmt(lat['p90'])}  p99 {_fmt(lat['p99'])}  "
                      f"max {_fmt(lat['max'])}   (SLO {doc['extra']['sla_us'] / 1000:.2f} ms)")
    if doc["drop_causes"]:
        out_console.print("drops: " + ", ".join(f"{k} {v}" for k, v in doc["drop_causes"].items()))
    out_console.print("GPU utilisation: " + ", ".join(f"{g} {u:.1%}" for g, u in doc["gpu_utilization"].items()))
    bt = Table(show_header=True, header_style="bold", box=None)
    for col in ("pipeline", "stage", "pool", "batch planned", "achieved", "queue p50 ms", "queue p99 ms"):
        bt.add_column(col, justify="right")
    for b, q in zip(doc["batch_sizes"], doc["queueing_ms"][1:]):
        wq = q["worker_queue"]
        bt.add_row(str(b["pipeline"]), str(b["stage"]), f"{b['gpu']} k={b['k']}", str(b["planned"]),
                   _fmt(b["achieved_mean"]), _fmt(wq["p50"]), _fmt(wq["p99"]))
    out_console.print(bt)
    out_console.print(f"simulated {doc['arrived']} requests, {doc['events']} events in {doc['wall_seconds']:.2f} s "
                      f"({doc['requests_per_wall_second']:,.0f} req/s)")


@app.command("sweep", cls=LiveChoicesCommand)
def sweep_cmd(
    ctx: typer.Context,
    plan_path: Path = typer.Argument(..., metavar="PLAN", help="Plan file (JSON)."),
    model: Optional[str] = ModelOption,
    base: Optional[Path] = BaseOption,
    seeds: int = typer.Option(1, "--seeds", help="Seeds per load factor (counts pooled)."),
    duration: float = DurationOption,
    arrivals: Optional[str] = ArrivalsOption,
    trace: Optional[Path] = TraceOption,
    bursty: bool = BurstyOption,
    burst_ratio: float = BurstRatioOption,
    burst_fraction: float = BurstFractionOption,
    burst_seconds: float = BurstSecondsOption,
    balancer: str = BalancerOption,
    accounting: str = AccountingOption,
    max_requests: int = MaxRequestsOption,
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """Attainment at load factors 5..100 % and lf99, the largest with dropped + violated <= 1 %."""
    from ppipe.sim.lfsearch import GRID, attainment_curve, lf99_from_curve
    from ppipe.sim.metrics import ACCOUNTINGS

    _check_choice(accounting, ACCOUNTINGS, "accounting")
    if not 1 <= seeds <= MAX_SEEDS:
        raise InputError(f"--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")
    _check_common(ctx, duration=duration, seed=None, arrivals=arrivals, trace=trace, bursty=bursty,
                  burst_ratio=burst_ratio, burst_fraction=burst_fraction, burst_seconds=burst_seconds)
    cap = _cap(max_requests)
    factory = _arrival_factory(arrivals, trace, bursty, burst_ratio, burst_fraction, burst_seconds)
    plan, mp, profile, mismatches = _load_model(plan_path, model, data)
    x = _base_xput(plan, mp, base)
    if int(x) <= 0:
        raise InputError(f"model {mp.name}: base throughput {x:g} req/s gives no load to sweep")
    from ppipe.sim.engine import check_size
    from ppipe.sim.layout import build_layout

    # the heaviest point (100 %) holds every seed's requests at once; the whole sweep runs the
    # grid's sum (1050 %) of them
    per_point = float(int(x)) * duration * seeds
    check_size(per_point, build_layout(mp, profile, balancer), cap,
               what=f"the 100 % point ({int(x):,} req/s for {duration:g} s x {seeds} seed{'s' if seeds > 1 else ''})",
               hint=SIZE_HINT)
    total = per_point * sum(GRID) / 100
    if cap is not None and total > SWEEP_WORK * cap:
        raise InputError(f"the sweep would simulate about {total:,.0f} requests in all, more than {SWEEP_WORK} x "
                         f"--max-requests ({SWEEP_WORK * cap:,}): fewer --seeds or a shorter --duration, or "
                         f"{SIZE_HINT}")
    _warn_mismatches(mismatches, plan_path)
    show = not as_json and err_console.is_terminal
    if show:
        from rich.progress import Progress

        with Progress(console=err_console, transient=True) as prog:
            task = prog.add_task("sweeping", total=20)
            points = attainment_curve(mp, profile, x, seeds=list(range(seeds)), duration_s=duration,
                                      balancer=balancer, arrivals=factory,
                                      on_point=lambda p: prog.advance(task))
    else:
        import time

        clock = {"start": time.perf_counter(), "last": time.perf_counter()}

        def report(p) -> None:  # no terminal: a plain line now and then, so a long sweep is seen to be alive
            now = time.perf_counter()
            if now - clock["last"] >= PROGRESS_EVERY_S:
                clock["last"] = now
                err_console.print(f"sweeping: load factor {p.load_factor} done, {now - clock['start']:.0f} s",
                                  markup=False)

        points = attainment_curve(mp, profile, x, seeds=list(range(seeds)), duration_s=duration,
                                  balancer=balancer, arrivals=factory, on_point=report)
    lf99 = {a: lf99_from_curve(points, a) for a in ("true", "reference")}
    curve = [p.row(accounting) for p in points]
    if as_json:
        print_json({"plan": str(plan_path), "model": mp.name, "x_ppipe": x, "balancer": balancer,
                    "accounting": accounting, "seeds": seeds, "lf99": lf99[accounting],
                    "lf99_by_accounting": lf99, "curve": curve})
        return
    _draw_curve(curve, lf99[accounting], mp.name)
    out_console.print(f"[bold]{mp.name}[/]: lf99 = {lf99[accounting]} ({accounting} accounting; "
                      f"true {lf99['true']}, reference {lf99['reference']}); 100 % = {int(x)} req/s")


def _draw_curve(curve: list[dict], lf99: int, name: str) -> None:
    import plotext as plt

    xs = [c["load_factor"] for c in curve]
    ys = [100.0 * (c["attainment"] or 0.0) for c in curve]
    plt.clear_figure()
    plt.plot(xs, ys, marker="dot", label="attainment %")
    plt.hline(99.0)
    if lf99:
        plt.vline(lf99)
    plt.title(f"{name}: SLO attainment vs load factor (lf99 = {lf99})")
    plt.xlabel("load factor (% of PPipe plan throughput)")
    plt.ylim(max(0.0, min(ys + [90.0]) - 1), 100.5)
    plt.plotsize(min(100, plt.terminal_width() or 100), 20)
    plt.theme("clear")
    text = plt.build()
    if not out_console.is_terminal:
        text = plt.uncolorize(text)
    import sys

    sys.stdout.write(text + "\n")
