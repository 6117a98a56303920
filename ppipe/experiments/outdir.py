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

Safety: :func:`check_target` refuses to write into (or, with ``--fresh``, to
empty) a folder that is neither new, empty nor an experiment folder (one with
``experiment.json``, the marker); :func:`lock_folder` holds ``.ppipe-lock``
for the whole run, so a second run in the same folder stops with one line
naming the first one's pid, and a resumed run's temp-file cleanup never
touches a live run's files; :func:`read_part` validates every part before it
counts as done or is merged, naming the damaged file to delete.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ppipe.atomic import write_json_atomic, write_text_atomic
from ppipe.errors import DataError, InputError

if TYPE_CHECKING:
    from ppipe.experiments.settings import Setting
    from ppipe.experiments.spec import ExperimentSpec

SPEC_FILE = "experiment.json"
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.json"
LOCK_FILE = ".ppipe-lock"
FORMAT = "ppipe-experiment"

#: The results table's columns, in order: one row per setting, variant, model and load factor.
COLUMNS = ["set", "setting", "group", "cluster", "scheduler", "planner", "balancer", "arrivals", "model",
           "model_index", "weight", "sla_ms", "slo_multiplier", "slo_discount", "plan_status", "plan_xput",
           "x_ppipe", "load_factor", "load",
           "seeds", "duration_s", "requests", "dropped_requests", "late_requests", "late_requests_reference",
           "dropped", "violated", "attainment", "passed", "violated_reference", "attainment_reference",
           "passed_reference", "lf99", "lf99_reference", "high_gpus", "low_gpus", "cluster_high", "cluster_low",
           "pool_gpus_high", "pool_gpus_low", "util_high", "util_low", "latency_p50_ms", "latency_p99_ms",
           "servable"]
#: Columns added since the first layout: parts written before them still validate and merge
#: (their cells stay empty).
ADDED_COLUMNS = ("slo_multiplier", "slo_discount")
LEGACY_COLUMNS = [c for c in COLUMNS if c not in ADDED_COLUMNS]


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

    @property
    def lock(self) -> Path:
        return self.root / LOCK_FILE

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
        """Every variant's part exists (:func:`check_parts` has vouched for their content)."""
        return all(self.part(s, v).exists() for v in s.variants)

    def part_files(self) -> list[Path]:
        return sorted((self.root / "parts").glob("*/*.csv"))


# ------------------------------------------------------------------ the folder: marker, lock

