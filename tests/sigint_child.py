"""Child processes a test interrupts with SIGINT, as a terminal's Ctrl-C would.

A test run started in the background (``pytest ... &`` in a script, under nohup, on some
CI runners) ignores SIGINT, and its children inherit that: such a child never sees the
signal, and the test waits out its timeout and fails. The child turns Python's
KeyboardInterrupt back on first, so the test holds however it is launched."""

import sys

#: Python code to run first in a ``python -c`` child.
RESTORE_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"

#: ``ppipe`` as a child process that Ctrl-C reaches.
CLI = [sys.executable, "-c", RESTORE_SIGINT + "import sys; from ppipe.cli import main; sys.argv[0] = 'ppipe'; main()"]
