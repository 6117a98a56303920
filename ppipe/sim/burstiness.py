"""Burstiness statistics of arrival streams, and a generator fitted to a real trace.

The statistics (what "bursty" means here):

- the index of dispersion of counts, IDC(w) = Var N(w) / E N(w) for the number of
  arrivals N(w) in back-to-back windows of w seconds (1 for Poisson at every w; a
  bursty stream has IDC growing with w);
- the coefficient of variation of inter-arrival times (1 for Poisson).

The model (:class:`SuperposedMMPP`): a Poisson base plus K independent on/off
sources, each a two-state Markov-modulated Poisson process with its own time
scale tau_k (on-period rate h_k, long-run share f of the time on). Its rate
process has covariance sum_k v_k exp(-|t|/tau_k), v_k = f (1 - f) h_k^2, so the
IDC is known in closed form,

    IDC(w) = 1 + sum_k A_k g(w / tau_k),   A_k = 2 v_k tau_k / mu,   g(x) = 1 - (1 - e^-x) / x,

which is linear in A_k: fitting it to a trace's IDC curve over 5 ms .. 20 min is a
non-negative least-squares problem on a fixed log grid of time scales. A single
two-state MMPP (one tau) has an IDC that saturates after a few tau; the trace's
keeps growing over four decades, hence the superposition.

The generator stands in for the trace itself: it draws a synthetic trace with
the trace's arrival count and span, and the simulator then folds and rescales it
to the offered load exactly as it does a real trace (:mod:`ppipe.sim.traces`).
Folding overlays segments of the trace, so the burst structure the simulator
sees depends on the load; generating a trace-like stream and folding it the same
way reproduces that dependence, which a stream generated at the load could not.

The fitted parameters are shipped as data (``data/arrivals/<name>.json``, read
through :data:`ppipe.paths.SHIPPED_DATA`) with the trace's name, the fit date and
the target statistics (raw and after folding to several loads), so tests check
the generator against them without the trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ppipe.errors import DataError, InputError

#: Windows (s) at which IDC targets are stored and checked.
WINDOWS_S = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 60.0)
#: Bands of offered load (req/s) at which the folded statistics are stored and checked: each
#: band's statistics are the mean over :data:`LOADS_PER_BAND` loads spread geometrically over
#: it (each load folds the trace differently, so one load alone is a single noisy draw). The
#: main experiments' loads near lf99 are mostly 300-1000 req/s.
FOLD_BANDS = ((100.0, 200.0), (300.0, 600.0), (600.0, 1200.0))
LOADS_PER_BAND = 8
#: Seconds of folded arrivals the folded statistics are taken over.
FOLD_DURATION_S = 600.0
#: Time scales (s) of the superposed sources the fit chooses weights for.
TAU_GRID_S = tuple(float(x) for x in np.logspace(np.log10(0.002), np.log10(2000.0), 13))
#: Windows (s) the raw IDC curve is fitted on.
FIT_WINDOWS_S = tuple(float(x) for x in np.logspace(np.log10(0.005), np.log10(1200.0), 28))


# ------------------------------------------------------------------ statistics

def idc(times_s: np.ndarray, window_s: float, span_s: float | None = None) -> float:
    """Index of dispersion of counts in back-to-back windows of ``window_s`` over [0, span)."""
    t = np.asarray(times_s, dtype=float)
    span = float(span_s if span_s is not None else (t[-1] if len(t) else 0.0))
    n = int(span // window_s)
    if n < 2 or len(t) == 0:
        return float("nan")
    c = np.bincount(np.floor(t[t < n * window_s] / window_s).astype(np.int64), minlength=n)[:n]
    m = c.mean()
    return float(c.var() / m) if m > 0 else float("nan")


def gap_cv(times_s: np.ndarray) -> float:
    """Coefficient of variation of inter-arrival times."""
    g = np.diff(np.sort(np.asarray(times_s, dtype=float)))
    return float(g.std() / g.mean()) if len(g) > 1 and g.mean() > 0 else float("nan")


def stream_stats(times_s: np.ndarray, span_s: float, windows: Sequence[float] = WINDOWS_S) -> dict:
    """{"cv": gap CV, "idc": {window: IDC}} for windows of at most a quarter of the span."""
    return {"cv": gap_cv(times_s),
            "idc": {f"{w:g}": idc(times_s, w, span_s) for w in windows if w <= span_s / 4}}


def folded_stats(times_s: np.ndarray, load: float, duration_s: float = FOLD_DURATION_S,
                 windows: Sequence[float] = WINDOWS_S) -> dict:
    """The statistics of a trace after the simulator's folding/rescaling to ``load``."""
    from ppipe.sim.traces import trace_arrivals_us

    us = trace_arrivals_us(np.asarray(times_s, dtype=float), load, int(round(duration_s * 1e6)))
    return stream_stats(us / 1e6, duration_s, windows)


