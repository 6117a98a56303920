"""Compilation of the simulator's event loop, chosen on first use.

The hot loop (:mod:`ppipe.sim.kernel`) is written in the subset of Python that
numba compiles: integer scalars and ``int64`` numpy arrays, no objects. Every
quantity is an integer number of microseconds, so all three ways of running it
give bit-identical results:

``aot``
    An extension module compiled ahead of time from ``kernel.py`` with
    ``numba.pycc`` and cached on disk (next to the numba cache, or in
    ``$XDG_CACHE_HOME/ppipe``). Loading it takes about a millisecond and does
    not import numba -- importing numba and initialising its JIT costs ~0.4 s
    per process, six times the simulation of a 30 s run. Built on first use
    when missing (about 10 s, once per version of ``kernel.py``); needs numba
    and a C compiler then, nothing at run time. Its functions release the GIL.
``numba``
    ``numba.njit(cache=True, nogil=True)``: the fallback when the extension
    cannot be built (no C compiler, read-only cache, pycc gone).
``python``
    The plain functions (~7,000 requests per wall second): without numba.

Nothing is imported or compiled until a kernel function is first called:
importing :mod:`ppipe.sim.kernel` (its constants are used by the metrics and
the layout) stays cheap. ``PPIPE_KERNEL=aot|numba|python`` forces a backend
(``aot`` still falls back to ``numba`` when it cannot be built);
``PPIPE_NO_JIT=1`` means ``python`` (the tests compare the paths).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Callable

BACKENDS = ("aot", "numba", "python")
#: Bump when the way the extension is built changes (invalidates built modules).
AOT_RECIPE = 1
_AOT_PREFIX = "ppipe_kernel_"


def _requested() -> str:
    if os.environ.get("PPIPE_NO_JIT") == "1":
        return "python"
    value = os.environ.get("PPIPE_KERNEL", "").strip().lower()
    return value if value in BACKENDS else "aot"


#: numba is installed and not disabled (a compiled path exists). Found without importing it.
HAVE_NUMBA = _requested() != "python" and importlib.util.find_spec("numba") is not None


class KernelFunction:
    """A kernel function; the first call of any function of its module binds the
    whole module to one backend (module globals are replaced by the compiled
    functions, so compiled code calls compiled code)."""

    def __init__(self, fn: Callable, aot: str | None):
        self.py_func = fn
        self.aot_signature = aot
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __call__(self, *args):
        return bind(self.__module__).functions[self.__name__](*args)

    def __repr__(self) -> str:
        return f"<kernel function {self.__module__}.{self.__name__}>"


def njit(fn: Callable | None = None, *, aot: str | None = None):
    """Mark ``fn`` as a kernel function; ``aot`` (a numba signature such as
    ``"int64(int64, int64[:, ::1])"``) exports it from the compiled extension,
    for functions called from Python. Usable as ``@njit`` or ``@njit(aot=...)``."""
    if fn is None:
        return lambda f: njit(f, aot=aot)
    kf = KernelFunction(fn, aot)
    _REGISTERED.setdefault(fn.__module__, []).append(kf)
    return kf


class Bound:
    """How a kernel module runs: ``backend`` and its callables by name."""

    def __init__(self, backend: str, functions: dict[str, Callable], note: str = ""):
        self.backend = backend
        self.functions = functions
        self.note = note


_REGISTERED: dict[str, list[KernelFunction]] = {}
_BOUND: dict[str, Bound] = {}
_LOCK = threading.RLock()


def backend(module: str = "ppipe.sim.kernel") -> str:
    """The backend the module runs on (binds it: may build or compile)."""
    return bind(module).backend


def bind(module: str) -> Bound:
    bound = _BOUND.get(module)
    if bound is not None:
        return bound
    with _LOCK:
        bound = _BOUND.get(module)
        if bound is None:
            bound = _bind(module)
            mod = sys.modules[module]
            for name, f in bound.functions.items():
                setattr(mod, name, f)
            _BOUND[module] = bound
    return bound


def _bind(module: str) -> Bound:
    kfs = _REGISTERED[module]
    want = _requested()
    note = ""
    if want == "aot":
        try:
            return _bind_aot(module, kfs)
        except Exception as exc:  # noqa: BLE001 - any failure: the JIT still gives the same results
            note = f"compiled extension unavailable ({type(exc).__name__}: {exc})"
        want = "numba"
    if want == "numba" and importlib.util.find_spec("numba") is not None:
        return Bound("numba", _numba_functions(kfs), note)
    return Bound("python", {k.__name__: k.py_func for k in kfs}, note or "numba not installed")


def _numba_functions(kfs: list[KernelFunction]) -> dict[str, Callable]:
    import numba

    funcs = {k.__name__: numba.njit(cache=True, nogil=True)(k.py_func) for k in kfs}
    # numba resolves callees through the module globals: make them dispatchers first.
    glb = kfs[0].py_func.__globals__
    glb.update(funcs)
    return funcs


# ------------------------------------------------------------ the extension

def _split_args(sig: str) -> tuple[str, list[str]]:
    ret, _, rest = sig.partition("(")
    args, depth, cur = [], 0, ""
    for ch in rest.rstrip()[:-1]:
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        depth += (ch == "[") - (ch == "]")
        cur += ch
    if cur.strip():
        args.append(cur.strip())
    return ret.strip(), args


def _arg_ndims(sig: str) -> tuple[int, ...]:
    """0 for an int64 scalar, n for a C-contiguous int64 array of n dimensions."""
    out = []
    for a in _split_args(sig)[1]:
        base, _, dims = a.partition("[")
        if base not in ("int64", "i8"):
            raise ValueError(f"kernel exports take int64 scalars and arrays only, not {a!r}")
        if dims and not dims.replace(" ", "").endswith("::1]"):
            raise ValueError(f"kernel export arrays must be C-contiguous ('::1'), not {a!r}")
        out.append(dims.count(",") + 1 if dims else 0)
    return tuple(out)


def _aot_key(module: str, kfs: list[KernelFunction]) -> str:
    import hashlib

    import numpy as np

    src = Path(sys.modules[module].__file__).read_bytes()
    h = hashlib.sha256(src)
    for part in (module, str(AOT_RECIPE), np.__version__, sys.version, _ext_suffix(),  # (platform, ABI)
                 *(f"{k.__name__}:{k.aot_signature}" for k in kfs if k.aot_signature)):
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:16]


def _cache_dirs(module: str) -> list[Path]:
    here = Path(sys.modules[module].__file__).resolve().parent / "__pycache__"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return [here, Path(base) / "ppipe"]


def _ext_suffix() -> str:
    import importlib.machinery

    return importlib.machinery.EXTENSION_SUFFIXES[0]


def _load_ext(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _bind_aot(module: str, kfs: list[KernelFunction]) -> Bound:
    exports = [k for k in kfs if k.aot_signature]
    if not exports:
        raise RuntimeError("no exported kernel functions")
    name = _AOT_PREFIX + _aot_key(module, kfs)
    file = name + _ext_suffix()
    dirs = _cache_dirs(module)
    path = next((d / file for d in dirs if (d / file).is_file()), None)
    if path is None:
        path = _build_locked(module, kfs, exports, name, file, dirs)
    ext = _load_ext(name, path)
    funcs = {k.__name__: k.py_func for k in kfs}  # anything not exported: plain Python (unused)
    glb = kfs[0].py_func.__globals__
    for k in kfs:
        glb[k.__name__] = k.py_func
    for k in exports:
        funcs[k.__name__] = _checked(getattr(ext, k.__name__), k.py_func, _arg_ndims(k.aot_signature))
    return Bound("aot", funcs)


def _checked(fast: Callable, slow: Callable, ndims: tuple[int, ...]) -> Callable:
    """The compiled function behind a type check: the extension trusts its
    arguments (a wrong dtype or layout would corrupt memory), so anything else
    than int64 scalars and C-contiguous int64 arrays of the declared shapes
    runs the plain-Python function instead (same results, slower)."""
    import numpy as np

    i64 = np.dtype(np.int64)
    ndarray, integer = np.ndarray, (int, np.integer)
    n = len(ndims)

    def call(*args):
        if len(args) == n:
            for a, nd in zip(args, ndims):
                if nd:
                    if (type(a) is not ndarray or a.dtype != i64 or a.ndim != nd
                            or not a.flags.c_contiguous or not a.flags.writeable):
                        break
                elif not isinstance(a, integer) or isinstance(a, bool) or not -(1 << 63) <= a < (1 << 63):
                    break
            else:
                return fast(*args)
        return slow(*args)

    call.__name__ = slow.__name__
    call.__doc__ = slow.__doc__
    call.__wrapped__ = slow
    return call


#: A failed build is not retried for this long (a missing compiler stays missing for a
#: while; a fixed machine gets its fast kernel back the next day, or at once by deleting
#: the ``.failed`` marker).
FAILED_RETRY_S = 24 * 3600


def _recent_failure(marker: Path) -> bool:
    """Whether ``marker`` records a failure recent enough to skip building; an old one is removed."""
    import time

    try:
        age = time.time() - marker.stat().st_mtime
    except OSError:
        return False
    if age < FAILED_RETRY_S:
        return True
    try:
        marker.unlink()
    except OSError:
        pass
    return False


def _transient(exc: BaseException) -> bool:
    """A failure that says nothing about the next try: no space, quota, interruption, memory."""
    import errno

    if isinstance(exc, MemoryError):
        return True
    codes = {errno.ENOSPC, errno.EDQUOT, errno.EINTR, errno.EAGAIN, errno.ENOMEM}
    for _ in range(16):  # the exception and what caused it
        if exc is None:
            break
        if isinstance(exc, OSError) and exc.errno in codes:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _build_locked(module, kfs, exports, name, file, dirs) -> Path:
    errors = []
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            lock = open(d / (_AOT_PREFIX + "build.lock"), "a+")
        except OSError as exc:
            errors.append(f"{d}: {exc}")
            continue
        with lock:
            try:
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the others wait and load its result
            except ImportError:  # pragma: no cover - not POSIX
                pass
            if (d / file).is_file():
                return d / file
            for stale in d.glob(".build-*"):  # left by a builder that was killed (we hold the lock)
                import shutil

                shutil.rmtree(stale, ignore_errors=True)
            failed = d / (name + ".failed")
            if _recent_failure(failed):
                raise RuntimeError(f"an earlier build failed (see {failed}; delete it to retry now, or it is "
                                   f"retried {FAILED_RETRY_S // 3600} h after the failure)")
            try:
                _build(module, kfs, exports, name, d)
            except Exception as exc:
                if not _transient(exc):  # a full disk or an interrupted run: try again next time
                    try:
                        failed.write_text(f"{type(exc).__name__}: {exc}\n")
                    except OSError:
                        pass
                raise
            if d == dirs[0]:  # the package's own cache: older builds are this checkout's
                _remove_stale(d, name)
            return d / file
    raise RuntimeError("no writable cache folder: " + "; ".join(errors))


def _build(module, kfs, exports, name, dest: Path) -> None:
    """Compile the exported functions (and what they call) into ``dest/name.<ext>``."""
    import contextlib
    import shutil
    import tempfile
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import numba.pycc.compiler as pycc_compiler
        from numba.pycc import CC

    _numba_functions(kfs)  # callees must be numba dispatchers while compiling
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=dest))
    flags_cls = pycc_compiler.Flags

    class _ReleaseGil(flags_cls):  # the exported wrappers release the GIL, like nogil=True
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.release_gil = True

    try:
        cc = CC(name)
        cc.output_dir = str(tmp)
        cc.verbose = False
        for k in exports:
            cc.export(k.__name__, k.aot_signature)(k.py_func)
        pycc_compiler.Flags = _ReleaseGil
        # The C compiler writes to the inherited stdout and stderr: keep it off the user's
        # (``--json``, one-line errors) and in a log whose tail a failure reports.
        log = tmp / "build.log"
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
                warnings.simplefilter("ignore")
                try:
                    cc.compile()
                except Exception as exc:
                    raise RuntimeError(f"{type(exc).__name__}: {exc}; {_tail(log)}") from None
        finally:
            for fd, orig in zip((1, 2), saved):
                os.dup2(orig, fd)
                os.close(orig)
            os.close(log_fd)
        built = tmp / (name + _ext_suffix())
        if not built.is_file():
            raise RuntimeError(f"pycc did not produce {built.name}; {_tail(log)}")
        os.replace(built, dest / built.name)
    finally:
        pycc_compiler.Flags = flags_cls
        shutil.rmtree(tmp, ignore_errors=True)


def _tail(log: Path, lines: int = 3) -> str:
    """The compiler's last words, for an error message."""
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no compiler output"
    return "compiler said: " + " | ".join(text[-lines:]) if text else "no compiler output"


def _remove_stale(d: Path, keep: str) -> None:
    for p in d.glob(_AOT_PREFIX + "*"):
        if not p.name.startswith(keep) and not p.name.endswith(".lock"):
            try:
                p.unlink()
            except OSError:
                pass
