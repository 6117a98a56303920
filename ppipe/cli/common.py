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
from ppipe.textparse import parse_csv_list, parse_kv  # noqa: F401  (the CLI's parsers)

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
    from ppipe.profiles.store import ProfileStore

    return ProfileStore.open(data)
