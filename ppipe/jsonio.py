"""Reading JSON data files with one-line errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ppipe.errors import DataError


def read_json(path: str | Path, what: str) -> Any:
    """Parse ``path``; a missing or malformed file raises :class:`DataError` naming it."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: {what} file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
