"""Configuration enumeration + pruning: the vectorised code against the original (d7194fc).

    .venv/bin/python bench/bench_enumerate.py [--data ../shared/ppipe-artifact] [--repeat 3] [--skip-old] [--stress]

Cases (est_xput from the NP flow, ``ppipe.planning.solve.estimate_xput``, unless "no est"):

* ``vit-hc2-p4``: zoo vit_b_16 (the shipped, estimated profiles whatever PPIPE_ARTIFACT
  says) on an HC2-like L4:25,T4:75 (MPS 4 and 4, 4 and 2 GPUs per server, 10 Gbit/s), P = 4,
  SLO 5x, discount 0.4; with and without est_xput;
* ``g1-4types-p2`` / ``-p3``: the artifact's group G1 on V100:10,L4:15,T4:45,P4:30, P = 2, 3;
* ``zoo-8types-p2``: resnet50, vit_b_16, fasterrcnn_resnet50_fpn (shipped profiles) on
  V100:8,T4:24,L4:8,P4:16,A10:8,A100:4,L40S:4,H100:2 (catalog MPS levels and servers), P = 2;
* with ``--stress``, the same eight types at P = 3 (new code only: the old one would take hours).

Each (case, implementation) runs in its own process, so ``peak RSS`` (``ru_maxrss``) is that
implementation's (problem building and the est_xput solve included). The old code is
``git show d7194fc:ppipe/configs.py`` with its ``ppipe.problem`` import pointed at
``ppipe.planning.problem``; its time is enumerate (prune=False) + ``prune_dominated``, what its
``enumerate_configs`` does. New times are the best of ``--repeat`` runs of
``enumerate_configs``; ``stop gap`` is the longest stretch between two ``should_stop`` polls.
``identical`` compares the kept lists (order, values and float types) and the raw lists.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OLD_COMMIT = "d7194fc"
EIGHT = [("V100", 8), ("T4", 24), ("L4", 8), ("P4", 16), ("A10", 8), ("A100", 4), ("L40S", 4), ("H100", 2)]
CASES = {
    # name: (profile source, models, GPU rows or preset, P, with est_xput)
    "vit-hc2-p4": ("shipped", ["vit_b_16"], "HC2", 4, True),
    "vit-hc2-p4-noest": ("shipped", ["vit_b_16"], "HC2", 4, False),
    "g1-4types-p2": ("artifact", "G1", [("V100", 10), ("L4", 15), ("T4", 45), ("P4", 30)], 2, True),
    "g1-4types-p3": ("artifact", "G1", [("V100", 10), ("L4", 15), ("T4", 45), ("P4", 30)], 3, True),
    "zoo-8types-p2": ("shipped", ["resnet50", "vit_b_16", "fasterrcnn_resnet50_fpn"], EIGHT, 2, True),
}
STRESS = {"zoo-8types-p3": ("shipped", ["resnet50", "vit_b_16", "fasterrcnn_resnet50_fpn"], EIGHT, 3, False)}


def build(case: tuple, data: str, est: list | None):
    from ppipe.paths import SHIPPED_PROFILES
    from ppipe.planning.problem import CLUSTER_PRESETS, MODEL_GROUPS, build_problem
    from ppipe.planning.request import GpuRow, build_cluster
    from ppipe.profiles.store import ProfileStore

    source, models, gpus, P, _ = case
    store = ProfileStore.open(SHIPPED_PROFILES if source == "shipped" else data)
    names = MODEL_GROUPS[models] if isinstance(models, str) else models
    cluster = CLUSTER_PRESETS[gpus] if isinstance(gpus, str) else build_cluster([GpuRow(g, n) for g, n in gpus])
    problem = build_problem([store.get(n) for n in names], cluster, max_parts=P, slo_multiplier=5,
                            slo_discount=0.4)
    return problem.with_est_xput(est) if est is not None else problem


def load_old():
    src = subprocess.run(["git", "show", f"{OLD_COMMIT}:ppipe/configs.py"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    src = src.replace("from ppipe.problem import", "from ppipe.planning.problem import")
    path = Path(tempfile.mkdtemp()) / "old_configs.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("old_configs", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_configs"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def digest(configs) -> str:
    h = hashlib.sha256()
    for c in configs:
        h.update(repr((c.batch, type(c.batch).__name__, float(c.latency).hex(), type(c.latency).__name__,
                       [(s.gpu, s.k, s.start, s.end, float(s.lat_infer).hex(), float(s.lat_trans).hex(),
                         float(s.xput).hex(), type(s.xput).__name__) for s in c.stages])).encode())
    return h.hexdigest()[:16]


def child(args) -> None:
    cases = {**CASES, **STRESS}
    problem = build(cases[args.case], args.data, json.loads(args.est) if args.est else None)
    out = []
    if args.impl == "old":
        old = load_old()
        for d in range(len(problem.models)):
            t0 = time.perf_counter()
            raw = old.enumerate_configs(problem, d, prune=False)
            t1 = time.perf_counter()
            kept = old.prune_dominated(raw)
            t2 = time.perf_counter()
            out.append({"raw": len(raw), "kept": len(kept), "enum_s": t1 - t0, "prune_s": t2 - t1,
                        "seconds": t2 - t0, "kept_digest": digest(kept), "raw_digest": digest(raw)})
            del raw, kept
    else:
        from ppipe.planning.configs import enumerate_configs

        for d in range(len(problem.models)):
            best, seen = float("inf"), []
            for _ in range(args.repeat):
                seen.clear()
                t0 = time.perf_counter()
                kept = enumerate_configs(problem, d, on_progress=lambda e, k: seen.append((e, k)))
                best = min(best, time.perf_counter() - t0)
            polls = [time.perf_counter()]
            enumerate_configs(problem, d, should_stop=lambda: bool(polls.append(time.perf_counter())))
            gap = max(b - a for a, b in zip(polls, polls[1:] + [time.perf_counter()]))
            row = {"raw": seen[-1][0], "kept": len(kept), "seconds": best, "stop_gap_s": gap,
                   "kept_digest": digest(kept)}
            if not args.no_raw:
                raw = enumerate_configs(problem, d, prune=False)
                row["raw_digest"] = digest(raw)
                del raw
            out.append(row)
    print(json.dumps({"models": [m.name for m in problem.models], "rows": out,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_child(case: str, impl: str, args, est) -> dict:
    cmd = [sys.executable, __file__, "--child", case, "--impl", impl, "--data", args.data,
           "--repeat", str(args.repeat), "--est", json.dumps(est)]
    if case in STRESS:
        cmd.append("--no-raw")
    env = dict(os.environ)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{case} ({impl}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("PPIPE_ARTIFACT", str(REPO.parent / "shared" / "ppipe-artifact")))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-old", action="store_true", help="time the new code only")
    ap.add_argument("--stress", action="store_true", help="also the eight-type P = 3 case (new code only)")
    ap.add_argument("--case", action="append", help="only these cases")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--impl", help=argparse.SUPPRESS)
    ap.add_argument("--est", help=argparse.SUPPRESS)
    ap.add_argument("--no-raw", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.case = args.child
        child(args)
        return 0

    from ppipe.planning.solve import estimate_xput

    todo = {**CASES, **(STRESS if args.stress else {})}
    if args.case:
        todo = {k: v for k, v in todo.items() if k in args.case}
    print(f"{'case':18s} {'model':26s} {'raw':>10s} {'kept':>7s} {'old s':>8s} {'new s':>7s} {'speed-up':>8s} "
          f"{'stop gap':>8s} {'identical':>9s} {'RSS old/new MB':>15s}")
    all_same = True
    for name, case in todo.items():
        est = None
        if case[4]:
            est = estimate_xput(build(case, args.data, None))
        new = run_child(name, "new", args, est)
        old = None if args.skip_old or name in STRESS else run_child(name, "old", args, est)
        for d, model in enumerate(new["models"]):
            n = new["rows"][d]
            o = old["rows"][d] if old else None
            same = "-"
            if o:
                ok = (o["kept_digest"] == n["kept_digest"] and o["raw_digest"] == n["raw_digest"]
                      and o["raw"] == n["raw"])
                all_same &= ok
                same = "yes" if ok else "NO"
            rss = f"{old['rss_mb']:.0f}/{new['rss_mb']:.0f}" if old else f"-/{new['rss_mb']:.0f}"
            print(f"{name:18s} {model[:26]:26s} {n['raw']:10,d} {n['kept']:7,d} "
                  f"{(o['seconds'] if o else float('nan')):8.2f} {n['seconds']:7.3f} "
                  f"{(o['seconds'] / n['seconds'] if o else float('nan')):7.0f}x {n['stop_gap_s'] * 1000:6.0f}ms "
                  f"{same:>9s} {rss:>15s}", flush=True)
    if not args.skip_old:
        print("all identical" if all_same else "DIFFERENCES FOUND")
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
