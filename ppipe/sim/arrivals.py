"""Request arrival processes (SPEC section 7), generated up front and vectorised.

Each process turns (duration, seeded ``numpy.random.Generator``) into a sorted
``int64`` array of arrival times in µs, all < duration. Generating the whole
stream at once is what lets the load-factor search know, before simulating,
how many requests will count, and so stop a run as soon as it has provably
failed.

- :class:`PoissonArrivals`: first request at 0, then inter-arrival gaps
  ``floor(1e6 x Exp(1) / load)`` µs, as in the reference simulator.
- :class:`TraceArrivals`: a real trace folded and rescaled to ``load``
  (:mod:`ppipe.sim.traces`); deterministic (the seed is not used).
- :class:`BurstyArrivals`: a two-state Markov-modulated Poisson process.
  Burstiness parameters: ``ratio`` = rate in a burst / rate between bursts,
  ``burst_fraction`` = long-run share of time spent in bursts, and
  ``burst_s`` = mean burst length in seconds (exponential); calm periods last
  ``burst_s x (1 - f) / f`` on average. The long-run mean rate is ``load``.
  ``ratio = 1`` is plain Poisson.
- :class:`CalibratedArrivals`: a generator fitted to a real trace's burstiness
  (:mod:`ppipe.sim.burstiness`, parameters shipped in ``data/arrivals/``): each
  call draws a synthetic trace like the original (same span, same mean rate)
  and folds it to ``load`` exactly as :class:`TraceArrivals` folds the real one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ppipe.errors import DataError, InputError
from ppipe.registry import Registry


def _check_load(load: float) -> float:
    try:
        load = float(load)
    except (TypeError, ValueError):
        raise InputError(f"load must be a number, got {load!r}") from None
    if not load > 0 or not np.isfinite(load):
        raise InputError(f"load must be positive (requests per second), got {load:g}")
    return load


def poisson_arrivals_us(load: float, duration_us: int, rng: np.random.Generator) -> np.ndarray:
    load = _check_load(load)
    expected = load * duration_us / 1e6
    chunk = int(expected + 6 * np.sqrt(expected) + 16)
    gaps = [np.zeros(1, dtype=np.int64)]
    total = 0
    while True:
        # a gap is capped at the duration (it ends the stream either way): at a tiny load an
        # uncapped one overflows int64 and the loop would never end
        g = np.floor(np.minimum(1e6 * rng.standard_exponential(chunk) / load, duration_us)).astype(np.int64)
        gaps.append(g)
        total += int(g.sum())
        if total >= duration_us:
            break
        chunk = max(16, chunk // 4)
    t = np.cumsum(np.concatenate(gaps))
    return t[t < duration_us]


def mmpp_arrivals_us(load: float, duration_us: int, rng: np.random.Generator, ratio: float = 4.0,
                     burst_fraction: float = 0.2, burst_s: float = 1.0) -> np.ndarray:
    load = _check_load(load)
    if not ratio >= 1:
        raise InputError(f"burst ratio must be >= 1, got {ratio:g}")
    if not 0 < burst_fraction < 1:
        raise InputError(f"burst fraction must be in (0, 1), got {burst_fraction:g}")
    if not burst_s > 0:
        raise InputError(f"mean burst length must be positive, got {burst_s:g}")
    low = load / ((1 - burst_fraction) + burst_fraction * ratio)
    rates = (low, low * ratio)
    means = (burst_s * (1 - burst_fraction) / burst_fraction, burst_s)
    dur_s = duration_us / 1e6
    out = []
    t = 0.0
    state = int(rng.random() < burst_fraction)  # start in the stationary distribution
    while t < dur_s:
        length = rng.exponential(means[state])
        end = min(t + length, dur_s)
        n = rng.poisson(rates[state] * (end - t))
        if n:
            out.append(t + np.sort(rng.random(n)) * (end - t))
        t = end
        state = 1 - state
    if not out:
        return np.zeros(0, dtype=np.int64)
    us = np.floor(np.concatenate(out) * 1e6).astype(np.int64)
    return us[us < duration_us]


class ArrivalProcess:
    """Something that generates arrival times; ``load`` is the mean rate in req/s."""

    load: float

    def generate(self, duration_us: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> dict:  # pragma: no cover
        raise NotImplementedError


@dataclass
class PoissonArrivals(ArrivalProcess):
    load: float

    def __post_init__(self):
        self.load = _check_load(self.load)

    def generate(self, duration_us: int, rng: np.random.Generator) -> np.ndarray:
        return poisson_arrivals_us(self.load, duration_us, rng)

    def describe(self) -> dict:
        return {"kind": "poisson", "load": self.load}


@dataclass
class BurstyArrivals(ArrivalProcess):
    load: float
    ratio: float = 4.0
    burst_fraction: float = 0.2
    burst_s: float = 1.0

    def __post_init__(self):
        self.load = _check_load(self.load)
        mmpp_arrivals_us(1.0, 1, np.random.default_rng(0), self.ratio, self.burst_fraction, self.burst_s)

    def generate(self, duration_us: int, rng: np.random.Generator) -> np.ndarray:
        return mmpp_arrivals_us(self.load, duration_us, rng, self.ratio, self.burst_fraction, self.burst_s)

    def describe(self) -> dict:
        return {"kind": "bursty", "load": self.load, "ratio": self.ratio,
                "burst_fraction": self.burst_fraction, "burst_s": self.burst_s}


@dataclass
class TraceArrivals(ArrivalProcess):
    """A trace file (or already-read times in seconds) folded to ``load``."""

    path: str | Path | None
    load: float
    times_s: np.ndarray | None = None
    phase_s: float = 0.0

    def __post_init__(self):
        from ppipe.sim.traces import read_trace_seconds

        self.load = _check_load(self.load)
        if self.times_s is None:
            if self.path is None:
                raise InputError("a trace needs a file or times")
            self.times_s = read_trace_seconds(self.path)

    def generate(self, duration_us: int, rng: np.random.Generator) -> np.ndarray:
        from ppipe.sim.traces import trace_arrivals_us

        return trace_arrivals_us(self.times_s, self.load, duration_us, self.phase_s)

    def describe(self) -> dict:
        return {"kind": "trace", "load": self.load, "path": str(self.path) if self.path else None}


@dataclass
class CalibratedArrivals(ArrivalProcess):
    """A synthetic trace drawn from fitted parameters (``params``, see
    :class:`ppipe.sim.burstiness.SuperposedMMPP`) over ``span_s``, folded to ``load``."""

    load: float
    params: dict
    span_s: float
    name: str = ""

    def __post_init__(self):
        from ppipe.sim.burstiness import SuperposedMMPP

        self.load = _check_load(self.load)
        self._model = SuperposedMMPP.from_json(self.params)
        if not self.span_s > 0:
            raise InputError(f"calibrated arrivals need a positive span, got {self.span_s:g}")

    def generate(self, duration_us: int, rng: np.random.Generator) -> np.ndarray:
        from ppipe.sim.traces import trace_arrivals_us

        t = self._model.sample(self.span_s, rng)
        if len(t) < 2:
            return np.zeros(0, dtype=np.int64)
        return trace_arrivals_us(t, self.load, duration_us)

    def describe(self) -> dict:
        return {"kind": "calibrated", "load": self.load, "fit": self.name}


@dataclass
class FixedArrivals(ArrivalProcess):
    """Given arrival times (µs); for tests and replays."""

    times_us: np.ndarray
    load: float = 0.0

    def generate(self, duration_us: int, rng: np.random.Generator) -> np.ndarray:
        t = np.sort(np.asarray(self.times_us, dtype=np.int64))
        return t[(t >= 0) & (t < duration_us)]

    def describe(self) -> dict:
        return {"kind": "fixed", "requests": int(len(self.times_us))}


# ------------------------------------------------------------ the arrival table

ArrivalFactory = Callable[[float], ArrivalProcess]


@dataclass(frozen=True)
class ArrivalKind:
    """A kind of arrival process users can ask for by name (CLI flags, experiment specs).

    ``spec`` validates options into a JSON-able spec (errors now, not in a worker);
    ``factory`` turns a spec into ``load -> ArrivalProcess``; ``label`` describes it."""

    name: str
    spec: Callable[..., dict]
    factory: Callable[[dict], ArrivalFactory]
    label: Callable[[dict], str]
    description: str = ""


ARRIVALS: Registry[ArrivalKind] = Registry("arrival process")

_TRACE_CACHE: dict[str, np.ndarray] = {}


def _trace_times(path: str) -> np.ndarray:
    """A trace's times in seconds, read once per process."""
    from ppipe.sim.traces import read_trace_seconds

    if path not in _TRACE_CACHE:
        _TRACE_CACHE[path] = read_trace_seconds(path)
    return _TRACE_CACHE[path]


