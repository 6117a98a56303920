"""The ``ppipe`` command line (typer). May use rich; never imports textual.

Exit codes are :class:`ppipe.errors.ExitCode`: 0 done, 1 the answer is no
(infeasible, a failed check), 2 bad input or usage, 3 no plan found, 130
interrupted. Command modules import only typer at the top (the rest inside
the commands), so ``ppipe --help`` does not pay for numpy, rich tables or the
simulator.
"""

from __future__ import annotations

import sys

import typer

from ppipe import __version__
from ppipe.cli.common import PPipeGroup
from ppipe.errors import ExitCode, PPipeError

app = typer.Typer(
    name="ppipe",
    cls=PPipeGroup,
    help="Plan and simulate pool-based pipeline-parallel DNN serving on heterogeneous GPU clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain (click) help and usage errors: typer's rich help imports rich's
    # markdown, syntax and traceback modules, 0.1 s of CPU -- 40 % of ``ppipe --help``.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"ppipe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """ppipe: cut CNNs into pipelines over pools of old and new GPUs, and prove the plan meets its SLOs."""


# Command modules register themselves on ``app`` when imported.
from ppipe.cli import (  # noqa: E402,F401
    catalog_cmds,
    experiment_cmds,
    plan_cmds,
    prepartition_cmds,
    profile_cmds,
    sim_cmds,
    size_cmds,
    solve_cmds,
)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code. User errors print one line, no traceback."""
    from ppipe.cli.common import err_console

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="ppipe", standalone_mode=True)
        return ExitCode.OK
    except SystemExit as exc:  # typer's own exits: usage errors, --help, typer.Exit, Ctrl-C (130)
        code = exc.code
        return code if isinstance(code, int) else (ExitCode.OK if code is None else ExitCode.FAILED)
    except PPipeError as exc:
        if debug:
            raise
        err_console.print(f"ppipe: error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        err_console.print("ppipe: interrupted", markup=False)
        return ExitCode.CANCELLED


def main() -> None:
    sys.exit(run())
