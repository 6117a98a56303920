"""Plan file names: the artifact's convention, which records the problem a plan solves.

``MODELS_WEIGHTS_GPUS_COUNTS_bw-gbps-B_sla-multiplier-M_TAG.json``, where TAG is
the scheduler's plan-file tag from :mod:`ppipe.schedulers`.

Settings the artifact's names leave out follow the tag as ``+`` items when they differ
from the defaults (``_ppipe+P3+disc0.2+mps-L4x2+fill+direct.json``), so re-solving with
other settings never overwrites a plan made with the defaults. A plan that is not proven
optimal (cancelled, or stopped at a time limit) may be saved as ``NAME.partial.json``
(:func:`partial_path`) so it never silently replaces a finished one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ppipe import schedulers

_TAIL = (r"_(?P<gpus>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)_(?P<counts>\d+(?:-\d+)*)_bw-gbps-(?P<bw>[0-9.]+)"
         r"_sla-multiplier-(?P<mult>[0-9.]+)_(?P<tag>[A-Za-z0-9-]+)(?P<settings>(?:\+[A-Za-z0-9.-]+)*)$")
_NAME_RE = re.compile(r"^(?P<models>.+)_(?P<weights>[0-9.]+(?:-[0-9.]+)*)" + _TAIL)
#: The artifact names single-model plans without weights (``MODEL_L4-T4_25-75_...``).
_NAME_NO_WEIGHTS_RE = re.compile(r"^(?P<models>.+)" + _TAIL)
_REST_RE = re.compile(r"^_(?P<weights>[0-9.]+(?:-[0-9.]+)*)" + _TAIL)
_REST_NO_WEIGHTS_RE = re.compile(r"^" + _TAIL)


@dataclass
class PlanName:
    """What the artifact's file-name convention records about a plan."""

    weights: list[float]  # empty when the name has none (single-model plans)
    gpus: list[str]
    counts: list[int]
    bw_gbps: float
    slo_multiplier: float
    scheduler: str  # ppipe, np, dart-r, ...
    settings: list[str] = field(default_factory=list)  # the ``+`` items after the tag
    partial: bool = False  # a ``.partial`` plan (not proven optimal)

    def limits(self) -> dict[str, int]:
        return dict(zip(self.gpus, self.counts))


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


#: The defaults a plan name leaves out (those of ``ppipe solve``).
DEFAULT_MAX_PARTS = 2
DEFAULT_SLO_DISCOUNT = 0.4
DEFAULT_METHOD = "auto"


def settings_items(*, max_parts: int | None = None, slo_discount: float | None = None,
                   mps: dict[str, int] | None = None, fill: bool = False, method: str | None = None) -> list[str]:
    """The ``+`` items of a plan name for the settings that differ from the defaults:
    ``P3`` (max partitions), ``disc0.2`` (SLO discount), ``mps-L4x2-T4x1`` (MPS levels the
    user set), ``fill`` and the MILP method (``direct``, ``loss-budget``)."""
    out = []
    if max_parts is not None and int(max_parts) != DEFAULT_MAX_PARTS:
        out.append(f"P{int(max_parts)}")
    if slo_discount is not None and float(slo_discount) != DEFAULT_SLO_DISCOUNT:
        out.append(f"disc{_num(slo_discount)}")
    if mps:
        out.append("mps-" + "-".join(f"{g}x{int(k)}" for g, k in mps.items()))
    if fill:
        out.append("fill")
    if method and method != DEFAULT_METHOD:
        out.append(str(method))
    return out


def plan_file_name(models: list[str], weights: list[float], gpus: list[str], counts: list[int],
                   bw_gbps: float, slo_multiplier: float, scheduler: str, settings: list[str] | None = None) -> str:
    tag = schedulers.get(scheduler).tag if scheduler in schedulers.SCHEDULERS else scheduler
    extra = "".join(f"+{item}" for item in settings or [])
    return (f"{'-'.join(models)}_{'-'.join(_num(w) for w in weights)}_{'-'.join(gpus)}_"
            f"{'-'.join(str(int(c)) for c in counts)}_bw-gbps-{_num(bw_gbps)}_"
            f"sla-multiplier-{_num(slo_multiplier)}_{tag}{extra}.json")


def partial_path(path: str | Path) -> Path:
    """Where a plan that is not proven optimal goes instead of ``path``: ``NAME.partial.json``."""
    path = Path(path)
    stem = path.name[:-5] if path.name.endswith(".json") else path.name
    if stem.endswith(".partial"):
        return path
    return path.with_name(f"{stem}.partial.json")


def parse_plan_file_name(path: str | Path, models: list[str] | None = None) -> PlanName | None:
    """What a plan's file name records. A name ending in digits is ambiguous without
    the models (``wide_resnet101_2_L4-T4_...``: weight 2, or no weights?); give the
    plan's ``models`` to read it exactly."""
    stem = Path(path).name
    if stem.endswith(".json"):
        stem = stem[:-5]
    partial = stem.endswith(".partial")
    if partial:
        stem = stem[:-len(".partial")]
    m = None
    if models:
        prefix = "-".join(models)
        if stem.startswith(prefix + "_"):
            rest = stem[len(prefix):]
            m = _REST_RE.match(rest) or _REST_NO_WEIGHTS_RE.match(rest)
    if m is None:
        m = _NAME_RE.match(stem) or _NAME_NO_WEIGHTS_RE.match(stem)
    if not m:
        return None
    try:
        gpus = m["gpus"].split("-")
        counts = [int(c) for c in m["counts"].split("-")]
        if len(gpus) != len(counts):
            return None
        weights = [float(w) for w in m["weights"].split("-")] if m.groupdict().get("weights") else []
        return PlanName(weights=weights, gpus=gpus, counts=counts,
                        bw_gbps=float(m["bw"]), slo_multiplier=float(m["mult"]),
                        scheduler=schedulers.by_tag(m["tag"]) or m["tag"],
                        settings=[t for t in (m["settings"] or "").split("+") if t],
                        partial=partial)
    except ValueError:
        return None
