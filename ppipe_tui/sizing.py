"""The Size screen's model (no Textual): targets, owned and purchasable GPUs, and the
sizing jobs (:mod:`ppipe.planning.sizing`).

The form is kept as typed, like the set-up's (:class:`ppipe_tui.state.SetupForm`), and
checked field by field; :func:`validate_size` builds the sizing problem when every field
holds. The planner's settings a sizing shares with a solve (max partitions, SLO
multiplier and discount, network, MPS levels and GPUs per server) come from the set-up
form, so a sized plan and a solved one are made alike.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ppipe.catalog.gpus import GpuCatalog
from ppipe.errors import InputError, PPipeError
from ppipe.planning.milp import Progress, SolveOptions
from ppipe.planning.problem import MODEL_GROUPS
from ppipe.planning.request import default_weights, group_models, parse_weights
from ppipe.planning.sizing import (
    SIZING_SCHEDULERS,
    SizingComparison,
    SizingProblem,
    SizingResult,
    SweepPoint,
    build_offers,
    compare_sizing,
    default_bw,
    make_sizing_problem,
    parse_sweep,
    sized_plan_file_name,
    sweep_sizing,
)
from ppipe.profiles.store import ProfileStore
from ppipe.textparse import parse_csv_list
from ppipe_tui.state import KeyedForm, PlanEntry, SetupForm, check_field, format_number, gpu_key_parts, stamp_plan

#: The sizing schedulers, in the order the screen lists them (PPipe first, then its baselines).
SIZE_SCHEDULERS: tuple[str, ...] = ("ppipe", "np", "np-cheapest")
#: Short labels (the table fits 80 columns); the long ones are the core's.
SHORT_LABELS = {"ppipe": "PPipe", "np": "NP", "np-cheapest": "NP 1 type"}
#: Most GPUs of a type a user may own in the form.
MAX_OWN = 1_000_000


def size_label(scheduler: str, short: bool = True) -> str:
    if short:
        return SHORT_LABELS.get(scheduler, scheduler)
    return SIZING_SCHEDULERS.get(scheduler, scheduler)


_num = format_number


# ------------------------------------------------------------------ the form

@dataclass
class SizeGpuFields:
    """One GPU type's row, as typed: GPUs owned, what may be bought, the price."""

    own: str = "0"
    buy: str = "no"  # "no", "any" (no cap) or the most to buy
    price: str = ""  # $/h for one GPU; empty: no price (cannot be bought)


@dataclass
class SizeForm(KeyedForm):
    models: str = ""  # comma-separated names, prefixes or a group; empty: the set-up's
    rates: str = ""
    weights: str = ""
    total: str = ""
    headroom: str = "0.1"
    sweep: str = "0.5:2:0.25"
    time_limit: str = "60"
    cost_of: str = "added"  # "added": the GPUs to add; "fleet": the whole fleet at list prices
    gpus: dict[str, SizeGpuFields] = field(default_factory=dict)
    row_type = SizeGpuFields  # not a field: the class of the GPU rows (KeyedForm)

    @classmethod
    def default(cls, catalog: GpuCatalog) -> "SizeForm":
        """Every catalog type, high-class first; priced types may be bought (no cap)."""
        types = sorted(catalog, key=lambda g: g.gpu_class != "high")
        return cls(gpus={g.name: SizeGpuFields("0", "any" if g.price_per_hour is not None else "no",
                                               _num(g.price_per_hour)) for g in types})



FORM_KEYS = ("models", "rates", "weights", "total", "headroom", "sweep", "time_limit")
GPU_KEYS = ("own", "buy", "price")


def _float(text: str, what: str, lo: float = 0.0, lo_open: bool = True) -> tuple[float | None, str | None]:
    try:
        v = float(text.strip())
    except ValueError:
        return None, f"{what}: a number, got {text.strip()!r}"
    if not math.isfinite(v) or (lo_open and not v > lo) or (not lo_open and v < lo):
        return None, f"{what}: a number {'>' if lo_open else '>='} {_num(lo)}, got {text.strip()!r}"
    return v, None