def band_loads(band: Sequence[float], n: int = LOADS_PER_BAND) -> list[float]:
    return [float(x) for x in np.geomspace(band[0], band[1], n)]


def band_key(band: Sequence[float]) -> str:
    return f"{band[0]:g}-{band[1]:g}"


def mean_stats(stats: list[dict]) -> dict:
    """Element-wise mean of :func:`stream_stats` results (NaNs skipped)."""
    keys = stats[0]["idc"].keys()
    return {"cv": float(np.nanmean([s["cv"] for s in stats])),
            "idc": {k: float(np.nanmean([s["idc"].get(k, np.nan) for s in stats])) for k in keys}}


def banded_stats(traces: Sequence[np.ndarray], bands=FOLD_BANDS, duration_s: float = FOLD_DURATION_S) -> dict:
    """{band: mean folded statistics over the band's loads and over ``traces``}."""
    return {band_key(b): mean_stats([folded_stats(t, L, duration_s) for t in traces for L in band_loads(b)])
            for b in bands}


# ------------------------------------------------------------------ the model

def _g(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    small = x < 1e-6
    out = np.empty_like(x)
    out[small] = x[small] / 2
    xs = x[~small]
    out[~small] = 1.0 - (-np.expm1(-xs)) / xs
    return out


@dataclass(frozen=True)
class SuperposedMMPP:
    """Poisson base + on/off sources; rates are for a stream of mean rate ``rate`` (req/s)."""

    rate: float  # long-run mean rate mu
    taus: tuple[float, ...]  # correlation time of each source (s)
    on_rates: tuple[float, ...]  # h_k: rate while source k is on (req/s)
    on_share: float  # f: share of time each source is on

    @property
    def base_rate(self) -> float:
        return self.rate - self.on_share * sum(self.on_rates)

    def validate(self) -> "SuperposedMMPP":
        if not (self.rate > 0 and 0 < self.on_share < 1 and len(self.taus) == len(self.on_rates)):
            raise DataError("burstiness model: rate > 0, 0 < on_share < 1 and one on-rate per time scale needed")
        if any(t <= 0 for t in self.taus) or any(h < 0 for h in self.on_rates) or self.base_rate < -1e-9:
            raise DataError("burstiness model: time scales > 0, on-rates >= 0 and sources within the mean rate")
        return self

    def idc(self, windows: Sequence[float]) -> np.ndarray:
        """The model's closed-form IDC at ``windows`` (s)."""
        w = np.asarray(windows, dtype=float)
        f = self.on_share
        out = np.ones_like(w)
        for tau, h in zip(self.taus, self.on_rates):
            a = 2 * f * (1 - f) * h * h * tau / self.rate
            out += a * _g(w / tau)
        return out

    def sample(self, span_s: float, rng: np.random.Generator) -> np.ndarray:
        """Sorted arrival times in [0, span_s) (seconds)."""
        f = self.on_share
        parts = [_poisson_times(max(self.base_rate, 0.0), 0.0, span_s, rng)]
        for tau, h in zip(self.taus, self.on_rates):
            if h <= 0:
                continue
            on_mean, off_mean = tau / (1 - f), tau / f
            # alternating periods from the stationary distribution
            start_on = rng.random() < f
            n = int(span_s / (on_mean + off_mean) * 1.2) + 16
            starts, ends = [], []
            t = 0.0
            state_on = start_on
            while t < span_s:
                a = rng.exponential(on_mean, n)
                b = rng.exponential(off_mean, n)
                first, second = (a, b) if state_on else (b, a)
                seq = np.empty(2 * n)
                seq[0::2], seq[1::2] = first, second
                edges = t + np.concatenate([[0.0], np.cumsum(seq)])
                on_idx = np.arange(0 if state_on else 1, 2 * n, 2)
                starts.append(edges[on_idx])
                ends.append(edges[on_idx + 1])
                t = float(edges[-1])
            s = np.concatenate(starts)
            e = np.minimum(np.concatenate(ends), span_s)
            keep = s < span_s
            s, e = s[keep], e[keep]
            lengths = e - s
            counts = rng.poisson(h * lengths)
            total = int(counts.sum())
            if total:
                owner = np.repeat(np.arange(len(s)), counts)
                parts.append(s[owner] + rng.random(total) * lengths[owner])
        t = np.concatenate(parts)
        t.sort()
        return t

    def to_json(self) -> dict:
        return {"rate": self.rate, "taus_s": list(self.taus), "on_rates": list(self.on_rates),
                "on_share": self.on_share}

    @classmethod
    def from_json(cls, d: dict) -> "SuperposedMMPP":
        try:
            return cls(float(d["rate"]), tuple(float(x) for x in d["taus_s"]),
                       tuple(float(x) for x in d["on_rates"]), float(d["on_share"])).validate()
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"burstiness model: malformed parameters ({exc})") from None


