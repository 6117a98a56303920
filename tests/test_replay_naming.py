"""Plan-file names: the artifact's convention, including single-model names without weights."""

from __future__ import annotations

import pytest

from ppipe.planfile.naming import parse_plan_file_name, plan_file_name
from ppipe.planfile.plan import Plan, read_plan, write_plan


def test_name_round_trip():
    name = plan_file_name(["a", "b_1"], [0.3, 0.7], ["L4", "T4"], [25, 75], 10, 5, "ppipe")
    info = parse_plan_file_name(name)
    assert info.weights == [0.3, 0.7] and info.gpus == ["L4", "T4"] and info.counts == [25, 75]
    assert info.bw_gbps == 10 and info.slo_multiplier == 5 and info.scheduler == "ppipe"


def test_single_model_name_without_weights():
    name = "wide_resnet101_2_L4-T4_25-75_bw-gbps-10_sla-multiplier-5_v4.json"
    info = parse_plan_file_name(name, ["wide_resnet101_2"])  # exact with the plan's models
    assert info is not None and info.weights == [] and info.counts == [25, 75] and info.scheduler == "ppipe"
    assert parse_plan_file_name(name).weights == [2.0]  # without them, the trailing _2 reads as a weight
    info = parse_plan_file_name("resnet50_L4-T4_25-75_bw-gbps-10_sla-multiplier-5_bl.json")
    assert info.weights == [] and info.scheduler == "np"
    multi = parse_plan_file_name("a-b_2_0.5-0.5_L4_3_bw-gbps-10_sla-multiplier-5_v4.json", ["a", "b_2"])
    assert multi.weights == [0.5, 0.5]
    assert parse_plan_file_name("not a plan.json") is None


def test_replay_single_model_plan_assumes_weight_one(maf19_plans, store, tmp_path):
    from ppipe.planning.replay import replay_problem

    src = next(p for p in maf19_plans if "_L4-T4_" in p.name and p.name.endswith("_v4.json"))
    one = Plan([read_plan(src).models[0]])
    name = f"{one.models[0].name}_L4-T4_25-75_bw-gbps-10_sla-multiplier-5_v4.json"
    path = write_plan(one, tmp_path / name)
    rp = replay_problem(path, store)
    assert rp.weights == [1.0] and rp.problem.names == [one.models[0].name]
    assert rp.reference_objective == pytest.approx(one.models[0].xput)
    # several models and no weights in the name: a one-line request for --weights
    two = Plan(read_plan(src).models[:2])
    path2 = write_plan(two, tmp_path / "x-y_L4-T4_25-75_bw-gbps-10_sla-multiplier-5_v4.json")
    from ppipe.errors import InputError

    with pytest.raises(InputError, match="give --weights"):
        replay_problem(path2, store)
