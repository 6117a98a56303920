"""An experiment's output folder: its layout, its checks, its results table.

Everything lands in the folder through atomic writes (temp file + rename), so
a crash or Ctrl-C never leaves a half-written file:

- ``experiment.json``: the specification (what affects results,
  :mod:`ppipe.experiments.spec`); a re-run with a different one is refused
  instead of mixing results;
- ``plans/<setting>/<plan file>.json`` and ``plans/<setting>/solve.json``: each
  plan as soon as it is solved (:mod:`ppipe.experiments.solving`);
- ``parts/<setting>/<variant>.csv``: one variant's rows (``COLUMNS``), written
  when its sweep is complete; ``parts/<setting>/timing.json``: solve and sweep
  times; ``parts/<setting>/failed.json``: why the setting has no results;
- ``results.csv``: all parts merged; ``summary.json``: the summary
  (:mod:`ppipe.experiments.figures`).

A killed run may leave hidden ``.*.tmp`` files (writes that never reached
their rename); :func:`prepare_out` removes them when the run is resumed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ppipe.atomic import write_json_atomic, write_text_atomic
from ppipe.errors import DataError, InputError

if TYPE_CHECKING:
    from ppipe.experiments.settings import Setting
    from ppipe.experiments.spec import ExperimentSpec

SPEC_FILE = "experiment.json"
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.json"
FORMAT = "ppipe-experiment"

#: The results table's columns, in order: one row per setting, variant, model and load factor.
COLUMNS = ["set", "setting", "group", "cluster", "scheduler", "planner", "balancer", "arrivals", "model",
           "model_index", "weight", "sla_ms", "plan_status", "plan_xput", "x_ppipe", "load_factor", "load",
           "seeds", "duration_s", "requests", "dropped_requests", "late_requests", "late_requests_reference",
           "dropped", "violated", "attainment", "passed", "violated_reference", "attainment_reference",
           "passed_reference", "lf99", "lf99_reference", "high_gpus", "low_gpus", "cluster_high", "cluster_low",
           "pool_gpus_high", "pool_gpus_low", "util_high", "util_low", "latency_p50_ms", "latency_p99_ms",
           "servable"]


class OutDir:
    """Paths inside an experiment's output folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def spec(self) -> Path:
        return self.root / SPEC_FILE

    @property
    def results(self) -> Path:
        return self.root / RESULTS_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    def plans(self, s: Setting) -> Path:
        return self.root / "plans" / s.id

    def parts(self, s: Setting) -> Path:
        return self.root / "parts" / s.id

    def part(self, s: Setting, variant: str) -> Path:
        return self.parts(s) / f"{variant}.csv"

    def timing(self, s: Setting) -> Path:
        return self.parts(s) / "timing.json"

    def failed(self, s: Setting) -> Path:
        return self.parts(s) / "failed.json"

    def done(self, s: Setting) -> bool:
        return all(self.part(s, v).exists() for v in s.variants)

    def part_files(self) -> list[Path]:
        return sorted((self.root / "parts").glob("*/*.csv"))


def remove_stale_temp_files(root: Path) -> int:
    """Delete hidden ``.*.tmp`` files a killed run left behind (atomic writes that never
    reached their rename); they hold no result. Returns how many were removed."""
    n = 0
    for tmp in root.rglob(".*.tmp"):
        try:
            tmp.unlink()
            n += 1
        except OSError:
            pass
    return n


def prepare_out(out: OutDir, spec: ExperimentSpec, fresh: bool = False) -> None:
    """Create the folder or check it holds results of the same specification."""
    if fresh:
        import shutil

        for sub in ("parts", "plans"):
            shutil.rmtree(out.root / sub, ignore_errors=True)
        for f in (out.results, out.summary, out.spec):
            f.unlink(missing_ok=True)
    if out.spec.exists():
        try:
            doc = json.loads(out.spec.read_text())
            old = doc["config"]  # the fingerprint's key in the file (kept for existing folders)
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataError(f"{out.spec}: not an experiment configuration file") from None
        diff = spec.fingerprint_changes(old)
        if diff:
            new = spec.fingerprint()
            what = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in diff[:3])
            raise InputError(f"{out.root} holds results of another configuration ({what}); "
                             f"use another --out or --fresh to discard them")
        remove_stale_temp_files(out.root)
        return
    if out.root.exists() and not out.root.is_dir():
        raise InputError(f"{out.root} is not a folder")
    write_json_atomic(out.spec, {"format": FORMAT, "version": 1, "config": spec.fingerprint(),
                                 "time_limit": spec.time_limit, "data": spec.data})


