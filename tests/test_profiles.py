import json

import numpy as np
import pytest

from ppipe.errors import DataError, InputError
from ppipe.profiles.model import transmit_time_us
from ppipe.profiles.ownformat import profile_from_json, read_profile_file, write_profile_file
from ppipe.profiles.store import ProfileStore


def test_artifact_store_lists_28_models_with_reference_sla(store, maf19_plans):
    assert len(store.model_names()) == 28
    plan = json.loads(maf19_plans[0].read_text())
    for entry in plan:
        prof = store.get(entry["config"]["dnn_name"])
        assert prof.sla_us(5) == entry["config"]["sla"]  # bit-identical to the reference
        assert prof.transmit_times_us(entry["config"]["bw_gbps"]) == entry["config"]["transmit_time_us_arr"]


def test_profile_shape_and_mps_columns(store):
    p = store.get("wide_resnet101_2")
    assert p.num_chunks == 10
    assert p.mps_splits("L4") == [1, 2, 3, 4] and p.mps_splits("P4") == [1]
    assert p.max_batch("L4", 1) == 8 and p.max_batch("L4", 2) == 4
    assert p.lat_infer("L4", 1, 0, 10, 1) == pytest.approx(p.table("L4", 1)[:, 0].clip(1).sum())
    with pytest.raises(InputError):
        p.table("H100", 1)


def test_own_format_round_trip(store, tmp_path):
    p = store.get("repvgg-b3")
    path = write_profile_file(p, tmp_path / "repvgg-b3.profile.json")
    q = read_profile_file(path)
    assert q.name == p.name and q.num_chunks == p.num_chunks
    assert np.array_equal(q.table("T4", 2), p.table("T4", 2))
    assert q.runtime_us == p.runtime_us and q.sla_us(5) == p.sla_us(5)
    own = ProfileStore.open(tmp_path)
    assert own.model_names() == ["repvgg-b3"]


def test_malformed_profile_names_file(tmp_path):
    bad = tmp_path / "m.profile.json"
    bad.write_text('{"format": "ppipe-profile", "version": 1, "model": "m"}')
    with pytest.raises(DataError, match="missing field 'cut_bytes'"):
        read_profile_file(bad)
    doc = {"format": "ppipe-profile", "version": 1, "model": "m", "cut_bytes": [1.0],
           "latency_us": {"L4": {"1": [[1.0, 2.0]]}}}
    with pytest.raises(DataError, match="1 chunk rows, expected 2"):
        profile_from_json(doc, "x")


def test_unknown_model_is_one_line_error(store):
    with pytest.raises(InputError, match="unknown model 'nope'"):
        store.get("nope")


def test_transmit_time_formula():
    assert transmit_time_us(3145728, 6) == 4194.304


def test_data_import_converts_and_overrides_shipped(artifact_dir, tmp_path, monkeypatch, capsys):
    from ppipe.cli import run

    monkeypatch.setenv("PPIPE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    assert run(["data", "import", str(artifact_dir), "--models", "wide_resnet101_2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["models"][0]["file"].endswith("wide_resnet101_2.profile.json")
    store = ProfileStore.open()
    prof = store.get("wide_resnet101_2")  # the imported, measured profile wins over the shipped estimate
    assert not prof.estimated and "artifact" in prof.provenance
    assert prof.sla_us(5) == ProfileStore.open(artifact_dir).get("wide_resnet101_2").sla_us(5)