def _poisson_spec(**_ignored) -> dict:
    return {"kind": "poisson"}


def _bursty_spec(ratio: float = 4.0, burst_fraction: float = 0.2, burst_s: float = 1.0, **_ignored) -> dict:
    BurstyArrivals(1.0, ratio, burst_fraction, burst_s)  # validate
    return {"kind": "bursty", "ratio": ratio, "burst_fraction": burst_fraction, "burst_s": burst_s}


def _trace_spec(trace: str | os.PathLike | None = None, **_ignored) -> dict:
    if trace is None:
        raise InputError("trace arrivals need a trace file (--trace FILE)")
    path = Path(trace).resolve()
    times = _trace_times(str(path))  # one-line error now rather than in a worker
    if len(times) < 2:
        raise DataError(f"{path}: a trace needs at least two arrivals")
    return {"kind": "trace", "path": str(path), "arrivals_in_file": int(len(times)),
            "span_s": float(times[-1] - times[0])}


#: The shipped fit ``calibrated`` arrivals use unless told otherwise (``data/arrivals/<name>.json``).
DEFAULT_FIT = "azure-llm-code"


def _calibrated_spec(fit: str | None = None, **_ignored) -> dict:
    """The fit's parameters go into the spec, so a refit changes an experiment's fingerprint."""
    from ppipe.sim.burstiness import load_fit

    name = fit or DEFAULT_FIT
    doc = load_fit(name)
    return {"kind": "calibrated", "fit": name, "trace": doc.get("trace"), "fit_date": doc.get("fit_date"),
            "model": doc.get("model"), "span_s": float(doc["trace_span_s"]), "params": doc["params"]}


