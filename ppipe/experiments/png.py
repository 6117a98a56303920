"""Image files of the figures with matplotlib (the optional ``figures`` extra).

Takes the data of :mod:`ppipe.experiments.figures` and draws it the way the
artifact's plotting script does (grouped bars, attainment curves). matplotlib
is imported here only, with the headless Agg backend.
"""

from __future__ import annotations

import io
from pathlib import Path

from ppipe.atomic import write_bytes_atomic
from ppipe.errors import InputError
from ppipe.experiments.variants import label as variant_label

COLORS = {"np": "C2", "dart-r": "C0", "ppipe": "orange", "np-single": "C2", "ppipe-nexus": "grey"}
HATCH = {"np": None, "dart-r": "/", "ppipe": "\\", "np-single": None, "ppipe-nexus": None}


def _plt():
    try:
        import matplotlib
    except ImportError:
        raise InputError("--png needs matplotlib: pip install 'ppipe[figures]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(ax, xlabels, series, labels, colors, hatches, ylim=None):
    import numpy as np

    n = max(len(series), 1)
    width = 0.75 / n
    x = np.arange(len(xlabels))
    for i, (ys, lab) in enumerate(zip(series, labels)):
        ax.bar(x + i * width, [y or 0.0 for y in ys], width, label=lab, color=colors[i], hatch=hatches[i],
               edgecolor="black")
    ax.set_xticks(x + width * (n - 1) / 2, xlabels)
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(axis="y")
    ax.set_axisbelow(True)


def write_png(fig: str, data: dict, path: str | Path) -> Path:
    plt = _plt()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig == "6":
        sets = list(data)
        ncols = max(len(data[s]) for s in sets) if sets else 1
        f, axs = plt.subplots(len(sets), ncols, figsize=(3 * ncols, 2.6 * len(sets)), squeeze=False, sharey=True)
        for r, st in enumerate(sets):
            for c, (hc, per_g) in enumerate(data[st].items()):
                groups = list(per_g)
                scheds = list(dict.fromkeys(s for g in groups for s in per_g[g]))
                series = [[(per_g[g].get(s, {}).get("mean") or 0.0) / 100.0 for g in groups] for s in scheds]
                _bars(axs[r][c], groups, series, [variant_label(s) for s in scheds],
                      [COLORS.get(s) for s in scheds], [HATCH.get(s) for s in scheds], (0, 1.05))
                axs[r][c].set_title(f"{hc} ({st})")
            axs[r][0].set_ylabel("Load factor at\n99% attainment")
        h, lab = axs[0][0].get_legend_handles_labels()
        f.legend(h, lab, ncol=len(lab), loc="upper center")
    elif fig == "7":
        sets = list(data)
        ncols = max((len(data[s]["curves"]) for s in sets), default=1)
        f, axs = plt.subplots(len(sets), ncols, figsize=(3 * ncols, 2.4 * len(sets)), squeeze=False, sharey=True)
        lo = min([v for st in sets for per_s in data[st]["curves"].values() for cv in per_s.values()
                  for v in cv["attainment"]] + [60.0])
        for r, st in enumerate(sets):
            for c, (hc, per_s) in enumerate(data[st]["curves"].items()):
                ax = axs[r][c]
                for s, cv in per_s.items():
                    x = [lf / 100.0 for lf in cv["load_factor"]]
                    ax.plot(x, cv["attainment"], "--o", markersize=3, color=COLORS.get(s),
                            label=variant_label(s))
                ax.axhline(99.0, color="black", linewidth=0.5)
                ax.set_title(f"{hc} ({data[st]['group']}, {st})" + (
                    f"\n{'; '.join(data[st].get('arrivals', []))}" if st != "maf19" else ""), fontsize=8)
                ax.set_xlabel("Load factor")
                ax.set_xlim(0, 1.02)
                ax.set_ylim(max(0.0, lo - 2), 101)
            axs[r][0].set_ylabel("SLO att. (%)")
        h, lab = axs[0][0].get_legend_handles_labels()
        f.legend(h, lab, ncol=len(lab), loc="upper center")
    elif fig == "8":
        sets = list(data)
        f, axs = plt.subplots(1, len(sets), figsize=(6 * len(sets), 2.8), squeeze=False)
        for i, st in enumerate(sets):
            per_hc = data[st]
            hcs = list(per_hc)
            scheds = list(dict.fromkeys(s for hc in hcs for s in per_hc[hc]))
            series, labels, colors, hatches = [], [], [], []
            for s in scheds:
                for cl in ("high", "low"):
                    series.append([per_hc[hc].get(s, {}).get(cl) or 0.0 for hc in hcs])
                    labels.append(f"{variant_label(s)}, {cl}-class")
                    colors.append(COLORS.get(s))
                    hatches.append(None if cl == "high" else "//")
            _bars(axs[0][i], hcs, series, labels, colors, hatches, (0, 100))
            axs[0][i].set_ylabel("GPU utilization (%)")
            axs[0][i].set_xlabel(f"Cluster ({st})")
        h, lab = axs[0][0].get_legend_handles_labels()
        f.legend(h, lab, ncol=3, loc="upper center", fontsize="small")
    elif fig == "10":
        f, ax = plt.subplots(1, 1, figsize=(3, 2.6))
        scheds = list(data)
        ax.bar([variant_label(s) for s in scheds], [(data[s]["mean"] or 0) / 100.0 for s in scheds],
               yerr=[(data[s]["std"] or 0) / 100.0 for s in scheds], color=[COLORS.get(s) for s in scheds],
               hatch=None, edgecolor="black", capsize=2, width=0.5)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("Mean load factor\nat 99% attainment")
    elif fig == "13":
        studies = list(data)
        f, axs = plt.subplots(1, max(len(studies), 1), figsize=(3.2 * max(len(studies), 1), 2.8), squeeze=False)
        titles = {"slo": "(a) SLO multiplier", "mix": "(b) L4:P4 (16 GPUs)", "discount": "(c) SLO discount"}
        for i, st in enumerate(studies):
            rows = data[st]
            paper = [r["paper"] if isinstance(r.get("paper"), (int, float)) else None for r in rows]
            _bars(axs[0][i], [r["label"] for r in rows], [[r["gain"] for r in rows], paper], ["ours", "paper"],
                  ["orange", "C7"], ["\\", None])
            axs[0][i].set_title(titles.get(st, st), fontsize=9)
        axs[0][0].set_ylabel("lf99 gain over NP (%)")
        h, lab = axs[0][0].get_legend_handles_labels()
        f.legend(h, lab, ncol=2, loc="upper center")
    elif fig == "14":
        studies = list(data)
        f, axs = plt.subplots(1, max(len(studies), 1), figsize=(3.4 * max(len(studies), 1), 2.8), squeeze=False)
        for i, st in enumerate(studies):
            rows = data[st]
            ax = axs[0][i]
            if st == "size":
                ax.plot([r["x"] for r in rows], [r["mean_cpu"] for r in rows], "-o", color="orange", label="ours (HiGHS)")
                ax.set_xscale("log")
                ax.set_xlabel("GPUs in HC1 (1 L4 : 3 P4)")
                ax.set_title("(a) cluster size (paper: nearly flat)", fontsize=9)
            else:
                paper = [r["paper"] if isinstance(r.get("paper"), (int, float)) else None for r in rows]
                _bars(ax, [str(r["x"]) for r in rows], [[r["mean_cpu"] for r in rows], paper],
                      ["ours (HiGHS)", "paper (Gurobi)"], ["orange", "C7"], ["\\", None])
                ax.set_xlabel("GPU types")
                ax.set_title("(b) GPU types", fontsize=9)
            ax.set_ylabel("solve time (CPU s)")
            ax.grid(True, axis="y")
        h, lab = axs[0][-1].get_legend_handles_labels()
        f.legend(h, lab, ncol=2, loc="upper center")
    else:
        raise InputError(f"unknown figure {fig!r}")
    f.tight_layout(rect={"6": (0, 0, 1, 0.9), "7": (0, 0, 1, 0.88), "8": (0, 0, 1, 0.8), "13": (0, 0, 1, 0.85),
                         "14": (0, 0, 1, 0.85)}.get(fig))
    buf = io.BytesIO()
    f.savefig(buf, dpi=120, format="png")
    plt.close(f)
    write_bytes_atomic(path, buf.getvalue())  # a crash never leaves half a picture
    return path
