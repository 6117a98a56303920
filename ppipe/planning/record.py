"""What a plan was made with, written into it, and an opened plan checked against the
profiles at hand.

The CLI and the TUI both stamp the plans they write and both warn when a plan does not
fit the current profiles, so the two share these functions (the record's format is
:mod:`ppipe.planfile.provenance`'s).
"""

from __future__ import annotations

import os
from typing import Any

from ppipe.errors import PPipeError
from ppipe.planfile.naming import parse_plan_file_name
from ppipe.planfile.plan import Plan
from ppipe.planfile.provenance import make_provenance, provenance_problems, recorded_limits, set_provenance
from ppipe.planning.problem import PlanningProblem
from ppipe.profiles.store import ProfileStore


def profile_source_of(store: ProfileStore, names: list[str]) -> str:
    """The sources (``kind:root``) the models' profiles come from, in order, ``; ``-joined."""
    out: list[str] = []
    for n in names:
        try:
            src = store.source_of(n)
            label = f"{src.kind}:{src.root}"
        except PPipeError:
            label = "?"
        if label not in out:
            out.append(label)
    return "; ".join(out)


def stamp_plan(plan: Plan, problem: PlanningProblem, scheduler: str, store: ProfileStore,
               **settings: Any) -> None:
    """Record in ``plan`` what it was made with: scheduler, cluster, weights, SLO settings,
    each profile's fingerprint and origin, and the extra ``settings`` given (method, fill,
    solve status, ...; ``None`` values are left out)."""
    c = problem.cluster
    profiles = []
    for n in plan.model_names:
        try:
            profiles.append(store.get(n))
        except PPipeError:
            pass
    extra = {"slo_discount": problem.slo_discount, "fill": bool(problem.fill_leftover)}
    extra.update({k: v for k, v in settings.items() if v is not None})
    set_provenance(plan, make_provenance(
        scheduler=scheduler, gpus=c.gpus, counts=c.limits, bw_gbps=c.bw_gbps, mps_levels=c.mps_levels,
        gpus_per_server=c.gpus_per_server, weights=problem.weights, slo_multiplier=problem.slo_multiplier,
        max_parts=problem.max_parts, profiles=profiles, profile_source=profile_source_of(store, plan.model_names),
        settings=extra))


def plan_limits(plan: Plan, path: str | os.PathLike | None) -> dict[str, int] | None:
    """A plan's GPU limits: from its file name (the artifact's convention), else from the
    record it carries (a renamed plan keeps them), else None."""
    if path is not None:
        name = parse_plan_file_name(path, plan.model_names)
        if name is not None:
            return name.limits()
    try:
        return recorded_limits(plan)
    except Exception:  # noqa: BLE001 - an odd record: no limits known
        return None


def plan_warnings(plan: Plan, store: ProfileStore, limits: dict | None = None) -> list[str]:
    """How a plan disagrees with the current profiles: the recorded fingerprints first,
    then ``check_plan``'s violations (latencies, throughputs, SLOs, GPU limits)."""
    from ppipe.planning.check import check_plan

    try:
        out = list(provenance_problems(plan, store))
    except Exception as exc:  # noqa: BLE001 - an odd record is a warning, not a crash
        out = [f"cannot read what the plan was made with: {type(exc).__name__}: {exc}"]
    try:
        rep = check_plan(plan, store, limits)
    except PPipeError as exc:
        return out + [f"cannot check the plan: {exc}"]
    except Exception as exc:  # noqa: BLE001
        return out + [f"cannot check the plan: {type(exc).__name__}: {exc}"]
    out += [str(v) for v in rep.violations]
    return out
