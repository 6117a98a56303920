"""Run the whole bad-input catalogue (tests/test_bad_inputs.py) and print totals in the
audit's categories (issue 13): how many inputs of each kind are handled well, and
which are still wrong (known: the strict xfails waiting on files other sessions own;
unexpected: regressions).

    .venv/bin/python bench/bench_bad_inputs.py [--only SUBSTRING] [--verbose]

Uses $PPIPE_ARTIFACT (default ../shared/ppipe-artifact) for the cases that need
artifact files (copied to a temporary folder: the artifact is only read); without
it those cases are counted as skipped. Exit status 1 when a case fails unexpectedly.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import pytest  # noqa: E402
import test_bad_inputs as cat  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run only cases whose id contains this")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every case")
    args = ap.parse_args()

    cases = [c for c in cat.CASES if not args.only or args.only in c.id]
    art = cat.artifact_path()
    totals = {k: {"cases": 0, "ok": 0, "known": 0, "fixed": 0, "unexpected": 0, "skipped": 0}
              for k in cat.CATEGORIES}
    failures: list[tuple[str, str, str]] = []
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ppipe-bad-inputs-") as tmp:
        template = cat.make_template(Path(tmp) / "template", art)
        for i, case in enumerate(cases):
            row = totals[case.category]
            row["cases"] += 1
            t0 = time.perf_counter()
            if case.artifact and art is None:
                row["skipped"] += 1
                outcome, found = "skipped (no artifact)", []
            else:
                try:
                    found = cat.evaluate(case, template, Path(tmp) / f"case{i}")
                except pytest.skip.Exception as exc:  # e.g. chattr not available here
                    row["skipped"] += 1
                    outcome, found = f"skipped ({exc})", None
                if found is None:
                    pass
                elif not found and not case.xfail:
                    row["ok"] += 1
                    outcome = "ok"
                elif found and case.xfail:
                    row["known"] += 1
                    outcome = "known: " + case.xfail
                elif not found and case.xfail:
                    row["fixed"] += 1
                    outcome = "FIXED (remove its xfail)"
                    failures.append((case.category, case.id, outcome))
                else:
                    row["unexpected"] += 1
                    outcome = "FAILED: " + "; ".join(found)
                    failures.append((case.category, case.id, outcome))
            if args.verbose or outcome.startswith(("FAILED", "FIXED")):
                print(f"{case.id:<40} {time.perf_counter() - t0:6.2f} s  {outcome}", flush=True)

    width = max(len(k) for k in cat.CATEGORIES)
    print()
    print(f"{'category':<{width}}  {'cases':>5}  {'handled well':>12}  {'still wrong':>11}  {'of which known':>14}"
          f"  {'skipped':>7}")
    sums = dict.fromkeys(("cases", "ok", "wrong", "known", "skipped"), 0)
    for k in cat.CATEGORIES:
        r = totals[k]
        wrong = r["known"] + r["unexpected"] + r["fixed"]
        print(f"{k:<{width}}  {r['cases']:>5}  {r['ok']:>12}  {wrong:>11}  {r['known']:>14}  {r['skipped']:>7}")
        for key, v in (("cases", r["cases"]), ("ok", r["ok"]), ("wrong", wrong), ("known", r["known"]),
                       ("skipped", r["skipped"])):
            sums[key] += v
    print(f"{'total':<{width}}  {sums['cases']:>5}  {sums['ok']:>12}  {sums['wrong']:>11}  {sums['known']:>14}"
          f"  {sums['skipped']:>7}")
    print(f"\n{len(cases)} cases in {time.perf_counter() - t_all:.1f} s"
          f"{'' if art else ' (no artifact: its cases skipped)'}")
    known = [c for c in cases if c.xfail]
    if known:
        print("\nknown (strict xfail, waiting on files other sessions own):")
        for c in known:
            print(f"  {c.id} [{c.category}]: {c.xfail}")
    if failures:
        print("\nunexpected:")
        for cat_name, cid, outcome in failures:
            print(f"  {cid} [{cat_name}]: {outcome}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
