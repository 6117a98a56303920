"""Sizing: the cheapest fleet that serves a target load, given the GPUs already owned.

The planner (:mod:`ppipe.planning.planner`) answers "how much load can this
fleet serve?". Sizing answers the inverse: "which GPUs must be added, at least
cost, so that every model serves its target rate?". It is the planner's MILP on
the same enumerated configurations (:func:`~ppipe.planning.configs.enumerate_configs`)
with two changes:

- the pool limits ``limit[g]`` become ``own[g] + buy[g]`` with ``buy[g]`` an
  integer in ``[0, cap[g]]`` (0 for a type without a price);
- the max-min objective becomes ``minimise sum_g price[g] buy[g]`` (plus
  ``own_cost[g] x owned GPUs put to use``, 0 unless asked), with one row per
  model ``sum_c x_c >= demand[d] = target[d] x (1 + headroom[d])``.

Everything else is the planner's: one binary per configuration, the slot rows
(:func:`~ppipe.planning.rows.add_slot_rows`, |G|^P slots per model over *all*
offered types), GPU use summed per (model, partition position, type) and rounded
up (:func:`~ppipe.planning.rows.add_pool_rows`, the same unit). est_xput (the
arrival rate that prices batch building) is each model's **target rate**, the
rate the plan will see.

Bounds are derived, never arbitrary. Some optimum has every pipeline serve at
most its model's demand (cutting a pipeline's throughput never needs more GPUs),
so ``x_c <= demand[d]`` and ``n_cp <= ceil(demand[d] / t_cp)`` (and ``<= limit[g]
k_p`` where the type has a cap). A pool's GPUs in such an optimum are below
``demand x max 1/(k t) + (pipelines in the pool) / k_min`` (each pipeline rounds
its instances up by less than one), and a pool holds at most |G|^(P-1) pipelines
(slots with that type at that position); a type's purchase bound is the sum over
its pools, less what is owned.

Costs are solved exactly: prices are scaled to integers (their decimal digits,
up to 6) and the MILP is solved with a zero relative gap, so the reported cost
is the optimum, not one within a tolerance.

The fleet's plan: with the GPUs fixed (owned + bought), the planner's max-min
MILP with weights = demands gives every model the same, largest margin over its
demand (``objective >= 1`` means every target is met); it is the plan ``ppipe
solve`` would make on that fleet with those weights and est_xput. If that solve
does not finish, the sizing solution's own plan is used.

Schedulers: ``ppipe`` (pools, partitions, MPS, batch), ``np`` (P = 1, whole
GPUs) and ``np-cheapest`` (NP buying a single type, the cheapest such fleet).

Entry points (the CLI's ``ppipe size`` and a TUI use these): :func:`build_offers`,
:func:`make_sizing_problem`, :func:`size_fleet`, :func:`compare_sizing`,
:func:`sweep_sizing`; :mod:`ppipe.experiments.sizing_verify` proves a sized plan
by simulation and raises headroom where it falls short.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Callable, Optional, Sequence

from ppipe.catalog.gpus import GpuCatalog
from ppipe.errors import InputError
from ppipe.planfile.plan import ModelPlan, Plan
from ppipe.planning.configs import EnumerationStopped, PipelineConfig, enumerate_configs
from ppipe.planning.milp import MilpModel, MilpResult, Progress, SolveOptions
from ppipe.planning.planner import config_doc, mps_levels_of, objective_of, pipeline_from_config, solve_milp
from ppipe.planning.problem import ClusterSpec, PlanningProblem, build_problem, check_weights
from ppipe.planning.results import SolveResult
from ppipe.planning.rows import add_pool_rows, add_slot_rows, gpu_unit
from ppipe.planning.solvers import DEFAULT_SOLVER, solve_model
from ppipe.planning.status import Status
from ppipe.profiles.model import ModelProfile

#: The sizing schedulers, in comparison order (baselines first).
SIZING_SCHEDULERS: dict[str, str] = {
    "np-cheapest": "NP, cheapest single type",
    "np": "NP",
    "ppipe": "PPipe",
}
#: Largest number of decimal digits of a price kept exact in the MILP's integer costs.
PRICE_DIGITS = 6
#: A plan meets its targets when min_d throughput_d / demand_d >= 1 - this.
MEET_TOLERANCE = 1e-6


class NoConfiguration(InputError):
    """A model has no pipeline that meets its SLO at its target rate on the offered types."""


# ------------------------------------------------------------------ inputs

@dataclass(frozen=True)
class GpuOffer:
    """One GPU type of a sizing problem: what is owned, and what may be bought at what price."""

    gpu: str
    own: int = 0
    price: float | None = None  # $/h for one more GPU; None: cannot be bought
    cap: int | None = None  # most GPUs to buy; None: no cap (bounded by the targets)
    own_cost: float = 0.0  # $/h per owned GPU put to use (0: a sunk cost)
    mps_levels: int = 1
    gpus_per_server: int = 1
    price_source: str = ""

    @property
    def buyable(self) -> bool:
        return self.price is not None and self.cap != 0

    def to_json(self) -> dict:
        return {"gpu": self.gpu, "own": self.own, "price_per_hour": self.price, "cap": self.cap,
                "own_cost": self.own_cost, "mps_levels": self.mps_levels, "gpus_per_server": self.gpus_per_server,
                "price_source": self.price_source}


@dataclass(frozen=True)
class SizingProblem:
    """Models with target rates, the offered GPU types, and the planner's settings."""

    profiles: tuple[ModelProfile, ...]
    targets: tuple[float, ...]  # req/s per model: the arrival rate to serve (and est_xput)
    headroom: tuple[float, ...]  # per model: plan for target x (1 + headroom)
    offers: tuple[GpuOffer, ...]
    bw_gbps: float
    max_parts: int = 2
    slo_multiplier: float = 5.0
    slo_discount: float = 0.4

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.profiles]

    @property
    def gpus(self) -> tuple[str, ...]:
        return tuple(o.gpu for o in self.offers)

    @property
    def demands(self) -> tuple[float, ...]:
        return tuple(t * (1.0 + h) for t, h in zip(self.targets, self.headroom))

    def offer(self, gpu: str) -> GpuOffer:
        for o in self.offers:
            if o.gpu == gpu:
                return o
        raise InputError(f"GPU type {gpu!r} is not offered (offered: {', '.join(self.gpus)})")

    def scaled(self, factor: float) -> "SizingProblem":
        """The same problem at ``factor`` times every target."""
        if not (factor > 0 and math.isfinite(factor)):
            raise InputError(f"a load factor must be > 0, got {factor!r}")
        return replace(self, targets=tuple(t * factor for t in self.targets))

    def with_headroom(self, headroom: Sequence[float]) -> "SizingProblem":
        return make_sizing_problem(list(self.profiles), list(self.targets), list(self.offers), self.bw_gbps,
                                   headroom=list(headroom), max_parts=self.max_parts,
                                   slo_multiplier=self.slo_multiplier, slo_discount=self.slo_discount)

    def cluster(self, limits: Sequence[int] | None = None) -> ClusterSpec:
        """The offered types as a cluster; ``limits`` default to 1 each (a placeholder
        for enumerating configurations, which does not depend on the counts)."""
        limits = tuple(int(x) for x in limits) if limits is not None else (1,) * len(self.offers)
        return ClusterSpec(self.gpus, limits, tuple(o.mps_levels for o in self.offers),
                           tuple(o.gpus_per_server for o in self.offers), self.bw_gbps)

    def planning_problem(self, scheduler: str = "ppipe", limits: Sequence[int] | None = None) -> PlanningProblem:
        """The planner's problem on the offered types: weights = demands (so the max-min
        objective is the smallest throughput / demand), est_xput = targets."""
        pp = build_problem(list(self.profiles), self.cluster(limits), list(self.demands), max_parts=self.max_parts,
                           slo_multiplier=self.slo_multiplier, slo_discount=self.slo_discount,
                           est_xput=list(self.targets))
        if scheduler in ("np", "np-cheapest"):
            pp = replace(pp, max_parts=1, whole_gpus_only=True)
        elif scheduler != "ppipe":
            raise InputError(f"unknown sizing scheduler {scheduler!r} (use {', '.join(SIZING_SCHEDULERS)})")
        return pp

    def to_json(self) -> dict:
        return {"models": self.names, "targets": list(self.targets), "headroom": list(self.headroom),
                "demands": list(self.demands), "offers": [o.to_json() for o in self.offers],
                "bw_gbps": self.bw_gbps, "max_parts": self.max_parts, "slo_multiplier": self.slo_multiplier,
                "slo_discount": self.slo_discount}