def parse_buy(text: str) -> tuple[bool, int | None]:
    """``no`` -> (False, None); ``any``/``yes`` -> (True, None); ``N`` -> (N > 0, N). Raises ValueError."""
    t = text.strip().lower()
    if t in ("no", "n", "-", "0", ""):
        return False, None
    if t in ("any", "yes", "y", "*"):
        return True, None
    n = int(t)
    if n < 0:
        raise ValueError(t)
    return n > 0, n


def check_gpu_field(form: SizeForm, gpu: str, what: str) -> str | None:
    row = form.gpus[gpu]
    if what == "own":
        t = row.own.strip()
        if not t:
            return None
        try:
            n = int(t)
        except ValueError:
            return f"{gpu} owned: a whole number, got {t!r}"
        return None if 0 <= n <= MAX_OWN else f"{gpu} owned: 0..{MAX_OWN:,}"
    if what == "buy":
        try:
            parse_buy(row.buy)
        except ValueError:
            return f"{gpu} buy: no, any, or the most to buy (a whole number), got {row.buy.strip()!r}"
        return None
    t = row.price.strip()
    if not t:
        return None
    return _float(t, f"{gpu} $/h", 0.0, lo_open=False)[1]


def resolve_models(form: SizeForm, setup: SetupForm, store: ProfileStore) -> tuple[list[str], str | None]:
    """The models to size (the field's, else the set-up's ticked ones) and the group named, if any."""
    text = form.models.strip()
    if not text:
        return list(setup.models), None
    tokens = parse_csv_list(text, "model")
    if len(tokens) == 1 and tokens[0].upper() in MODEL_GROUPS:
        return group_models(tokens[0]), tokens[0].upper()
    return [store.resolve(t) for t in tokens], None


@dataclass
class SizeRequest:
    """A validated Size form: the sizing problem and how to solve it."""

    problem: SizingProblem
    factors: list[float]
    time_limit: float | None
    solver: str
    catalog_prices: dict
    notes: list[str] = field(default_factory=list)


