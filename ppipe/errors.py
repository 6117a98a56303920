"""One exception type for every user-facing failure.

The CLI and TUI turn a :class:`PPipeError` into a one-line message and a
non-zero exit code (or an error dialog); anything else is a bug and shows a
traceback only with ``--debug``.
"""

from __future__ import annotations


class PPipeError(Exception):
    """A problem with the user's input or data, described in one line."""

    exit_code = 2


class DataError(PPipeError):
    """A missing or malformed data file (profile, catalog, plan, trace)."""


class InputError(PPipeError):
    """A bad command-line or API argument (unknown model/GPU, malformed spec)."""


class SolverError(PPipeError):
    """The MILP backend failed or is unavailable."""