#: The one-line error for a sizing with nothing to buy or own.
NO_OFFERS = "no GPU types offered: give owned GPUs (--own) or types to buy (--buy)"


def _finite(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def make_sizing_problem(profiles: list[ModelProfile], targets: Sequence[float], offers: Sequence[GpuOffer],
                        bw_gbps: float, *, headroom: float | Sequence[float] = 0.0, max_parts: int = 2,
                        slo_multiplier: float = 5.0, slo_discount: float = 0.4) -> SizingProblem:
    """A validated sizing problem; a mistake is one :class:`InputError` naming the model or type."""
    if not profiles:
        raise InputError("no models given")
    names = [p.name for p in profiles]
    if len(set(names)) != len(names):
        raise InputError(f"a model is listed twice: {','.join(names)}")
    targets = list(targets)
    if len(targets) != len(profiles):
        raise InputError(f"{len(targets)} target rates for {len(profiles)} models ({', '.join(names)})")
    for name, t in zip(names, targets):
        if not _finite(t) or t <= 0:
            raise InputError(f"the target rate of model {name} must be a number > 0 req/s, got {t!r}")
    hs = [float(headroom)] * len(profiles) if isinstance(headroom, (int, float)) else list(headroom)
    if len(hs) != len(profiles):
        raise InputError(f"{len(hs)} headroom values for {len(profiles)} models")
    for name, h in zip(names, hs):
        if not _finite(h) or h < 0:
            raise InputError(f"the headroom of model {name} must be >= 0, got {h!r}")
    # the planner takes the demands as weights: say what is wrong in the user's terms
    check_weights([t * (1 + h) for t, h in zip(targets, hs)],
                  [f"the target rate of model {n}{' with headroom' if h else ''}" for n, h in zip(names, hs)],
                  "the target rates", " req/s")
    offers = list(offers)
    if not offers:
        raise InputError(NO_OFFERS)
    gpus = [o.gpu for o in offers]
    if len(set(gpus)) != len(gpus):
        raise InputError(f"GPU types repeat in {','.join(gpus)}")
    for o in offers:
        if not isinstance(o.own, int) or o.own < 0:
            raise InputError(f"owned {o.gpu} GPUs must be a whole number >= 0, got {o.own!r}")
        if o.cap is not None and (not isinstance(o.cap, int) or o.cap < 0):
            raise InputError(f"the purchase cap of {o.gpu} must be a whole number >= 0, got {o.cap!r}")
        if o.price is not None and (not _finite(o.price) or o.price < 0):
            raise InputError(f"the price of {o.gpu} must be >= 0 $/h, got {o.price!r}")
        if not _finite(o.own_cost) or o.own_cost < 0:
            raise InputError(f"the cost of an owned {o.gpu} must be >= 0 $/h, got {o.own_cost!r}")
        if o.mps_levels < 1 or o.gpus_per_server < 1:
            raise InputError(f"{o.gpu}: MPS levels and GPUs per server must be >= 1")
    if not any(o.own > 0 or o.buyable for o in offers):
        raise InputError("nothing to plan with: no GPUs owned and none for sale")
    if not (_finite(bw_gbps) and bw_gbps > 0):
        raise InputError(f"network bandwidth must be > 0 Gbit/s, got {bw_gbps!r}")
    for p in profiles:
        missing = [g for g in gpus if not p.has(g, 1)]
        if missing:
            raise InputError(f"model {p.name} has no profile for GPU type(s) {', '.join(missing)}")
    if max_parts < 1:
        raise InputError(f"--max-parts must be at least 1, got {max_parts}")
    if not slo_multiplier > 0 or not 0 <= slo_discount < 1:
        raise InputError("the SLO multiplier must be > 0 and the discount in [0, 1)")
    return SizingProblem(tuple(profiles), tuple(float(t) for t in targets), tuple(float(h) for h in hs),
                         tuple(offers), float(bw_gbps), int(max_parts), float(slo_multiplier), float(slo_discount))


def build_offers(own: dict[str, int] | None = None, buy: dict[str, int | None] | None = None, *,
                 prices: dict[str, float] | None = None, own_cost: dict[str, float] | str | None = None,
                 new_fleet: bool = False, mps: dict[str, int] | None = None,
                 gpus_per_server: dict[str, int] | None = None,
                 catalog: GpuCatalog | None = None) -> list[GpuOffer]:
    """Offers from what a user typed (the CLI's and a TUI's one path).

    ``own``: type -> GPUs owned; ``buy``: type -> purchase cap (None: no cap);
    ``prices``: $/h overrides of the catalog's; ``own_cost``: $/h per owned GPU put
    to use, per type, or ``"catalog"`` for the list price (default 0: sunk);
    ``new_fleet``: the cost is that of the whole fleet, so owned GPUs count at their
    price too (``own_cost`` still overrides). Types keep the order owned, then bought.
    Unknown types, a type to buy without a price, or a price/cost for a type not
    offered fail with one line naming the type."""
    catalog = catalog or GpuCatalog.load()
    own = dict(own or {})
    buy = dict(buy or {})
    prices = dict(prices or {})
    mps = dict(mps or {})
    gpus_per_server = dict(gpus_per_server or {})
    order = list(own) + [g for g in buy if g not in own]
    for g in order:
        catalog.get(g)  # unknown type -> one line naming the known ones
    for label, mapping in (("a price", prices), ("MPS levels", mps), ("GPUs per server", gpus_per_server),
                           ("an owned-GPU cost", own_cost if isinstance(own_cost, dict) else {})):
        for g in mapping:
            if g not in order:
                raise InputError(f"{g} is given {label} but is neither owned nor to be bought "
                                 f"(offered: {', '.join(order) or 'none'})")
    for g, p in prices.items():
        if not (_finite(p) and p >= 0):
            raise InputError(f"the price of {g} must be >= 0 $/h, got {p!r}")
    offers = []
    for g in order:
        entry = catalog.get(g)
        price = prices[g] if g in prices else entry.price_per_hour
        source = "given" if g in prices else entry.price_source
        if g in buy and price is None:
            raise InputError(f"GPU type {g} has no price, so it cannot be bought (give --price {g}=DOLLARS_PER_HOUR "
                             f"or add price_per_hour to your gpus.json); it can only be used if owned")
        if isinstance(own_cost, str):
            if own_cost != "catalog":
                raise InputError(f"--own-cost takes TYPE=DOLLARS,... or 'catalog', got {own_cost!r}")
            oc = price
        elif own_cost and g in own_cost:
            oc = own_cost[g]
        elif new_fleet:
            oc = price
        else:
            oc = 0.0
        if own.get(g, 0) > 0 and oc is None:
            raise InputError(f"owned GPU type {g} has no price to count in the fleet's cost "
                             f"(give --price {g}=DOLLARS_PER_HOUR or --own-cost {g}=DOLLARS_PER_HOUR)")
        offers.append(GpuOffer(gpu=g, own=int(own.get(g, 0)), price=price if g in buy else None,
                               cap=buy.get(g) if g in buy else 0, own_cost=float(oc or 0.0),
                               mps_levels=int(mps.get(g, entry.mps_levels)),
                               gpus_per_server=int(gpus_per_server.get(g, entry.gpus_per_server)),
                               price_source=source))
    return offers


def default_bw(offers: Sequence[GpuOffer], catalog: GpuCatalog | None = None) -> float:
    """The planner's default bandwidth: the slowest offered type's network."""
    if not offers:
        raise InputError(NO_OFFERS)
    catalog = catalog or GpuCatalog.load()
    return float(min(catalog.get(o.gpu).network_gbps for o in offers))


def priced_types(catalog: GpuCatalog, profiles: Sequence[ModelProfile]) -> list[str]:
    """Catalog types with a price and a (k = 1) profile for every model: the default to buy from."""
    return [g.name for g in catalog if g.price_per_hour is not None and all(p.has(g.name, 1) for p in profiles)]


# ------------------------------------------------------------------ result

@dataclass(frozen=True, kw_only=True)
class SizingResult:
    """A sizing solve: the GPUs to add, the cost, and the fleet's plan."""

    status: Status
    scheduler: str
    gpus: tuple[str, ...] = ()
    cost: float | None = None  # $/h: the objective (added GPUs + owned GPUs used x their cost)
    bound: float | None = None
    gap: float | None = None
    buy: dict = field(default_factory=dict)  # type -> GPUs to add
    own_used: dict = field(default_factory=dict)  # type -> owned GPUs in the fleet
    fleet: dict = field(default_factory=dict)  # type -> GPUs in the fleet (owned used + bought)
    fleet_list_cost: float | None = None  # the whole fleet at list prices (None: a type has no price)
    targets: tuple = ()
    demands: tuple = ()
    headroom: tuple = ()
    throughputs: tuple = ()  # planned req/s per model
    plan_result: SolveResult | None = None  # the fleet's plan (SolveResult of the planner, or built here)
    problem: PlanningProblem | None = None  # the planner's problem on the fleet (naming, saving)
    solve_seconds: float = 0.0
    message: str = ""
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    @property
    def ok(self) -> bool:
        return self.cost is not None and self.status.has_plan_kind

    @property
    def plan(self) -> Plan | None:
        return self.plan_result.plan if self.plan_result is not None else None

    @property
    def margin(self) -> float | None:
        """min_d planned throughput / demand (>= 1: every target met with its headroom)."""
        if not self.throughputs or not self.demands:
            return None
        return min(x / d for x, d in zip(self.throughputs, self.demands))

    @property
    def added(self) -> int:
        return int(sum(self.buy.values()))

    def to_json(self) -> dict:
        return {
            "status": str(self.status), "scheduler": self.scheduler, "label": SIZING_SCHEDULERS.get(self.scheduler),
            "cost_per_hour": self.cost, "bound": self.bound, "mip_gap": self.gap, "buy": dict(self.buy),
            "own_used": dict(self.own_used), "fleet": dict(self.fleet), "fleet_list_cost": self.fleet_list_cost,
            "targets": list(self.targets), "demands": list(self.demands), "headroom": list(self.headroom),
            "throughputs": list(self.throughputs), "margin": self.margin, "solve_seconds": self.solve_seconds,
            "message": self.message, "stats": {k: v for k, v in self.stats.items() if k != "values"},
        }


# ------------------------------------------------------------------ the MILP

def _digits(value: float) -> int:
    exp = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -int(exp)) if isinstance(exp, int) else 0


