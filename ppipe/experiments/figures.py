"""The numbers behind the paper's figures, from an experiment's results table.

All functions take the tidy table of an experiment's output folder
(:mod:`ppipe.experiments.outdir`: one row per setting, scheduler, model and
load factor; written by :mod:`ppipe.experiments.runner`) and return plain
dicts/lists, so the CLI can draw them in a terminal and write images, and a
notebook can use them as they are.

- :func:`lf99_table`: one row per (setting, scheduler, model) with lf99 and
  the GPU utilisation at that load (the reference's plotting convention: the
  largest passing load factor, or the smallest one run when none passes).
- Fig. 6 (:func:`fig6`): mean lf99 per set, cluster, group, scheduler.
- Fig. 7 (:func:`fig7`): attainment vs load factor for one group, averaged over
  its models, per cluster and scheduler.
- Fig. 8 (:func:`fig8`): utilisation of high- and low-class GPUs at lf99 per
  cluster and scheduler, computed as the artifact's plotting script does: per
  setting, busy GPU time summed over the group's models divided by the
  cluster's GPUs of that class (idle GPUs count), then averaged over groups.
- Fig. 10 (:func:`fig10`): ablation, mean lf99 per variant.
- Fig. 13 (:func:`fig13`): sensitivity, PPipe's lf99 gain over NP per study
  (SLO multiplier, L4:P4 split, SLO discount) beside the paper's numbers.
- :func:`summarize`: the headline numbers beside the paper's (``PAPER``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ppipe.experiments import variants as V
from ppipe.experiments.outdir import LEGACY_COLUMNS, RESULTS_FILE, OutDir

CLUSTER_ORDER = ("HC1", "HC2", "HC3", "HC4")
CLUSTER_LABELS = {"HC1": "HC1 L4+P4", "HC2": "HC2 L4+T4", "HC3": "HC3 V100+P4", "HC4": "HC4 V100+T4"}

#: The paper's headline figures (SPEC section 8 and the issue), in percent.
PAPER = {
    "maf19": {"mean_lf99": {"ppipe": 96.5, "dart-r": 74.9, "np": 66.8},
              "low_class_utilization": {"ppipe": 73.6, "np": 8.1}},
    "ablation": {"mean_lf99": {"ppipe": 92.0, "ppipe-nexus": 71.0}},
}
#: The artifact's reference maf19 plans run through this project's simulator
#: (true accounting; reported with the issue), for plans-vs-simulator attribution.
REFERENCE_PLANS_OUR_SIM = {"maf19": {"ppipe": 95.8, "dart-r": 75.2, "np": 66.7}}
#: The artifact's own plotting script records, for the ablation at discount 0.1:
#: NP 85.28, Nexus 70.83, PPipe 91.39 (NP was left out of the paper's figure).
ARTIFACT_ABLATION_NOTE = {"np-single": 85.28, "ppipe-nexus": 70.83, "ppipe": 91.39}


def load_results(path: str | Path):
    """The results table of an experiment folder (or a CSV file)."""
    import pandas as pd

    from ppipe.errors import DataError

    p = Path(path)
    f = p / RESULTS_FILE if p.is_dir() else p
    if not f.exists():
        raise DataError(f"{p}: no results.csv (run `ppipe experiment main --out {p}` first)")
    try:
        df = pd.read_csv(f)
    except Exception as exc:  # pandas raises many kinds on garbage
        raise DataError(f"{f}: not a readable results table ({exc.__class__.__name__})") from None
    return check_table(df, f)


#: Columns the figures compute with, by kind.
_NUMERIC = ("model_index", "load_factor", "attainment", "attainment_reference", "cluster_high", "cluster_low",
            "util_high", "util_low", "pool_gpus_high", "pool_gpus_low", "weight")
_BOOL = ("passed", "passed_reference")


def check_table(df, source):
    """``df`` if it is an experiment results table, with its columns' kinds checked; else a
    one-line :class:`DataError` naming ``source`` and what is missing or malformed."""
    import pandas as pd

    from ppipe.errors import DataError

    missing = [c for c in LEGACY_COLUMNS if c not in df.columns]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise DataError(f"{source}: not an experiment results table (missing columns "
                        f"{', '.join(missing[:5])}{more})")
    df = df.copy()
    for c in _NUMERIC:
        try:
            df[c] = pd.to_numeric(df[c])
        except (ValueError, TypeError):
            raise DataError(f"{source}: column {c} holds non-numbers") from None
    for c in _BOOL:
        col = df[c]
        if col.dtype != bool:
            mapped = col.map({True: True, False: False, "True": True, "False": False})
            if mapped.isna().any():
                raise DataError(f"{source}: column {c} holds values other than True/False") from None
            df[c] = mapped.astype(bool)
    for c in ("set", "setting", "group", "cluster", "scheduler", "model", "arrivals"):
        df[c] = df[c].astype(str)
    return df


def _ordered(values, order) -> list:
    vals = list(dict.fromkeys(values))
    return [v for v in order if v in vals] + sorted(v for v in vals if v not in order)


def _mean(xs) -> float | None:
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return sum(xs) / len(xs) if xs else None


def _std(xs) -> float | None:
    m = _mean(xs)
    if m is None or len(xs) < 2:
        return 0.0 if m is not None else None
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def lf99_table(df, accounting: str = "true"):
    """One row per (set, setting, scheduler, model): lf99 and the row at that load."""
    acc = "" if accounting == "true" else "_reference"
    rows = []
    for _, g in df.groupby(["set", "setting", "scheduler", "model"], sort=False):
        g = g.sort_values("load_factor", ascending=False)
        passed = g[g[f"passed{acc}"].astype(bool)]
        at = passed.iloc[0] if len(passed) else g.iloc[-1]
        r = at.to_dict()
        r["lf99"] = int(at["load_factor"]) if len(passed) else 0
        r["none_passed"] = not len(passed)
        rows.append(r)
    import pandas as pd

    return pd.DataFrame(rows)


def fig6(df, accounting: str = "true") -> dict:
    """{set: {cluster: {group: {scheduler: {"mean", "std", "n"}}}}} of lf99 (percent)."""
    t = lf99_table(df, accounting)
    out: dict = {}
    if t.empty:
        return out
    for st in sorted(t["set"].unique()):
        ts = t[t["set"] == st]
        d = out.setdefault(st, {})
        for hc in _ordered(ts["cluster"], CLUSTER_ORDER):
            th = ts[ts["cluster"] == hc]
            for grp in _ordered(th["group"], ()):
                tg = th[th["group"] == grp]
                for s in _ordered(tg["scheduler"], V.order()):
                    v = tg[tg["scheduler"] == s]["lf99"].tolist()
                    d.setdefault(hc, {}).setdefault(grp, {})[s] = {"mean": _mean(v), "std": _std(v), "n": len(v)}
    return out


def fig7(df, group: str | None = None) -> dict:
    """{set: {"group", "curves": {cluster: {scheduler: {"load_factor": [...], "attainment": [...]}}}}}.

    Attainment in percent at every load factor, averaged over the group's models
    (default group: G1, else the first one present)."""
    out: dict = {}
    for st in sorted(df["set"].unique()):
        ds = df[df["set"] == st]
        groups = _ordered(ds["group"], ())
        g = group if group is not None else ("G1" if "G1" in groups else (groups[0] if groups else None))
        if g is None or g not in groups:
            continue
        dg = ds[ds["group"] == g]
        curves: dict = {}
        for hc in _ordered(dg["cluster"], CLUSTER_ORDER):
            dh = dg[dg["cluster"] == hc]
            for s in _ordered(dh["scheduler"], V.order()):
                d = dh[dh["scheduler"] == s]
                m = d.groupby("load_factor")[["attainment", "attainment_reference"]].mean().sort_index()
                curves.setdefault(hc, {})[s] = {
                    "load_factor": [int(x) for x in m.index],
                    "attainment": [100.0 * float(x) for x in m["attainment"]],
                    "attainment_reference": [100.0 * float(x) for x in m["attainment_reference"]],
                    "models": int(d["model"].nunique())}
        out[st] = {"group": g, "curves": curves, "arrivals": sorted(str(a) for a in dg["arrivals"].unique())}
    return out


def setting_utilization(t) -> list[dict]:
    """Per (set, setting, scheduler): class utilisation of the whole cluster at lf99."""
    rows = []
    for (st, setting, s), g in t.groupby(["set", "setting", "scheduler"], sort=False):
        r = {"set": st, "setting": setting, "scheduler": s, "cluster": g["cluster"].iloc[0],
             "group": g["group"].iloc[0]}
        for c in ("high", "low"):
            count = float(g[f"cluster_{c}"].iloc[0])
            busy = sum(min(float(u), 1.0) * float(n) for u, n in zip(g[f"util_{c}"], g[f"pool_gpus_{c}"]))
            r[c] = 100.0 * busy / count if count > 0 else None
            r[f"pool_{c}"] = 100.0 * busy / float(g[f"pool_gpus_{c}"].sum()) if g[f"pool_gpus_{c}"].sum() > 0 \
                else None
        rows.append(r)
    return rows


def fig8(df, accounting: str = "true") -> dict:
    """{set: {cluster: {scheduler: {"high", "low", "high_std", "low_std", "n"}}}} in percent."""
    t = lf99_table(df, accounting)
    out: dict = {}
    if t.empty:
        return out
    per = setting_utilization(t)
    for st in sorted({r["set"] for r in per}):
        d = out.setdefault(st, {})
        rs = [r for r in per if r["set"] == st]
        for hc in _ordered([r["cluster"] for r in rs], CLUSTER_ORDER):
            for s in _ordered([r["scheduler"] for r in rs if r["cluster"] == hc], V.order()):
                sel = [r for r in rs if r["cluster"] == hc and r["scheduler"] == s]
                d.setdefault(hc, {})[s] = {
                    "high": _mean([r["high"] for r in sel]), "low": _mean([r["low"] for r in sel]),
                    "high_std": _std([r["high"] for r in sel if r["high"] is not None]),
                    "low_std": _std([r["low"] for r in sel if r["low"] is not None]),
                    "pool_high": _mean([r["pool_high"] for r in sel]),
                    "pool_low": _mean([r["pool_low"] for r in sel]), "n": len(sel)}
    return out


def fig10(df, accounting: str = "true") -> dict:
    """Ablation: {scheduler: {"mean", "std", "n"}} of lf99 (percent), for the ablation set."""
    t = lf99_table(df[df["set"] == "ablation"], accounting) if "ablation" in set(df["set"]) else None
    if t is None or t.empty:
        return {}
    return {s: {"mean": _mean(t[t["scheduler"] == s]["lf99"].tolist()),
                "std": _std(t[t["scheduler"] == s]["lf99"].tolist()),
                "n": int((t["scheduler"] == s).sum())}
            for s in _ordered(t["scheduler"], V.order())}


SENSITIVITY_LABELS = {"slo": "(a) SLO multiplier", "mix": "(b) L4:P4 split (GPU counts)",
                      "discount": "(c) SLO discount"}


def _point_key(study: str, row) -> object:
    if study == "slo":
        return float(row["slo_multiplier"])
    if study == "discount":
        return float(row["slo_discount"])
    return (int(row["cluster_high"]), int(row["cluster_low"]))


def point_label(study: str, x) -> str:
    if study == "slo":
        return f"{x:g}x"
    if study == "discount":
        return f"{100 * x:g}%"
    return f"{x[0]}:{x[1]}"


def fig13(df, accounting: str = "true") -> dict:
    """Sensitivity: {study: [{"x", "label", "ppipe", "base", "baseline", "gain", "mean_gain",
    "models", "pairs", "paper"}, ...]} in the study's order.

    ``gain`` is PPipe's mean lf99 over the baseline's (single-model NP) minus 1, in percent;
    ``mean_gain`` the mean over models of lf_ppipe / lf_np - 1 (models where NP serves nothing
    left out, counted in ``zero_base``); ``no_plan`` counts the table's models without rows at
    the point (their setting failed: no plan meets the SLO); ``paper`` the paper's number where
    its text gives one."""
    from ppipe.experiments.settings import SENSITIVITY_PAPER, SENSITIVITY_STUDIES, study_of

    d = df[df["set"] == "sensitivity"] if "set" in df.columns else df.iloc[0:0]
    if d.empty or "slo_multiplier" not in d.columns:
        return {}
    t = lf99_table(d, accounting)
    if t.empty:
        return {}
    scheds = _ordered(t["scheduler"], V.order())
    base = next((s for s in scheds if s != "ppipe"), None)
    out: dict = {}
    all_models = sorted(t["model"].unique())
    for study, values in SENSITIVITY_STUDIES.items():
        keys = [tuple(v) if study == "mix" else float(v) for v in values]
        per: dict = {}
        for _, r in t.iterrows():
            mix = (int(r["cluster_high"]), int(r["cluster_low"]))
            if study not in study_of(float(r["slo_multiplier"]), mix, float(r["slo_discount"])):
                continue
            per.setdefault(_point_key(study, r), []).append(r)
        order = [k for k in keys if k in per] + sorted(k for k in per if k not in keys)
        rows = []
        for x in order:
            rs = per[x]
            pp = {r["model"]: r["lf99"] for r in rs if r["scheduler"] == "ppipe"}
            bb = {r["model"]: r["lf99"] for r in rs if r["scheduler"] == base}
            common = sorted(set(pp) & set(bb))
            mp, mb = _mean([pp[m] for m in common]), _mean([bb[m] for m in common])
            ratios = [pp[m] / bb[m] - 1.0 for m in common if bb[m] > 0]
            rows.append({"x": list(x) if isinstance(x, tuple) else x, "label": point_label(study, x),
                         "ppipe": mp, "base": mb, "baseline": base,
                         "gain": 100.0 * (mp / mb - 1.0) if mp is not None and mb else None,
                         "mean_gain": 100.0 * sum(ratios) / len(ratios) if ratios else None,
                         "zero_base": len(common) - len(ratios), "models": len(common),
                         "no_plan": len(all_models) - len(common),
                         "paper": SENSITIVITY_PAPER.get(study, {}).get(x)})
        if rows:
            out[study] = rows
    return out


def _gains(t, base: str) -> dict | None:
    """PPipe's extra load over ``base``: mean over models of lf_ppipe / lf_base - 1."""
    a = t[t["scheduler"] == "ppipe"].set_index(["setting", "model"])["lf99"]
    b = t[t["scheduler"] == base].set_index(["setting", "model"])["lf99"]
    common = a.index.intersection(b.index)
    ratios = [a[i] / b[i] - 1.0 for i in common if b[i] > 0]
    if not ratios:
        return None
    return {"mean": 100.0 * sum(ratios) / len(ratios), "pairs": len(ratios),
            "skipped_zero_base": int(len(common) - len(ratios))}


