"""Re-partition every artifact model that has a reference mapping; time it and compare.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_prepartition.py [--data DIR] [--json]

For each of the 28 models with a reference mapping (K = the reference's chunk
count) it reads the layer-level files, walks the default ladder, checks the
result's balance with plain per-chunk sums, solves again at the reference's tag
and compares the total cut size with the reference's trans-size CSV. It also
reports which reference mappings violate their own tag's bounds. Times: `load` =
reading node profiles, cuts, shapes and the reference; `solve` = the ladder walk;
`total` = wall time of the whole loop (all models, everything included).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ppipe.partition.layers import format_tag, load_layer_graph, read_reference_chunking  # noqa: E402
from ppipe.partition.prepartition import DEFAULT_LADDER, balance_violations, min_cut_chunking, partition_layers  # noqa: E402


def plain_check(lat, starts, lb, ub, tol=1e-9) -> bool:
    k = len(starts)
    for v in lat.values():
        v = list(v)
        total = math.fsum(v)
        for s, e in zip(starts, starts[1:] + [len(v)]):
            share = math.fsum(v[s:e]) / total
            if e <= s or share < lb / k - tol or share > ub / k + tol:
                return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("PPIPE_ARTIFACT", str(REPO.parent / "shared" / "ppipe-artifact")))
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = ap.parse_args()
    root = Path(args.data)
    models = sorted(p.name for p in (root / "prepartition_mappings").iterdir() if p.is_dir())
    ladder = [format_tag(lb, ub) for lb, ub in DEFAULT_LADDER]

    rows = []
    t_all = time.perf_counter()
    for model in models:
        t0 = time.perf_counter()
        g = load_layer_graph(root, model)
        ref = read_reference_chunking(root, model)
        t1 = time.perf_counter()
        r = partition_layers(g.latency, g.cut_bytes, ref.k, prefer=ref.boundaries)
        t2 = time.perf_counter()
        at_ref = partition_layers(g.latency, g.cut_bytes, ref.k, [(ref.lb, ref.ub)], prefer=ref.boundaries)
        t3 = time.perf_counter()
        rows.append({
            "model": model, "layers": g.n_layers, "k": ref.k,
            "step": r.tag, "ref_tag": ref.tag,
            "step_ok": ladder.index(r.tag) <= ladder.index(ref.tag),
            "cut_at_ref_tag": at_ref.total_cut_bytes, "ref_cut": ref.total_cut_bytes,
            "cut_ok": at_ref.total_cut_bytes <= ref.total_cut_bytes,
            "same_chunks": at_ref.boundaries == ref.boundaries,
            "balanced": plain_check(g.latency, r.boundaries, r.lb, r.ub)
            and plain_check(g.latency, at_ref.boundaries, at_ref.lb, at_ref.ub),
            "ref_violations": balance_violations(g.latency, ref.boundaries, ref.lb, ref.ub),
            "load_s": t1 - t0, "solve_s": t2 - t1, "solve_at_ref_s": t3 - t2,
        })
        if rows[-1]["ref_violations"] and ref.k < 10:
            # explanation check: the K=10 optimum at the reference tag with its last cut dropped
            ten = min_cut_chunking(g.latency, g.cut_bytes, 10, ref.lb, ref.ub)
            rows[-1]["k10_minus_last_cut"] = None if ten is None else float(sum(g.cut_bytes[b - 1] for b in ten[1:-1]))
    total = time.perf_counter() - t_all

    if args.json:
        print(json.dumps({"total_s": total, "models": rows}, indent=1))
    else:
        print(f"{'model':52s} {'layers':>6s} {'K':>2s} {'step':>7s} {'ref':>7s} {'cut MB':>9s} {'ref MB':>9s}"
              f" {'same':>4s} {'ok':>3s} {'load ms':>8s} {'solve ms':>8s}  reference balance")
        for x in rows:
            ok = x["step_ok"] and x["cut_ok"] and x["balanced"]
            viol = "ok" if not x["ref_violations"] else (
                f"VIOLATES {x['ref_tag']}: {len(x['ref_violations'])} shares, e.g. {x['ref_violations'][0]}")
            print(f"{x['model']:52s} {x['layers']:6d} {x['k']:2d} {x['step']:>7s} {x['ref_tag']:>7s}"
                  f" {x['cut_at_ref_tag'] / 1e6:9.3f} {x['ref_cut'] / 1e6:9.3f} {'yes' if x['same_chunks'] else 'no':>4s}"
                  f" {'ok' if ok else 'BAD':>3s} {x['load_s'] * 1e3:8.1f} {x['solve_s'] * 1e3:8.1f}  {viol}")
        n_bad = sum(not (x["step_ok"] and x["cut_ok"] and x["balanced"]) for x in rows)
        print(f"\n{len(rows)} models in {total:.3f} s total (load {sum(x['load_s'] for x in rows):.3f} s,"
              f" ladder solve {sum(x['solve_s'] for x in rows):.3f} s,"
              f" solve at reference tag {sum(x['solve_at_ref_s'] for x in rows):.3f} s)")
        print(f"same-or-tighter step: {sum(x['step_ok'] for x in rows)}/{len(rows)};"
              f" cut <= reference at its tag: {sum(x['cut_ok'] for x in rows)}/{len(rows)}"
              f" (strictly smaller: {sum(x['cut_at_ref_tag'] < x['ref_cut'] for x in rows)});"
              f" identical chunks: {sum(x['same_chunks'] for x in rows)}; balanced: {sum(x['balanced'] for x in rows)}")
        viol = [x["model"] for x in rows if x["ref_violations"]]
        print(f"reference mappings violating their own tag: {len(viol)}: {', '.join(viol) or '-'}")
        merged = [x["model"] for x in rows if x.get("k10_minus_last_cut") == x["ref_cut"]]
        if merged:
            print(f"  of these, {len(merged)} have exactly the cut total of the K=10 optimum at their tag (bounds"
                  " lb/10, ub/10) minus its last cut, i.e. a 10-chunk solution with its last two chunks merged")
        if n_bad:
            print(f"{n_bad} models FAILED the comparison")
    return 0 if all(x["step_ok"] and x["cut_ok"] and x["balanced"] for x in rows) and total <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
