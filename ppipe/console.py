"""The ``ppipe`` console script's entry point.

Why a module of its own: importing the CLI (typer, click, rich) takes the first tenth of a
second, outside the ``try`` of :func:`ppipe.cli.run`. A Ctrl-C there ended with Python's
traceback; here it ends like one during a command, with one line and exit 130
(``--debug`` keeps the traceback).
"""

from __future__ import annotations

import sys

from ppipe.errors import ExitCode


def main() -> None:
    try:
        from ppipe.cli import run
    except KeyboardInterrupt:
        if "--debug" in sys.argv[1:]:
            raise
        print("ppipe: interrupted", file=sys.stderr)
        sys.exit(ExitCode.CANCELLED)
    sys.exit(run())
