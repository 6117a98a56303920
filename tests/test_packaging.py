"""Packaging: the shipped data is package data (``ppipe.data``) and reaches every install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from ppipe.paths import SHIPPED_DATA, SHIPPED_GPU_CATALOG, SHIPPED_PROFILES

REPO = Path(__file__).resolve().parent.parent
#: What a build needs from the checkout (copied, so building never writes into it).
BUILD_INPUTS = ("pyproject.toml", "README.md", "MANIFEST.in", "ppipe", "ppipe_tui", "data")


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _data_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_console_scripts_run_through_the_entry_modules():
    """The installed ``ppipe`` and ``ppipe-tui`` start at the modules that catch a Ctrl-C
    while the CLI or the app is still importing (tests/test_cli_solve.py interrupts them)."""
    assert _pyproject()["project"]["scripts"] == {"ppipe": "ppipe.console:main",
                                                  "ppipe-tui": "ppipe_tui.console:main"}
    proc = subprocess.run([sys.executable, "-c", "from ppipe.console import main; main()", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("ppipe "), (proc.stdout, proc.stderr)


def test_shipped_data_is_reachable():
    assert SHIPPED_DATA.is_dir()
    assert SHIPPED_GPU_CATALOG.is_file()
    assert (SHIPPED_DATA / "estimator.json").is_file()
    assert len(list(SHIPPED_PROFILES.glob("*.profile.json"))) >= 20
    assert list((SHIPPED_DATA / "graphs").glob("*.graph.json.gz"))


def test_every_package_and_data_folder_is_packaged():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    code = {
        ".".join(p.parent.relative_to(REPO).parts)
        for top in ("ppipe", "ppipe_tui")
        for p in (REPO / top).rglob("__init__.py")
    }
    data = {"ppipe.data"} | {
        "ppipe.data." + ".".join(d.relative_to(REPO / "data").parts)
        for d in (REPO / "data").rglob("*")
        if d.is_dir() and "__pycache__" not in d.parts
    }
    assert code | data == listed


def _build(tmp_path: Path, kind: str, src: Path) -> Path:
    """Build with setuptools' PEP 517 backend, offline (no isolation, no index)."""
    out = tmp_path / "dist"
    out.mkdir(exist_ok=True)
    code = f"from setuptools import build_meta as b; print(b.build_{kind}({str(out)!r}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return out / proc.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_sdist_and_wheel_carry_the_shipped_data(tmp_path):
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} < 77 (pip install -e '.[test]')")
    src = tmp_path / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, src / name)
    shipped = _data_files(REPO / "data")
    assert "gpus.json" in shipped

    # The sdist holds data/ as in the repository ...
    sdist = _build(tmp_path, "sdist", src)
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        in_sdist = {n.split("/", 2)[2] for n in names if n.startswith(f"{top}/data/") and tar.getmember(n).isfile()}
        assert in_sdist == shipped
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(tmp_path / "unpacked", **safe)

    # ... and a wheel built from that sdist (as pip does) installs it as ppipe/data.
    wheel = _build(tmp_path, "wheel", tmp_path / "unpacked" / top)
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
    in_wheel = {n.removeprefix("ppipe/data/") for n in names if n.startswith("ppipe/data/")}
    assert in_wheel == shipped
    assert "ppipe/data/gpus.json" in names
    assert "ppipe/data/profiles/resnet50.profile.json" in names
    assert "ppipe_tui/app.tcss" in names
    assert "ppipe/paths.py" in names and "ppipe_tui/app.py" in names