def price_scale(values: Sequence[float]) -> int:
    """10^d with d the most decimal digits among ``values`` (at most PRICE_DIGITS):
    costs x scale are integers, so a zero-gap solve is exact."""
    return 10 ** min(max([_digits(v) for v in values if v] + [0]), PRICE_DIGITS)


@dataclass
class SizingMilp:
    model: MilpModel
    configs: list[list[PipelineConfig]]
    y: list[list[Optional[int]]]
    n: list[list[Optional[list[int]]]]
    x: list[list[Optional[int]]]
    buy: dict[int, int]  # type index -> variable
    own_used: dict[int, int]  # type index -> variable (types whose owned GPUs cost something)
    scale: int
    bounds: dict = field(default_factory=dict)  # derived bounds, for the record
    unservable: list = field(default_factory=list)  # models whose every pipeline needs a type with no GPUs


def build_sizing_milp(sp: SizingProblem, pp: PlanningProblem, configs: list[list[PipelineConfig]]) -> SizingMilp:
    """The planner's MILP (:func:`ppipe.planning.planner.build_milp`) with pool limits
    own + buy and a min-cost objective over demand rows (see the module docstring)."""
    G = len(sp.offers)
    P = pp.max_parts
    demands = sp.demands
    limit: list[float] = [o.own + (o.cap if o.cap is not None else math.inf) if o.buyable else o.own
                          for o in sp.offers]
    M = MilpModel("ppipe-size")
    unit = gpu_unit(cfg for cfgs in configs for cfg in cfgs)
    usage: dict[tuple[int, int, int], list[tuple[int, float]]] = {}
    pool_info: dict[tuple[int, int, int], list[tuple[int, int, float]]] = {}  # (nmax, k, t)
    ys, ns, xs = [], [], []
    unservable: list[str] = []
    for d, cfgs in enumerate(configs):
        D = demands[d]
        yd, nd, xd, used = [], [], [], []
        for ci, cfg in enumerate(cfgs):
            per_type: dict[int, float] = {}
            for st in cfg.stages:
                per_type[st.gpu] = per_type.get(st.gpu, 0.0) + 1.0 / (st.k * st.xput)
            cap = min([D] + [limit[g] / v for g, v in per_type.items() if math.isfinite(limit[g])])
            if cap <= 0:  # uses a type with no GPUs to own or buy
                yd.append(None), nd.append(None), xd.append(None)
                continue
            y = M.var(0, 1, integer=True, name=f"y[{d},{ci}]")
            x = M.var(0.0, cap, name=f"x[{d},{ci}]")
            ncs = []
            for q, st in enumerate(cfg.stages):
                nmax = math.ceil(cap / st.xput - 1e-9)
                if math.isfinite(limit[st.gpu]):
                    nmax = min(nmax, int(limit[st.gpu]) * st.k)
                n = M.var(0, nmax, integer=True, name=f"n[{d},{ci},{q}]")
                M.row({n: 1.0, y: -float(nmax)}, hi=0.0)
                M.row({x: 1.0, n: -st.xput}, hi=0.0)
                usage.setdefault((d, q, st.gpu), []).append((n, unit // st.k))
                pool_info.setdefault((d, q, st.gpu), []).append((nmax, st.k, st.xput))
                ncs.append(n)
            M.row({x: 1.0, y: -cap}, hi=0.0)
            yd.append(y), nd.append(ncs), xd.append(x)
            used.append((cfg.gpu_seq, y))
        if not used:
            unservable.append(sp.names[d])
        M.row({x: 1.0 for x in xd if x is not None}, lo=D)
        add_slot_rows(M, used, G, P)
        ys.append(yd), ns.append(nd), xs.append(xd)
    # Derived bound on each pool's GPUs in some optimum (module docstring), summed per type.
    per_pool_slots = G ** (P - 1)
    type_bound = [0] * G
    for key, info in sorted(pool_info.items()):
        d, _, g = key
        trivial = math.ceil(sum(nmax * (unit // k) for nmax, k, _ in info) / unit)
        worst = max(1.0 / (k * t) for _, k, t in info)
        pipes = min(len(info), per_pool_slots)
        derived = math.ceil(demands[d] * worst * (1 + 1e-12) + pipes / min(k for _, k, _ in info))
        type_bound[g] += min(trivial, derived)
    bounds = [min(b, int(limit[g])) if math.isfinite(limit[g]) else b for g, b in enumerate(type_bound)]
    zs = add_pool_rows(M, usage, bounds, unit)
    scale = price_scale([o.price for o in sp.offers if o.buyable] + [o.own_cost for o in sp.offers if o.own])
    buy, own_used, cost = {}, {}, {}
    for g, o in enumerate(sp.offers):
        pools = [z for key, z in zs.items() if key[-1] == g]
        if not pools:
            continue
        row = {z: 1.0 for z in pools}
        own_rhs = float(o.own)
        if o.own > 0 and o.own_cost > 0:
            u = M.var(0, o.own, integer=True, name=f"own[{o.gpu}]")
            own_used[g] = u
            row[u] = -1.0
            cost[u] = float(round(o.own_cost * scale))
            own_rhs = 0.0
        if o.buyable:
            # owned GPUs that cost something may be left idle for cheaper new ones
            ub = bounds[g] if g in own_used else max(0, bounds[g] - o.own)
            if o.cap is not None:
                ub = min(ub, o.cap)
            b = M.var(0, ub, integer=True, name=f"buy[{o.gpu}]")
            buy[g] = b
            row[b] = -1.0
            cost[b] = float(round(o.price * scale))
        M.row(row, hi=own_rhs)
    M.objective(cost, maximize=False)
    return SizingMilp(M, configs, ys, ns, xs, buy, own_used, scale,
                      {"type_bound": dict(zip(sp.gpus, bounds)), "unit": unit}, unservable)


# ------------------------------------------------------------------ solving

def _plan_from_values(pp: PlanningProblem, sm: SizingMilp, values) -> Plan:
    models = []
    for d, cfgs in enumerate(sm.configs):
        pipes = []
        for ci, cfg in enumerate(cfgs):
            y = sm.y[d][ci]
            if y is None or values[y] < 0.5:
                continue
            counts = [int(round(values[n])) for n in sm.n[d][ci]]
            if min(counts) <= 0:
                continue
            pipes.append(pipeline_from_config(pp, d, cfg, counts))
        models.append(ModelPlan(xput=sum(p.xput for p in pipes), sla=pp.models[d].sla, pipelines=pipes,
                                config=config_doc(pp, d, pp.max_parts, mps_levels_of(pp))))
    return Plan(models)


def _enumerate(sp: SizingProblem, pp: PlanningProblem, opts: SolveOptions, t0: float,
               scheduler: str) -> list[list[PipelineConfig]] | Status:
    deadline = None if opts.time_limit is None else t0 + opts.time_limit
    last = [0.0]

    def should_stop() -> bool:
        if opts.cancel is not None and opts.cancel.is_set():
            return True
        return deadline is not None and time.perf_counter() > deadline

    configs = []
    try:
        for d in range(len(pp.models)):
            def progress(enumerated: int, kept: int, d=d) -> None:
                now = time.perf_counter()
                if opts.progress is not None and now - last[0] >= 0.2:
                    last[0] = now
                    opts.progress(Progress(None, None, None, now - t0,
                                           f"{scheduler}: configurations of {pp.models[d].name}: "
                                           f"{enumerated:,} enumerated, {kept:,} kept"))

            cfgs = enumerate_configs(pp, d, should_stop=should_stop, on_progress=progress)
            if not cfgs:
                spec = pp.models[d]
                raise NoConfiguration(
                    f"no {'NP ' if pp.whole_gpus_only else ''}pipeline of model {spec.name} meets its SLO of "
                    f"{spec.sla / 1000:.1f} ms at its target of {sp.targets[d]:g} req/s on "
                    f"{', '.join(pp.cluster.gpus)}")
            configs.append(cfgs)
    except EnumerationStopped:
        return Status.CANCELLED if opts.cancel is not None and opts.cancel.is_set() else Status.TIME_LIMIT
    return configs


def _scaled_progress(opts: SolveOptions, scale: int, scheduler: str) -> SolveOptions:
    cb = opts.progress
    if cb is None:
        return opts

    def scaled(p: Progress) -> None:
        cb(Progress(None if p.incumbent is None else p.incumbent / scale,
                    None if p.bound is None else p.bound / scale, p.gap, p.elapsed,
                    f"{scheduler}: {p.message or 'min $/h'}"))

    return replace(opts, progress=scaled)


def _left(opts: SolveOptions, t0: float) -> SolveOptions:
    if opts.time_limit is None:
        return opts
    return replace(opts, time_limit=max(opts.time_limit - (time.perf_counter() - t0), 1e-3))


def list_cost(sp: SizingProblem, fleet: dict[str, int], catalog_prices: dict[str, float | None] | None = None
              ) -> float | None:
    """The fleet at list prices (an offer's price, else ``catalog_prices``); None when a type in use has none."""
    total = 0.0
    for o in sp.offers:
        n = fleet.get(o.gpu, 0)
        if not n:
            continue
        price = o.price if o.price is not None else (catalog_prices or {}).get(o.gpu)
        if price is None:
            return None
        total += n * price
    return total


def size_fleet(sp: SizingProblem, scheduler: str = "ppipe", *, solver: str = DEFAULT_SOLVER,
               opts: SolveOptions | None = None, fallback: bool = True,
               on_message: Optional[Callable[[str], None]] = None, replan: bool = True,
               catalog_prices: dict[str, float | None] | None = None) -> SizingResult:
    """The cheapest fleet for ``sp`` under ``scheduler`` (``ppipe``, ``np`` or ``np-cheapest``).

    ``replan``: plan the found fleet with the planner's max-min MILP (weights =
    demands), giving every model the same largest margin; otherwise the sizing
    solution's own plan. Stops on ``opts.cancel`` and ``opts.time_limit`` (the whole
    solve), reports progress through ``opts.progress``. A model with no SLO-feasible
    pipeline raises :class:`NoConfiguration` (an :class:`InputError`)."""
    if scheduler == "np-cheapest":
        return size_cheapest_single(sp, solver=solver, opts=opts, fallback=fallback, on_message=on_message,
                                    replan=replan, catalog_prices=catalog_prices)
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    pp = sp.planning_problem(scheduler)
    common = dict(scheduler=scheduler, gpus=sp.gpus, targets=sp.targets, demands=sp.demands, headroom=sp.headroom)
    enumerated = _enumerate(sp, pp, opts, t0, scheduler)
    if isinstance(enumerated, Status):
        return SizingResult(status=enumerated, solve_seconds=time.perf_counter() - t0,
                            message=("cancelled" if enumerated == Status.CANCELLED else "time limit reached")
                            + " while enumerating configurations", **common)
    configs = enumerated
    t_enum = time.perf_counter() - t0
    # Separable: with nothing owned and no caps, the cost is a sum over models of the
    # GPUs each model's pools use x their price, and nothing couples the models, so
    # each model is sized alone (the same optimum; far faster to prove).
    separable = len(pp.models) > 1 and all(o.own == 0 and (o.cap is None or not o.buyable) for o in sp.offers)
    groups = [[d] for d in range(len(pp.models))] if separable else [list(range(len(pp.models)))]
    stats: dict = {"configs": [len(c) for c in configs], "enumerate_seconds": t_enum, "milp_seconds": 0.0,
                   "variables": 0, "rows": 0, "integers": 0, "separable": separable}
    buy = {g: 0 for g in sp.gpus}
    own_used = {o.gpu: o.own for o in sp.offers}
    bound_sum, statuses, messages, plan_models = 0.0, [], [], {}
    for idx in groups:
        sub_sp = sp if not separable else replace(sp, profiles=tuple(sp.profiles[d] for d in idx),
                                                  targets=tuple(sp.targets[d] for d in idx),
                                                  headroom=tuple(sp.headroom[d] for d in idx))
        sub_pp = pp if not separable else replace(pp, models=[pp.models[d] for d in idx])
        sm = build_sizing_milp(sub_sp, sub_pp, [configs[d] for d in idx])
        if sm.unservable:
            return SizingResult(status=Status.INFEASIBLE, solve_seconds=time.perf_counter() - t0, stats=stats,
                                message=f"no GPUs can serve {', '.join(sm.unservable)}: every pipeline that meets "
                                        f"the SLO needs a type that is neither owned nor for sale", **common)
        label = scheduler if not separable else f"{scheduler}: {sub_pp.models[0].name}"
        mopts = _scaled_progress(replace(_left(opts, t0), mip_rel_gap=0.0), sm.scale, label)
        res: MilpResult = solve_model(sm.model, mopts, solver=solver, fallback=fallback, on_fallback=on_message)
        stats["milp_seconds"] += res.seconds
        stats["variables"] += sm.model.num_vars
        stats["rows"] += sm.model.num_rows
        stats["integers"] += sm.model.num_integer
        stats["price_scale"] = sm.scale
        stats["solver"] = res.solver
        tb = stats.setdefault("type_bound", {g: 0 for g in sp.gpus})
        for g, b in sm.bounds["type_bound"].items():
            tb[g] += b
        if not res.has_solution:
            status = res.status if res.status != Status.OPTIMAL else Status.ERROR
            msg = res.message
            if status == Status.INFEASIBLE:
                msg = ("the targets cannot be met: the owned GPUs and the purchase caps are too few ("
                       + ", ".join(f"{o.gpu}: own {o.own}, buy "
                                   + ("none" if not o.buyable else "any" if o.cap is None else f"<= {o.cap}")
                                   for o in sp.offers) + ")")
            return SizingResult(status=status, solve_seconds=time.perf_counter() - t0, message=msg, stats=stats,
                                **common)
        vals = res.values
        for g, v in sm.buy.items():
            buy[sp.gpus[g]] += int(round(vals[v]))
        for g, v in sm.own_used.items():
            own_used[sp.gpus[g]] = int(round(vals[v]))
        bound_sum += (res.bound / sm.scale) if res.bound is not None else -math.inf
        statuses.append(res.status)
        if res.message:
            messages.append(res.message)
        for d, mp in zip(idx, _plan_from_values(sub_pp, sm, vals).models):
            plan_models[d] = mp
    status = next((st for st in statuses if st != Status.OPTIMAL), Status.OPTIMAL)
    fleet = {g: own_used[g] + buy[g] for g in sp.gpus}
    cost = sum(o.price * buy[o.gpu] for o in sp.offers if o.buyable) + \
        sum(o.own_cost * own_used[o.gpu] for o in sp.offers)
    bound = min(bound_sum, cost) if math.isfinite(bound_sum) else None
    gap = 0.0 if status == Status.OPTIMAL else (None if bound is None else (cost - bound) / max(cost, 1e-10))
    fleet_pp = replace(pp, cluster=pp.cluster.with_limits([fleet[g] for g in sp.gpus]))
    own_plan = Plan([plan_models[d] for d in range(len(pp.models))])
    plan_result = SolveResult(status=status, objective=objective_of(fleet_pp, [m.xput for m in own_plan.models]),
                              solve_seconds=time.perf_counter() - t0, plan=own_plan, scheduler=_tag(scheduler),
                              solver=stats.get("solver", solver), est_xput=list(sp.targets),
                              stats={"method": "sizing"})
    stats["replanned"] = False
    if replan and status != Status.CANCELLED and sum(fleet.values()) > 0:
        left = _left(opts, t0)
        if left.time_limit is None or left.time_limit > 0.01:
            mm = solve_milp(fleet_pp, scheduler=_tag(scheduler), solver=solver,
                            opts=replace(left, progress=_relabel(opts.progress, f"{scheduler}: plan on the fleet")),
                            fallback=fallback, on_message=on_message)
            if mm.plan is not None and mm.objective is not None and mm.objective >= plan_result.objective:
                plan_result = mm
                stats["replanned"] = True
            stats["replan_seconds"] = mm.solve_seconds
    throughputs = tuple(m.xput for m in plan_result.plan.models)
    return SizingResult(status=status, cost=cost, bound=bound, gap=gap, buy=buy, own_used=own_used, fleet=fleet,
                        fleet_list_cost=list_cost(sp, fleet, catalog_prices), throughputs=throughputs,
                        plan_result=plan_result, problem=fleet_pp, solve_seconds=time.perf_counter() - t0,
                        message="; ".join(messages), stats=stats, **common)


def _tag(scheduler: str) -> str:
    """The planner scheduler whose plans a sizing scheduler makes (file-name tag, plan docs)."""
    return "np" if scheduler in ("np", "np-cheapest") else "ppipe"


def _relabel(cb, label: str):
    if cb is None:
        return None

    def relabelled(p: Progress) -> None:
        cb(Progress(p.incumbent, p.bound, p.gap, p.elapsed, f"{label}{': ' + p.message if p.message else ''}"))

    return relabelled


def size_cheapest_single(sp: SizingProblem, *, solver: str = DEFAULT_SOLVER, opts: SolveOptions | None = None,
                         fallback: bool = True, on_message: Optional[Callable[[str], None]] = None,
                         replan: bool = True, catalog_prices: dict[str, float | None] | None = None) -> SizingResult:
    """NP buying one type only: the cheapest over the types for sale (owned GPUs still usable;
    the offered types stay the same, so slots and the cost of owned GPUs match). Ties go to
    the first type offered."""
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    buyable = [o.gpu for o in sp.offers if o.buyable]
    if not buyable:
        res = size_fleet(sp, "np", solver=solver, opts=opts, fallback=fallback, on_message=on_message,
                         replan=replan, catalog_prices=catalog_prices)
        return replace(res, scheduler="np-cheapest", stats=dict(res.stats, single_type=None))
    best: SizingResult | None = None
    tried = {}
    last: SizingResult | None = None
    for g in buyable:
        if opts.cancel is not None and opts.cancel.is_set():
            break
        sub = replace(sp, offers=tuple(o if o.gpu == g or not o.buyable else replace(o, price=None, cap=0)
                                       for o in sp.offers))
        try:
            res = size_fleet(sub, "np", solver=solver, opts=_left(opts, t0), fallback=fallback,
                             on_message=on_message, replan=replan, catalog_prices=catalog_prices)
        except NoConfiguration as exc:
            tried[g] = {"status": "infeasible", "cost": None, "message": str(exc)}
            continue
        last = res
        tried[g] = {"status": str(res.status), "cost": res.cost}
        if res.cost is not None and (best is None or res.cost < best.cost - 1e-9):
            best = res
    chosen = best or last
    if chosen is None:
        return SizingResult(status=Status.INFEASIBLE, scheduler="np-cheapest", gpus=sp.gpus, targets=sp.targets,
                            demands=sp.demands, headroom=sp.headroom, solve_seconds=time.perf_counter() - t0,
                            message="no single type can serve every model with NP", stats={"single_type": tried})
    single = next((g for g in buyable if chosen.buy.get(g, 0) > 0), None) if best is not None else None
    status = chosen.status
    if opts.cancel is not None and opts.cancel.is_set() and status == Status.OPTIMAL:
        status = Status.CANCELLED
    return replace(chosen, scheduler="np-cheapest", status=status, solve_seconds=time.perf_counter() - t0,
                   stats=dict(chosen.stats, single_type=single, tried=tried))


def sized_plan_file_name(sp: SizingProblem, res: SizingResult) -> str:
    """The plan's file name (:func:`ppipe.planfile.naming.plan_file_name`): the models, their
    target rates (rounded to 0.1 req/s) as the weights, the offered types with the fleet's
    counts, so ``ppipe show/check`` read the fleet as the plan's GPU limits."""
    from ppipe.planfile.naming import plan_file_name

    return plan_file_name(sp.names, [round(t, 1) for t in sp.targets], list(sp.gpus),
                          [res.fleet.get(g, 0) for g in sp.gpus], sp.bw_gbps, sp.slo_multiplier, _tag(res.scheduler))


# ------------------------------------------------------------------ comparisons and sweeps

@dataclass(frozen=True)
class SizingComparison:
    """PPipe beside its baselines on the same inputs, with PPipe's saving against each."""

    problem: SizingProblem
    results: dict  # scheduler -> SizingResult

    def saving(self, baseline: str, scheduler: str = "ppipe") -> float | None:
        """1 - cost(scheduler) / cost(baseline); None when either has no cost."""
        a, b = self.results.get(scheduler), self.results.get(baseline)
        if a is None or b is None or a.cost is None or b.cost is None or b.cost <= 0:
            return None
        return 1.0 - a.cost / b.cost

    def to_json(self) -> dict:
        main = "ppipe" if "ppipe" in self.results else next(iter(self.results), None)
        return {"problem": self.problem.to_json(),
                "results": {k: r.to_json() for k, r in self.results.items()},
                "savings": {k: self.saving(k, main) for k in self.results if k != main}}


def compare_sizing(sp: SizingProblem, schedulers: Sequence[str] = ("ppipe", "np", "np-cheapest"), *,
                   solver: str = DEFAULT_SOLVER, opts: SolveOptions | None = None, fallback: bool = True,
                   on_message: Optional[Callable[[str], None]] = None, replan: bool | dict = True,
                   catalog_prices: dict[str, float | None] | None = None) -> SizingComparison:
    """Size ``sp`` with each scheduler (``opts.time_limit`` applies to each). A model with
    no pipeline fails for the first scheduler listed (an error), and makes a later one
    infeasible. ``replan`` may be a dict scheduler -> bool (default: only the first
    scheduler's fleet is re-planned)."""
    opts = opts or SolveOptions()
    results: dict[str, SizingResult] = {}
    for i, s in enumerate(schedulers):
        if s not in SIZING_SCHEDULERS:
            raise InputError(f"unknown sizing scheduler {s!r} (use {', '.join(SIZING_SCHEDULERS)})")
        if opts.cancel is not None and opts.cancel.is_set():
            results[s] = SizingResult(status=Status.CANCELLED, scheduler=s, gpus=sp.gpus, message="cancelled")
            continue
        rp = replan.get(s, i == 0) if isinstance(replan, dict) else (replan if i == 0 else False)
        try:
            results[s] = size_fleet(sp, s, solver=solver, opts=opts, fallback=fallback,
                                    on_message=on_message, replan=rp, catalog_prices=catalog_prices)
        except NoConfiguration as exc:
            if i == 0:
                raise
            results[s] = SizingResult(status=Status.INFEASIBLE, scheduler=s, gpus=sp.gpus, targets=sp.targets,
                                      demands=sp.demands, headroom=sp.headroom, message=str(exc))
    return SizingComparison(sp, results)


@dataclass(frozen=True)
class SweepPoint:
    factor: float
    total_rate: float
    results: dict  # scheduler -> SizingResult

    def to_json(self) -> dict:
        return {"factor": self.factor, "total_rate": self.total_rate,
                "results": {k: {"status": str(r.status), "cost_per_hour": r.cost, "buy": dict(r.buy),
                                "fleet": dict(r.fleet), "solve_seconds": r.solve_seconds, "message": r.message}
                            for k, r in self.results.items()}}


def parse_sweep(text: str) -> list[float]:
    """``START:STOP:STEP`` (inclusive, e.g. ``0.5:2.0:0.25``) or ``a,b,c`` -> load factors."""
    text = (text or "").strip()
    try:
        if ":" in text:
            parts = [float(v) for v in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            a, b, s = parts
            if not (a > 0 and b >= a and s > 0) or not all(map(math.isfinite, parts)):
                raise InputError(f"--sweep {text}: need 0 < START <= STOP and STEP > 0, all finite")
            steps = (b - a) / s
            if not steps < 1e6:  # a step so small that the count would overflow
                raise InputError(f"--sweep {text}: far more than 201 points; at most 201")
            n = int(math.floor(steps + 1e-9))
            if n > 200:
                raise InputError(f"--sweep {text}: {n + 1} points; at most 201")
            return [round(a + i * s, 10) for i in range(n + 1)]
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"malformed --sweep {text!r}: expected START:STOP:STEP like 0.5:2.0:0.25") from None
    if not values or any(not (v > 0 and math.isfinite(v)) for v in values):
        raise InputError(f"--sweep {text}: load factors must be > 0")
    return values


def sweep_sizing(sp: SizingProblem, factors: Sequence[float], schedulers: Sequence[str] = ("ppipe", "np", "np-cheapest"),
                 *, solver: str = DEFAULT_SOLVER, opts: SolveOptions | None = None, fallback: bool = True,
                 on_message: Optional[Callable[[str], None]] = None, on_point=None,
                 catalog_prices: dict[str, float | None] | None = None) -> list[SweepPoint]:
    """Cost versus load: size ``sp`` at each factor x the targets with each scheduler
    (no re-planning: only costs and fleets are reported; ``opts.time_limit`` applies to
    each solve). Stops between solves on ``opts.cancel``; ``on_point(point)`` sees each
    point as it is done."""
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    out = []
    for i, f in enumerate(factors):
        if opts.cancel is not None and opts.cancel.is_set():
            break
        scaled = sp.scaled(f)
        if opts.progress is not None:
            opts.progress(Progress(None, None, None, time.perf_counter() - t0,
                                   f"load x{f:g} ({i + 1}/{len(factors)})"))
        results = {}
        for s in schedulers:
            if opts.cancel is not None and opts.cancel.is_set():
                results[s] = SizingResult(status=Status.CANCELLED, scheduler=s, gpus=sp.gpus, message="cancelled")
                continue
            try:
                results[s] = size_fleet(scaled, s, solver=solver, opts=_relabelled_opts(opts, f),
                                        fallback=fallback, on_message=on_message, replan=False,
                                        catalog_prices=catalog_prices)
            except NoConfiguration as exc:
                results[s] = SizingResult(status=Status.INFEASIBLE, scheduler=s, gpus=sp.gpus,
                                          targets=scaled.targets, message=str(exc))
        pt = SweepPoint(float(f), float(sum(scaled.targets)), results)
        out.append(pt)
        if on_point is not None:
            on_point(pt)
    return out


def _relabelled_opts(opts: SolveOptions, factor: float) -> SolveOptions:
    return replace(opts, progress=_relabel(opts.progress, f"load x{factor:g}"))


# ------------------------------------------------------------------ proof by simulation (the loop)

@dataclass(frozen=True)
class ModelCheck:
    """One model of a sized plan served at its target rate in the simulator."""

    name: str
    load: float  # req/s offered (the target)
    requests: int
    dropped: float  # shares of the counted requests
    violated: float
    attainment: float
    passed: bool  # dropped + late <= 1 % (the load-factor criterion)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class VerifyRound:
    round: int
    headroom: tuple
    result: SizingResult
    checks: tuple  # ModelCheck per model

    def to_json(self) -> dict:
        return {"round": self.round, "headroom": list(self.headroom), "cost_per_hour": self.result.cost,
                "buy": dict(self.result.buy), "status": str(self.result.status),
                "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class VerifiedSizing:
    """The rounds of size -> simulate -> raise headroom, and the last sizing."""

    passed: bool
    rounds: tuple  # VerifyRound
    result: SizingResult  # the last sizing (the verified one when passed)
    headroom: tuple  # per model, of the last sizing
    message: str = ""

    @property
    def raised(self) -> list[str]:
        """Models whose headroom had to be raised."""
        if not self.rounds:
            return []
        first = self.rounds[0].headroom
        return [c.name for c, h0, h in zip(self.rounds[-1].checks, first, self.headroom) if h > h0 + 1e-12]

    def to_json(self) -> dict:
        return {"passed": self.passed, "headroom": list(self.headroom), "raised": self.raised,
                "rounds": [r.to_json() for r in self.rounds], "message": self.message}


PlanCheck = Callable[[Plan, SizingProblem], Sequence[ModelCheck]]


def size_until_verified(sp: SizingProblem, check: PlanCheck, *, scheduler: str = "ppipe", step: float = 0.05,
                        max_rounds: int = 6, solver: str = DEFAULT_SOLVER, opts: SolveOptions | None = None,
                        fallback: bool = True, on_message: Optional[Callable[[str], None]] = None,
                        catalog_prices: dict[str, float | None] | None = None,
                        on_round: Optional[Callable[[VerifyRound], None]] = None) -> VerifiedSizing:
    """Size, check the plan (``check``: e.g. a simulation at the target rates, see
    :func:`ppipe.experiments.sizing_verify.sim_check`), and for every model that fails
    raise its headroom by ``step`` -- by as many steps as it takes to exceed the
    throughput its failed plan already had, since a smaller demand leaves the same
    plan -- and size again; at most ``max_rounds`` sizings. Stops early on
    ``opts.cancel``."""
    if not (_finite(step) and step > 0):
        raise InputError(f"the headroom step must be > 0, got {step!r}")
    if max_rounds < 1:
        raise InputError(f"the number of verification rounds must be >= 1, got {max_rounds}")
    opts = opts or SolveOptions()
    headroom = list(sp.headroom)
    rounds: list[VerifyRound] = []
    res: SizingResult | None = None
    for r in range(max_rounds):
        current = sp.with_headroom(headroom)
        res = size_fleet(current, scheduler, solver=solver, opts=opts, fallback=fallback, on_message=on_message,
                         replan=True, catalog_prices=catalog_prices)
        if res.plan is None:
            return VerifiedSizing(False, tuple(rounds), res, tuple(headroom),
                                  f"round {r + 1}: no plan ({res.status}{': ' + res.message if res.message else ''})")
        if opts.cancel is not None and opts.cancel.is_set():
            return VerifiedSizing(False, tuple(rounds), res, tuple(headroom), "cancelled")
        if opts.progress is not None:
            opts.progress(Progress(None, None, None, 0.0, f"verify round {r + 1}: simulating the plan"))
        checks = tuple(check(res.plan, current))
        vr = VerifyRound(r + 1, tuple(headroom), res, checks)
        rounds.append(vr)
        if on_round is not None:
            on_round(vr)
        failing = [d for d, c in enumerate(checks) if not c.passed]
        if not failing:
            return VerifiedSizing(True, tuple(rounds), res, tuple(headroom))
        for d in failing:
            # +step, or as many steps as it takes to ask for more than the plan already gives
            # this model (a smaller demand would leave the same fleet and the same plan).
            have = res.throughputs[d] / current.targets[d] - 1.0
            k = max(1, math.floor((have - headroom[d]) / step + 1e-9) + 1)
            headroom[d] = round(headroom[d] + k * step, 10)
    names = ", ".join(c.name for c in rounds[-1].checks if not c.passed)
    return VerifiedSizing(False, tuple(rounds), res, tuple(rounds[-1].headroom),
                          f"still below 99% after {max_rounds} rounds: {names}")
