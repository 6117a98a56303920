"""Parsing of the short text forms users type: ``a,b,c`` and ``L4:25,T4:75``.

Shared by the CLI's flags and the TUI's fields, so both accept and reject
exactly the same input with the same one-line message.
"""

from __future__ import annotations

from typing import Any

from ppipe.errors import InputError


def parse_csv_list(value: str | None, what: str) -> list[str]:
    if value is None:
        return []
    items = [v.strip() for v in value.split(",")]
    if not value.strip() or any(not v for v in items):
        raise InputError(f"malformed {what} list {value!r}: expected comma-separated values")
    return items


def parse_kv(value: str | None, what: str, cast=int) -> dict[str, Any]:
    """``A:1,B:2`` or ``A=1,B=2`` -> {"A": 1, "B": 2}."""
    out: dict[str, Any] = {}
    for item in parse_csv_list(value, what):
        sep = ":" if ":" in item else "="
        name, _, raw = item.partition(sep)
        if not name or not raw:
            raise InputError(f"malformed {what} {item!r}: expected NAME:VALUE")
        if name.strip() in out:
            raise InputError(f"{what} for {name.strip()!r} is given twice in {value!r}")
        try:
            out[name.strip()] = cast(raw.strip())
        except ValueError:
            kind = "a whole number" if cast is int else "a number"
            raise InputError(f"malformed {what} {item!r}: {raw.strip()!r} is not {kind}") from None
    return out