def read_json_or_empty(path: Path) -> dict:
    """A bookkeeping JSON file (timing, solve record) as a dict; ``{}`` when it is missing or
    damaged (truncated, binary, a folder): its content is then recomputed."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def read_marker(root: Path) -> dict | None:
    """The folder's ``experiment.json`` if it is a valid marker, None when there is none;
    a one-line error when it exists but is damaged or not ours."""
    path = root / SPEC_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        what = exc.__class__.__name__ if not isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        raise DataError(f"{path}: not an experiment configuration file ({what})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("config"), dict):
        raise DataError(f"{path}: not an experiment configuration file (no \"format\": \"{FORMAT}\")")
    return doc


def is_experiment_folder(root: str | os.PathLike) -> bool:
    try:
        return read_marker(Path(root)) is not None
    except DataError:
        return False


def check_target(root: str | os.PathLike, fresh: bool = False) -> None:
    """Refuse a target that is a file, or a non-empty folder without the experiment marker
    (``experiment.json``): nothing is written into, or with ``fresh`` deleted from, a folder
    this tool did not create (e.g. a copy of the artifact)."""
    root = Path(root)
    if not root.exists():
        if root.is_symlink():
            raise InputError(f"{root} is a broken symbolic link")
        return
    if not root.is_dir():
        raise InputError(f"{root} is not a folder")
    if read_marker(root) is not None:
        return
    try:
        entries = [p.name for p in root.iterdir() if p.name != LOCK_FILE]
    except OSError as exc:
        raise InputError(f"{root}: cannot list the folder ({exc.strerror or exc.__class__.__name__})") from None
    if entries:
        action = "discard its contents (--fresh)" if fresh else "write results into it"
        raise InputError(f"{root} is not an experiment folder (no {SPEC_FILE}) and not empty; refusing to "
                         f"{action}: use a new or empty --out")


@contextlib.contextmanager
def lock_folder(root: str | os.PathLike) -> Iterator[None]:
    """Hold the folder's lock (``.ppipe-lock``, an advisory ``flock`` that the kernel drops
    when the holder dies, even by SIGKILL) while the body runs; a second holder gets a
    one-line error naming the first one's pid."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"{root}: cannot create the folder's lock ({exc.strerror or exc.__class__.__name__})") \
            from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
                except OSError:
                    holder = "?"
                raise InputError(f"{root} is in use by another run (pid {holder}); wait for it to finish, "
                                 f"or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_stale_temp_files(root: Path) -> int:
    """Delete hidden ``.*.tmp`` files a killed run left behind (atomic writes that never
    reached their rename); they hold no result. Only call it holding the folder's lock:
    then no other run of this folder is writing. Returns how many were removed."""
    n = 0
    for tmp in root.rglob(".*.tmp"):
        try:
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink()
                n += 1
        except OSError:
            pass
    return n


def prepare_out(out: OutDir, spec: ExperimentSpec, fresh: bool = False) -> None:
    """Create the folder or check it holds results of the same specification (call it
    holding the folder's lock, after :func:`check_target`)."""
    check_target(out.root, fresh)
    if fresh and out.spec.exists():
        import shutil

        for sub in ("parts", "plans"):
            if (out.root / sub).is_dir() and not (out.root / sub).is_symlink():
                shutil.rmtree(out.root / sub, ignore_errors=True)
        for f in (out.results, out.summary, out.spec):
            f.unlink(missing_ok=True)
    doc = read_marker(out.root)
    if doc is not None:
        old = doc["config"]  # the fingerprint's key in the file (kept for existing folders)
        diff = spec.fingerprint_changes(old)
        if diff:
            new = spec.fingerprint()
            what = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in diff[:3])
            raise InputError(f"{out.root} holds results of another configuration ({what}); "
                             f"use another --out or --fresh to discard them")
        remove_stale_temp_files(out.root)
        return
    write_json_atomic(out.spec, {"format": FORMAT, "version": 1, "config": spec.fingerprint(),
                                 "time_limit": spec.time_limit, "data": spec.data})


# ------------------------------------------------------------------ parts

