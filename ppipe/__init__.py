"""ppipe: plan and simulate pool-based pipeline-parallel DNN inference serving.

The core library never imports a UI package (textual, typer, rich, plotext);
the CLI lives in :mod:`ppipe.cli` and the TUI in :mod:`ppipe_tui`.
"""

__version__ = "0.1.0"

from ppipe.errors import ExitCode, PPipeError  # noqa: E402

__all__ = ["ExitCode", "PPipeError", "__version__"]
