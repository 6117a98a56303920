"""The core library and the CLI never import the TUI stack (Harlequin's rule)."""

import subprocess
import sys

UI = ("textual", "plotext", "textual_plotext")


def _loaded(module: str) -> set[str]:
    code = (f"import sys, {module}\n"
            "print('\\n'.join(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_imports_no_ui():
    core = ("ppipe, ppipe.plan, ppipe.profiles, ppipe.artifact, ppipe.gpus")
    loaded = _loaded(core)
    for pkg in UI + ("typer", "rich"):
        assert pkg not in loaded, f"the core imports {pkg}"


def test_cli_imports_no_textual():
    loaded = _loaded("ppipe.cli")
    for pkg in UI:
        assert pkg not in loaded, f"the CLI imports {pkg}"
