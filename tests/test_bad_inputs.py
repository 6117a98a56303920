"""The bad-input catalogue of issue 13: every hostile or unlucky input gets one line.

Each case runs one ``ppipe`` command (in-process through :func:`ppipe.cli.run`;
in a subprocess where it needs limits on the process: a full disk is a
file-size limit, a runaway a memory limit and a timeout) in a fresh *world* folder holding
its inputs, with ``PPIPE_HOME`` inside it and nothing else readable by default.
Every case that would run away if its guard broke (memory, time) runs in a
subprocess under a 3 GiB memory limit and a 60 s timeout, so that a regression
fails fast instead of taking the machine. A case asserts:

- the exit code;
- exactly one line on stderr naming the problem (the flag and value, or the file
  and field), besides notes the case allows, and no traceback;
- nothing changed outside the folders the case may write: every file of the
  world (sha256) and of the shipped data (size, mtime) is compared with a
  snapshot taken before the command ran.

``CASES`` is also what ``bench/bench_bad_inputs.py`` runs and counts in the
audit's categories. A case that needs a file another part of the project owns
is marked ``xfail`` (strict) with the fix it needs.

No case depends on timing: runaways are refused before they start, and the
subprocess cases run under a memory limit and a timeout that only a broken
guard would reach.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "data"
ZOO = SHIPPED / "profiles"
DEFAULT_ARTIFACT = REPO.parent / "shared" / "ppipe-artifact"
#: The model the mini artifact holds (every file of it).
ART_MODEL = "repvgg-b3"

# The audit's categories (issue 13), in its order.
DATA_LOSS = "data loss/escape"
TRACEBACK = "traceback"
RUNAWAY = "hang/unguarded"
UNCLEAR = "unclear/silently wrong"
COSMETIC = "cosmetic"
CATEGORIES = (DATA_LOSS, TRACEBACK, RUNAWAY, UNCLEAR, COSMETIC)

#: A subprocess case may use this much memory and time; only a broken guard gets near.
SUB_MEMORY = 3 * 2**30
SUB_TIMEOUT = 60


@dataclass
class Result:
    rc: int
    out: str
    err: str
    changed: list


@dataclass
class Case:
    """One bad input. ``argv`` may name ``{w}`` (the world), ``{plan}`` (a two-model plan on
    the shipped profiles), ``{zoo}`` (the shipped profiles), ``{graph}`` (a layer graph),
    ``{art}`` (a one-model copy of the artifact) and ``{bad}`` (where ``setup`` puts corrupt
    files)."""

    id: str
    category: str
    argv: Optional[list] = None
    rc: int = 2
    needles: tuple = ()  # each in the error line (or, for rc 0, somewhere on stderr or stdout)
    setup: Optional[Callable[[Path], None]] = None
    prefix: str = "ppipe: error:"
    stderr_line: bool = True  # a failing case prints its one line on stderr (check's report is on stdout)
    notes_ok: bool = False  # other stderr lines that are notes or warnings are fine
    out_needles: tuple = ()  # on stdout (a result printed although the save failed)
    writable: tuple = ()  # world-relative paths the command may change
    env: Optional[dict] = None
    sub: Optional[dict] = None  # run in a subprocess with these limits: {"fsize": bytes}
    patch: Optional[str] = None  # "erofs" | "eacces": creating a file fails so
    artifact: bool = False
    check: Optional[Callable[[Path, Result], Optional[str]]] = None
    func: Optional[Callable[[Path], Optional[str]]] = None  # a library-level case: returns a problem or None
    xfail: Optional[str] = None


# ------------------------------------------------------------------ the world

def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(root: Path, skip: tuple = (), fast: bool = False) -> dict:
    """path -> what it is (file checksum or size+mtime, folder, link target), under ``root``."""
    out = {}
    skip_paths = [root / s for s in skip]
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        if any(d == s or s in d.parents for s in skip_paths):
            dirnames[:] = []
            continue
        out[str(d.relative_to(root))] = "dir"
        for name in list(filenames) + [n for n in dirnames if (d / n).is_symlink()]:
            p = d / name
            if any(p == s or s in p.parents for s in skip_paths):
                continue
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            else:
                try:
                    st = p.stat()
                    out[rel] = f"{st.st_size}:{st.st_mtime_ns}" if fast else _sha(p)
                except OSError as exc:
                    out[rel] = f"unreadable:{exc.errno}"
    return out


def _diff(before: dict, after: dict) -> list:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def make_template(root: Path, artifact: Optional[Path]) -> Path:
    """What every world starts from: a plan on the shipped profiles, a small layer graph,
    and (with the artifact) a copy of its files for one model."""
    from ppipe.cli import run

    root.mkdir(parents=True, exist_ok=True)
    plan = root / "plan.json"
    with _quiet():
        code = run(["solve", "--data", str(ZOO), "--models", "resnet50,mobilenet_v3_large", "--gpus", "L4:4,T4:8",
                    "-o", str(plan), "--json"])
    assert code == 0 and plan.exists(), "the template plan could not be solved"
    shutil.copy(SHIPPED / "graphs" / "vgg16.graph.json.gz", root / "graph.json.gz")
    if artifact is not None:
        for p in artifact.rglob("*"):
            rel = p.relative_to(artifact)
            if ART_MODEL in str(rel) and not rel.parts[0] == "plans":
                dest = root / "art" / rel
                if p.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                else:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(p, dest)
        (root / "art" / "model_list.txt").write_text(ART_MODEL + "\n")
    return root


def new_world(template: Path, base: Path) -> Path:
    """A fresh world: ``base/outer/world`` (the outer folder catches names that climb out)."""
    w = base / "outer" / "world"
    shutil.copytree(template, w, symlinks=True)
    (w / "home").mkdir(exist_ok=True)
    (w / "cwd").mkdir(exist_ok=True)
    (w / "bad").mkdir(exist_ok=True)
    return w


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


@contextlib.contextmanager
def _environment(w: Path, env: Optional[dict]):
    saved = dict(os.environ)
    cwd = os.getcwd()
    try:
        os.environ.pop("PPIPE_ARTIFACT", None)
        os.environ["PPIPE_HOME"] = str(w / "home")
        os.environ.pop("XDG_DATA_HOME", None)
        for k, v in (env or {}).items():
            os.environ[k] = _fill(v, w)
        os.chdir(w / "cwd")
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _patched(kind: Optional[str]):
    """Creating a file fails as on a read-only filesystem or without permission."""
    if kind is None:
        yield
        return
    code = {"erofs": errno.EROFS, "eacces": errno.EACCES}[kind]
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        where = kwargs.get("dir") or (args[2] if len(args) > 2 else ".")
        raise OSError(code, os.strerror(code), str(where))

    tempfile.mkstemp = mkstemp
    try:
        yield
    finally:
        tempfile.mkstemp = real


def _fill(text: str, w: Path) -> str:
    return (text.replace("{w}", str(w)).replace("{plan}", str(w / "plan.json")).replace("{zoo}", str(ZOO))
            .replace("{graph}", str(w / "graph.json.gz")).replace("{art}", str(w / "art"))
            .replace("{bad}", str(w / "bad")).replace("{realart}", str(artifact_path())))


def _limits(sub: dict) -> Callable[[], None]:
    def pre() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (SUB_MEMORY, SUB_MEMORY))
        if "fsize" in sub:  # a full disk: writes past this many bytes fail (EFBIG), no signal
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (sub["fsize"], sub["fsize"]))
    return pre


def run_case(case: Case, w: Path) -> Result:
    """Run ``case`` in world ``w``; what it printed and what it changed outside its writable paths."""
    from ppipe.cli import run

    if case.setup is not None:
        case.setup(w)
    skip = tuple(case.writable)
    root = w.parent.parent
    before, shipped = snapshot(root, tuple(f"outer/world/{s}" for s in skip)), snapshot(SHIPPED, fast=True)
    argv = [_fill(a, w) for a in case.argv]
    if case.sub is not None:
        env = dict(os.environ)
        env.pop("PPIPE_ARTIFACT", None)
        if "fsize" in case.sub:
            # the case is about our writes: a first-use build of the compiled simulator
            # kernel (gcc) must not be what hits the file-size limit
            env["PPIPE_KERNEL"] = "python"
        env["PPIPE_HOME"] = str(w / "home")
        for k, v in (case.env or {}).items():
            env[k] = _fill(v, w)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            p = subprocess.run([sys.executable, "-c", "import sys; from ppipe.cli import main; main()", *argv],
                               cwd=w / "cwd", env=env, capture_output=True, text=True, timeout=SUB_TIMEOUT,
                               preexec_fn=_limits(case.sub))
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = -9, str(exc.stdout or ""), f"TIMEOUT after {SUB_TIMEOUT} s (a runaway)"
    else:
        out_buf, err_buf = io.StringIO(), io.StringIO()
        with _environment(w, case.env), _patched(case.patch), \
                contextlib.redirect_stdout(out_buf), contextlib.redirect_stderr(err_buf):
            try:
                rc = run(argv)
            except BaseException as exc:  # noqa: BLE001 - an escape is what the case looks for
                import traceback

                rc = -1
                err_buf.write("Traceback (escaped run()):\n" + "".join(traceback.format_exception(exc)))
        out, err = out_buf.getvalue(), err_buf.getvalue()
    after, shipped_after = snapshot(root, tuple(f"outer/world/{s}" for s in skip)), snapshot(SHIPPED, fast=True)
    changed = _diff(before, after) + [f"data/{p}" for p in _diff(shipped, shipped_after)]
    return Result(int(rc), out, err, changed)


def problems(case: Case, res: Result, w: Path) -> list:
    """What is wrong with how ``case`` was handled (empty: handled well)."""
    found = []
    if res.rc != case.rc:
        found.append(f"exit code {res.rc}, expected {case.rc}")
    if "Traceback" in res.err or "Traceback" in res.out:
        found.append("traceback: " + res.err.strip().splitlines()[-1][:200] if res.err.strip() else "traceback")
    lines = [ln for ln in res.err.splitlines() if ln.strip()]
    allowed = ("note:", "ppipe: warning:")
    if case.rc != 0 and not case.stderr_line:
        if lines:
            found.append(f"stderr lines: {lines[:3]!r}")
        text = res.out
    elif case.rc != 0:
        errors = [ln for ln in lines if ln.startswith(case.prefix)]
        others = [ln for ln in lines if not ln.startswith(case.prefix)]
        if len(errors) != 1:
            found.append(f"{len(errors)} lines start with {case.prefix!r} (want one): {res.err[-300:]!r}")
        if others and not (case.notes_ok and all(ln.startswith(allowed) for ln in others)):
            found.append(f"other stderr lines: {others[:3]!r}")
        text = errors[0] if errors else res.err
    else:
        bad = [ln for ln in lines if ln.startswith("ppipe: error")]
        if bad:
            found.append(f"error on stderr: {bad[0]!r}")
        text = res.err + res.out
    for n in case.needles:
        if n not in text:
            found.append(f"{n!r} not in {text[:300]!r}")
    for n in case.out_needles:
        if n not in res.out:
            found.append(f"{n!r} not on stdout")
    if res.changed:
        found.append(f"changed outside its folder: {res.changed[:5]}")
    if case.check is not None:
        try:
            extra = case.check(w, res)
        except Exception as exc:  # noqa: BLE001 - a check that cannot read the output is a failure
            extra = f"check failed: {exc.__class__.__name__}: {exc}"
        if extra:
            found.append(extra)
    return found


def evaluate(case: Case, template: Path, base: Path) -> list:
    """Run one case in a fresh world under ``base``; its problems."""
    w = new_world(template, base)
    if case.func is not None:
        with _environment(w, case.env):
            try:
                extra = case.func(w)
            except Exception as exc:  # noqa: BLE001
                extra = f"{exc.__class__.__name__}: {exc}"
        return [extra] if extra else []
    try:
        res = run_case(case, w)
    except Exception as exc:  # noqa: BLE001 - e.g. a set-up that cannot find what it corrupts
        if isinstance(exc, pytest.skip.Exception):
            raise
        return [f"could not run: {exc.__class__.__name__}: {exc}"]
    return problems(case, res, w)


# ------------------------------------------------------------------ set-ups

def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def _binary(rel: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        p = w / rel
        if p.is_dir():
            shutil.rmtree(p)
        _write(p, bytes(range(256)) * 8)
    return setup


def _folder(rel: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        p = w / rel
        if p.exists():
            p.unlink()
        (p / "inside").mkdir(parents=True)
    return setup


def _loop(rel: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        a, b = w / rel, (w / rel).with_name("loop-b")
        if a.exists():
            a.unlink()
        os.symlink(b, a)
        os.symlink(a, b)
    return setup


def _plan_edit(edit: Callable[[list], None], name: str = "plan.json") -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        doc = json.loads((w / "plan.json").read_text())
        edit(doc)
        (w / "bad" / name).write_text(json.dumps(doc))
    return setup


def _estimator_params(key: str, value) -> Callable[[Path], None]:
    """The shipped estimator parameters with one GPU's ``key`` set to ``value``."""
    def setup(w: Path) -> None:
        doc = json.loads((SHIPPED / "estimator.json").read_text())
        for params in doc["gpus"].values():
            params[key] = value
        _write(w / "bad" / "est.json", json.dumps(doc))
    return setup


