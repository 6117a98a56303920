"""One exception type for every user-facing failure, and the exit codes.

The CLI and TUI turn a :class:`PPipeError` into a one-line message and a
non-zero exit code (or an error dialog); anything else is a bug and shows a
traceback only with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What ``ppipe`` exits with; every command uses these names."""

    #: Done.
    OK = 0
    #: The command ran, and the answer is no: an infeasible problem, a plan that
    #: fails its check, experiment settings left without results, no models found.
    FAILED = 1
    INFEASIBLE = 1
    #: Bad input: a usage error, an unknown name, a malformed or missing file
    #: (every :class:`PPipeError`).
    USAGE = 2
    BAD_INPUT = 2
    #: The solver stopped without a plan (time limit, solver error).
    NO_SOLUTION = 3
    #: A bug in ppipe (an unexpected exception): one line, ``--debug`` for the traceback.
    INTERNAL = 70
    #: Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
    CANCELLED = 130


class PPipeError(Exception):
    """A problem with the user's input or data, described in one line."""

    exit_code = ExitCode.BAD_INPUT


class DataError(PPipeError):
    """A missing or malformed data file (profile, catalog, plan, trace)."""


class InputError(PPipeError):
    """A bad command-line or API argument (unknown model/GPU, malformed spec)."""


class SolverError(PPipeError):
    """The MILP backend failed or is unavailable."""
