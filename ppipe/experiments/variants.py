"""Experiment variants: how one row of results was produced (a planner and a balancer).

Every scheduler of :mod:`ppipe.schedulers` is a variant of its own (served by
the reservation balancer); variants that pair a planner with another balancer,
such as the ablation's PPipe+Nexus, are registered here. Figures, tables and
experiment sets read their names, labels and order from this one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppipe import schedulers
from ppipe.errors import InputError
from ppipe.registry import Registry


@dataclass(frozen=True)
class Variant:
    name: str  # the ``scheduler`` column of results
    planner: str  # a scheduler name
    balancer: str = "reservation"
    label: str = ""
    order: int = 0
    sets: tuple[str, ...] = ()


#: Variants that are not plain schedulers.
EXTRA_VARIANTS: Registry[Variant] = Registry("variant")
EXTRA_VARIANTS.register(Variant("ppipe-nexus", "ppipe", "nexus", "PPipe+Nexus", 30, ("ablation",)))

#: Sets of this package whose members are not named in the schedulers' own ``sets``:
#: Fig. 13 compares PPipe with the single-model NP, as the ablation does.
SET_MEMBERS: dict[str, tuple[str, ...]] = {"sensitivity": ("ppipe", "np-single")}


def all_variants() -> dict[str, Variant]:
    """Every variant by name, in comparison order."""
    out = [Variant(s.name, s.name, "reservation", s.label, s.order, s.sets) for s in schedulers.SCHEDULERS]
    out += [v for v in EXTRA_VARIANTS if v.name not in schedulers.SCHEDULERS]
    return {v.name: v for v in sorted(out, key=lambda v: v.order)}


def get(name: str) -> Variant:
    variants = all_variants()
    if name not in variants:
        raise InputError(f"unknown variant {name!r} (use {', '.join(variants)})")
    return variants[name]


def for_set(set_name: str) -> tuple[str, ...]:
    """The variants an experiment set runs by default, PPipe first (it defines load factor 100)."""
    extra = SET_MEMBERS.get(set_name, ())
    names = [v.name for v in all_variants().values() if set_name in v.sets or v.name in extra]
    return tuple(sorted(names, key=lambda n: (n != "ppipe",)))


def order() -> tuple[str, ...]:
    return tuple(all_variants())


def labels() -> dict[str, str]:
    return {n: v.label or n for n, v in all_variants().items()}


def label(name: str) -> str:
    return labels().get(name, name)