def validate_size(form: SizeForm, setup: SetupForm, store: ProfileStore, catalog: GpuCatalog
                  ) -> tuple[SizeRequest | None, dict[str, str], list[str]]:
    """Check every field; build the sizing problem when they all hold.

    Returns (request or None, problems keyed by field, notes). A problem is one whole
    line naming the field (the screen shows them all, wrapped)."""
    errors: dict[str, str] = {}
    notes: list[str] = []
    # models
    names: list[str] = []
    group = None
    try:
        names, group = resolve_models(form, setup, store)
    except PPipeError as exc:
        errors["models"] = f"models: {exc}"
    if not names and "models" not in errors:
        errors["models"] = "models: tick some on F2 (Set-up) or type names here, like alpha-net,beta-det or G1"
    profiles = []
    for n in names:
        try:
            profiles.append(store.get(n))
        except PPipeError as exc:
            errors["models"] = f"models: {exc}"
    n = len(names)
    # targets
    targets: list[float] | None = None
    rates, total = form.rates.strip(), form.total.strip()
    if rates and total:
        errors["rates"] = "targets: give Rates (one req/s per model) or Weights with a Total, not both"
    elif rates:
        try:
            vals = [float(v) for v in parse_csv_list(rates, "rate")]
        except (InputError, ValueError):
            errors["rates"] = f"rates: numbers in req/s like 300,250, got {rates!r}"
        else:
            bad = [v for v in vals if not (math.isfinite(v) and v > 0)]
            if bad:
                errors["rates"] = f"rates: each > 0 req/s, got {_num(bad[0])}"
            elif n and len(vals) != n:
                errors["rates"] = f"rates: {len(vals)} rate(s) for {n} model(s) ({', '.join(names)})"
            else:
                targets = vals
    elif total:
        t, msg = _float(total, "total req/s")
        if msg:
            errors["total"] = msg
        elif n:
            try:
                w = parse_weights(default_weights(group, n, form.weights.strip() or None), n)
            except InputError as exc:
                errors["weights"] = f"weights: {exc}"
            else:
                targets = [t * x / sum(w) for x in w]
    else:
        errors["rates"] = "targets: give Rates (req/s per model, like 300,250) or Weights with a Total"
    if rates and form.weights.strip() and "rates" not in errors:
        notes.append("weights are ignored: the rates give each model's target")
    # headroom
    headroom: list[float] = []
    try:
        headroom = [float(v) for v in parse_csv_list(form.headroom.strip() or "0", "headroom")]
        if any(not (math.isfinite(h) and h >= 0) for h in headroom):
            raise ValueError
        if n and len(headroom) not in (1, n):
            errors["headroom"] = f"headroom: one value, or one per model ({n}), got {len(headroom)}"
        elif len(headroom) == 1:
            headroom = headroom * max(n, 1)
    except (InputError, ValueError):
        errors["headroom"] = f"headroom: a share >= 0 like 0.1 (plan for 110% of the targets), got {form.headroom!r}"
    # sweep and time limit
    factors: list[float] = []
    try:
        factors = parse_sweep(form.sweep)
    except InputError as exc:
        errors["sweep"] = f"sweep: {str(exc).replace('--sweep ', '')}"
    time_limit = None
    if form.time_limit.strip():
        time_limit, msg = _float(form.time_limit, "time limit s")
        if msg:
            errors["time_limit"] = msg
    # the set-up's planner settings
    for key in ("max_parts", "slo_multiplier", "slo_discount", "bw"):
        msg = check_field(setup, key)
        if msg:
            errors["setup"] = f"set-up (F2): {msg}"
    # GPUs
    own: dict[str, int] = {}
    buy: dict[str, int | None] = {}
    prices: dict[str, float] = {}
    left_out: list[str] = []
    for g in form.gpus:
        for what in GPU_KEYS:
            msg = check_gpu_field(form, g, what)
            if msg:
                errors[f"gpu.{g}.{what}"] = msg
        if any(k.startswith("gpu.") and gpu_key_parts(k)[0] == g for k in errors):
            continue
        row = form.gpus[g]
        n_own = int(row.own.strip() or 0)
        buyable, cap = parse_buy(row.buy)
        if not n_own and not buyable:
            continue
        lacking = [p.name for p in profiles if not p.has(g, 1)]
        if lacking:
            if n_own or len(lacking) < len(profiles):  # a type no chosen model runs on goes unsaid
                left_out.append(f"{g} (no profile of {', '.join(lacking)})")
            continue
        price_text = row.price.strip()
        if buyable and not price_text:
            errors[f"gpu.{g}.price"] = f"{g}: no price, so it cannot be bought (give $/h, or set buy to no)"
            continue
        if n_own:
            own[g] = n_own
        if buyable:
            buy[g] = cap
        if price_text:
            price = float(price_text)
            listed = catalog.get(g).price_per_hour if g in catalog else None
            if listed is None or abs(price - listed) > 1e-12:
                prices[g] = price
    if left_out:
        notes.append("left out: " + "; ".join(left_out))
    if not own and not buy and not any(k.startswith("gpu.") for k in errors) and profiles:
        errors["gpus"] = "GPUs: own some or allow buying some (buy: any, or a cap)"
    if errors:
        return None, errors, notes
    mps, per_server = {}, {}
    for g in list(own) + [g for g in buy if g not in own]:
        row = setup.gpus.get(g)
        if row is not None and not check_field(setup, f"gpu.{g}.mps") and not check_field(setup, f"gpu.{g}.server"):
            mps[g], per_server[g] = int(row.mps), int(row.server)
    try:
        offers = build_offers(own, buy, prices={g: p for g, p in prices.items() if g in own or g in buy} or None,
                              new_fleet=form.cost_of == "fleet", mps=mps, gpus_per_server=per_server, catalog=catalog)
        bw = float(setup.bw) if setup.bw.strip() else default_bw(offers, catalog)
        sp = make_sizing_problem(profiles, targets or [], offers, bw, headroom=headroom,
                                 max_parts=int(setup.max_parts), slo_multiplier=float(setup.slo_multiplier),
                                 slo_discount=float(setup.slo_discount))
    except PPipeError as exc:
        return None, {"problem": str(exc)}, notes
    from ppipe.planning.solvers import SOLVERS

    solver = setup.solver if setup.solver in SOLVERS else "highs"
    return SizeRequest(sp, factors, time_limit, solver, {g.name: g.price_per_hour for g in catalog}, notes), {}, notes


# ------------------------------------------------------------------ runs

_ids = itertools.count(1)


