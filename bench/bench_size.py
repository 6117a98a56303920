"""``ppipe size`` on the paper's groups: cheapest fleets, savings, proof by simulation, solve times.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_size.py

(a) New fleet: for G1..G6, target = the PPipe objective of the HC2 plan (``ppipe solve
    --group Gk --cluster HC2``, maf19 weights, own est_xput flow) x the weights; buy any
    of V100, L4, T4, P4 at the catalog's prices (bw 10 Gbit/s, HC2's); $/h of PPipe, NP
    and NP on the cheapest single type, and PPipe's saving.
(b) Upgrade: own HC2 (L4:25, T4:75), targets 1.5 x today's maf19 G1 load (the HC2
    objective x weights); buy from V100, L4, T4: GPUs added, $/h, saving against NP.
(c) ``--verify`` for those PPipe plans: Poisson arrivals at the targets, 30 s, seed 0;
    attainment per model and the headroom it took to reach 99 %.
(d) Solve time of each sizing solve (four types in (a), three in (b); target <= 30 s):
    enumeration + min-cost MILP, and the re-plan of the fleet (max-min) separately.

est_xput in every sizing is the target rate itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ppipe.catalog.gpus import GpuCatalog
from ppipe.experiments.sizing_verify import size_and_verify
from ppipe.planning.problem import CLUSTER_PRESETS, MODEL_GROUPS, WEIGHT_PRESETS, build_problem
from ppipe.planning.sizing import build_offers, compare_sizing, make_sizing_problem
from ppipe.planning.solve import solve
from ppipe.profiles.store import ProfileStore

TYPES4 = ("V100", "L4", "T4", "P4")


def _buy(res) -> str:
    return " ".join(f"{n}{g}" for g, n in res.buy.items() if n) or "-"


def _cost(res) -> str:
    return f"{res.cost:8.2f}" if res is not None and res.cost is not None else f"{'n/a':>8s}"


def _saving(a, b) -> str:
    if a.cost is None or b is None or b.cost is None or b.cost <= 0:
        return f"{'-':>7s}"
    return f"{1 - a.cost / b.cost:7.1%}"


def run_case(label, sp, args, out):
    """PPipe sizing (+ verification rounds), then NP and NP-cheapest at headroom 0."""
    t0 = time.perf_counter()
    if args.no_verify:
        from ppipe.planning.sizing import size_fleet

        first = size_fleet(sp, "ppipe")
        verified = None
    else:
        verified = size_and_verify(sp, step=0.05, max_rounds=args.rounds, seeds=(0,), duration_s=args.duration)
        first = verified.rounds[0].result if verified.rounds else verified.result
    t_ppipe = time.perf_counter() - t0
    base = compare_sizing(sp, ("np", "np-cheapest"), replan=False).results
    np_res, single = base["np"], base["np-cheapest"]
    row = {
        "case": label, "targets": list(sp.targets), "ppipe": first.to_json(), "np": np_res.to_json(),
        "np_cheapest": single.to_json(), "single_type": single.stats.get("single_type"),
        "ppipe_wall_seconds": t_ppipe,
        "sizing_seconds": first.stats.get("enumerate_seconds", 0) + first.stats.get("milp_seconds", 0),
        "replan_seconds": first.stats.get("replan_seconds"),
    }
    if verified is not None:
        row["verify"] = verified.to_json()
    out.append(row)
    return first, np_res, single, verified


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("PPIPE_ARTIFACT", "../shared/ppipe-artifact"))
    ap.add_argument("--groups", default=",".join(MODEL_GROUPS))
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--rounds", type=int, default=6, help="most verification rounds")
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    store = ProfileStore.open(args.data)
    cat = GpuCatalog.load()
    w = WEIGHT_PRESETS["maf19"]
    print("prices ($/h per GPU): " + ", ".join(f"{g} {cat.price(g):g}" for g in TYPES4))
    rows: list[dict] = []
    hc2 = {}
    print("\n(a) new fleet, buy V100/L4/T4/P4; target = HC2 PPipe objective x maf19 weights")
    print(f"{'group':5s} {'HC2 obj':>8s} {'PPipe $':>8s} {'NP $':>8s} {'1-type $':>8s} {'vs NP':>7s} {'vs 1-type':>9s} "
          f"{'size s':>7s} {'replan s':>8s}  PPipe buys / NP buys / 1-type")
    verify_lines = []
    for g in args.groups.split(","):
        names = MODEL_GROUPS[g]
        problem = build_problem([store.get(n) for n in names], CLUSTER_PRESETS["HC2"], w)
        ref = solve(problem, "ppipe")
        assert ref.status == "optimal", (g, ref.status)
        hc2[g] = ref.objective
        offers = build_offers({}, {t: None for t in TYPES4}, new_fleet=True, catalog=cat)
        sp = make_sizing_problem([store.get(n) for n in names], [ref.objective * x for x in w], offers, 10.0)
        first, np_res, single, verified = run_case(f"a:{g}", sp, args, rows)
        r = rows[-1]
        print(f"{g:5s} {ref.objective:8.1f} {_cost(first)} {_cost(np_res)} {_cost(single)} {_saving(first, np_res)} "
              f"{_saving(first, single):>9s} {r['sizing_seconds']:7.2f} {r['replan_seconds'] or 0:8.2f}  "
              f"{_buy(first)} / {_buy(np_res)} / {_buy(single)}", flush=True)
        if verified is not None:
            verify_lines.append((f"a:{g}", verified))
    print("\n(b) upgrade: own L4:25,T4:75 (HC2), targets 1.5 x G1 HC2 load, buy V100/L4/T4")
    t1 = hc2.get("G1")
    if t1 is None:
        names = MODEL_GROUPS["G1"]
        t1 = solve(build_problem([store.get(n) for n in names], CLUSTER_PRESETS["HC2"], w), "ppipe").objective
    offers = build_offers({"L4": 25, "T4": 75}, {"V100": None, "L4": None, "T4": None}, catalog=cat)
    sp = make_sizing_problem([store.get(n) for n in MODEL_GROUPS["G1"]], [1.5 * t1 * x for x in w], offers, 10.0)
    first, np_res, single, verified = run_case("b:G1x1.5", sp, args, rows)
    r = rows[-1]
    print(f"targets {', '.join(f'{t:.1f}' for t in sp.targets)} req/s")
    print(f"PPipe adds {_buy(first)}: ${first.cost:.2f}/h | NP adds {_buy(np_res)}: {_cost(np_res).strip()} | "
          f"1-type NP adds {_buy(single)}: {_cost(single).strip()} | saving vs NP {_saving(first, np_res).strip()}, "
          f"vs 1-type {_saving(first, single).strip()} | size {r['sizing_seconds']:.2f} s, replan "
          f"{r['replan_seconds'] or 0:.2f} s")
    if verified is not None:
        verify_lines.append(("b:G1x1.5", verified))
    if verify_lines:
        print("\n(c) --verify (Poisson at the targets, 30 s, seed 0): attainment per model; headroom needed")
        for label, v in verify_lines:
            first_checks = v.rounds[0].checks
            last = v.rounds[-1]
            att0 = " ".join(f"{100 * c.attainment:6.2f}%" for c in first_checks)
            att = " ".join(f"{100 * c.attainment:6.2f}%" for c in last.checks)
            print(f"{label:9s} {'PASS' if v.passed else 'FAIL'} rounds {len(v.rounds)}  at 0%: {att0}  final: {att}  "
                  f"headroom {[round(h, 2) for h in last.headroom]}  final $/h {last.result.cost:.2f} "
                  f"(adds {_buy(last.result)})")
    times = [r["sizing_seconds"] for r in rows]
    walls = [r["sizing_seconds"] + (r["replan_seconds"] or 0) for r in rows]
    print(f"\n(d) sizing solve (enumeration + min-cost MILP): max {max(times):.2f} s, "
          f"median {sorted(times)[len(times) // 2]:.2f} s; with the fleet's re-plan: max {max(walls):.2f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
