import json

import pytest

from ppipe.errors import DataError
from ppipe.planfile.naming import parse_plan_file_name, plan_file_name
from ppipe.planfile.plan import read_plan, write_plan


def test_reference_plans_round_trip_byte_identical(maf19_plans, tmp_path):
    assert len(maf19_plans) == 72
    for path in maf19_plans[::5]:
        plan = read_plan(path)
        out = write_plan(plan, tmp_path / path.name)
        assert out.read_text() == path.read_text(), path.name


def test_file_name_convention_round_trips(maf19_plans):
    for path in maf19_plans:
        name = parse_plan_file_name(path)
        assert name is not None
        plan = read_plan(path)
        assert plan_file_name(plan.model_names, name.weights, name.gpus, name.counts, name.bw_gbps,
                              name.slo_multiplier, name.scheduler) == path.name
    assert parse_plan_file_name(maf19_plans[0]).scheduler in {"ppipe", "np", "dart-r"}


@pytest.mark.parametrize("text, fragment", [
    ("{", "not valid JSON"),
    ("[]", "non-empty JSON list"),
    ('[{"config": {}}]', "missing pipelines"),
    ('[{"config": {"dnn_name": "m"}, "pipelines": [{"partitions": [{"layers": [3, 1], "gpu": "L4", "mps": 0, "bs": 1, "num_gpu": 1}]}]}]', "'layers'"),
    ('[{"config": {"dnn_name": "m"}, "pipelines": [{"partitions": [{"layers": [0, 2], "gpu": "L4", "mps": 0, "bs": 1, "num_gpu": 1}, {"layers": [3, 4], "gpu": "L4", "mps": 0, "bs": 1, "num_gpu": 1}]}]}]', "not contiguous"),
])
def test_malformed_plans_name_the_problem(tmp_path, text, fragment):
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(DataError) as exc:
        read_plan(p)
    assert str(p) in str(exc.value) and fragment in str(exc.value)


def test_write_is_atomic_and_leaves_no_temp_files(maf19_plans, tmp_path):
    plan = read_plan(maf19_plans[0])
    write_plan(plan, tmp_path / "x.json")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    assert json.loads((tmp_path / "x.json").read_text())[0]["config"]["dnn_name"] == plan.model_names[0]
