"""The ``ppipe-tui`` console script's entry point.

Why a module of its own: importing the app (Textual, the screens) takes a few tenths of a
second, before :func:`ppipe_tui.app.main` can catch anything. A Ctrl-C there ended with
Python's traceback; here it ends with one line and exit 130, as one later does.
"""

from __future__ import annotations

import sys

from ppipe.errors import ExitCode


def main() -> None:
    try:
        from ppipe_tui.app import main as app_main
    except KeyboardInterrupt:
        print("ppipe-tui: interrupted", file=sys.stderr)
        sys.exit(ExitCode.CANCELLED)
    app_main()
