"""Atomic file writes: a crash never leaves a half-written file behind, and a write never
replaces what is not a regular file (a device, a FIFO, a symlink)."""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask (read by setting it and putting it back, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _target_mode(path: Path) -> int:
    """The mode a plain ``open(path, "w")`` leaves: an existing file keeps its own,
    a new one gets 0666 less the umask (``mkstemp`` alone would give 0600)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _resolve_target(path: Path) -> Path:
    """The file a write to ``path`` should change: a symlink's final target (so the link
    stays a link and points at the new contents), else ``path`` itself."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def writes_through(path: str | os.PathLike) -> bool:
    """Whether ``path`` is something other than a regular file or a folder, such as a
    device (``/dev/null``), a FIFO or a socket: it is written in place, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, TypeError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same directory + rename, so a
    crash never leaves a half-written file.

    - The file gets the mode a plain ``open()`` would give it (the user's umask, or the
      replaced file's mode), not ``mkstemp``'s private 0600.
    - ``-`` writes to standard output.
    - A device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a named pipe) is written
      through, never replaced by a regular file.
    - A symlink is followed: its target gets the new contents, the link stays.
    """
    if os.fspath(path) == "-":
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a text-only stream (captured output)
            sys.stdout.write(data.decode("utf-8", errors="surrogateescape"))
        else:
            sys.stdout.flush()
            buffer.write(data)
            buffer.flush()
        return Path("-")
    path = _resolve_target(Path(path))
    if writes_through(path):
        with open(path, "wb") as fh:
            fh.write(data)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _target_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """:func:`write_bytes_atomic` of ``text`` in UTF-8."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=indent))
