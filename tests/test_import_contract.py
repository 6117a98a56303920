"""The core library never imports a UI stack, and the CLI never imports the TUI's
(Harlequin's rule). Every core module is imported, so a new module is covered
the day it is added; import-linter (``.ci/run``) checks the layers between rooms."""

import pkgutil
import subprocess
import sys

import ppipe

UI = ("textual", "plotext", "textual_plotext")


def core_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(ppipe.__path__, "ppipe.")]
    return ["ppipe"] + sorted(n for n in names if not n.startswith("ppipe.cli"))


def _loaded(modules: list[str]) -> set[str]:
    code = (f"import sys\nfor m in {modules!r}:\n    __import__(m)\n"
            "print('\\n'.join(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_every_core_module_is_listed():
    mods = core_modules()
    for room in ("ppipe.catalog", "ppipe.profiles", "ppipe.partition", "ppipe.zoo", "ppipe.planning",
                 "ppipe.planfile", "ppipe.sim", "ppipe.experiments"):
        assert room in mods
    assert "ppipe.planning.solve" in mods and "ppipe.sim.engine" in mods


def test_core_imports_no_ui():
    loaded = _loaded(core_modules())
    for pkg in UI + ("typer", "rich", "torch"):
        assert pkg not in loaded, f"the core imports {pkg}"


def test_cli_imports_no_textual():
    loaded = _loaded(["ppipe.cli"])
    for pkg in UI:
        assert pkg not in loaded, f"the CLI imports {pkg}"
