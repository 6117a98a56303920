"""The pool relaxation: whole GPUs per pool, fractional instances (issue 14).

The direct MILP counts GPUs per pool (model, position, type) and instances per
configuration, and picks configurations into slots. Relaxing only the instances and
the slot picks, and keeping every pool's GPU count whole, leaves a much smaller MILP:
one throughput per configuration, integer pools and per-model type totals, and the
slot rule on throughput shares. Its optimum is an upper bound on the plan's.

Why: on most problems it is the optimum. Measured on bench/bench_scale.py's rows: its
bound equals the MILP's optimum on G2..G6 on four types, the 18 models and the three zoo
models on eight types, and it solves in 0.03-2.4 s where the MILP takes 0.2-18 s; on the
ten zoo models it closes in about 10 s where the MILP's root alone takes minutes. Then a
plan at that level only has to be found, not proven: the planner gives each model the
relaxation's GPUs in each pool and places whole instances in one small MILP per model
(:func:`ppipe.planning.planner.complete_per_model`). With ``slot_binaries`` each
configuration keeps its slot binary (tight where the slot rule binds, as on G1 on HC2).
"""

from __future__ import annotations

from dataclasses import dataclass

from ppipe.planning.configs import PipelineConfig, fits_slots
from ppipe.planning.milp import MilpModel
from ppipe.planning.problem import PlanningProblem
from ppipe.planning.rows import add_allocation_vars, add_pool_rows, add_slot_rows, gpu_unit, throughput_cap


@dataclass
class PoolRelaxation:
    model: MilpModel
    T: int
    z: dict  # (model, position, type) -> pool GPU count variable
    x: list[list[int]]  # per model, per configuration: its throughput variable
    seqs: list[list[tuple[int, ...]]]  # per model, per configuration: its GPU type sequence

    def keeps_slot_rule(self, values, num_types: int, max_parts: int, tol: float = 1e-7) -> bool:
        """Whether the configurations a solution uses fit each model's slots (then the slot
        binaries could not bound it lower)."""
        used = [[seq for x, seq in zip(xd, seqs) if values[x] > tol] for xd, seqs in zip(self.x, self.seqs)]
        return fits_slots(used, num_types, max_parts)

    def pool_counts(self, values) -> dict[tuple[int, int, int], int]:
        """Each pool's whole GPUs in a solution: {(model, position, type): count}."""
        return {key: int(round(float(values[z]))) for key, z in self.z.items()}


def build_pool_relaxation(problem: PlanningProblem, configs: list[list[PipelineConfig]],
                          max_parts: int, slot_binaries: bool = False, totals: bool = True) -> PoolRelaxation:
    """The relaxation: ``x_c`` in [0, cap_c] per configuration, ``unit z_dqg >= sum_c
    unit/(k t_cq) x_c`` with integer pools, per-type limits, the pool totals of
    :func:`ppipe.planning.rows.add_allocation_vars`, and the slot rule with each
    configuration counted as ``x_c / cap_c`` (its slot binary's least value)."""
    c = problem.cluster
    G = len(c.gpus)
    M = MilpModel("pool-relaxation")
    T = M.var(0.0, name="T")
    usage: dict[tuple[int, int, int], list[tuple[int, float]]] = {}
    unit = gpu_unit(cfg for cfgs in configs for cfg in cfgs)
    xs = []
    for d, (spec, cfgs) in enumerate(zip(problem.models, configs)):
        xd = []
        slotted: list[tuple[tuple[int, ...], int]] = []  # (sequence, variable) for the slot rule
        shares: list[float] = []  # each one's coefficient there
        for ci, cfg in enumerate(cfgs):
            cap = throughput_cap(cfg, c.limits)
            x = M.var(0.0, cap, name=f"x[{d},{ci}]")
            xd.append(x)
            if cap <= 0:  # on a type the fleet has none of: it serves nothing
                continue
            for q, st in enumerate(cfg.stages):
                usage.setdefault((d, q, st.gpu), []).append((x, unit / (st.k * st.xput)))
            if slot_binaries:
                y = M.var(0, 1, integer=True, name=f"y[{d},{ci}]")
                M.row({x: 1.0, y: -cap}, hi=0.0)
                slotted.append((cfg.gpu_seq, y))
                shares.append(1.0)
            else:
                slotted.append((cfg.gpu_seq, x))
                shares.append(1.0 / cap)
        xs.append(xd)
        M.row({T: 1.0, **{x: -1.0 / spec.weight for x in xd}}, hi=0.0)
        add_slot_rows(M, slotted, G, max_parts, shares)
    zs = add_pool_rows(M, usage, c.limits, unit)
    if totals:
        add_allocation_vars(M, zs, c.limits)
    M.objective({T: 1.0}, maximize=True)
    return PoolRelaxation(M, T, zs, xs, [[cfg.gpu_seq for cfg in cfgs] for cfgs in configs])
