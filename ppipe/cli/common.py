"""Shared CLI plumbing: stderr console, JSON output, data-store options, errors."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from ppipe.errors import InputError

#: Diagnostics and progress go to stderr; data goes to stdout.
err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)

DataOption = typer.Option(None, "--data", help="Profile data folder (artifact layout or ppipe profiles); default: $PPIPE_ARTIFACT, then user and shipped profiles.")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _clean(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")
    sys.stdout.flush()


def open_store(data: Optional[Path]):
    from ppipe.profiles import ProfileStore

    return ProfileStore.open(data)


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
        try:
            out[name.strip()] = cast(raw.strip())
        except ValueError:
            raise InputError(f"malformed {what} {item!r}: {raw!r} is not a valid number") from None
    return out
