"""A variant's rows: every model of a setting simulated at every load factor of the grid.

Load factor 100 is the setting's PPipe plan (:func:`load_base`), and load =
lf x int(X_ppipe) // 100 is the same absolute load for every variant; each
seed draws its arrivals from ``(seed, lf)`` exactly as
:func:`ppipe.sim.lfsearch.find_lf99` does. Every point is run in full (no early
abort), so the rows hold the whole attainment curve and the GPU utilisation at
every load factor, and lf99 (the largest passing load factor) equals the
search's. The rows have the columns of :data:`ppipe.experiments.outdir.COLUMNS`.
"""

from __future__ import annotations

from typing import Sequence

from ppipe.errors import DataError, InputError
from ppipe.experiments import variants as V
from ppipe.experiments.settings import Setting, resolve_cluster
from ppipe.experiments.solving import profile_store
from ppipe.experiments.spec import ExperimentSpec
from ppipe.sim.arrivals import arrival_factory
from ppipe.sim.metrics import attainment, passes


def load_base(plan, s: Setting, spec: ExperimentSpec) -> list[float]:
    """X_ppipe per model of the setting: load factor 100 (see ``ExperimentSpec.load_base``)."""
    xs = [float(plan.model(m).xput) for m in s.models]
    if spec.load_base == "plan":
        return xs
    w = list(spec.weights) if spec.weights and len(spec.weights) == len(xs) else [1.0] * len(xs)
    T = min(x / wi for x, wi in zip(xs, w))
    return [wi * T for wi in w]


def _classes(gpus: Sequence[str]) -> dict[str, str]:
    """GPU type -> "high" | "low" from the catalog (unknown types count as high)."""
    from ppipe.catalog.gpus import GpuCatalog

    cat = GpuCatalog.load()
    return {g: (cat.get(g).gpu_class if g in cat else "high") for g in gpus}


def sweep_model(mp, profile, x_ppipe: float, spec: ExperimentSpec, balancer: str,
                classes: dict[str, str]) -> list[dict]:
    """Every grid point of one model's plan, in full (no early abort); seeds pooled."""
    from ppipe.sim.engine import Simulation
    from ppipe.sim.layout import build_layout
    from ppipe.sim.lfsearch import lf_load, lf_rng

    factory = arrival_factory(spec.arrivals)
    rows = []
    try:
        layout = build_layout(mp, profile, balancer) if mp.pipelines else None
    except (DataError, InputError):
        layout = None
    pool_gpus = {"high": 0.0, "low": 0.0}
    if layout is not None and layout.n_pipelines:
        for pool in layout.pools:
            pool_gpus[classes.get(pool.gpu, "high")] += pool.workers / pool.k
    else:
        layout = None
    for lf in spec.grid:
        load = lf_load(lf, x_ppipe)
        row = {"load_factor": lf, "load": load, "requests": 0, "dropped_requests": 0, "late_requests": 0,
               "late_requests_reference": 0, "pool_gpus_high": pool_gpus["high"],
               "pool_gpus_low": pool_gpus["low"], "util_high": 0.0, "util_low": 0.0,
               "latency_p50_ms": None, "latency_p99_ms": None, "servable": layout is not None}
        if load > 0 and layout is None:
            # nothing can serve: every request is dropped
            n = 0
            for seed in spec.seeds:
                arr = factory(load).generate(int(round(spec.duration_s * 1e6)), lf_rng(seed, lf))
                n += int((arr >= 1000).sum())
            row.update(requests=n, dropped_requests=n)
        elif load > 0:
            busy = {"high": 0.0, "low": 0.0}
            p50, p99 = [], []
            for seed in spec.seeds:
                sim = Simulation(mp, profile, factory(load), rng=lf_rng(seed, lf), seed=seed,
                                 duration_s=spec.duration_s, layout=layout)
                sim.run()
                r = sim.result()
                t, ref = r.counts["true"], r.counts["reference"]
                row["requests"] += t["requests"]
                row["dropped_requests"] += t["dropped_requests"]
                row["late_requests"] += t["late_requests"]
                row["late_requests_reference"] += ref["late_requests"]
                gpus_by_type: dict[str, float] = {}
                for pool in layout.pools:
                    gpus_by_type[pool.gpu] = gpus_by_type.get(pool.gpu, 0.0) + pool.workers / pool.k
                for g, u in r.gpu_utilization.items():
                    busy[classes.get(g, "high")] += u * gpus_by_type.get(g, 0.0)
                if r.latency_ms.get("p50") is not None:
                    p50.append(r.latency_ms["p50"])
                    p99.append(r.latency_ms["p99"])
            for c in ("high", "low"):
                if pool_gpus[c] > 0:
                    row[f"util_{c}"] = busy[c] / (pool_gpus[c] * len(spec.seeds))
            row["latency_p50_ms"] = sum(p50) / len(p50) if p50 else None
            row["latency_p99_ms"] = sum(p99) / len(p99) if p99 else None
        n = row["requests"]
        row["dropped"] = row["dropped_requests"] / n if n else 0.0
        for acc, late in (("", row["late_requests"]), ("_reference", row["late_requests_reference"])):
            row[f"violated{acc}"] = late / n if n else 0.0
            value = attainment(n, row["dropped_requests"], late)
            row[f"attainment{acc}"] = 1.0 if value is None else value
            row[f"passed{acc}"] = passes(n, row["dropped_requests"], late)
        rows.append(row)
    for acc in ("", "_reference"):
        passed = [r["load_factor"] for r in rows if r[f"passed{acc}"]]
        best = max(passed) if passed else 0
        for r in rows:
            r[f"lf99{acc}"] = best
    return rows


def sweep_variant(s: Setting, variant: str, plan, x_ppipe: list[float], spec: ExperimentSpec,
                  solve_rec: dict) -> list[dict]:
    """The rows of one variant of a setting: its plan (None: nothing served) swept for
    every model, with the setting's and the cluster's columns."""
    v = V.get(variant)
    store = profile_store(spec.data)
    cluster = resolve_cluster(s.cluster)
    multiplier, discount = s.constants(spec)
    classes = _classes(cluster.gpus)
    cluster_count = {"high": 0, "low": 0}
    for g, n in zip(cluster.gpus, cluster.limits):
        cluster_count[classes[g]] += n
    label = spec.arrivals_label()
    rows = []
    for d, name in enumerate(s.models):
        mp = plan.model(name) if plan is not None else None
        if mp is None:
            from ppipe.planfile.plan import ModelPlan

            mp = ModelPlan(xput=0.0, config={"dnn_name": name}, sla=0.0, pipelines=[])
        base = {"set": s.set, "setting": s.id, "group": s.group, "cluster": s.cluster, "scheduler": variant,
                "planner": v.planner, "balancer": v.balancer, "arrivals": label, "model": name,
                "model_index": d, "weight": (spec.weights[d] if spec.weights else 1.0),
                "sla_ms": float(mp.sla or 0.0) / 1000.0, "slo_multiplier": multiplier, "slo_discount": discount,
                "plan_xput": float(mp.xput), "x_ppipe": x_ppipe[d],
                "plan_status": solve_rec.get("status"),
                "high_gpus": "+".join(g for g in cluster.gpus if classes[g] == "high"),
                "low_gpus": "+".join(g for g in cluster.gpus if classes[g] == "low"),
                "cluster_high": cluster_count["high"], "cluster_low": cluster_count["low"],
                "seeds": len(spec.seeds), "duration_s": spec.duration_s}
        for r in sweep_model(mp, store.get(name), x_ppipe[d], spec, v.balancer, classes):
            rows.append({**base, **r})
    return rows
