"""Arrival streams: Poisson, traces (MAF'21 and Azure formats), bursty MMPP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ppipe.errors import DataError, InputError
from ppipe.sim.arrivals import BurstyArrivals, PoissonArrivals, TraceArrivals, poisson_arrivals_us
from ppipe.sim.traces import fold_to_load, read_trace_seconds, trace_arrivals_us

TRACES = Path(__file__).resolve().parent.parent.parent / "shared" / "traces"


def test_poisson_reference_formula():
    rng = np.random.default_rng(5)
    t = poisson_arrivals_us(1000.0, 2_000_000, rng)
    exp = np.random.default_rng(5).standard_exponential(len(t) + 10)
    gaps = np.floor(1e6 * exp / 1000.0).astype(np.int64)
    assert t[0] == 0
    assert np.array_equal(np.diff(t), gaps[: len(t) - 1])
    assert t[-1] < 2_000_000


def test_poisson_rate_and_bad_load():
    t = PoissonArrivals(800).generate(30_000_000, np.random.default_rng(1))
    assert abs(len(t) / 30 - 800) < 800 * 0.03
    for bad in (0, -5, float("nan")):
        with pytest.raises(InputError):
            PoissonArrivals(bad)


def test_fold_scales_rate_up_and_down():
    t = np.sort(np.random.default_rng(0).uniform(0, 1000, size=5001))  # ~5 req/s
    for load, secs in ((200.0, 20), (2.0, 400)):
        arr = trace_arrivals_us(t, load, secs * 1_000_000)
        assert abs(len(arr) / secs - load) / load < 0.1
        assert np.all(np.diff(arr) >= 0) and arr[0] == 0
    pattern, period = fold_to_load(t, 200.0)
    assert len(pattern) == len(t) and pattern.max() < period


def test_maf21_format(tmp_path):
    p = tmp_path / "maf.csv"
    p.write_text("app,func,end_timestamp,duration\n" + "\n".join(f"a,f,{i * 0.5 + 1.0},{0.25}" for i in range(20)))
    s = read_trace_seconds(p)
    assert s[0] == 0 and np.allclose(np.diff(s), 0.5)
    arr = TraceArrivals(p, load=20).generate(1_000_000, np.random.default_rng(0))
    assert 15 <= len(arr) <= 25


def test_trace_errors(tmp_path):
    with pytest.raises(DataError):
        read_trace_seconds(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(DataError):
        read_trace_seconds(bad)


@pytest.mark.skipif(not (TRACES / "AzureLLMInferenceTrace_code.csv").exists(), reason="shared traces absent")
def test_azure_trace_is_bursty_after_folding():
    s = read_trace_seconds(TRACES / "AzureLLMInferenceTrace_code.csv")
    assert s[-1] > 3000  # one hour
    arr = trace_arrivals_us(s, 1000.0, 60_000_000)
    assert abs(len(arr) / 60 - 1000) < 20
    # over-dispersed compared to Poisson (= 1 +- 0.02 here) in 10 ms bins; coarser bins depend on
    # how the folding period (n / load = 8.8 s) falls against them (1.1 to 2 at 100 ms)
    counts = np.bincount(arr // 10_000)
    assert counts.var() / counts.mean() > 1.3


def test_bursty_mean_rate_and_dispersion():
    arr = BurstyArrivals(1000, ratio=6, burst_fraction=0.2, burst_s=0.5).generate(600_000_000, np.random.default_rng(2))
    assert abs(len(arr) / 600 - 1000) < 100
    counts = np.bincount(arr // 100_000)
    assert counts.var() / counts.mean() > 5
    flat = BurstyArrivals(1000, ratio=1).generate(20_000_000, np.random.default_rng(2))
    c2 = np.bincount(flat // 100_000)
    assert c2.var() / c2.mean() < 1.5
    with pytest.raises(InputError):
        BurstyArrivals(100, ratio=0.5)
    with pytest.raises(InputError):
        BurstyArrivals(100, burst_fraction=1.0)


@pytest.mark.parametrize("load", [1e-100, 1e-13, 1e-6])
def test_a_tiny_load_ends_at_once(load):
    """A gap longer than the run ends the stream: at a tiny load an uncapped gap overflowed
    int64 and the generator never returned (the TUI's F5 with 1e-100 req/s)."""
    arr = poisson_arrivals_us(load, 30_000_000, np.random.default_rng(0))
    assert arr.tolist() == [0]


def test_a_numeric_timestamp_column_with_an_empty_cell_stays_in_seconds(tmp_path):
    """One empty cell used to send the whole column to the date parser, which read the
    seconds as nanoseconds (a 30 s trace became 3e-8 s)."""
    p = tmp_path / "t.csv"
    p.write_text("TIMESTAMP,func\n10.5,a\n20.25,b\n,c\n30,d\n40,e\n")
    assert read_trace_seconds(p).tolist() == [0.0, 9.75, 19.5, 29.5]


@pytest.mark.parametrize("stamps,expected", [
    (["2023-11-16 18:15:46.6805900", "2023-11-16 18:15:50.9951690"], 4.314579),  # the Azure traces: ISO 8601
    (["11/16/2023 18:15:46", "11/16/2023 18:15:50"], 4.0),  # any other date format, value by value
])
def test_date_times_parse_without_warnings(tmp_path, stamps, expected):
    import warnings

    p = tmp_path / "t.csv"
    p.write_text("TIMESTAMP\n" + "\n".join(stamps) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = read_trace_seconds(p)
    assert t.tolist() == pytest.approx([0.0, expected])