@dataclass
class SizeRun:
    """A sizing (the three schedulers side by side) or a cost-versus-load sweep, as shown live."""

    kind: str  # "size" or "sweep"
    request: SizeRequest
    id: int = field(default_factory=lambda: next(_ids))
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)
    message: str = "starting"
    elapsed: float = 0.0
    comparison: SizingComparison | None = None
    points: list = field(default_factory=list)  # SweepPoint, as they come
    error: str | None = None
    finished: bool = False
    best: float | None = None  # the live incumbent, $/h

    @property
    def status(self) -> str:
        if self.error:
            return "failed"
        if self.finished:
            return "cancelled" if self.cancel.is_set() else "done"
        return "cancelling" if self.cancel.is_set() else "running"

    def add_progress(self, p: Progress) -> None:
        if p.message:
            self.message = p.message
        self.best = p.incumbent if p.incumbent is not None else self.best
        self.elapsed = time.perf_counter() - self.started


def run_size(req: SizeRequest, cancel: threading.Event, on_progress: Callable[[Progress], None]) -> SizingComparison:
    """PPipe, NP and NP on the cheapest single type, one after the other (blocking)."""
    opts = SolveOptions(time_limit=req.time_limit, progress=on_progress, cancel=cancel)
    return compare_sizing(req.problem, SIZE_SCHEDULERS, solver=req.solver, opts=opts,
                          on_message=lambda m: on_progress(Progress(None, None, None, 0.0, m)),
                          replan={s: True for s in SIZE_SCHEDULERS}, catalog_prices=req.catalog_prices)


def run_size_sweep(req: SizeRequest, cancel: threading.Event, on_progress: Callable[[Progress], None],
                   on_point: Callable[[SweepPoint], None]) -> list[SweepPoint]:
    """Cost versus load: every factor x the targets, each scheduler (blocking)."""
    opts = SolveOptions(time_limit=req.time_limit, progress=on_progress, cancel=cancel)
    return sweep_sizing(req.problem, req.factors, SIZE_SCHEDULERS, solver=req.solver, opts=opts,
                        on_message=lambda m: on_progress(Progress(None, None, None, 0.0, m)), on_point=on_point,
                        catalog_prices=req.catalog_prices)


def sized_entry(req: SizeRequest, res: SizingResult, store: ProfileStore) -> PlanEntry | None:
    """A sized fleet's plan as the plan view shows it (stamped like a solved plan)."""
    pr = res.plan_result
    if pr is None or pr.plan is None or res.problem is None:
        return None
    tag = "np" if res.scheduler in ("np", "np-cheapest") else "ppipe"
    plan = pr.plan_for_file()
    stamp_plan(plan, res.problem, tag, store)
    c = res.problem.cluster
    cost = "-" if res.cost is None else f"${res.cost:,.2f}/h"
    origin = (f"sized by {size_label(res.scheduler, False)}: {cost}, adds {buy_text(res.buy)}; "
              f"margin over the targets {margin_text(res.margin)}")
    return PlanEntry(plan=plan, scheduler=tag, status=str(pr.status), objective=pr.objective, gap=pr.gap,
                     solve_seconds=res.solve_seconds, limits=dict(zip(c.gpus, c.limits)), weights=list(res.problem.weights),
                     problem=res.problem, message=pr.message, name_hint=sized_plan_file_name(req.problem, res),
                     origin=origin, label=f"{size_label(res.scheduler)} sized")


def buy_text(buy: dict) -> str:
    """{"L4": 0, "T4": 3} -> "3 T4"; nothing -> "nothing"."""
    parts = [f"{n} {g}" for g, n in buy.items() if n]
    return ", ".join(parts) if parts else "nothing"


def fleet_text(fleet: dict) -> str:
    return ",".join(f"{g}:{n}" for g, n in fleet.items() if n) or "-"


def margin_text(margin: float | None) -> str:
    """min throughput / demand as a percentage of the demand ("103%")."""
    if margin is None or not math.isfinite(margin):
        return "-"
    return f"{100 * margin:.0f}%"


def saving_text(main: SizingResult | None, other: SizingResult | None) -> str:
    """PPipe's saving against ``other``: "-38%" (cheaper), "same", or "-"."""
    if main is None or other is None or main.cost is None or other.cost is None:
        return "-"
    if other.cost <= 0:
        return "same" if main.cost <= 0 else "-"
    s = 1.0 - main.cost / other.cost
    return "same" if abs(s) < 5e-4 else f"{100 * s:.0f}%"