def summarize(df, accounting: str = "true", out=None) -> dict:
    """Headline numbers per set: mean lf99 per scheduler, per cluster and group, low-class
    utilisation, PPipe's gains, solve times (from the folder's timing files when given)."""
    doc: dict = {"accounting": accounting, "sets": {}}
    if df.empty:
        return doc
    t = lf99_table(df, accounting)
    util = fig8(df, accounting)
    for st in sorted(t["set"].unique()):
        ts = t[t["set"] == st]
        scheds = _ordered(ts["scheduler"], V.order())
        d = {"arrivals": sorted(ts["arrivals"].unique().tolist()),
             "settings": int(ts["setting"].nunique()), "models": int(len(ts) // max(len(scheds), 1)),
             "mean_lf99": {s: _mean(ts[ts["scheduler"] == s]["lf99"].tolist()) for s in scheds},
             "none_passed": {s: int(ts[(ts["scheduler"] == s)]["none_passed"].sum()) for s in scheds}}
        d["mean_lf99_by_cluster"] = {
            hc: {s: _mean(ts[(ts["cluster"] == hc) & (ts["scheduler"] == s)]["lf99"].tolist()) for s in scheds
                 if ((ts["cluster"] == hc) & (ts["scheduler"] == s)).any()}
            for hc in _ordered(ts["cluster"], CLUSTER_ORDER)}
        d["mean_lf99_by_group"] = {
            grp: {s: _mean(ts[(ts["group"] == grp) & (ts["scheduler"] == s)]["lf99"].tolist()) for s in scheds
                  if ((ts["group"] == grp) & (ts["scheduler"] == s)).any()}
            for grp in _ordered(ts["group"], ())} if st != "ablation" else {}
        u = util.get(st, {})
        d["low_class_utilization"] = {s: _mean([u[hc][s]["low"] for hc in u if s in u[hc]]) for s in scheds}
        d["high_class_utilization"] = {s: _mean([u[hc][s]["high"] for hc in u if s in u[hc]]) for s in scheds}
        d["utilization_by_cluster"] = {hc: {s: {"high": v["high"], "low": v["low"]} for s, v in u[hc].items()}
                                       for hc in u}
        d["ppipe_gain_percent"] = {b: _gains(ts, b) for b in scheds if b != "ppipe" and "ppipe" in scheds}
        d["ppipe_beats_baselines_in_every_cluster"] = (
            all(v.get("ppipe", -1) > max([x for k, x in v.items() if k not in ("ppipe", "ppipe-nexus")] or [-1])
                for v in d["mean_lf99_by_cluster"].values()) if "ppipe" in scheds else None)
        d["paper"] = PAPER.get(st, {})
        if st in REFERENCE_PLANS_OUR_SIM:
            d["reference_plans_our_simulator"] = REFERENCE_PLANS_OUR_SIM[st]
        if st == "ablation":
            d["artifact_plot_script_note"] = ARTIFACT_ABLATION_NOTE
        if st == "sensitivity":
            d["sensitivity"] = fig13(df, accounting)
        doc["sets"][st] = d
    if out is not None:
        doc["solve_seconds"] = solve_times(out)
    # flat keys for the common single-set case
    if len(doc["sets"]) == 1:
        only = next(iter(doc["sets"].values()))
        for k in ("mean_lf99", "mean_lf99_by_cluster", "low_class_utilization", "high_class_utilization"):
            doc[k] = only[k]
    return doc


def solve_times(out) -> dict:
    """Per planner: count, mean, max solve seconds and statuses, from plans/*/solve.json
    (``out``: an :class:`OutDir` or the folder's path)."""
    root = out.root if isinstance(out, OutDir) else Path(out)
    per: dict = {}
    for f in sorted((root / "plans").glob("*/solve.json")):
        try:
            info = json.loads(f.read_text())
        except (json.JSONDecodeError, OSError):
            continue
        for planner, rec in (info.get("planners") or {}).items():
            p = per.setdefault(planner, {"times": [], "statuses": {}, "slowest": None})
            secs = rec.get("solve_seconds")
            if secs is not None:
                p["times"].append(secs)
                if p["slowest"] is None or secs > p["slowest"][1]:
                    p["slowest"] = (f.parent.name, secs)
            p["statuses"][rec.get("status")] = p["statuses"].get(rec.get("status"), 0) + 1
    res = {}
    for planner, p in per.items():
        ts = p["times"]
        res[planner] = {"solves": len(ts), "mean": _mean(ts), "max": max(ts) if ts else None,
                        "total": sum(ts), "statuses": p["statuses"],
                        "slowest_setting": p["slowest"][0] if p["slowest"] else None}
    return res
