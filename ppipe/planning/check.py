"""Verify a plan against the profiles: latencies, throughputs, SLOs, GPU limits.

Every partition's latency and throughput is recomputed from the profile store
(the same formulas the planner uses) and compared with what the plan claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ppipe.errors import InputError
from ppipe.planfile.plan import Plan
from ppipe.planning.configs import batch_build_us, fits_slots, stage_xput
from ppipe.profiles.store import ProfileStore

REL_TOL = 1e-6


@dataclass
class Violation:
    model: str
    where: str  # e.g. "pipeline 0 partition 1"
    what: str

    def __str__(self) -> str:
        return f"{self.model}: {self.where}: {self.what}"


@dataclass
class CheckReport:
    violations: list[Violation] = field(default_factory=list)
    checked_partitions: int = 0
    gpus_used: dict[str, float] = field(default_factory=dict)
    limits: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict:
        return {"ok": self.ok, "checked_partitions": self.checked_partitions, "gpus_used": self.gpus_used,
                "limits": self.limits, "violations": [vars(v) for v in self.violations]}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-6)


def check_plan(plan: Plan, store: ProfileStore, limits: dict[str, int] | None = None) -> CheckReport:
    rep = CheckReport(limits=limits)
    for mp in plan.models:
        add = lambda where, what, m=mp.name: rep.violations.append(Violation(m, where, what))  # noqa: E731
        cfg = mp.config
        try:
            prof = store.get(mp.name)
        except InputError as exc:
            add("model", str(exc))
            continue
        L = prof.num_chunks
        trans = [float(v) for v in cfg.get("transmit_time_us_arr") or prof.transmit_times_us(cfg.get("bw_gbps", 10))]
        if len(trans) != L - 1:
            add("config", f"{len(trans)} transmit times for {L} chunks")
            continue
        gpu_names = list(cfg.get("gpu_name_arr") or [])
        mps_levels = dict(zip(gpu_names, cfg.get("num_mps_levels") or []))
        max_parts = int(cfg.get("max_num_parts", 0) or 0)
        sla = float(cfg.get("sla", mp.sla))
        total = 0.0
        for pi, pl in enumerate(mp.pipelines):
            wp = f"pipeline {pi}"
            if max_parts and len(pl.partitions) > max_parts:
                add(wp, f"{len(pl.partitions)} partitions, more than max_num_parts {max_parts}")
            if pl.partitions[-1].end != L:
                add(wp, f"ends at chunk {pl.partitions[-1].end}, the model has {L} chunks")
                continue
            bs = {p.bs for p in pl.partitions}
            if cfg.get("bs_same", True) and len(bs) > 1:
                add(wp, f"partitions use different batch sizes {sorted(bs)}")
            lat_total = 0.0
            part_x = []
            for qi, part in enumerate(pl.partitions):
                rep.checked_partitions += 1
                wq = f"{wp} partition {qi}"
                if gpu_names and part.gpu not in gpu_names:
                    add(wq, f"GPU {part.gpu} is not in the plan's GPU types {gpu_names}")
                if part.gpu in mps_levels and part.k > mps_levels[part.gpu]:
                    add(wq, f"MPS split {part.k} above the {mps_levels[part.gpu]} levels allowed on {part.gpu}")
                if not prof.has(part.gpu, part.k):
                    add(wq, f"{part.gpu} with MPS split {part.k} is not profiled")
                    continue
                if part.bs > prof.max_batch(part.gpu, part.k):
                    add(wq, f"batch {part.bs} not profiled on {part.gpu} k={part.k}")
                    continue
                lat = prof.lat_infer(part.gpu, part.k, part.start, part.end, part.bs)
                if not _close(lat, float(part.lat_infer)):
                    add(wq, f"lat_infer {part.lat_infer:.1f} us, profiles give {lat:.1f} us")
                lt = trans[part.end - 1] * part.bs if part.end < L else 0.0
                if not _close(lt, float(part.lat_trans)):
                    add(wq, f"lat_trans {part.lat_trans:.1f} us, expected {lt:.1f} us")
                dl = trans[part.start - 1] if 0 < part.start < L else 1.0
                ul = trans[part.end - 1] if 0 < part.end < L else 1.0
                t = stage_xput(part.bs, lat, part.k, int(part.num_gpu_per_server), dl, ul)
                inst = float(part.num_gpu) * part.k
                if abs(inst - round(inst)) > 1e-6:
                    add(wq, f"num_gpu {part.num_gpu} x k={part.k} is not a whole number of instances")
                x = round(inst) * t
                part_x.append(x)
                if x < float(part.xput) * (1 - REL_TOL) - 1e-6:
                    add(wq, f"claims {part.xput:.2f} req/s, profiles allow {x:.2f} req/s")
                lat_total += lat + lt
            est = pl.est_xput if pl.est_xput is not None else cfg.get("est_xput")
            b = pl.partitions[0].bs
            lat_total += batch_build_us(b, est, float(pl.batch_build_factor or 1.3)) + float(pl.hist_adjustment or 0)
            if lat_total > sla * (1 + REL_TOL):
                add(wp, f"latency {lat_total / 1000:.2f} ms exceeds the SLO {sla / 1000:.2f} ms")
            if part_x and float(pl.xput) > min(part_x) * (1 + REL_TOL) + 1e-6:
                add(wp, f"claims {pl.xput:.2f} req/s, its slowest partition allows {min(part_x):.2f} req/s")
            total += float(pl.xput)
        if gpu_names and max_parts and all(p.gpu in gpu_names for pl in mp.pipelines for p in pl.partitions):
            seqs = [tuple(gpu_names.index(p.gpu) for p in pl.partitions) for pl in mp.pipelines]
            if not fits_slots([seqs], len(gpu_names), max_parts):
                add("model", f"{len(seqs)} pipelines do not fit the {len(gpu_names)}^{max_parts} GPU-type slots")
        if float(mp.xput) > total * (1 + REL_TOL) + 1e-6:
            add("model", f"claims {mp.xput:.2f} req/s, its pipelines sum to {total:.2f} req/s")
    rep.gpus_used = plan.gpus_used()
    if limits is not None:
        for g, used in rep.gpus_used.items():
            if used > limits.get(g, 0) + 1e-6:
                rep.violations.append(Violation("cluster", g, f"uses {used:g} GPUs, limit {limits.get(g, 0)}"))
    return rep