def _calibrated_factory(spec: dict) -> ArrivalFactory:
    params, span, name = spec["params"], float(spec["span_s"]), spec.get("fit", "")
    return lambda load: CalibratedArrivals(load, params, span, name)


def _calibrated_label(a: dict) -> str:
    return (f"calibrated generator (superposed MMPP fitted to {a.get('trace') or a.get('fit')}, "
            f"fit {a.get('fit_date') or '?'})")


def _bursty_factory(spec: dict) -> ArrivalFactory:
    r, f, s = spec.get("ratio", 4.0), spec.get("burst_fraction", 0.2), spec.get("burst_s", 1.0)
    return lambda load: BurstyArrivals(load, r, f, s)


def _trace_factory(spec: dict) -> ArrivalFactory:
    path = spec["path"]
    times = _trace_times(path)
    return lambda load: TraceArrivals(path, load, times_s=times)


def _bursty_label(a: dict) -> str:
    return (f"bursty (synthetic MMPP: ratio {a.get('ratio', 4.0):g}, burst share "
            f"{a.get('burst_fraction', 0.2):g}, mean burst {a.get('burst_s', 1.0):g} s)")


ARRIVALS.register(ArrivalKind("poisson", _poisson_spec, lambda spec: PoissonArrivals, lambda a: "Poisson",
                              "Poisson arrivals at the offered load"))
ARRIVALS.register(ArrivalKind("bursty", _bursty_spec, _bursty_factory, _bursty_label,
                              "a two-state Markov-modulated Poisson process"))
ARRIVALS.register(ArrivalKind("trace", _trace_spec, _trace_factory, lambda a: f"trace {Path(a['path']).name}",
                              "a real trace folded and rescaled to the offered load"))
ARRIVALS.register(ArrivalKind("calibrated", _calibrated_spec, _calibrated_factory, _calibrated_label,
                              "a generator fitted to a real trace's burstiness, folded like the trace"))


def arrivals_spec(kind: str, **options) -> dict:
    """A validated, JSON-able description of an arrival process (``kind`` from the table)."""
    return ARRIVALS.get(kind).spec(**options)


def arrival_factory(spec: dict) -> ArrivalFactory:
    """``load -> ArrivalProcess`` for a spec made by :func:`arrivals_spec`."""
    return ARRIVALS.get(spec.get("kind", "")).factory(spec)


def arrivals_label(spec: dict) -> str:
    return ARRIVALS.get(spec.get("kind", "")).label(spec)
