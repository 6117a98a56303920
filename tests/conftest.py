"""Shared fixtures. Artifact-backed tests skip when the data is absent, and fail
instead when ``PPIPE_REQUIRE_ARTIFACT=1`` (as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ARTIFACT = REPO.parent / "shared" / "ppipe-artifact"


def _artifact_path() -> Path | None:
    value = os.environ.get("PPIPE_ARTIFACT")
    path = Path(value) if value else DEFAULT_ARTIFACT
    return path if (path / "models" / "block-timing-tf32").is_dir() else None


@pytest.fixture(scope="session")
def artifact_dir() -> Path:
    path = _artifact_path()
    if path is None:
        msg = "PPipe artifact data not found (set PPIPE_ARTIFACT to ../shared/ppipe-artifact)"
        if os.environ.get("PPIPE_REQUIRE_ARTIFACT") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def store(artifact_dir):
    from ppipe.profiles.store import ProfileStore

    return ProfileStore.open(artifact_dir)


@pytest.fixture(scope="session")
def maf19_plans(artifact_dir) -> list[Path]:
    return sorted((artifact_dir / "plans" / "maf19").glob("*.json"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Never read or write the developer's own ~/.local/share/ppipe in tests."""
    monkeypatch.setenv("PPIPE_HOME", str(tmp_path_factory.getbasetemp() / "ppipe-home"))


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """The TUI's demo profiles (bundled, no artifact), written once per test module."""
    from ppipe_tui.demo import write_demo_profiles

    return write_demo_profiles(tmp_path_factory.mktemp("tui-data") / "profiles")


@pytest.fixture
def plans_dir(tmp_path):
    d = tmp_path / "plans"
    d.mkdir()
    return d