def write_rows(path: Path, rows: list[dict]) -> None:
    """One part: ``rows`` as a CSV file in ``COLUMNS`` order, atomically."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=COLUMNS)
    write_text_atomic(path, df.to_csv(index=False))


def _damaged(path: Path, why: str) -> DataError:
    return DataError(f"{path}: damaged part ({why}); delete it and re-run to compute it again")


def read_part(path: Path, expected_rows: int | None = None, setting: str | None = None,
              scheduler: str | None = None):
    """A part as a DataFrame in ``COLUMNS`` order, after checking that it is whole: a regular
    UTF-8 file, the results header, every row complete, the final newline a finished write
    ends with, and (when given) the expected number of rows, setting and scheduler.
    Anything else is a one-line :class:`DataError` naming the file to delete."""
    import pandas as pd

    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise _damaged(path, "not a regular file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _damaged(path, f"unreadable: {exc.strerror or exc.__class__.__name__}") from None
    if not raw:
        raise _damaged(path, "empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged(path, "binary, not a CSV table") from None
    if "\x00" in text:
        raise _damaged(path, "binary, not a CSV table")
    if not text.endswith("\n"):
        raise _damaged(path, "truncated: no final newline")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise _damaged(path, f"malformed CSV: {exc}") from None
    header = rows[0] if rows else []
    if header not in (COLUMNS, LEGACY_COLUMNS):
        raise _damaged(path, "not a results table: unexpected header")
    body = rows[1:]
    bad = next((k for k, r in enumerate(body) if len(r) != len(header)), None)
    if bad is not None:
        raise _damaged(path, f"truncated: row {bad + 1} has {len(body[bad])} of {len(header)} fields")
    if not body:
        raise _damaged(path, "no rows")
    if expected_rows is not None and len(body) != expected_rows:
        raise _damaged(path, f"truncated: {len(body)} of {expected_rows} rows")
    for col, want in (("setting", setting), ("scheduler", scheduler)):
        if want is not None:
            k = header.index(col)
            if any(r[k] != want for r in body):
                raise _damaged(path, f"rows of another {col} than {want!r}")
    try:
        df = pd.read_csv(io.StringIO(text))
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds on garbage
        raise _damaged(path, f"unreadable table ({exc.__class__.__name__})") from None
    return df.reindex(columns=COLUMNS)


def check_parts(out: OutDir, settings=(), spec: ExperimentSpec | None = None) -> None:
    """Validate every part in the folder (:func:`read_part`), the selected ``settings``' parts
    against their expected rows; the first damaged one is a one-line error naming it."""
    expected: dict[Path, tuple[int, str, str]] = {}
    for s in settings:
        for v in s.variants:
            expected[out.part(s, v)] = (len(s.models) * len(spec.grid) if spec is not None else None, s.id, v)
    paths = set(out.part_files()) | {p for p in expected if p.exists() or p.is_symlink()}
    errors = []
    for p in sorted(paths):
        rows, sid, v = expected.get(p, (None, None, None))
        try:
            read_part(p, rows, sid, v)
        except DataError as exc:
            errors.append(exc)
    if errors:
        more = f" ({len(errors)} damaged parts; the others are listed by the next run)" if len(errors) > 1 else ""
        raise DataError(f"{errors[0]}{more}")


_PART_CACHE: dict = {}


def _read_part_cached(path: Path):
    """:func:`read_part`, remembered while the file's identity, size and mtime stay the same
    (the driver merges after every setting; parts are only ever replaced, by rename)."""
    try:
        st = path.stat()
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    hit = _PART_CACHE.get(path)
    if key is not None and hit is not None and hit[0] == key:
        return hit[1]
    df = read_part(path)
    if key is not None:
        if len(_PART_CACHE) > 20_000:
            _PART_CACHE.clear()
        _PART_CACHE[path] = (key, df)
    return df


def merge_results(out: OutDir):
    """All parts of the folder as one table (sorted), written to results.csv atomically."""
    import pandas as pd

    files = out.part_files()
    if not files:
        df = pd.DataFrame(columns=COLUMNS)
    else:
        df = pd.concat([_read_part_cached(f) for f in files], ignore_index=True)
        df = df.sort_values(["set", "group", "cluster", "scheduler", "model_index", "load_factor"],
                            ascending=[True, True, True, True, True, False], kind="mergesort")
        df = df.reset_index(drop=True)[COLUMNS]
    write_text_atomic(out.results, df.to_csv(index=False))
    return df


def read_fingerprint(root: Path) -> dict:
    """The stored spec document of an experiment folder (one-line errors)."""
    root = Path(root)
    doc = read_marker(root)
    if doc is None:
        raise InputError(f"{root}: not an experiment folder (no {SPEC_FILE})")
    return doc


def merge_folders(target: str | os.PathLike, sources: list[str | os.PathLike]) -> dict:
    """Combine experiment folders of one specification (e.g. shards) into ``target``.

    Every source's fingerprint must equal the first's (and the target's, if it exists);
    each setting's plans and parts are copied from the first source that finished it
    (else from the first that has any of its files), then ``results.csv`` is merged
    exactly as a single run merges it. The target is locked while it is written; every
    source part is validated before it is copied. Returns {"settings": n, "sources": [...]}."""
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
    for path, _ in docs:
        check_parts(OutDir(path))
    check_target(out.root)
    with lock_folder(out.root):
        doc = read_marker(out.root)
        if doc is not None:
            if doc["config"] != first["config"]:
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
                    done = any((path / "parts" / sid).glob("*.csv")) and \
                        not (path / "parts" / sid / "failed.json").exists()
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
                    if f.is_file() and not f.is_symlink() and not f.name.startswith("."):
                        try:
                            text = f.read_text(encoding="utf-8")
                        except (OSError, UnicodeDecodeError) as exc:
                            raise DataError(f"{f}: unreadable ({exc.__class__.__name__}); delete it and "
                                            f"re-run that folder's experiment") from None
                        t = td / f.name
                        if not t.exists() or t.read_text(encoding="utf-8", errors="replace") != text:
                            write_text_atomic(t, text)
        merge_results(out)
    return {"settings": len(chosen), "sources": [str(p) for p, _ in docs]}
