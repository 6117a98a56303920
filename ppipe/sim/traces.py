"""Arrival traces: read timestamps, fold and rescale them to a target load.

Two file formats are understood:

- MAF'21 (Azure Functions 2021, the PPipe paper's bursty trace): CSV with
  ``end_timestamp`` and ``duration`` columns in seconds; a request starts at
  ``end_timestamp - duration``.
- The Azure LLM inference traces in ``shared/traces`` (CC-BY 4.0, Patel et al.,
  ISCA 2024): CSV with a ``TIMESTAMP`` column of date-times.
- Any CSV with a ``timestamp`` / ``arrival`` / ``time`` column in seconds.

Folding (the reference's way of scaling a long, slow trace up to a load):
with n timestamps, one period of the repeated pattern must hold the n
arrivals in D' = n / load seconds. If the trace spans more than that, the
timeline is cut into segments of D' and the segments are overlaid (times
modulo D'), keeping the trace's burst structure at a higher rate; if it is
already faster than ``load`` it is stretched instead (times x rate/load, with
rate = (n-1)/D over its span D, and a last gap of D'/n before the next
period). Either way the pattern (n arrivals in D') repeats for as long as
needed, so the achieved rate is ``load`` -- also for a short trace, which a
period of D x rate/load = (n-1)/load would have made n/(n-1) times too fast
(three arrivals: 1.5 x). The reference folds absolute times and cycles
through inter-arrival gaps; here times are taken relative to the first
arrival.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ppipe.errors import DataError, InputError


def read_trace_seconds(path: str | Path) -> np.ndarray:
    """Sorted arrival times in seconds, relative to the first arrival."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a trace file")
    if not path.is_file():
        raise DataError(f"{path}: trace file not found")
    with np.errstate(all="ignore"):  # arithmetic on nan/inf: the error below says it in one line
        t = _parse(path, pd)
    finite = np.isfinite(t)
    if finite.sum() < 2:
        bad = len(t) - int(finite.sum())
        raise DataError(f"{path}: a trace needs at least two arrivals"
                        + (f" ({bad} of its {len(t)} times are not finite numbers)" if bad else ""))
    t = np.sort(t[finite])
    t -= t[0]
    if not t[-1] > 0:
        raise DataError(f"{path}: all arrivals share one timestamp")
    return t


def _date_seconds(s, pd) -> np.ndarray:
    """Date-times as seconds since the earliest: ISO 8601 (the Azure traces) parsed at once,
    anything else one value at a time (no format guessing, so no pandas warning)."""
    try:
        dt = pd.to_datetime(s, errors="raise", format="ISO8601")
    except ValueError:
        dt = pd.to_datetime(s, errors="raise", format="mixed")
    return (dt - dt.min()).dt.total_seconds().to_numpy(dtype=float)


def _parse(path: Path, pd) -> np.ndarray:
    """The file's arrival times in seconds, in file order (non-finite ones kept)."""
    try:
        head = pd.read_csv(path, nrows=0)
    except Exception as exc:  # pandas raises many kinds on garbage
        raise DataError(f"{path}: not a readable CSV trace ({exc.__class__.__name__})") from None
    cols = {c.strip().lower(): c for c in head.columns}
    try:
        if "end_timestamp" in cols and "duration" in cols:
            df = pd.read_csv(path, usecols=[cols["end_timestamp"], cols["duration"]])
            t = (pd.to_numeric(df[cols["end_timestamp"]], errors="raise")
                 - pd.to_numeric(df[cols["duration"]], errors="raise")).to_numpy(dtype=float)
        elif "timestamp" in cols:
            s = pd.read_csv(path, usecols=[cols["timestamp"]])[cols["timestamp"]]
            num = pd.to_numeric(s, errors="coerce")
            if (num.notna() | s.isna()).all():  # seconds (an empty cell is a missing time, not a date)
                t = num.to_numpy(dtype=float)
            else:
                t = _date_seconds(s, pd)
        else:
            name = next((cols[c] for c in ("arrival", "arrival_time", "time", "start") if c in cols), None)
            if name is None:
                raise DataError(f"{path}: no end_timestamp+duration, TIMESTAMP or time column "
                                f"(has: {', '.join(map(str, head.columns))})")
            t = pd.to_numeric(pd.read_csv(path, usecols=[name])[name], errors="raise").to_numpy(dtype=float)
    except DataError:
        raise
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: malformed trace values ({str(exc).splitlines()[0][:80]})") from None
    return t


def fold_to_load(times_s: np.ndarray, load: float) -> tuple[np.ndarray, float]:
    """One period of the folded/stretched pattern: (sorted offsets in s, period in s)."""
    if not load > 0:
        raise InputError(f"load must be positive, got {load}")
    t = np.sort(np.asarray(times_s, dtype=float))
    t = t - t[0]
    span = float(t[-1])
    n = len(t)
    if n < 2 or not span > 0:
        raise InputError("a trace needs at least two arrivals at different times")
    rate = (n - 1) / span
    period = n / load  # n arrivals per period: the rate is exactly ``load``
    if rate >= load:  # stretch: the n-1 gaps fill (n-1)/load, the last gap of 1/load ends the period
        return t * (rate / load), period
    return np.sort(np.mod(t, period)), period


def trace_arrivals_us(times_s: np.ndarray, load: float, duration_us: int, phase_s: float = 0.0) -> np.ndarray:
    """Arrival times (integer µs, sorted, < duration) of the folded trace repeated."""
    pattern, period = fold_to_load(times_s, load)
    if phase_s:
        pattern = np.sort(np.mod(pattern + phase_s, period))
    reps = int(np.ceil(duration_us / 1e6 / period)) + 1
    base = np.arange(reps, dtype=float)[:, None] * period
    arr = (base + pattern[None, :]).ravel()
    us = np.floor(arr * 1e6).astype(np.int64)
    us = us[us < duration_us]
    us.sort(kind="stable")
    return us
