"""Optional compilation of the event loop with numba.

The simulator's hot loop (:mod:`ppipe.sim.kernel`) is written in the subset of
Python that numba compiles: integer scalars and numpy arrays, no objects. When
numba is installed the loop is compiled (and cached on disk, so only the first
run pays for compilation); without it the very same functions run as plain
Python, slower but with bit-identical results, because every quantity is an
integer number of microseconds.

Set ``PPIPE_NO_JIT=1`` to force the plain-Python path (tests use it to check
that both paths agree).
"""

from __future__ import annotations

import os

try:  # pragma: no cover - depends on the environment
    if os.environ.get("PPIPE_NO_JIT") == "1":
        raise ImportError("disabled by PPIPE_NO_JIT")
    import numba as _numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None
    HAVE_NUMBA = False


def njit(fn):
    """Compile ``fn`` with numba (no Python objects, cached) when available."""
    if _numba is None:
        return fn
    return _numba.njit(cache=True, nogil=True)(fn)
