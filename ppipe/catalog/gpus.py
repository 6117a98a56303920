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
from ppipe.jsonio import check_name, read_json
from ppipe.paths import SHIPPED_GPU_CATALOG, user_data_dir

_REQUIRED = ("name", "class", "gpus_per_server", "mps_levels", "network_gbps",
             "fp32_tflops", "mem_bw_gbps")
#: NVIDIA MPS serves at most 48 clients per GPU (Volta and later).
MAX_MPS_LEVEL = 48
#: More GPUs in one server than any real one has.
MAX_GPUS_PER_SERVER = 64


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


def number_field(entry: dict, key: str, where: str, *, integer: bool = False, low: float = 0.0, low_open: bool = True,
           high: float | None = None, default: object = None) -> float:
    """``entry[key]`` as a finite number in range; else a DataError naming the file, GPU and field."""
    v = entry.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise DataError(f"{where}: field {key!r} must be a number, got {v!r}")
    try:
        x = float(v)
    except ValueError:
        raise DataError(f"{where}: field {key!r} must be a number, got {v!r}") from None
    if not math.isfinite(x):
        raise DataError(f"{where}: field {key!r} must be a finite number, got {v!r}")
    if integer and not x.is_integer():
        raise DataError(f"{where}: field {key!r} must be a whole number, got {v!r}")
    if (x <= low if low_open else x < low) or (high is not None and x > high):
        rng = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
        raise DataError(f"{where}: field {key!r} must be {rng}, got {v!r}")
    return int(x) if integer else x


def _parse_entry(entry: object, source: Path, known: dict[str, GpuType] | None = None) -> GpuType:
    if not isinstance(entry, dict):
        raise DataError(f"{source}: each entry of 'gpus' must be an object")
    name = check_name(entry.get("name"), "GPU name", f"{source}: field 'name'")
    if known and name in known:  # a partial override of a known type
        entry = {**known[name].to_json(), **entry}
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise DataError(f"{source}: GPU {name!r} lacks {', '.join(missing)}")
    where = f"{source}: GPU {name!r}"
    if not isinstance(entry["class"], str):
        raise DataError(f"{where}: field 'class' must be a string, got {entry['class']!r}")
    fp32 = number_field(entry, "fp32_tflops", where)
    return GpuType(
        name=name,
        gpu_class=entry["class"],
        gpus_per_server=number_field(entry, "gpus_per_server", where, integer=True, low=1, low_open=False,
                               high=MAX_GPUS_PER_SERVER),
        mps_levels=number_field(entry, "mps_levels", where, integer=True, low=1, low_open=False, high=MAX_MPS_LEVEL),
        network_gbps=number_field(entry, "network_gbps", where),
        fp32_tflops=fp32,
        tf32_tflops=number_field(entry, "tf32_tflops", where, default=fp32),
        fp16_tflops=number_field(entry, "fp16_tflops", where, default=fp32),
        mem_bw_gbps=number_field(entry, "mem_bw_gbps", where),
        memory_gb=number_field(entry, "memory_gb", where, low_open=False, default=0.0),
        tdp_w=number_field(entry, "tdp_w", where, low_open=False, default=0.0),
        sm_count=number_field(entry, "sm_count", where, integer=True, low_open=False, default=0),
        architecture=str(entry.get("architecture", "") or ""),
        price_per_hour=_price(entry.get("price_per_hour"), name, source),
        price_source=str(entry.get("price_source", "") or ""),
    )


def _read_catalog_file(path: Path, known: dict[str, GpuType] | None = None) -> list[GpuType]:
    doc = read_json(path, "GPU catalog")
    if not isinstance(doc, dict) or not isinstance(doc.get("gpus"), list):
        raise DataError(f"{path}: a GPU catalog needs a 'gpus' list")
    out = [_parse_entry(e, path, known) for e in doc["gpus"]]
    names = [g.name for g in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"{path}: GPU {', '.join(map(repr, twice))} listed twice")
    return out


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

    def with_type(self, gpu: GpuType) -> "GpuCatalog":
        """This catalog and one more type (a type the catalog already has is an error)."""
        if gpu.name in self._gpus:
            raise InputError(f"GPU type {gpu.name!r} is already in the catalog")
        return GpuCatalog([*self._gpus.values(), gpu])

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


def derived_gpu_type(name: str, like: GpuType, *, gpu_class: str | None = None, gpus_per_server: object = None,
                     mps_levels: object = None, network_gbps: object = None, price_per_hour: object = None,
                     price_source: str = "", where: str = "the new GPU type") -> GpuType:
    """A type the catalog lacks, for which the user has profile data: the hardware figures
    the estimator reads (TFLOPS, memory bandwidth) come from a known type ``like``; the
    deployment settings given here replace that type's. Checked like a catalog entry, so a
    bad value is a one-line DataError naming the field."""
    entry = {**like.to_json(), "name": name, "architecture": "", "price_per_hour": None, "price_source": ""}
    for key, value in (("class", gpu_class), ("gpus_per_server", gpus_per_server), ("mps_levels", mps_levels),
                       ("network_gbps", network_gbps), ("price_per_hour", price_per_hour)):
        if value is not None and value != "":
            entry[key] = value
    if entry["class"] not in ("high", "low"):
        raise DataError(f"{where}: field 'class' must be high or low, got {entry['class']!r}")
    if entry["price_per_hour"] is not None:
        entry["price_source"] = price_source or "given by the user"
    return _parse_entry(entry, Path(where))


def save_user_gpu_type(gpu: GpuType, path: Path | None = None) -> Path:
    """Add (or replace) ``gpu`` in the user's catalog (``$PPIPE_HOME/gpus.json``), so the CLI
    and later sessions know it too. The file is rewritten atomically; an unreadable one is
    an error, never overwritten."""
    from ppipe.atomic import write_json_atomic

    path = Path(path) if path is not None else user_data_dir() / "gpus.json"
    entries: list = []
    if path.exists():
        doc = read_json(path, "GPU catalog")
        if not isinstance(doc, dict) or not isinstance(doc.get("gpus"), list):
            raise DataError(f"{path}: a GPU catalog needs a 'gpus' list")
        entries = [e for e in doc["gpus"] if not (isinstance(e, dict) and e.get("name") == gpu.name)]
    entries.append(gpu.to_json())
    return write_json_atomic(path, {"gpus": entries})