def _scale_gpus(factor: int) -> Callable[[list], None]:
    """Every partition on ``factor`` times its GPUs (and instances): over the plan's recorded limits."""
    def edit(doc) -> None:
        for m in doc:
            for pipe in m["pipelines"]:
                for part in pipe["partitions"]:
                    part["num_gpu"] *= factor
    return edit


def _set(path: tuple, value) -> Callable[[list], None]:
    def edit(doc) -> None:
        d = doc
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return edit


def _deep_plan(w: Path) -> None:
    _write(w / "bad" / "plan.json", "[" * 100_000 + "]" * 100_000)


GPU_ENTRY = {"name": "X1", "class": "low", "gpus_per_server": 1, "mps_levels": 1, "network_gbps": 10,
             "fp32_tflops": 8, "mem_bw_gbps": 300}


def _catalog(**change) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        _write(w / "bad" / "cat.json", json.dumps({"gpus": [{**GPU_ENTRY, **change}]}))
    return setup


def _profile(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        doc = json.loads((ZOO / "vgg16.profile.json").read_text())
        edit(doc)
        _write(w / "bad" / "prof" / "vgg16.profile.json", json.dumps(doc))
    return setup


def _graph(model, name: str = "g.graph.json") -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        doc = json.loads(gzip.decompress((SHIPPED / "graphs" / "vgg16.graph.json.gz").read_bytes()))
        doc["model"] = model
        _write(w / "bad" / "graphs" / name, json.dumps(doc))
    return setup


def _exists(rel: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        _write(w / rel, "{}")
    return setup


def _both(*setups) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        for s in setups:
            s(w)
    return setup


def _immutable(rel: str) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        (w / rel).mkdir(parents=True, exist_ok=True)
        if subprocess.run(["chattr", "+i", str(w / rel)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
    return setup


# ------------------------------------------------------------------ checks

def _no_file(rel: str) -> Callable[[Path, Result], Optional[str]]:
    def check(w: Path, res: Result) -> Optional[str]:
        return f"{rel} was written" if (w / rel).exists() else None
    return check


def _listed_models(w: Path, res: Result) -> Optional[str]:
    names = [r["model"] for r in json.loads(res.out)]
    hidden = [n for n in names if not n or n.startswith(".")]
    return f"hidden profile listed as a model: {hidden!r}" if hidden else None


def _zoo_written_to_home(w: Path, res: Result) -> Optional[str]:
    return None if (w / "home" / "profiles" / "vgg16.profile.json").exists() else \
        "build-zoo did not write its default output, the user profile folder"


# ------------------------------------------------------------------ library-level cases

def _short_trace_rate(w: Path) -> Optional[str]:
    import numpy as np

    from ppipe.sim.traces import trace_arrivals_us

    for n in (2, 3, 5):
        times = np.linspace(0.0, 10.0, n)
        for load in (387.0, 0.5):
            secs = 100 if load > 1 else 100_000
            arr = trace_arrivals_us(times, load, secs * 1_000_000)
            got = len(arr) / secs
            if abs(got - load) > 0.01 * load:
                return f"{n} arrivals folded to {load} req/s give {got:.1f} req/s"
    return None


def _data_means_one_source(w: Path) -> Optional[str]:
    """--data DIR: only that folder, even with PPIPE_ARTIFACT set (no silent fallback)."""
    from ppipe.profiles.store import ProfileStore

    os.environ["PPIPE_ARTIFACT"] = str(DEFAULT_ARTIFACT)
    store = ProfileStore.open(ZOO)
    return None if [s.root for s in store.sources] == [ZOO] else f"--data opened {store.describe()}"


def _request_cap_defaults_agree(w: Path) -> Optional[str]:
    from ppipe.cli.sim_cmds import MAX_REQUESTS_DEFAULT
    from ppipe.sim.engine import DEFAULT_MAX_REQUESTS

    return None if MAX_REQUESTS_DEFAULT == DEFAULT_MAX_REQUESTS else "CLI and engine request caps differ"


def _read_plan_deep(w: Path) -> Optional[str]:
    from ppipe.errors import DataError
    from ppipe.planfile.plan import read_plan

    _deep_plan(w)
    try:
        read_plan(w / "bad" / "plan.json")
    except DataError:
        return None
    except RecursionError:
        return "read_plan raised RecursionError"
    return "read_plan accepted a plan nested 100k deep"


def _read_plan_nan(w: Path) -> Optional[str]:
    from ppipe.errors import DataError
    from ppipe.planfile.plan import read_plan

    _plan_edit(_set((0, "pipelines", 0, "partitions", 0, "num_gpu"), float("nan")))(w)
    try:
        read_plan(w / "bad" / "plan.json")
    except DataError:
        return None
    return "read_plan accepted num_gpu NaN"


def _parse_kv_duplicates(w: Path) -> Optional[str]:
    from ppipe.errors import InputError
    from ppipe.textparse import parse_kv

    try:
        parse_kv("L4:25,L4:75", "GPU count")
    except InputError:
        return None
    return "parse_kv kept the last of L4:25,L4:75"


# ---- section 1, items 1, 6 and 7: what a write replaces, and what a plan's name says

def _dev_null_still_a_device(w: Path, res: Result) -> Optional[str]:
    import stat as st

    return None if st.S_ISCHR(os.stat("/dev/null").st_mode) else "/dev/null was replaced by a regular file"


def _link_kept(w: Path, res: Result) -> Optional[str]:
    link, target = w / "link.json", w / "real" / "plan.json"
    if not link.is_symlink():
        return "the symlink was replaced by a file"
    return None if target.read_text().lstrip().startswith("[") else "the link's target was not updated"


def _make_link(w: Path) -> None:
    (w / "real").mkdir()
    (w / "real" / "plan.json").write_text("old")
    (w / "link.json").symlink_to(w / "real" / "plan.json")


def _stdout_is_the_plan(w: Path, res: Result) -> Optional[str]:
    try:
        doc = json.loads(res.out)
    except ValueError:
        return "stdout is not the plan alone"
    return None if isinstance(doc, list) and doc else "stdout is not a plan"


def _fifo_written_through(w: Path) -> Optional[str]:
    import stat as st
    import threading

    from ppipe.atomic import write_text_atomic

    fifo = w / "pipe"
    os.mkfifo(fifo)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_text_atomic(fifo, "through")
    reader.join(timeout=60)
    if not st.S_ISFIFO(fifo.stat().st_mode):
        return "the FIFO was replaced by a regular file"
    return None if got == [b"through"] else f"the reader got {got!r}"


def _unfinished_plan_kept_apart(w: Path) -> Optional[str]:
    from ppipe.cli.common import unfinished_plan_path

    plan = w / "plan.json"
    plan.write_text("[]")
    for status in ("cancelled", "time_limit"):
        path, note = unfinished_plan_path(plan, status, 0.197)
        if path == plan or not note or "kept" not in note:
            return f"a {status} plan would replace {plan.name} ({path}, {note!r})"
    return None


def _names_record_settings(w: Path) -> Optional[str]:
    from ppipe.planfile.naming import plan_file_name, settings_items

    base = (["m"], [1], ["L4", "T4"], [25, 75], 10, 5, "ppipe")
    names = {plan_file_name(*base, settings_items(**kw)) for kw in (
        {}, {"max_parts": 1}, {"max_parts": 3}, {"slo_discount": 0.2}, {"mps": {"L4": 2}}, {"fill": True},
        {"method": "direct"})}
    return None if len(names) == 7 else "two settings give the same default plan name"


# ------------------------------------------------------------------ the catalogue

SOLVE = ["solve", "--data", "{zoo}", "--models", "resnet50,mobilenet_v3_large", "--gpus", "L4:4,T4:8"]
SOLVE1 = ["solve", "--data", "{zoo}", "--models", "resnet50", "--gpus", "L4:4,T4:8"]
SIM = ["simulate", "{plan}", "--data", "{zoo}"]
SWEEP = ["sweep", "{plan}", "--data", "{zoo}"]
EST = ["profile", "estimate", "--graph", "{graph}", "--gpus", "T4,L4", "--chunks", "3"]
SIZE1 = ["size", "--data", "{zoo}", "-m", "resnet50", "-r", "100", "--no-save"]

CASES: list = [
    # ---- section 1, items 1, 6, 7: devices, FIFOs, '-' and links written through; unfinished plans apart
    Case("solve-o-dev-null", DATA_LOSS, SOLVE1 + ["-o", "/dev/null"], rc=0, notes_ok=True, check=_dev_null_still_a_device),
    Case("solve-o-symlink", DATA_LOSS, SOLVE1 + ["-o", "{w}/link.json"], rc=0, notes_ok=True, setup=_make_link,
         writable=("real/plan.json",), check=_link_kept),
    Case("solve-o-dash", DATA_LOSS, SOLVE1 + ["-o", "-"], rc=0, notes_ok=True, check=_stdout_is_the_plan),
    Case("writer-fifo", DATA_LOSS, func=_fifo_written_through),
    Case("unfinished-plan-kept-apart", DATA_LOSS, func=_unfinished_plan_kept_apart),
    Case("default-name-records-settings", DATA_LOSS, func=_names_record_settings),
    # ---- section 1, items 3-5: data loss and escapes
    Case("prepartition-over-artifact", DATA_LOSS, ["prepartition", ART_MODEL, "--data", "{art}", "--out", "{art}",
                                                   "-k", "8"], needles=("would be replaced", "--force"),
         artifact=True),
    Case("prepartition-over-artifact-estimate", DATA_LOSS,
         ["prepartition", ART_MODEL, "--data", "{art}", "--out", "{art}", "--estimate-profile"],
         needles=("--force",), artifact=True),
    Case("prepartition-force-replaces", DATA_LOSS, ["prepartition", ART_MODEL, "--data", "{art}", "--out", "{art}",
                                                    "--force", "--json"], rc=0, writable=("art",), artifact=True),
    Case("build-zoo-default-out-not-shipped", DATA_LOSS, ["profile", "build-zoo", "--models", "vgg16", "--gpus", "L4"],
         rc=0, writable=("home",), check=_zoo_written_to_home),
    Case("build-zoo-existing-needs-force", DATA_LOSS,
         ["profile", "build-zoo", "--models", "vgg16", "--gpus", "L4", "--out", "{w}/zoo"],
         setup=_exists("zoo/vgg16.profile.json"), needles=("vgg16.profile.json", "--force")),
    Case("build-zoo-shipped-needs-force", DATA_LOSS,
         ["profile", "build-zoo", "--models", "vgg16", "--gpus", "L4", "--out", "{zoo}"], needles=("--force",)),
    Case("estimate-existing-needs-force", DATA_LOSS, EST + ["-o", "{w}/vgg16.profile.json"],
         setup=_exists("vgg16.profile.json"), needles=("--force",)),
    Case("data-import-existing-needs-force", DATA_LOSS, ["data", "import", "{art}"], artifact=True,
         setup=_exists(f"home/profiles/{ART_MODEL}.profile.json"), needles=("--force",)),
    Case("graph-model-climbs-out-estimate", DATA_LOSS, ["profile", "estimate", "--graph", "{bad}/graphs/g.graph.json",
                                                        "--gpus", "L4"],
         setup=_graph("../../../x"), needles=("field 'model'", "'/'")),
    Case("graph-model-climbs-out-build-zoo", DATA_LOSS, ["profile", "build-zoo", "--graphs", "{bad}/graphs",
                                                         "--gpus", "L4"],
         setup=_graph("../../../x"), needles=("field 'model'",)),
    Case("estimate-name-climbs-out", DATA_LOSS, EST + ["--name", "../../x"], needles=("--name", "'/'")),
    Case("graph-model-empty", DATA_LOSS, ["profile", "estimate", "--graph", "{bad}/graphs/g.graph.json", "--gpus",
                                          "L4"], setup=_graph(""), needles=("field 'model'", "non-empty")),
    Case("graph-model-hidden", DATA_LOSS, ["profile", "estimate", "--graph", "{bad}/graphs/g.graph.json", "--gpus",
                                           "L4"], setup=_graph(".x"), needles=("dot",)),
    Case("hidden-profile-not-listed", DATA_LOSS, ["models", "--json"], rc=0,
         setup=lambda w: _write(w / "home" / "profiles" / ".profile.json", (ZOO / "vgg16.profile.json").read_text()),
         check=_listed_models),

    # ---- section 2: no traceback -- flags
    Case("solve-slo-multiplier-inf", TRACEBACK, SOLVE + ["--no-save", "--slo-multiplier", "inf"],
         needles=("--slo-multiplier", "inf")),
    Case("solve-bw-inf", TRACEBACK, SOLVE + ["--no-save", "--bw", "inf"], needles=("--bw", "inf")),
    Case("solve-slo-discount-nan", TRACEBACK, SOLVE + ["--no-save", "--slo-discount", "nan"],
         needles=("--slo-discount",)),
    Case("simulate-duration-inf", TRACEBACK, SIM + ["--lf", "50", "--duration", "inf"], needles=("--duration", "inf")),
    Case("sweep-duration-inf", TRACEBACK, SWEEP + ["--duration", "inf"], needles=("--duration", "inf")),
    Case("experiment-duration-inf", TRACEBACK, ["experiment", "main", "--groups", "G2", "--clusters", "HC2",
                                                "--duration", "inf", "--out", "{w}/exp", "--data", "{realart}"],
         artifact=True, needles=("--duration", "inf")),
    Case("simulate-seed-negative", TRACEBACK, SIM + ["--lf", "50", "--seed", "-1"], needles=("--seed", "-1")),
    Case("simulate-burst-ratio-inf", TRACEBACK, SIM + ["--lf", "50", "--bursty", "--burst-ratio", "inf",
                                                       "--duration", "20"], needles=("--burst-ratio", "inf")),
    Case("simulate-burst-fraction-one", TRACEBACK, SIM + ["--lf", "50", "--bursty", "--burst-fraction", "1"],
         needles=("--burst-fraction",)),
    Case("simulate-load-1e12", TRACEBACK, SIM + ["--load", "1e12"], sub={}, needles=("--load", "1e+12")),
    Case("simulate-lf-1e9", TRACEBACK, SIM + ["--lf", "1e9"], sub={}, needles=("--load-factor", "1e+09")),
    Case("simulate-duration-1e6", TRACEBACK, SIM + ["--lf", "100", "--duration", "1e6"], sub={},
         needles=("requests", "--max-requests")),
    Case("estimate-max-batch-huge", TRACEBACK, EST + ["--max-batch", "100000000", "-o", "{w}/o.json"], sub={},
         needles=("maximum batch size", "100000000")),
    # ---- output paths
    Case("solve-output-folder", TRACEBACK, SOLVE + ["-o", "{w}"], needles=("--output", "folder")),
    Case("solve-output-empty", TRACEBACK, SOLVE + ["-o", ""], needles=("--output is empty",)),
    Case("solve-output-under-a-file", TRACEBACK, SOLVE + ["-o", "{plan}/x.json"], needles=("is a file",)),
    Case("simulate-log-folder", TRACEBACK, SIM + ["--lf", "50", "--log", "{w}"], needles=("--log", "folder")),
    Case("prepartition-out-file", TRACEBACK, ["prepartition", ART_MODEL, "--data", "{art}", "--out", "{plan}"],
         needles=("--out", "is a file"), artifact=True),
    Case("data-import-to-file", TRACEBACK, ["data", "import", "{art}", "--to", "{plan}"],
         needles=("--to", "is a file"), artifact=True),
    Case("build-zoo-out-file", TRACEBACK, ["profile", "build-zoo", "--models", "vgg16", "--out", "{plan}"],
         needles=("--out", "is a file")),
    Case("solve-disk-full", TRACEBACK, SOLVE + ["-o", "{w}/new-plan.json"], sub={"fsize": 2000},
         needles=("cannot write", "new-plan.json", "not saved"), out_needles=("objective",)),
    Case("solve-read-only", TRACEBACK, SOLVE + ["-o", "{w}/new-plan.json"], patch="erofs",
         needles=("cannot write", "Read-only file system"), out_needles=("objective",)),
    Case("solve-permission", TRACEBACK, SOLVE + ["-o", "{w}/new-plan.json"], patch="eacces",
         needles=("cannot write", "Permission denied"), out_needles=("objective",)),
    Case("solve-immutable-folder", TRACEBACK, SOLVE + ["-o", "{w}/ro/new-plan.json"], setup=_immutable("ro"),
         needles=("cannot write",), out_needles=("objective",),
         check=lambda w, r: subprocess.run(["chattr", "-i", str(w / "ro")]) and None),
    Case("simulate-log-disk-full", TRACEBACK, SIM + ["--lf", "50", "--duration", "2", "--log", "{w}/log.csv"],
         sub={"fsize": 2000}, needles=("cannot write", "log.csv"), out_needles=("attainment",), notes_ok=True),
    Case("estimate-read-only", TRACEBACK, EST + ["-o", "{w}/vgg16.profile.json"], patch="erofs",
         needles=("Read-only file system",)),
    # ---- corrupt files
    *[Case(f"plan-deep-{name}", TRACEBACK, argv, setup=_deep_plan, needles=("plan.json", "nested too deeply"))
      for name, argv in (("show", ["show", "{bad}/plan.json"]), ("show-json", ["show", "--json", "{bad}/plan.json"]),
                         ("check", ["check", "{bad}/plan.json", "--data", "{zoo}"]),
                         ("simulate", ["simulate", "{bad}/plan.json", "--lf", "50"]),
                         ("replay", ["solve", "--replay", "{bad}/plan.json", "--data", "{zoo}"]))],
    *[Case(f"plan-symlink-loop-{name}", TRACEBACK, argv, setup=_loop("bad/plan.json"),
           needles=("plan.json", "symbolic links"))
      for name, argv in (("show", ["show", "{bad}/plan.json"]), ("simulate", ["simulate", "{bad}/plan.json",
                                                                            "--lf", "50"]))],
    Case("plan-binary", TRACEBACK, ["show", "{bad}/plan.json"], setup=_binary("bad/plan.json"),
         needles=("plan.json", "cannot read")),
    Case("plan-folder", TRACEBACK, ["check", "{bad}/plan.json"], setup=_folder("bad/plan.json"),
         needles=("plan.json", "cannot read")),
    *[Case(f"plan-num-gpu-nan-{name}", TRACEBACK, argv,
           setup=_plan_edit(_set((0, "pipelines", 0, "partitions", 0, "num_gpu"), float("nan"))),
           needles=("partitions[0]", "'num_gpu'", "nan"))
      for name, argv in (("show", ["show", "{bad}/plan.json"]), ("show-json", ["show", "--json", "{bad}/plan.json"]),
                         ("check", ["check", "{bad}/plan.json", "--data", "{zoo}"]),
                         ("simulate", ["simulate", "{bad}/plan.json", "--data", "{zoo}", "--lf", "50"]))],
    *[Case(f"plan-xput-text-{name}", TRACEBACK, argv, setup=_plan_edit(_set((0, "xput"), "fast")),
           needles=("entry 0", "'xput'", "'fast'"))
      for name, argv in (("show", ["show", "{bad}/plan.json"]), ("show-json", ["show", "--json", "{bad}/plan.json"]),
                         ("check", ["check", "{bad}/plan.json", "--data", "{zoo}"]),
                         ("sweep", ["sweep", "{bad}/plan.json", "--data", "{zoo}"]))],
    *[Case(f"plan-xput-1e300-{name}", TRACEBACK, argv, sub={},
           setup=_plan_edit(lambda d: (d[0].update(xput=1e300), d[0]["pipelines"][0].update(xput=1e300))),
           needles=("'xput'", "1e+300"))
      for name, argv in (("show", ["show", "{bad}/plan.json"]),
                         ("simulate", ["simulate", "{bad}/plan.json", "--data", "{zoo}", "--lf", "50"]),
                         ("sweep", ["sweep", "{bad}/plan.json", "--data", "{zoo}"]))],
    Case("replay-config-sla-text", TRACEBACK, ["solve", "--replay", "{bad}/plan.json", "--data", "{zoo}",
                                               "--gpus", "L4:4,T4:8", "-w", "1,1", "--no-save"],
         setup=_plan_edit(_set((0, "config", "sla"), "x")), needles=("config", "'sla'", "'x'")),
    Case("replay-transmit-times-text", TRACEBACK, ["solve", "--replay", "{bad}/plan.json", "--data", "{zoo}",
                                                   "--gpus", "L4:4,T4:8", "-w", "1,1", "--no-save"],
         setup=_plan_edit(_set((0, "config", "transmit_time_us_arr"), "fast")),
         needles=("'transmit_time_us_arr'",)),
    Case("catalog-binary", TRACEBACK, ["gpus", "--catalog", "{bad}/cat.json"], setup=_binary("bad/cat.json"),
         needles=("cat.json", "not text")),
    Case("catalog-folder", TRACEBACK, ["gpus", "--catalog", "{bad}/cat.json"], setup=_folder("bad/cat.json"),
         needles=("cat.json", "folder")),
    Case("catalog-unreadable-loop", TRACEBACK, ["gpus", "--catalog", "{bad}/cat.json"], setup=_loop("bad/cat.json"),
         needles=("cat.json", "symbolic links")),
    Case("catalog-deep", TRACEBACK, ["gpus", "--catalog", "{bad}/cat.json"],
         setup=lambda w: _write(w / "bad" / "cat.json", "[" * 100_000), needles=("cat.json",)),
    Case("user-catalog-binary", TRACEBACK, ["solve", "--data", "{zoo}", "--models", "resnet50", "--gpus", "L4:2"],
         setup=_binary("home/gpus.json"), needles=("gpus.json", "not text")),
    Case("profile-binary", TRACEBACK, ["models", "--data", "{bad}/prof"], setup=_binary("bad/prof/vgg16.profile.json"),
         needles=("vgg16.profile.json", "not text")),
    Case("profile-folder", TRACEBACK, ["models", "--data", "{bad}/prof"],
         setup=_both(_profile(lambda d: None), _folder("bad/prof/x.profile.json")),
         needles=("x.profile.json", "folder")),
    Case("profile-loop", TRACEBACK, ["models", "--data", "{bad}/prof"],
         setup=_both(_profile(lambda d: None), _loop("bad/prof/y.profile.json")), needles=("symbolic links",)),
    Case("profile-chunks-text", TRACEBACK, ["models", "--data", "{bad}/prof"],
         setup=_profile(lambda d: d.update(chunks="nine")), needles=("'chunks'",)),
    Case("artifact-block-timing-binary", TRACEBACK, ["solve", "--data", "{art}", "--models", ART_MODEL, "--gpus",
                                                     "L4:2", "--no-save"],
         setup=_binary(f"art/models/block-timing-tf32/{ART_MODEL}-L4-1.csv"), artifact=True,
         needles=(f"{ART_MODEL}-L4-1.csv", "not text")),
    Case("artifact-block-timing-folder", TRACEBACK, ["solve", "--data", "{art}", "--models", ART_MODEL, "--gpus",
                                                     "L4:2", "--no-save"],
         setup=_folder(f"art/models/block-timing-tf32/{ART_MODEL}-L4-1.csv"), artifact=True,
         needles=(f"{ART_MODEL}-L4-1.csv", "folder")),
    Case("artifact-cut-sizes-binary", TRACEBACK, ["models", "--data", "{art}"],
         setup=lambda w: _binary(str(next((w / "art" / "prepartition_mappings" / ART_MODEL)
                                          .glob("contraction_trans-size_*.csv")).relative_to(w)))(w),
         artifact=True, needles=("contraction_trans-size", "not text")),
    Case("graph-binary", TRACEBACK, ["profile", "estimate", "--graph", "{bad}/g.graph.json", "--gpus", "L4"],
         setup=_binary("bad/g.graph.json"), needles=("g.graph.json",)),
    Case("graph-folder", TRACEBACK, ["profile", "graph", "{bad}/g.graph.json"], setup=_folder("bad/g.graph.json"),
         needles=("g.graph.json", "directory")),
    Case("graph-loop", TRACEBACK, ["profile", "graph", "{bad}/g.graph.json"], setup=_loop("bad/g.graph.json"),
         needles=("g.graph.json", "symbolic links")),
    Case("trace-binary", TRACEBACK, SIM + ["--lf", "50", "--trace", "{bad}/t.csv"], setup=_binary("bad/t.csv"),
         needles=("t.csv",)),

    # ---- section 3: no runaway (refused before anything is allocated; a subprocess under a memory limit)
    Case("simulate-lf-100000", RUNAWAY, SIM + ["--lf", "100000"], sub={},
         needles=("about", "requests", "above the cap", "--max-requests")),
    Case("simulate-load-2e7", RUNAWAY, SIM + ["--load", "2e7"], sub={}, needles=("requests", "--max-requests")),
    Case("simulate-absurd-num-gpu", RUNAWAY, ["simulate", "{bad}/plan.json", "--data", "{zoo}", "--lf", "50"],
         sub={}, setup=_plan_edit(_set((0, "pipelines", 0, "partitions", 0, "num_gpu"), 1e12)),
         needles=("GPU instances", "1e+12")),
    Case("check-absurd-num-gpu", RUNAWAY, ["check", "{bad}/plan.json", "--data", "{zoo}", "--gpus", "L4:4,T4:8"],
         rc=1, setup=_plan_edit(_set((0, "pipelines", 0, "partitions", 0, "num_gpu"), 1e12)),
         stderr_line=False, needles=("num_gpu 1e+12", "not a plausible GPU count")),
    Case("sweep-seeds-huge", RUNAWAY, SWEEP + ["--seeds", "100000"], sub={}, needles=("--seeds", "100000")),
    Case("sweep-seeds-times-duration", RUNAWAY, SWEEP + ["--seeds", "500", "--duration", "300"], sub={},
         needles=("requests", "--max-requests")),
    Case("simulate-bursts-too-short", RUNAWAY, SIM + ["--lf", "50", "--bursty", "--burst-seconds", "1e-9"], sub={},
         needles=("--burst-seconds", "burst switches")),
    Case("solve-weight-tiny", RUNAWAY, SOLVE + ["--no-save", "-w", "1,1e-9"], sub={}, needles=("weight 2", "1e-09")),
    Case("solve-weights-ratio", RUNAWAY, SOLVE + ["--no-save", "-w", "1,1e-5"], sub={}, needles=("ratio",)),
    Case("solve-gpus-huge", RUNAWAY, SOLVE1 + ["--no-save", "--gpus", "L4:1000000000"], sub={},
         needles=("L4:1000000000",)),
    Case("request-cap-defaults-agree", RUNAWAY, func=_request_cap_defaults_agree),

    # ---- section 4: say what is wrong
    Case("gpus-duplicate", UNCLEAR, SOLVE1 + ["--no-save", "--gpus", "L4:25,L4:75"], needles=("L4", "twice")),
    Case("mps-duplicate", UNCLEAR, SOLVE1 + ["--no-save", "--mps", "L4=2,L4=4"], needles=("--mps", "twice")),
    Case("max-parts-zero", UNCLEAR, SOLVE1 + ["--no-save", "-P", "0"], needles=("--max-parts", "0")),
    Case("max-parts-above-chunks", UNCLEAR, SOLVE1 + ["--no-save", "-P", "50"], sub={},
         needles=("--max-parts 50", "chunks")),
    Case("mps-1000", UNCLEAR, SOLVE1 + ["--no-save", "--mps", "L4=1000"], needles=("L4=1000",)),
    Case("mps-above-profiles", UNCLEAR, SOLVE1 + ["--no-save", "--mps", "L4=8"], needles=("--mps L4=8", "up to 4")),
    Case("gpus-per-server-huge", UNCLEAR, SOLVE1 + ["--no-save", "--gpus-per-server", "L4=1000000000"],
         needles=("L4=1000000000",)),
    Case("group-and-models", UNCLEAR, SOLVE1 + ["--no-save", "--group", "G2"], needles=("--models", "--group")),
    Case("check-unknown-gpu", UNCLEAR, ["check", "{plan}", "--data", "{zoo}", "--gpus", "ZZ:1"],
         needles=("unknown GPU type 'ZZ'",)),
    Case("infeasible-gpu-budget", UNCLEAR, ["solve", "--data", "{zoo}", "--models", "resnet50,mobilenet_v3_large",
                                            "--gpus", "L4:1", "--no-save"], rc=1, prefix="ppipe: infeasible:",
         needles=("GPU budget", "L4:1")),
    Case("infeasible-slo", UNCLEAR, SOLVE1 + ["--no-save", "--gpus", "P4:4", "--slo-multiplier", "0.2"], rc=1,
         prefix="ppipe: infeasible:", needles=("resnet50", "SLO", "--slo-multiplier 0.2")),
    Case("catalog-mps-zero", UNCLEAR, ["gpus", "--catalog", "{bad}/cat.json"], setup=_catalog(mps_levels=0),
         needles=("cat.json", "'X1'", "'mps_levels'")),
    Case("catalog-per-server-negative", UNCLEAR, ["gpus", "--catalog", "{bad}/cat.json"],
         setup=_catalog(gpus_per_server=-2), needles=("cat.json", "'gpus_per_server'")),
    *[Case(f"catalog-network-{name}", UNCLEAR, ["gpus", "--catalog", "{bad}/cat.json"],
           setup=_catalog(network_gbps=value), needles=("cat.json", "'network_gbps'"))
      for name, value in (("zero", 0), ("nan", float("nan")), ("inf", float("inf")))],
    Case("catalog-name-empty", UNCLEAR, ["gpus", "--catalog", "{bad}/cat.json"], setup=_catalog(name=""),
         needles=("cat.json", "field 'name'")),
    Case("catalog-name-climbs", UNCLEAR, ["gpus", "--catalog", "{bad}/cat.json"], setup=_catalog(name="../.."),
         needles=("cat.json", "field 'name'")),
    Case("profile-split-zero", UNCLEAR, ["models", "--data", "{bad}/prof"],
         setup=_profile(lambda d: d["latency_us"]["L4"].update({"0": d["latency_us"]["L4"]["1"]})),
         needles=("vgg16.profile.json", "latency_us.L4.0", "MPS split")),
    Case("profile-cut-negative", UNCLEAR, ["models", "--data", "{bad}/prof"],
         setup=_profile(lambda d: d["cut_bytes"].__setitem__(2, -5.0)), needles=("vgg16.profile.json",
                                                                                "cut_bytes[2]")),
    Case("profile-latency-zero", UNCLEAR, ["models", "--data", "{bad}/prof"],
         setup=_profile(lambda d: d["latency_us"]["T4"]["1"][3].__setitem__(0, 0.0)),
         needles=("vgg16.profile.json", "latency_us.T4.1", "chunk 3")),
    Case("estimate-mps-zero", UNCLEAR, EST + ["--mps", "T4:0", "-o", "{w}/o.json"], needles=("T4:0",)),
    Case("estimate-mps-unknown-gpu", UNCLEAR, EST + ["--mps", "ZZ:2", "-o", "{w}/o.json"], needles=("ZZ",)),
    Case("mixed-profile-sources", UNCLEAR, ["solve", "--models", f"{ART_MODEL},resnet50", "--gpus", "L4:4,T4:8",
                                            "--no-save"], rc=0, env={"PPIPE_ARTIFACT": "{art}"}, artifact=True,
         needles=("mixing profile sources", "resnet50 estimated", f"{ART_MODEL} measured")),
    Case("data-means-one-source", UNCLEAR, func=_data_means_one_source),
    Case("data-means-one-source-cli", UNCLEAR, ["solve", "--data", "{art}", "--models", "resnet50", "--gpus", "L4:2",
                                                "--no-save"], artifact=True, needles=("unknown model 'resnet50'",)),
    Case("short-trace-folds-to-load", UNCLEAR, func=_short_trace_rate),
    Case("no-save-with-output", UNCLEAR, SOLVE1 + ["--no-save", "-o", "{w}/p.json"], needles=("--no-save",)),
    Case("np-split-with-ppipe", UNCLEAR, SOLVE1 + ["--no-save", "--np-split", "{plan}"], needles=("--np-split",)),
    Case("burst-ratio-without-bursty", UNCLEAR, SIM + ["--lf", "50", "--burst-ratio", "3"],
         needles=("--burst-ratio", "--bursty")),
    Case("base-with-load", UNCLEAR, SIM + ["--load", "50", "--base", "{plan}"], needles=("--base",)),
    Case("replay-with-models", UNCLEAR, ["solve", "--replay", "{plan}", "--data", "{zoo}", "--models", "resnet50",
                                         "--no-save"], needles=("--replay", "--models")),
    Case("check-gpus-duplicate", UNCLEAR, ["check", "{plan}", "--data", "{zoo}", "--gpus", "L4:4,L4:8"],
         needles=("twice",)),
    Case("time-limit-negative", UNCLEAR, SOLVE1 + ["--no-save", "--time-limit", "-3"], needles=("--time-limit",)),
    # (session 20's audit)
    Case("size-nothing-offered", TRACEBACK, SIZE1 + ["--buy", "none"], needles=("no GPU types offered",)),
    Case("size-sweep-infinite", TRACEBACK, SIZE1 + ["--buy", "L4", "--sweep", "0.5:inf:1"],
         needles=("--sweep", "finite")),
    Case("slo-multiplier-overflows", TRACEBACK, SOLVE1 + ["--no-save", "--slo-multiplier", "1e308"],
         needles=("SLO multiplier", "at most 3600 s")),
    Case("size-max-parts-zero", UNCLEAR, SIZE1 + ["--buy", "L4", "-P", "0"], needles=("--max-parts", "got 0")),
    Case("size-max-parts-above-chunks", RUNAWAY, SIZE1 + ["--buy", "L4", "-P", "100"], sub={},
         needles=("--max-parts 100", "chunks")),
    Case("size-rate-too-high", UNCLEAR, ["size", "--data", "{zoo}", "-m", "resnet50", "-r", "2000000", "--buy", "L4",
                                         "--no-save"], needles=("target rate of model resnet50", "2e+06")),
    Case("gpu-count-fraction", UNCLEAR, SOLVE1 + ["--no-save", "--gpus", "L4:2.5"],
         needles=("'2.5' is not a whole number",)),
    Case("trace-words", UNCLEAR, SIM + ["--lf", "50", "--trace", "{bad}/t.csv"],
         setup=lambda w: _write(w / "bad" / "t.csv", "TIMESTAMP\nabc\nxyz\n"), needles=("t.csv", "malformed")),
    Case("trace-not-finite", UNCLEAR, SIM + ["--lf", "50", "--trace", "{bad}/t.csv"],
         setup=lambda w: _write(w / "bad" / "t.csv", "TIMESTAMP\nnan\ninf\n3\n"),
         needles=("t.csv", "2 of its 3 times are not finite")),
    Case("trace-folder", UNCLEAR, SIM + ["--lf", "50", "--trace", "{bad}/t.csv"], setup=_folder("bad/t.csv"),
         needles=("t.csv", "a folder")),
    *[Case(f"estimator-params-{key}", TRACEBACK, EST + ["--params", "{bad}/est.json", "-o", "{w}/vgg16.profile.json"],
           setup=_estimator_params(key, value), needles=("est.json", key))
      for key, value in (("gamma", "x"), ("tile", 0), ("eta_c", 0))],
    Case("estimate-o-other-name", UNCLEAR, EST + ["-o", "{w}/other.profile.json"],
         needles=("other.profile.json", "vgg16.profile.json")),
    Case("build-zoo-models-empty", UNCLEAR, ["profile", "build-zoo", "--models", "", "--out", "{w}/bz"],
         needles=("model list",)),
    Case("check-gpus-empty", UNCLEAR, ["check", "{plan}", "--data", "{zoo}", "--gpus", ""], needles=("GPU count",)),
    # an unset shell variable: ``--to "$DEST"`` was the current folder (28 profiles written there)
    Case("data-import-to-empty", DATA_LOSS, ["data", "import", "{zoo}", "--to", ""], needles=("--to is empty",)),
    Case("experiment-out-empty", DATA_LOSS, ["experiment", "ablation", "--out="], needles=("--out is empty",)),
    Case("show-plan-empty", UNCLEAR, ["show", ""], needles=("an argument is empty",)),
    Case("check-recorded-limits", UNCLEAR, ["check", "{bad}/plan.json", "--data", "{zoo}"], rc=1, stderr_line=False,
         setup=_plan_edit(_scale_gpus(10)), needles=("limit",)),
    # ---- cosmetic: usage errors are one line without a terminal
    Case("usage-unknown-option", COSMETIC, ["solve", "--foo"], needles=("No such option: --foo", "ppipe solve --help")),
    Case("usage-missing-argument", COSMETIC, ["simulate"], needles=("Missing argument",)),
    Case("usage-bad-int", COSMETIC, ["solve", "-P", "x"], needles=("--max-parts",)),
    Case("usage-unknown-command", COSMETIC, ["bogus"], needles=("No such command 'bogus'",)),
    Case("usage-subprocess", COSMETIC, ["solve", "--foo"], sub={}, needles=("No such option",)),
    Case("long-error-one-line", COSMETIC, ["solve", "--models", "nope-" + "x" * 200, "--gpus", "L4:1",
                                           "--data", "{zoo}"], needles=("unknown model",)),

    # ---- the plan reader and the shared parser
    Case("read-plan-deep", TRACEBACK, func=_read_plan_deep),
    Case("read-plan-nan", TRACEBACK, func=_read_plan_nan),
    Case("parse-kv-duplicates", UNCLEAR, func=_parse_kv_duplicates),
]

_IDS = [c.id for c in CASES]
assert len(set(_IDS)) == len(_IDS), "case ids must be unique"


def artifact_path() -> Optional[Path]:
    value = os.environ.get("PPIPE_ARTIFACT")
    path = Path(value) if value else DEFAULT_ARTIFACT
    return path if (path / "models" / "block-timing-tf32").is_dir() else None


# ------------------------------------------------------------------ pytest

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("bad-inputs-template"), artifact_path())


def _params():
    out = []
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: Case, template: Path, tmp_path: Path):
    if case.artifact and not (template / "art").is_dir():
        if os.environ.get("PPIPE_REQUIRE_ARTIFACT") == "1":
            pytest.fail("PPipe artifact data not found")
        pytest.skip("PPipe artifact data not found (set PPIPE_ARTIFACT)")
    found = evaluate(case, template, tmp_path)
    assert not found, "; ".join(found)


def test_catalogue_covers_every_category():
    assert {c.category for c in CASES} == set(CATEGORIES)


# ------------------------------------------------------------------ behaviours that need more than one run

def test_solve_reports_progress_without_a_terminal(monkeypatch, capsys):
    """No terminal: a long solve prints a plain line now and then (here: every loop, 0 s apart)."""
    import threading

    from ppipe.cli import background

    monkeypatch.setattr(background, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(background.err_console, "is_terminal", False, raising=False)
    printed = threading.Event()
    real_print = background.err_console.print

    def spy(*args, **kwargs):
        if args and str(args[0]).startswith("solving:"):
            printed.set()
        return real_print(*args, **kwargs)

    monkeypatch.setattr(background.err_console, "print", spy, raising=False)
    live = background.LiveStatus("building model")
    res, interrupted = background.run_in_background(lambda: printed.wait(30) and "done", live, threading.Event())
    assert res == "done" and not interrupted
    assert any(ln.startswith("solving: ") for ln in capsys.readouterr().err.splitlines())


def test_default_time_limit_is_said(monkeypatch, capsys):
    """Without --time-limit the solve stops at the default, and says which and how to change it."""
    from ppipe.cli import run, solve_cmds

    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    monkeypatch.setattr(solve_cmds, "DEFAULT_TIME_LIMIT_S", 1e-6)
    code = run(SOLVE1[:2] + [str(ZOO)] + SOLVE1[3:] + ["--no-save", "--json"])
    err = capsys.readouterr().err
    assert code in (0, 3) and "Traceback" not in err
    assert "default time limit" in err and "--time-limit none" in err


def test_time_limit_none_means_no_limit():
    from ppipe.cli.solve_cmds import DEFAULT_TIME_LIMIT_S, _time_limit

    assert _time_limit(None) == DEFAULT_TIME_LIMIT_S
    assert _time_limit("none") is None and _time_limit("0") is None and _time_limit("12.5") == 12.5


def test_debug_shows_the_traceback(capsys):
    from ppipe.cli import run
    from ppipe.errors import InputError

    with pytest.raises(InputError):
        run(["--debug", "solve", "--models", "resnet50", "--gpus", "L4:1", "-P", "0", "--data", str(ZOO)])


def test_an_unexpected_error_is_one_line(monkeypatch, capsys):
    """A bug is still one line (exit 70), with the traceback only under --debug."""
    from ppipe.cli import run
    from ppipe.errors import ExitCode

    def boom(*a, **k):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr("ppipe.planning.request.build_cluster", boom)
    code = run(["solve", "--models", "resnet50", "--gpus", "L4:1", "--data", str(ZOO), "--no-save"])
    err = capsys.readouterr().err
    assert code == ExitCode.INTERNAL and err.count("\n") == 1 and "Traceback" not in err
    assert "internal error" in err and "ZeroDivisionError" in err and "--debug" in err


@pytest.mark.parametrize("argv,expected", [
    (["solve", "--group", "G1", "-o", ""], "--output"),
    (["solve", "--group="], None),  # not a path: its own check says what is wrong
    (["data", "import", "src", "--to", ""], "--to"),
    (["experiment", "ablation", "-o", ""], "--out"),
    (["solve", "--json", ""], "an argument"),  # a flag takes no value: the "" is a positional
    (["show", ""], "an argument"),
    (["show", "--", ""], "an argument"),
    (["show", "--data", "--", ""], "an argument"),  # the "" after -- is the plan, not --data's value
    (["show", "", "--data", "d"], "an argument"),
    (["simulate", "p.json", "--log="], "--log"),
    # empty non-path values mean "none" on purpose; click names a flag given = or an unknown option
    (["size", "--own", "", "--price", ""], None),
    (["solve", "--weights", ""], None),
    (["solve", "--no-save="], None),
    (["solve", "--nosuch="], None),
    (["solve", "--group", "G1", "--", "-x"], None),
    (["solve", "--group", "G1", "-g", "L4:2"], None),
    (["solve", "--weights", "1,1", "--no-save"], None),
])
def test_an_empty_argument_is_named(argv, expected):
    """Which option an empty value belongs to, by its long name, as the error gives it."""
    from ppipe.cli import _empty_argument

    assert _empty_argument(argv) == expected