def _poisson_times(rate: float, t0: float, t1: float, rng: np.random.Generator) -> np.ndarray:
    if rate <= 0 or t1 <= t0:
        return np.zeros(0)
    n = rng.poisson(rate * (t1 - t0))
    return t0 + rng.random(n) * (t1 - t0)


# ------------------------------------------------------------------ fitting

def fit_idc_weights(windows: Sequence[float], target_idc: Sequence[float],
                    taus: Sequence[float] = TAU_GRID_S) -> np.ndarray:
    """A_k >= 0 minimising the relative error of 1 + sum_k A_k g(w / tau_k) against the target."""
    w = np.asarray(windows, dtype=float)
    y = np.asarray(target_idc, dtype=float)
    ok = np.isfinite(y)
    w, y = w[ok], y[ok]
    G = _g(w[:, None] / np.asarray(taus, dtype=float)[None, :])
    scale = 1.0 / y  # relative error
    return nnls(G * scale[:, None], (y - 1.0) * scale)


def nnls(M: np.ndarray, b: np.ndarray, max_iter: int = 500) -> np.ndarray:
    """Non-negative least squares, min |M x - b| with x >= 0 (Lawson-Hanson active set)."""
    m, n = M.shape
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    for _ in range(max_iter):
        grad = M.T @ (b - M @ x)
        cand = ~passive & (grad > 1e-12)
        if not cand.any():
            break
        passive[np.argmax(np.where(cand, grad, -np.inf))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(M[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            neg = passive & (z <= 0)
            alpha = np.min(x[neg] / (x[neg] - z[neg]))
            x = x + alpha * (z - x)
            passive &= x > 1e-15
            x[~passive] = 0.0
    return x


def model_from_weights(rate: float, A: np.ndarray, on_share: float,
                       taus: Sequence[float] = TAU_GRID_S) -> SuperposedMMPP:
    """The on/off sources with IDC weights ``A`` at a given on-share f: A_k = 2 f (1-f) h_k^2 tau_k / mu."""
    f = on_share
    h = tuple(float(np.sqrt(a * rate / (2 * f * (1 - f) * tau))) if a > 0 else 0.0 for a, tau in zip(A, taus))
    return SuperposedMMPP(rate, tuple(float(t) for t in taus), h, f)


def fit_trace(times_s: np.ndarray, trace_name: str, fit_date: str, seed: int = 0,
              on_shares: Sequence[float] = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1), n_check: int = 8) -> dict:
    """Fit the model to a trace and return the data-file document (parameters + targets).

    The time-scale weights come from the raw trace's IDC curve (closed form); the one
    free shape parameter, the on-share f, is chosen among ``on_shares`` (those that
    keep the sources within the mean rate) to best match the statistics after folding
    (IDC at :data:`WINDOWS_S` and gap CV at :data:`FOLD_LOADS`), averaged over
    ``n_check`` synthetic traces."""
    t = np.sort(np.asarray(times_s, dtype=float))
    t = t - t[0]
    span = float(t[-1])
    n = len(t)
    rate = (n - 1) / span
    windows = [w for w in FIT_WINDOWS_S if w <= span / 10]  # at least 10 windows per estimate
    raw_idc = [idc(t, w, span) for w in windows]
    A = fit_idc_weights(windows, raw_idc)
    targets = {"raw": stream_stats(t, span), "folded": banded_stats([t])}
    best = None
    for f in on_shares:
        m = model_from_weights(rate, A, f)
        if m.base_rate < 0:
            continue
        sims = [generator_folded_stats(m, span, n_check, seed)]
        err = _stats_error(sims[0], targets["folded"])
        if best is None or err < best[0]:
            best = (err, f, m, sims[0])
    if best is None:
        raise DataError("burstiness fit: no on-share keeps the sources within the trace's mean rate")
    err, f, model, achieved = best
    return {
        "format": "ppipe-arrival-fit", "version": 1,
        "trace": trace_name, "fit_date": fit_date,
        "trace_arrivals": n, "trace_span_s": span,
        "model": "superposed-mmpp", "params": model.to_json(),
        "fit": {"idc_windows_s": windows, "raw_idc": raw_idc,
                "model_idc": model.idc(windows).tolist(), "seed": seed, "samples": n_check,
                "on_share_candidates": list(on_shares), "folded_log_error": err},
        "windows_s": list(WINDOWS_S), "fold_bands": [list(b) for b in FOLD_BANDS],
        "loads_per_band": LOADS_PER_BAND, "fold_duration_s": FOLD_DURATION_S,
        "targets": targets,
        "generator": achieved,
    }


def _stats_error(got: dict, want: dict) -> float:
    """Mean |log ratio| over every folded IDC and gap CV."""
    errs = []
    for L, w in want.items():
        g = got[L]
        errs.append(abs(np.log(g["cv"] / w["cv"])))
        for k, v in w["idc"].items():
            if np.isfinite(v) and v > 0 and np.isfinite(g["idc"].get(k, np.nan)) and g["idc"][k] > 0:
                errs.append(abs(np.log(g["idc"][k] / v)))
    return float(np.mean(errs))


def generator_folded_stats(model: SuperposedMMPP, span_s: float, samples: int, seed: int = 0,
                           bands=FOLD_BANDS, duration_s: float = FOLD_DURATION_S) -> dict:
    """The generator's banded folded statistics, averaged over ``samples`` synthetic traces."""
    traces = [model.sample(span_s, np.random.default_rng([seed, i])) for i in range(samples)]
    return banded_stats(traces, bands, duration_s)


# ------------------------------------------------------------------ shipped fits

def fits_dir() -> Path:
    from ppipe.paths import SHIPPED_DATA

    return SHIPPED_DATA / "arrivals"


def fit_names() -> list[str]:
    d = fits_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def load_fit(name: str) -> dict:
    """A shipped fit by name (``data/arrivals/<name>.json``)."""
    path = fits_dir() / f"{name}.json"
    if not path.is_file():
        raise InputError(f"unknown arrival fit {name!r} (have: {', '.join(fit_names()) or 'none'})")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg})") from None
    SuperposedMMPP.from_json(doc.get("params", {}))
    return doc


def synthetic_trace(params: dict, span_s: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic trace (seconds from 0) drawn from fitted parameters."""
    return SuperposedMMPP.from_json(params).sample(span_s, rng)
