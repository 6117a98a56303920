"""Plan file names: the artifact's convention, which records the problem a plan solves.

``MODELS_WEIGHTS_GPUS_COUNTS_bw-gbps-B_sla-multiplier-M_TAG.json``, where TAG is
the scheduler's plan-file tag from :mod:`ppipe.schedulers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ppipe import schedulers

_NAME_RE = re.compile(
    r"^(?P<models>.+)_(?P<weights>[0-9.]+(?:-[0-9.]+)*)_(?P<gpus>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)_"
    r"(?P<counts>\d+(?:-\d+)*)_bw-gbps-(?P<bw>[0-9.]+)_sla-multiplier-(?P<mult>[0-9.]+)_(?P<tag>[A-Za-z0-9-]+)$")


@dataclass
class PlanName:
    """What the artifact's file-name convention records about a plan."""

    weights: list[float]
    gpus: list[str]
    counts: list[int]
    bw_gbps: float
    slo_multiplier: float
    scheduler: str  # ppipe, np, dart-r, ...

    def limits(self) -> dict[str, int]:
        return dict(zip(self.gpus, self.counts))


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def plan_file_name(models: list[str], weights: list[float], gpus: list[str], counts: list[int],
                   bw_gbps: float, slo_multiplier: float, scheduler: str) -> str:
    tag = schedulers.get(scheduler).tag if scheduler in schedulers.SCHEDULERS else scheduler
    return (f"{'-'.join(models)}_{'-'.join(_num(w) for w in weights)}_{'-'.join(gpus)}_"
            f"{'-'.join(str(int(c)) for c in counts)}_bw-gbps-{_num(bw_gbps)}_"
            f"sla-multiplier-{_num(slo_multiplier)}_{tag}.json")


def parse_plan_file_name(path: str | Path) -> PlanName | None:
    stem = Path(path).name
    if stem.endswith(".json"):
        stem = stem[:-5]
    m = _NAME_RE.match(stem)
    if not m:
        return None
    try:
        gpus = m["gpus"].split("-")
        counts = [int(c) for c in m["counts"].split("-")]
        if len(gpus) != len(counts):
            return None
        return PlanName(weights=[float(w) for w in m["weights"].split("-")], gpus=gpus, counts=counts,
                        bw_gbps=float(m["bw"]), slo_multiplier=float(m["mult"]),
                        scheduler=schedulers.by_tag(m["tag"]) or m["tag"])
    except ValueError:
        return None
