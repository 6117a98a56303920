"""``ppipe size`` from the outside: JSON on stdout, the saved plan (named by the fleet) that
``ppipe check`` accepts, the comparisons, ``--sweep``, ``--verify``, and one-line errors.

Runs on the bundled (estimated) profiles. The command registers on import; until
``ppipe/cli/__init__.py`` imports it, this module does.
"""

from __future__ import annotations

import json

import pytest

import ppipe.cli.size_cmds  # noqa: F401  (registers ``size``)
from ppipe.cli import run

MODELS = "resnet50,vit_b_16"
BASE = ["size", "--models", MODELS, "--rates", "500,300", "--own", "T4:4", "--buy", "L4,T4"]


@pytest.fixture(autouse=True)
def _bundled(monkeypatch, tmp_path):
    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    monkeypatch.chdir(tmp_path)


def _run(capsys, args):
    code = run(args)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str, *fragments: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("ppipe: error:"), err
    for f in fragments:
        assert f in lines[0], (f, err)
    assert "Traceback" not in err


def test_size_json_saves_a_plan_named_by_the_fleet(capsys):
    code, out, err = _run(capsys, BASE + ["--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "optimal" and doc["mip_gap"] == 0.0
    buy, fleet = doc["buy"], doc["fleet"]
    assert fleet == {"T4": 4 + buy["T4"], "L4": buy["L4"]}
    assert doc["cost_per_hour"] == pytest.approx(0.526 * buy["T4"] + 0.8048 * buy["L4"])
    for m in doc["models"]:
        assert m["throughput"] >= m["target"] * (1 - 1e-6)
    assert set(doc["comparisons"]) == {"np", "np-cheapest"}
    assert doc["savings"]["np"] is None or doc["savings"]["np"] >= -1e-12
    assert doc["prices"]["T4"]["source"].startswith("AWS")
    path = doc["plan_file"]
    assert path == (f"saved_plans/resnet50-vit_b_16_500-300_T4-L4_{fleet['T4']}-{fleet['L4']}"
                    "_bw-gbps-10_sla-multiplier-5_v4.json")
    # show and check read the fleet from the name
    code, out, err = _run(capsys, ["check", path, "--json"])
    assert code == 0 and json.loads(out)["ok"], out
    assert json.loads(out)["limits"] == fleet


def test_size_human_output_and_no_save(capsys, tmp_path):
    code, out, err = _run(capsys, BASE + ["--no-save", "--price", "T4=0.35"])
    assert code == 0, err
    assert "PPipe" in out and "side by side" in out and "NP" in out and "$" in out
    assert not (tmp_path / "saved_plans").exists()


def test_size_weights_total_and_new_fleet(capsys):
    code, out, err = _run(capsys, ["size", "--models", MODELS, "--weights", "0.6,0.4", "--total", "500",
                                   "--own", "T4:2", "--buy", "L4,T4", "--new-fleet", "--no-compare", "--no-save",
                                   "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["targets"] == pytest.approx([300.0, 200.0])
    # the whole fleet is priced: owned T4s in use cost their list price
    assert doc["cost_per_hour"] == pytest.approx(0.526 * doc["fleet"]["T4"] + 0.8048 * doc["fleet"]["L4"])
    assert doc["comparisons"] == {}


def test_size_sweep(capsys):
    code, out, err = _run(capsys, BASE + ["--sweep", "0.5:1:0.5", "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert [p["factor"] for p in doc["points"]] == [0.5, 1.0]
    for p in doc["points"]:
        costs = {k: r["cost_per_hour"] for k, r in p["results"].items()}
        assert set(costs) == {"ppipe", "np", "np-cheapest"}
        if costs["np"] is not None:
            assert costs["ppipe"] <= costs["np"] + 1e-9
    code, out, err = _run(capsys, BASE + ["--sweep", "0.5:1:0.5", "--no-compare"])
    assert code == 0, err
    assert "cost vs load" in out and "PPipe" in out


def test_size_verify(capsys):
    code, out, err = _run(capsys, BASE + ["--verify", "--duration", "3", "--verify-rounds", "2", "--no-compare",
                                          "--no-save", "--json"])
    doc = json.loads(out)
    v = doc["verify"]
    assert code == (0 if v["passed"] else 1), err
    assert 1 <= len(v["rounds"]) <= 2
    checks = v["rounds"][-1]["checks"]
    assert [c["name"] for c in checks] == MODELS.split(",")
    assert all(0.0 <= c["attainment"] <= 1.0 and c["load"] in (500.0, 300.0) for c in checks)


@pytest.mark.parametrize("args, code, fragments", [
    (["--rates", "500,-3"], 2, ("vit_b_16",)),
    (["--rates", "500"], 2, ("1 rates for 2 models",)),
    (["--rates", "500,300", "--buy", "L4,FOO"], 2, ("FOO",)),
    (["--rates", "500,300", "--slo-multiplier", "0.3"], 2, ("resnet50", "SLO")),
    (["--rates", "500,300", "--headroom", "-0.1"], 2, ("resnet50",)),
    (["--rates", "500,300", "--sweep", "2:1:1"], 2, ("--sweep",)),
])
def test_size_bad_input_is_one_line(capsys, args, code, fragments):
    got, out, err = _run(capsys, ["size", "--models", MODELS, "--own", "T4:4", "--buy", "L4,T4", "--no-save", *args])
    assert got == code
    _one_line_error(err, *fragments)


def test_size_type_without_price_cannot_be_bought(capsys, tmp_path):
    cat = tmp_path / "cat.json"
    cat.write_text('{"gpus": [{"name": "L4", "price_per_hour": null}]}')
    code, out, err = _run(capsys, BASE + ["--catalog", str(cat), "--no-save"])
    assert code == 2
    _one_line_error(err, "L4", "no price")


def test_size_infeasible_within_caps_exits_1(capsys):
    code, out, err = _run(capsys, ["size", "--models", MODELS, "--rates", "5000,3000", "--own", "T4:1",
                                   "--buy", "L4:1", "--no-save", "--no-compare"])
    assert code == 1
    assert "infeasible" in err and "Traceback" not in err
