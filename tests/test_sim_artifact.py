"""The simulator on the artifact's maf19 reference plans."""

from __future__ import annotations

from ppipe.planfile.plan import read_plan
from ppipe.sim import kernel as K
from ppipe.sim.layout import build_layout
from ppipe.sim.lfsearch import GRID, attainment_curve, find_lf99, lf99_from_curve, lf_load, plan_tasks, run_task


def _plan(maf19_plans, cluster: str, tag: str):
    return next(p for p in maf19_plans if f"_{cluster}_" in p.name and p.name.endswith(f"_{tag}.json"))


def test_every_reference_plan_matches_its_profiles(maf19_plans, store):
    assert len(maf19_plans) == 72
    for path in maf19_plans:
        for mp in read_plan(path).models:
            lay = build_layout(mp, store.get(mp.name))
            for qi, pool in enumerate(lay.pools):
                part = mp.pipelines[pool.pipeline].partitions[pool.stage]
                # the reference checks its latency tables against the plan within 50 µs
                assert abs(lay.LAT[qi, part.bs] - part.lat_infer) < 50
                assert lay.PQ[qi, K.PQ_W1] - lay.PQ[qi, K.PQ_W0] == part.instances


def test_reference_load_rounding():
    assert lf_load(95, 744.69) == 95 * 744 // 100
    assert list(GRID) == list(range(100, 0, -5))


def test_early_abort_scan_gives_the_full_curve_answer(maf19_plans, store):
    """The descending scan with aborts finds the same lf99 as running every grid point."""
    v4 = _plan(maf19_plans, "L4-P4", "v4")
    bl = _plan(maf19_plans, "L4-P4", "bl")
    base = read_plan(v4)
    for path in (v4, bl):
        mp = read_plan(path).models[0]
        prof = store.get(mp.name)
        x = base.model(mp.name).xput
        fast = find_lf99(mp, prof, x, duration_s=8.0)
        curve = attainment_curve(mp, prof, x, duration_s=8.0, grid=[p.load_factor for p in fast.points])
        by_lf = {p.load_factor: p for p in curve}
        for a in ("true", "reference"):
            # every point the scan passed over fails in full, and the answer passes in full
            for p in fast.points:
                full = by_lf[p.load_factor].passed[a]
                if p.load_factor > fast.lf99[a]:
                    assert not full
                elif p.load_factor == fast.lf99[a]:
                    assert full
            assert lf99_from_curve(curve, a) == fast.lf99[a]
        assert fast.aborted_runs >= 1 or fast.runs == 1


def test_ppipe_plans_serve_most_of_their_throughput(maf19_plans, artifact_dir, monkeypatch):
    """One setting end to end (same code path as the bench): PPipe beats NP on HC2."""
    monkeypatch.setenv("PPIPE_ARTIFACT", str(artifact_dir))  # run_task opens the profiles as a worker would
    tasks = [t for t in plan_tasks(maf19_plans[0].parent, duration_s=10.0) if "_L4-T4_" in t.plan]
    rows = {}
    for t in tasks[:3]:
        for r in run_task(t):
            rows.setdefault(t.plan.rsplit("_", 1)[1], []).append(r["lf99"]["true"])
    assert min(rows["v4.json"]) >= 80
    assert sum(rows["v4.json"]) > sum(rows["bl.json"])
