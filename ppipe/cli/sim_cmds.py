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
    out_console,
    print_json,
    registry_choice,
)
from ppipe.errors import InputError

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


def _load_model(plan_path: Path, model: Optional[str], data: Optional[Path]):
    from ppipe.planfile.plan import read_plan
    from ppipe.profiles.store import ProfileStore

    plan = read_plan(plan_path)
    mp = plan.model(model) if model is not None else plan.models[0]
    store = ProfileStore.open(data)
    return plan, mp, store.get(mp.name)


def _base_xput(plan, mp, base: Optional[Path]) -> float:
    from ppipe.planfile.plan import read_plan

    if base is None:
        return float(mp.xput)
    return float(read_plan(base).model(mp.name).xput)


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
    if load_factor is not None and not load_factor > 0:
        raise InputError(f"load factor must be positive, got {load_factor:g}")
    if load is not None and not load > 0:
        raise InputError(f"load must be positive (requests per second), got {load:g}")
    if not duration > 0:
        raise InputError(f"duration must be positive, got {duration:g} s")
    factory = _arrival_factory(arrivals, trace, bursty, burst_ratio, burst_fraction, burst_seconds)
    plan, mp, profile = _load_model(plan_path, model, data)
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
                     duration_s=duration, accounting=accounting)
    if len(plan.models) > 1 and model is None and not as_json:
        err_console.print(f"simulating model 0 of {len(plan.models)}: {mp.name} (choose with --model)",
                          soft_wrap=True)
    _run_with_progress(sim)
    if log is not None:
        sim.write_log(log)
    res = sim.result()
    doc = res.to_json()
    doc["plan"] = str(plan_path)
    if load_factor is not None:
        doc["load_factor"] = load_factor
    if as_json:
        print_json(doc)
        return
    _print_result(doc)


def _run_with_progress(sim) -> None:
    """Run to the end; a rich progress bar on stderr when it is a terminal and the run is long."""
    if sim.total_requests < 200_000 or not err_console.is_terminal:  # (rich only when it may be used)
        sim.run()
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    step = max(sim.duration_us // 100, 1)
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
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """Attainment at load factors 5..100 % and lf99, the largest with dropped + violated <= 1 %."""
    from ppipe.sim.lfsearch import attainment_curve, lf99_from_curve
    from ppipe.sim.metrics import ACCOUNTINGS

    _check_choice(accounting, ACCOUNTINGS, "accounting")
    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    if not duration > 0:
        raise InputError(f"duration must be positive, got {duration:g} s")
    factory = _arrival_factory(arrivals, trace, bursty, burst_ratio, burst_fraction, burst_seconds)
    plan, mp, profile = _load_model(plan_path, model, data)
    x = _base_xput(plan, mp, base)
    if int(x) <= 0:
        raise InputError(f"model {mp.name}: base throughput {x:g} req/s gives no load to sweep")
    show = not as_json and err_console.is_terminal
    if show:
        from rich.progress import Progress

        with Progress(console=err_console, transient=True) as prog:
            task = prog.add_task("sweeping", total=20)
            points = attainment_curve(mp, profile, x, seeds=list(range(seeds)), duration_s=duration,
                                      balancer=balancer, arrivals=factory,
                                      on_point=lambda p: prog.advance(task))
    else:
        points = attainment_curve(mp, profile, x, seeds=list(range(seeds)), duration_s=duration,
                                  balancer=balancer, arrivals=factory)
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
