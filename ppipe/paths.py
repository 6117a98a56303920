"""Where ppipe finds data: the shipped ``data/`` folder, user folders, the artifact."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's ``data/`` folder (the project is installed editable).
SHIPPED_DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED_PROFILES = SHIPPED_DATA / "profiles"
SHIPPED_GPU_CATALOG = SHIPPED_DATA / "gpus.json"
#: Default folder for saved plans, relative to the working directory.
DEFAULT_PLAN_DIR = Path("saved_plans")


def user_data_dir() -> Path:
    """The user's own profile/catalog folder (``$PPIPE_HOME`` or XDG data home)."""
    if os.environ.get("PPIPE_HOME"):
        return Path(os.environ["PPIPE_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ppipe"


def artifact_dir() -> Path | None:
    """The artifact data folder named by ``$PPIPE_ARTIFACT``, if any."""
    value = os.environ.get("PPIPE_ARTIFACT")
    return Path(value).expanduser() if value else None
