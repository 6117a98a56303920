"""The GPU catalog: data-sheet figures and serving defaults per GPU type.

A catalog ships in ``data/gpus.json``; users extend or override entries with
their own file (``$PPIPE_HOME/gpus.json`` or ``--catalog``) with the same shape.
An entry in a later file that names a known type may give only the fields it
changes (e.g. ``{"name": "T4", "price_per_hour": 0.35, "price_source": "..."}``).

Prices: ``price_per_hour`` is an on-demand $/h for one GPU (the per-GPU share of
a cloud instance's list price), ``price_source`` says which (provider, instance,
region, date). A type without a price can be used where owned but not bought
(``ppipe size``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from ppipe.errors import DataError, InputError
from ppipe.jsonio import read_json
from ppipe.paths import SHIPPED_GPU_CATALOG, user_data_dir

_REQUIRED = ("name", "class", "gpus_per_server", "mps_levels", "network_gbps",
             "fp32_tflops", "mem_bw_gbps")


@dataclass(frozen=True)
class GpuType:
    name: str
    gpu_class: str  # "high" or "low"
    gpus_per_server: int
    mps_levels: int
    network_gbps: float
    fp32_tflops: float
    tf32_tflops: float
    fp16_tflops: float
    mem_bw_gbps: float
    memory_gb: float = 0.0
    tdp_w: float = 0.0
    sm_count: int = 0
    architecture: str = ""
    price_per_hour: float | None = None  # $/h for one GPU; None: not for sale
    price_source: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["class"] = d.pop("gpu_class")
        return d


def _price(value: object, name: str, source: Path) -> float | None:
    if value is None:
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{source}: GPU {name!r} has a bad price_per_hour {value!r}") from None
    if not (price >= 0 and math.isfinite(price)):
        raise DataError(f"{source}: GPU {name!r} needs a price_per_hour >= 0, got {value!r}")
    return price


def _parse_entry(entry: object, source: Path, known: dict[str, GpuType] | None = None) -> GpuType:
    if not isinstance(entry, dict):
        raise DataError(f"{source}: each entry of 'gpus' must be an object")
    if known and entry.get("name") in known:  # a partial override of a known type
        entry = {**known[entry["name"]].to_json(), **entry}
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise DataError(f"{source}: GPU {entry.get('name', '?')!r} lacks {', '.join(missing)}")
    try:
        fp32 = float(entry["fp32_tflops"])
        return GpuType(
            name=str(entry["name"]),
            gpu_class=str(entry["class"]),
            gpus_per_server=int(entry["gpus_per_server"]),
            mps_levels=int(entry["mps_levels"]),
            network_gbps=float(entry["network_gbps"]),
            fp32_tflops=fp32,
            tf32_tflops=float(entry.get("tf32_tflops", fp32)),
            fp16_tflops=float(entry.get("fp16_tflops", fp32)),
            mem_bw_gbps=float(entry["mem_bw_gbps"]),
            memory_gb=float(entry.get("memory_gb", 0.0)),
            tdp_w=float(entry.get("tdp_w", 0.0)),
            sm_count=int(entry.get("sm_count", 0)),
            architecture=str(entry.get("architecture", "")),
            price_per_hour=_price(entry.get("price_per_hour"), str(entry["name"]), source),
            price_source=str(entry.get("price_source", "") or ""),
        )
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: GPU {entry.get('name', '?')!r} has a bad value: {exc}") from None


def _read_catalog_file(path: Path, known: dict[str, GpuType] | None = None) -> list[GpuType]:
    doc = read_json(path, "GPU catalog")
    if not isinstance(doc, dict) or not isinstance(doc.get("gpus"), list):
        raise DataError(f"{path}: a GPU catalog needs a 'gpus' list")
    return [_parse_entry(e, path, known) for e in doc["gpus"]]


class GpuCatalog:
    """GPU types by name; later files override earlier ones."""

    def __init__(self, gpus: list[GpuType]):
        self._gpus: dict[str, GpuType] = {}
        for g in gpus:
            self._gpus[g.name] = g

    @classmethod
    def load(cls, extra: list[Path] | None = None) -> "GpuCatalog":
        gpus = _read_catalog_file(SHIPPED_GPU_CATALOG)
        user = user_data_dir() / "gpus.json"
        paths = ([user] if user.exists() else []) + list(extra or [])
        for p in paths:
            gpus.extend(_read_catalog_file(Path(p), {g.name: g for g in gpus}))
        return cls(gpus)

    def __contains__(self, name: str) -> bool:
        return name in self._gpus

    def __iter__(self):
        return iter(self._gpus.values())

    def names(self) -> list[str]:
        return list(self._gpus)

    def price(self, name: str) -> float | None:
        """On-demand $/h of one GPU of type ``name`` (None: no price, cannot be bought)."""
        return self.get(name).price_per_hour

    def get(self, name: str) -> GpuType:
        try:
            return self._gpus[name]
        except KeyError:
            raise InputError(
                f"unknown GPU type {name!r} (known: {', '.join(self._gpus)})"
            ) from None
