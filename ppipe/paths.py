"""Where ppipe finds data: the shipped data, user folders, the artifact.

The shipped data lives in the repository's top-level ``data/`` folder and is
installed as the package data ``ppipe.data`` (``pyproject.toml`` maps the one to
the other), so a wheel or ``pip install .`` carries the GPU catalog, the model
zoo and the estimator. ``SHIPPED_DATA`` is that folder as a real filesystem path
in every unzipped install: ``importlib.resources`` finds it in a wheel install;
in an editable install (or a bare checkout on ``sys.path``) it is the
repository's ``data/`` itself.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

#: The package the shipped data is installed as.
DATA_PACKAGE = "ppipe.data"
#: A file every copy of the shipped data has (used to anchor the folder).
_ANCHOR = "gpus.json"


def _shipped_data() -> Path:
    try:
        root = resources.files(DATA_PACKAGE)
    except ModuleNotFoundError:
        # Editable install or bare checkout: setuptools' editable finder does not
        # resolve a data package mapped from outside its parent's folder.
        root = None
    if root is not None:
        # ``ppipe.data`` has no ``__init__.py``: files() gives a multiplexed path
        # over real folders on some Pythons, a ``Path`` on others.
        anchor = root.joinpath(_ANCHOR)
        if isinstance(anchor, Path) and anchor.is_file():
            return anchor.parent
    return Path(__file__).resolve().parent.parent / "data"


#: The shipped data folder (``data/`` in the repository, ``ppipe/data`` when installed).
SHIPPED_DATA = _shipped_data()
SHIPPED_PROFILES = SHIPPED_DATA / "profiles"
SHIPPED_GPU_CATALOG = SHIPPED_DATA / "gpus.json"
#: Default folder for saved plans, relative to the working directory.
DEFAULT_PLAN_DIR = Path("saved_plans")


def expand_user(value: str | os.PathLike) -> Path:
    """``Path(value).expanduser()``, failing with one line where ``~name`` names no user
    (pathlib raises a bare RuntimeError there)."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        from ppipe.errors import InputError

        raise InputError(f"{value}: cannot expand '~' (no such user, or no home folder)") from None


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
