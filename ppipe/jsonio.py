"""Reading JSON data files with one-line errors that name the file, and checking the names
read from them (or typed) that become file names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ppipe.errors import DataError


def read_bytes(path: str | Path, what: str, limit: int | None = None) -> bytes:
    """The bytes of ``path`` (at most ``limit + 1`` when a limit is given, so a caller can
    tell an oversized file); a missing or unreadable file (a folder, no permission, a loop
    of links) raises :class:`DataError` naming it."""
    try:
        with open(path, "rb") as fh:
            return fh.read() if limit is None else fh.read(limit + 1)
    except FileNotFoundError:
        raise DataError(f"{path}: {what} file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: {what} file is a folder (a directory), not a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} file ({exc.strerror or exc.__class__.__name__})") from None


def read_text(path: str | Path, what: str) -> str:
    """The text of ``path``; a missing, unreadable or non-UTF-8 (binary) file raises
    :class:`DataError` naming it."""
    try:
        return read_bytes(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: {what} file is not text (binary or not UTF-8)") from None


def read_json(path: str | Path, what: str) -> Any:
    """Parse ``path``; a missing, unreadable or malformed file raises :class:`DataError` naming it."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise DataError(f"{path}: {what} nested too deeply to read") from None


#: Characters a name that becomes part of a file name, or of a ``NAME:VALUE`` flag, may not hold.
_BAD_NAME_CHARS = set('/\\\0:,=') | {chr(c) for c in range(32)}
MAX_NAME_LENGTH = 200


def check_name(name: object, what: str, where: str = "", error: type[Exception] = DataError) -> str:
    """``name`` if it is safe as one path component: a non-empty string without ``/``, ``\\``,
    ``:``, ``,``, ``=`` or control characters, not ``..`` and not starting with a dot (a hidden
    file); else ``error`` naming ``where`` (a file and field, or a flag) and the value."""
    prefix = f"{where}: " if where else ""
    if not isinstance(name, str) or not name.strip():
        raise error(f"{prefix}{what} must be a non-empty name, got {name!r}")
    bad = sorted({c for c in name if c in _BAD_NAME_CHARS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise error(f"{prefix}{what} {name!r} may not contain {shown} (it becomes a file name)")
    if name.startswith("."):
        raise error(f"{prefix}{what} {name!r} may not start with a dot (it becomes a file name)")
    if name != name.strip():
        raise error(f"{prefix}{what} {name!r} may not start or end with a space")
    if len(name) > MAX_NAME_LENGTH:
        raise error(f"{prefix}{what} is {len(name)} characters long (at most {MAX_NAME_LENGTH})")
    return name