def write_rows(path: Path, rows: list[dict]) -> None:
    """One part: ``rows`` as a CSV file in ``COLUMNS`` order, atomically."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=COLUMNS)
    write_text_atomic(path, df.to_csv(index=False))


def merge_results(out: OutDir):
    """All parts of the folder as one table (sorted), written to results.csv atomically."""
    import pandas as pd

    files = out.part_files()
    if not files:
        df = pd.DataFrame(columns=COLUMNS)
    else:
        df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        df = df.sort_values(["set", "group", "cluster", "scheduler", "model_index", "load_factor"],
                            ascending=[True, True, True, True, True, False], kind="mergesort")
        df = df.reset_index(drop=True)[COLUMNS]
    write_text_atomic(out.results, df.to_csv(index=False))
    return df


def read_fingerprint(root: Path) -> dict:
    """The stored spec document of an experiment folder (one-line errors)."""
    path = Path(root) / SPEC_FILE
    if not path.is_file():
        raise InputError(f"{root}: not an experiment folder (no {SPEC_FILE})")
    try:
        doc = json.loads(path.read_text())
        doc["config"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise DataError(f"{path}: not an experiment configuration file") from None
    return doc


def merge_folders(target: str | os.PathLike, sources: list[str | os.PathLike]) -> dict:
    """Combine experiment folders of one specification (e.g. shards) into ``target``.

    Every source's fingerprint must equal the first's (and the target's, if it exists);
    each setting's plans and parts are copied from the first source that finished it
    (else from the first that has any of its files), then ``results.csv`` is merged
    exactly as a single run merges it. Returns {"settings": n, "sources": [...]}."""
    if not sources:
        raise InputError("merge needs at least one folder")
    out = OutDir(target)
    docs = [(Path(s), read_fingerprint(Path(s))) for s in sources]
    first_path, first = docs[0]
    for path, doc in docs[1:]:
        if doc["config"] != first["config"]:
            diff = sorted(k for k in set(doc["config"]) | set(first["config"])
                          if doc["config"].get(k) != first["config"].get(k))
            raise InputError(f"{path} holds another configuration than {first_path} "
                             f"(differs in {', '.join(diff[:3])}); only shards of one experiment merge")
    if out.spec.exists():
        if read_fingerprint(out.root)["config"] != first["config"]:
            raise InputError(f"{out.root} holds results of another configuration; merge into a new folder")
    else:
        write_json_atomic(out.spec, {k: first[k] for k in ("format", "version", "config", "time_limit", "data")
                                     if k in first})
    remove_stale_temp_files(out.root)
    chosen: dict[str, Path] = {}
    for path, _ in docs:
        for kind in ("parts", "plans"):
            for d in sorted((path / kind).glob("*")) if (path / kind).is_dir() else []:
                sid = d.name
                done = any((path / "parts" / sid).glob("*.csv")) and not (path / "parts" / sid / "failed.json").exists()
                prev = chosen.get(sid)
                if prev is None or (done and not (any((prev / "parts" / sid).glob("*.csv")))):
                    chosen[sid] = path
    for sid in sorted(chosen):
        src = chosen[sid]
        for kind in ("plans", "parts"):
            sd, td = src / kind / sid, out.root / kind / sid
            if not sd.is_dir() or sd.resolve() == td.resolve():
                continue
            for f in sorted(sd.iterdir()):
                if f.is_file() and not f.name.startswith("."):
                    text = f.read_text(encoding="utf-8")
                    t = td / f.name
                    if not t.exists() or t.read_text(encoding="utf-8") != text:
                        write_text_atomic(t, text)
    merge_results(out)
    return {"settings": len(chosen), "sources": [str(p) for p, _ in docs]}
