"""The calibrated bursty generator (``data/arrivals/azure-llm-code.json``) and the maf21
arrival choice. Needs neither the trace nor the artifact: the fit's target statistics
are stored beside its parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ppipe.errors import InputError
from ppipe.experiments.spec import maf21_arrivals
from ppipe.sim import burstiness as B
from ppipe.sim.arrivals import arrival_factory, arrivals_label, arrivals_spec


@pytest.fixture(scope="module")
def fit():
    return B.load_fit("azure-llm-code")


def test_fit_file_records_its_source(fit):
    assert fit["trace"] == "AzureLLMInferenceTrace_code.csv" and fit["fit_date"]
    assert fit["model"] == "superposed-mmpp" and fit["trace_arrivals"] > 1000
    assert set(fit["targets"]["folded"]) == {B.band_key(b) for b in B.FOLD_BANDS}


def test_closed_form_idc_matches_the_trace(fit):
    """The model's IDC curve (closed form) is within 25 % of the trace's from 0.1 s to 60 s."""
    m = B.SuperposedMMPP.from_json(fit["params"])
    for w, want in fit["targets"]["raw"]["idc"].items():
        got = float(m.idc([float(w)])[0])
        assert abs(math.log(got / want)) < math.log(1.25), (w, got, want)


def test_generator_reproduces_the_folded_statistics(fit):
    """After the simulator's folding, averaged over 6 synthetic traces (fixed seeds) and the
    band's loads: gap CV within 10 %; IDC at windows of 0.1-3 s (well inside the fold period
    at these loads) within a factor 1.8; all IDCs (0.1-60 s) within a factor 3.2 and on
    average (mean |log ratio|) within 0.4 -- a single trace's folded IDC at windows near the
    fold period is a noisy draw, so the long windows get the looser bound."""
    m = B.SuperposedMMPP.from_json(fit["params"])
    got = B.generator_folded_stats(m, fit["trace_span_s"], samples=6, seed=0)
    errs = []
    for band, want in fit["targets"]["folded"].items():
        g = got[band]
        assert abs(g["cv"] / want["cv"] - 1) < 0.10, (band, g["cv"], want["cv"])
        for w, v in want["idc"].items():
            e = abs(math.log(g["idc"][w] / v))
            errs.append(e)
            assert e < math.log(3.2), (band, w, g["idc"][w], v)
            if float(w) <= 3:
                assert e < math.log(1.8), (band, w, g["idc"][w], v)
    assert float(np.mean(errs)) < 0.4


def test_calibrated_arrivals_are_seeded_and_at_the_load():
    spec = arrivals_spec("calibrated")
    assert spec["fit"] == "azure-llm-code" and "params" in spec
    assert "AzureLLMInferenceTrace_code.csv" in arrivals_label(spec)
    f = arrival_factory(spec)
    a = f(500.0).generate(30_000_000, np.random.default_rng(3))
    b = f(500.0).generate(30_000_000, np.random.default_rng(3))
    assert np.array_equal(a, b) and (np.diff(a) >= 0).all() and a[-1] < 30_000_000
    assert abs(len(a) / 30 - 500) < 50
    with pytest.raises(InputError, match="unknown arrival fit"):
        arrivals_spec("calibrated", fit="nope")


def test_maf21_choice(tmp_path, monkeypatch):
    monkeypatch.delenv("PPIPE_TRACES", raising=False)
    a, note = maf21_arrivals()
    assert a["kind"] == "calibrated" and "calibrated generator" in note and "PPIPE_TRACES" in note
    a, note = maf21_arrivals(ratio=3.0)
    assert a["kind"] == "bursty" and a["ratio"] == 3.0
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp\n" + "\n".join(str(0.01 * i * i) for i in range(50)) + "\n")
    monkeypatch.setenv("PPIPE_TRACES", str(tmp_path))
    a, note = maf21_arrivals()
    assert a["kind"] == "trace" and a["path"] == str(trace.resolve()) and "PPIPE_TRACES" in note
    assert maf21_arrivals("calibrated")[0]["kind"] == "calibrated"
    monkeypatch.setenv("PPIPE_TRACES", str(tmp_path / "missing"))
    with pytest.raises(InputError, match="no such file or folder"):
        maf21_arrivals()
    with pytest.raises(InputError, match="unknown arrivals"):
        maf21_arrivals("x")
