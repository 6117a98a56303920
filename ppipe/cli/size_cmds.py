"""``ppipe size``: the cheapest fleet for a target load, given the GPUs you already own.

Registers on ``ppipe.cli.app`` when imported. Data goes to stdout (a table, or
JSON with ``--json``), diagnostics and progress to stderr.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.background import LiveStatus, run_in_background
from ppipe.cli.common import DataOption, JsonOption, err_console, note, open_store, out_console, print_json
from ppipe.errors import ExitCode, InputError

# ------------------------------------------------------------------ parsing

def parse_rates(value: str, n: int, names: list[str]) -> list[float]:
    """``300,250,400`` -> one rate per model (checked > 0 by the sizing problem)."""
    from ppipe.textparse import parse_csv_list

    items = parse_csv_list(value, "rate")
    if len(items) != n:
        raise InputError(f"{len(items)} rates for {n} models ({', '.join(names)})")
    out = []
    for name, raw in zip(names, items):
        try:
            out.append(float(raw))
        except ValueError:
            raise InputError(f"malformed rate {raw!r} for model {name}: expected req/s like 300") from None
    return out


def parse_buy(value: Optional[str]) -> dict[str, Optional[int]] | None:
    """``V100,L4,T4:200`` -> {V100: None, L4: None, T4: 200} (None: no cap); ``none`` -> {}."""
    from ppipe.textparse import parse_csv_list

    if value is None:
        return None
    if value.strip().lower() == "none":
        return {}
    out: dict[str, Optional[int]] = {}
    for item in parse_csv_list(value, "GPU type to buy"):
        sep = ":" if ":" in item else "=" if "=" in item else None
        if sep is None:
            name, cap = item, None
        else:
            name, _, raw = item.partition(sep)
            name = name.strip()
            try:
                cap = int(raw.strip())
            except ValueError:
                raise InputError(f"malformed purchase cap {item!r}: expected TYPE or TYPE:MAX") from None
            if cap < 0:
                raise InputError(f"the purchase cap of {name} must be >= 0, got {cap}")
        if not name:
            raise InputError(f"malformed --buy item {item!r}")
        out[name] = cap
    return out


def parse_headroom(value: str, n: int) -> list[float]:
    from ppipe.textparse import parse_csv_list

    try:
        vals = [float(v) for v in parse_csv_list(value, "headroom")]
    except ValueError:
        raise InputError(f"malformed --headroom {value!r}: expected 0.1 or one value per model") from None
    if len(vals) == 1:
        return vals * n
    if len(vals) != n:
        raise InputError(f"{len(vals)} headroom values for {n} models")
    return vals


# ------------------------------------------------------------------ running with Ctrl-C and a live status

# ------------------------------------------------------------------ the command

@app.command("size")
def size_cmd(
    models: Optional[str] = typer.Option(None, "--models", "-m", help="Comma-separated model names (or unique prefixes)."),
    group: Optional[str] = typer.Option(None, "--group", help="A model group of the paper: G1..G6."),
    rates: Optional[str] = typer.Option(None, "--rates", "-r", help="Target req/s per model, e.g. 300,250,400."),
    weights: Optional[str] = typer.Option(None, "--weights", "-w", help="With --total: workload shares, e.g. 0.3,0.33,0.37 or maf19 (a group's default)."),
    total: Optional[float] = typer.Option(None, "--total", help="Total target req/s, split by --weights."),
    own: Optional[str] = typer.Option(None, "--own", help="GPUs you own, e.g. L4:25,T4:75 (free unless --own-cost)."),
    own_cost: Optional[str] = typer.Option(None, "--own-cost", help="$/h per owned GPU put to use, e.g. L4=0.2,T4=0.1, or 'catalog' for the list price (default 0: sunk)."),
    buy: Optional[str] = typer.Option(None, "--buy", help="Types you may buy, each with an optional cap: V100,L4,T4:200; 'none' (default: every priced type the models have profiles for)."),
    price: Optional[str] = typer.Option(None, "--price", help="$/h per GPU overriding the catalog, e.g. T4=0.35,L4=0.70."),
    headroom: str = typer.Option("0", "--headroom", help="Plan for target x (1 + headroom): one value or one per model."),
    new_fleet: bool = typer.Option(False, "--new-fleet", help="Cost of the whole fleet: owned GPUs count at their price too."),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Also size NP and NP on the cheapest single type, with PPipe's saving."),
    sweep: Optional[str] = typer.Option(None, "--sweep", help="Cost versus load: load factors START:STOP:STEP (e.g. 0.5:2.0:0.25) of the targets."),
    verify: bool = typer.Option(False, "--verify", help="Simulate the plan at the targets; raise headroom of models below 99% and re-size."),
    arrivals: Optional[str] = typer.Option(None, "--arrivals", help="With --verify: poisson (default), bursty or trace."),
    trace: Optional[Path] = typer.Option(None, "--trace", help="With --verify: arrival trace CSV, folded to each target rate."),
    seed: int = typer.Option(0, "--seed", help="With --verify: seed of the arrival streams."),
    duration: float = typer.Option(30.0, "--duration", help="With --verify: seconds of arrivals to simulate."),
    verify_step: float = typer.Option(0.05, "--verify-step", help="With --verify: headroom added to a failing model per round."),
    verify_rounds: int = typer.Option(6, "--verify-rounds", help="With --verify: most sizing rounds."),
    max_parts: Optional[int] = typer.Option(None, "--max-parts", "-P", help="Maximum partitions per pipeline (default 2)."),
    mps: Optional[str] = typer.Option(None, "--mps", help="MPS levels per type, e.g. L4=4,T4=4 (default: catalog)."),
    gpus_per_server: Optional[str] = typer.Option(None, "--gpus-per-server", help="GPUs per server per type, e.g. L4=4,T4=2 (default: catalog)."),
    bw: Optional[float] = typer.Option(None, "--bw", help="Network bandwidth in Gbit/s (default: the slowest offered type's)."),
    slo_multiplier: float = typer.Option(5.0, "--slo-multiplier", help="SLO = multiplier x batch-1 runtime on L4."),
    slo_discount: float = typer.Option(0.4, "--slo-discount", help="Share of the SLO held back for queueing."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Time limit per sizing solve, in seconds."),
    solver: str = typer.Option("highs", "--solver", help="highs (default) or gurobi."),
    no_fallback: bool = typer.Option(False, "--no-fallback", help="With --solver gurobi: fail instead of falling back to HiGHS."),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", help="Extra GPU catalog file(s) (prices, new types)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Plan file to write (default: saved_plans/<descriptive name>)."),
    no_save: bool = typer.Option(False, "--no-save", help="Do not write a plan file."),
    data: Optional[Path] = DataOption,
    as_json: bool = JsonOption,
) -> None:
    """The cheapest GPUs to add (or fleet to build) so every model serves its target rate."""
    from ppipe.catalog.gpus import GpuCatalog
    from ppipe.planning.milp import SolveOptions
    from ppipe.planning.problem import check_max_parts
    from ppipe.planning.request import default_weights, group_models, parse_weights
    from ppipe.planning.sizing import build_offers, default_bw, make_sizing_problem, parse_sweep, priced_types
    from ppipe.planning.solvers import SOLVERS
    from ppipe.textparse import parse_csv_list, parse_kv

    SOLVERS.get(solver)
    if time_limit is not None and not time_limit > 0:
        raise InputError("--time-limit must be > 0 seconds")
    if sweep is not None and verify:
        raise InputError("give either --sweep or --verify, not both")
    store = open_store(data)
    names = group_models(group) if group else []
    if models:
        names = [store.resolve(m) for m in parse_csv_list(models, "model")]
    if not names:
        raise InputError("give --models A,B,C or --group G1..G6")
    profiles = [store.get(n) for n in names]
    if rates is not None and total is not None:
        raise InputError("give either --rates or --total (with --weights), not both")
    if rates is not None:
        if weights is not None:
            raise InputError("--weights goes with --total; --rates already gives each model's rate")
        targets = parse_rates(rates, len(names), names)
    elif total is not None:
        import math

        if not (total > 0 and math.isfinite(total)):
            raise InputError(f"--total must be > 0 req/s, got {total:g}")
        w = parse_weights(default_weights(group, len(names), weights), len(names))
        targets = [total * x / sum(w) for x in w]
    else:
        raise InputError("give the target load: --rates R1,R2,... or --total N (with --weights)")
    cat = GpuCatalog.load(catalog)
    own_map = parse_kv(own, "owned GPU count", int) if own else {}
    buy_map = parse_buy(buy)
    if buy_map is None:
        buy_map = {g: None for g in priced_types(cat, profiles)}
        if not as_json:
            err_console.print(f"buying from: {', '.join(buy_map) or 'nothing'} (--buy to choose)", markup=False)
    own_cost_arg: dict | str | None = None
    if own_cost is not None:
        own_cost_arg = "catalog" if own_cost.strip().lower() == "catalog" else parse_kv(own_cost, "owned-GPU cost", float)
    offers = build_offers(own_map, buy_map, prices=parse_kv(price, "price", float) if price else None,
                          own_cost=own_cost_arg, new_fleet=new_fleet,
                          mps=parse_kv(mps, "MPS level", int) if mps else None,
                          gpus_per_server=parse_kv(gpus_per_server, "GPUs per server", int) if gpus_per_server else None,
                          catalog=cat)
    check_max_parts(max_parts, profiles)
    sp = make_sizing_problem(profiles, targets, offers, bw if bw is not None else default_bw(offers, cat),
                             headroom=parse_headroom(headroom, len(names)), max_parts=2 if max_parts is None else max_parts,
                             slo_multiplier=slo_multiplier, slo_discount=slo_discount)
    prices_all = {g.name: g.price_per_hour for g in cat}
    live = LiveStatus("sizing", digits=4, show_gap=False)
    cancel = threading.Event()
    opts = SolveOptions(time_limit=time_limit, progress=live, cancel=cancel)

    schedulers = ("ppipe", "np", "np-cheapest") if compare else ("ppipe",)

    if sweep is not None:
        from ppipe.planning.sizing import sweep_sizing

        factors = parse_sweep(sweep)
        points, _ = run_in_background(
            lambda: sweep_sizing(sp, factors, schedulers, solver=solver, opts=opts, fallback=not no_fallback,
                                 on_message=note, catalog_prices=prices_all), live, cancel, "sizing")
        if as_json:
            print_json({"problem": sp.to_json(), "points": [p.to_json() for p in points]})
        else:
            _print_sweep(points, schedulers)
        if cancel.is_set():
            err_console.print("ppipe: sweep cancelled")
            raise typer.Exit(ExitCode.CANCELLED)
        return

    verified = None
    if verify:
        from ppipe.experiments.sizing_verify import size_and_verify

        factory = _arrival_factory(arrivals, trace)

        def on_round(r) -> None:
            if not as_json:
                worst = min(r.checks, key=lambda c: c.attainment)
                err_console.print(f"verify round {r.round}: ${r.result.cost:,.4f}/h, lowest attainment "
                                  f"{100 * worst.attainment:.2f}% ({worst.name})", markup=False)

        def work():
            v = size_and_verify(sp, step=verify_step, max_rounds=verify_rounds, arrivals=factory, seeds=(seed,),
                                duration_s=duration, solver=solver, opts=opts, fallback=not no_fallback,
                                on_message=note, catalog_prices=prices_all, on_round=on_round)
            comps = {}
            if compare and v.result.cost is not None:
                from ppipe.planning.sizing import compare_sizing

                final = sp.with_headroom(v.headroom)
                comps = compare_sizing(final, ("np", "np-cheapest"), solver=solver, opts=opts,
                                       fallback=not no_fallback, on_message=note, replan=False,
                                       catalog_prices=prices_all).results
            return v, comps

        (verified, comps), _ = run_in_background(work, live, cancel, "sizing")
        main = verified.result
        results = {"ppipe": main, **comps}
    else:
        from ppipe.planning.sizing import compare_sizing

        comparison, _ = run_in_background(
            lambda: compare_sizing(sp, schedulers, solver=solver, opts=opts, fallback=not no_fallback,
                                   on_message=note, catalog_prices=prices_all), live, cancel, "sizing")
        results = comparison.results
        main = results["ppipe"]

    plan_file = None
    if main.plan_result is not None and main.plan is not None and not no_save:
        from ppipe.cli.common import unfinished_plan_path
        from ppipe.paths import DEFAULT_PLAN_DIR
        from ppipe.planfile.plan import write_plan
        from ppipe.planning.record import stamp_plan
        from ppipe.planning.sizing import sized_plan_file_name

        path = output or DEFAULT_PLAN_DIR / sized_plan_file_name(sp, main)
        status = "cancelled" if cancel.is_set() else main.status
        path, kept_note = unfinished_plan_path(path, status, main.gap)
        plan = main.plan_result.plan_for_file()
        if main.problem is not None:
            stamp_plan(plan, main.problem, "ppipe", store, sizing=True, status=str(status), gap=main.gap)
        plan_file = write_plan(plan, path)
        if kept_note:
            note(kept_note)

    savings = {k: _saving(main, r) for k, r in results.items() if k != "ppipe"}
    if as_json:
        doc = {"problem": sp.to_json(), **main.to_json(),
               "models": _model_rows(main, sp),
               "comparisons": {k: r.to_json() for k, r in results.items() if k != "ppipe"},
               "savings": savings, "plan_file": str(plan_file) if plan_file else None,
               "prices": {o.gpu: {"price_per_hour": o.price, "own_cost": o.own_cost, "source": o.price_source}
                          for o in sp.offers}}
        if verified is not None:
            doc["verify"] = verified.to_json()
        print_json(doc)
    else:
        _print_human(main, sp, results, savings, verified, plan_file)
    if cancel.is_set():
        err_console.print("ppipe: sizing cancelled" + (f"; best plan so far saved to {plan_file}" if plan_file else ""))
        raise typer.Exit(ExitCode.CANCELLED)
    if main.status == "infeasible":
        err_console.print(f"ppipe: infeasible: {main.message}", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.INFEASIBLE)
    if main.cost is None:
        err_console.print(f"ppipe: no fleet found ({main.status}{': ' + main.message if main.message else ''})",
                          markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.NO_SOLUTION)
    if verified is not None and not verified.passed:
        err_console.print(f"ppipe: verification failed: {verified.message}", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.FAILED)


def _arrival_factory(kind: Optional[str], trace: Optional[Path]):
    from ppipe.sim.arrivals import arrival_factory, arrivals_spec

    if kind is None:
        kind = "trace" if trace is not None else "poisson"
    if trace is not None and kind != "trace":
        raise InputError(f"--arrivals {kind} contradicts --trace")
    return arrival_factory(arrivals_spec(kind, trace=trace))


def _saving(main, other) -> float | None:
    if main.cost is None or other.cost is None or other.cost <= 0:
        return None
    return 1.0 - main.cost / other.cost


def _model_rows(res, sp) -> list[dict]:
    rows = []
    plan = res.plan
    for d, name in enumerate(sp.names):
        mp = plan.models[d] if plan is not None else None
        x = mp.xput if mp is not None else None
        rows.append({"name": name, "target": res.targets[d] if res.targets else sp.targets[d],
                     "headroom": res.headroom[d] if res.headroom else sp.headroom[d],
                     "demand": res.demands[d] if res.demands else sp.demands[d], "throughput": x,
                     "margin": (x / res.demands[d]) if x is not None and res.demands else None,
                     "gpus": mp.gpus_used() if mp is not None else {},
                     "pipelines": len(mp.pipelines) if mp is not None else 0})
    return rows


def _fmt_buy(res) -> str:
    parts = [f"{n} {g}" for g, n in res.buy.items() if n]
    return ", ".join(parts) if parts else "nothing"


def _fmt_cost(v) -> str:
    return "n/a" if v is None else f"${v:,.2f}"


def _print_human(main, sp, results, savings, verified, plan_file) -> None:
    from rich.table import Table

    from ppipe.planning.sizing import SIZING_SCHEDULERS

    if main.cost is None:
        out_console.print(f"[bold]PPipe[/] {main.status}")
        return
    fleet = ", ".join(f"{n} {g}" for g, n in main.fleet.items() if n) or "none"
    out_console.print(f"[bold]PPipe[/] {main.status}: add {_fmt_buy(main)} for [bold]{_fmt_cost(main.cost)}/h[/] "
                      f"({main.solve_seconds:.1f} s); fleet {fleet}"
                      + (f", {_fmt_cost(main.fleet_list_cost)}/h at list prices" if main.fleet_list_cost is not None
                         else ""), soft_wrap=True)
    t = Table(title_justify="left")
    t.add_column("model", overflow="fold", max_width=30)
    for col in ("target", "+head", "planned", "margin", "GPUs"):
        t.add_column(col, justify="right" if col != "GPUs" else "left")
    for r in _model_rows(main, sp):
        t.add_row(r["name"], f"{r['target']:,.1f}", f"{100 * r['headroom']:g}%",
                  f"{r['throughput']:,.1f}" if r["throughput"] is not None else "-",
                  f"{r['margin']:.3f}" if r["margin"] is not None else "-",
                  ", ".join(f"{v:g} {g}" for g, v in r["gpus"].items() if v) or "-")
    out_console.print(t)
    if main.plan is not None:
        pt = Table(title="plan: chunks TYPE/MPS-split x instances", title_justify="left")
        pt.add_column("model", overflow="fold", max_width=30)
        pt.add_column("partitions", overflow="fold")
        pt.add_column("batch", justify="right")
        pt.add_column("req/s", justify="right")
        for m in main.plan.models:
            for i, pl in enumerate(m.pipelines):
                parts = " -> ".join(f"{p.start}-{p.end - 1} {p.gpu}" + (f"/{p.k}" if p.k > 1 else "")
                                    + f" x{p.instances}" for p in pl.partitions)
                pt.add_row(m.name if i == 0 else "", parts, str(pl.batch_size), f"{pl.xput:,.1f}")
        out_console.print(pt)
    if len(results) > 1:
        c = Table(title="side by side (same targets and headroom)", title_justify="left")
        for col in ("scheduler", "GPUs to add", "$/h", "PPipe saves", "solve s"):
            c.add_column(col, justify="right" if col != "scheduler" and col != "GPUs to add" else "left")
        for k, r in results.items():
            label = SIZING_SCHEDULERS.get(k, k)
            if k == "np-cheapest" and r.stats.get("single_type"):
                label += f" ({r.stats['single_type']})"
            s = savings.get(k)
            c.add_row(label, _fmt_buy(r) if r.cost is not None else str(r.status), _fmt_cost(r.cost),
                      "" if k == "ppipe" else ("-" if s is None else f"{100 * s:.1f}%"), f"{r.solve_seconds:.1f}")
        out_console.print(c)
    if verified is not None:
        v = Table(title=f"verification by simulation ({'passed' if verified.passed else 'FAILED'}, "
                        f"{len(verified.rounds)} round(s))", title_justify="left")
        for col in ("model", "load req/s", "attainment", "dropped", "late", "headroom"):
            v.add_column(col, justify="right" if col != "model" else "left")
        if verified.rounds:
            last = verified.rounds[-1]
            for c_, h in zip(last.checks, last.headroom):
                v.add_row(c_.name, f"{c_.load:,.1f}", f"{100 * c_.attainment:.2f}%", f"{100 * c_.dropped:.2f}%",
                          f"{100 * c_.violated:.2f}%", f"{100 * h:g}%")
        out_console.print(v)
        if verified.raised:
            err_console.print(f"headroom raised for {', '.join(verified.raised)} to pass 99% attainment",
                              markup=False)
    if plan_file:
        err_console.print(f"plan saved to {plan_file}")


def _print_sweep(points, schedulers) -> None:
    import sys

    import plotext as plt
    from rich.table import Table

    from ppipe.planning.sizing import SIZING_SCHEDULERS

    xs = [p.total_rate for p in points]
    plt.clear_figure()
    markers = [None] * len(schedulers) if out_console.is_terminal else ["█", "▒", "░"]
    for s, m in zip(schedulers, markers):
        pts = [(x, p.results[s].cost) for x, p in zip(xs, points) if p.results.get(s) and p.results[s].cost is not None]
        if pts:
            plt.plot([a for a, _ in pts], [b for _, b in pts], label=SIZING_SCHEDULERS.get(s, s),
                     marker=m or "dot")
    plt.title("cost of the cheapest fleet vs load")
    plt.xlabel("total target req/s")
    plt.ylabel("$/h")
    plt.plotsize(min(100, plt.terminal_width() or 100), 20)
    plt.theme("clear")
    text = plt.build()
    if not out_console.is_terminal:
        text = plt.uncolorize(text)
    sys.stdout.write(text + "\n")
    t = Table(title="cost vs load", title_justify="left")
    t.add_column("load x", justify="right")
    t.add_column("total req/s", justify="right")
    for s in schedulers:
        t.add_column(f"{SIZING_SCHEDULERS.get(s, s)} $/h", justify="right")
    if "ppipe" in schedulers and len(schedulers) > 1:
        t.add_column("PPipe saves", justify="right")
    for p in points:
        row = [f"{p.factor:g}", f"{p.total_rate:,.1f}"]
        for s in schedulers:
            r = p.results.get(s)
            row.append(_fmt_cost(r.cost) if r is not None and r.cost is not None else (str(r.status) if r else "-"))
        if "ppipe" in schedulers and len(schedulers) > 1:
            base = [p.results[s].cost for s in schedulers if s != "ppipe" and p.results[s].cost is not None]
            main = p.results["ppipe"].cost
            row.append(f"{100 * (1 - main / min(base)):.1f}%" if base and main is not None and min(base) > 0 else "-")
        t.add_row(*row)
    out_console.print(t)
