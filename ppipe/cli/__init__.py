"""The ``ppipe`` command line (typer). May use rich; never imports textual."""

from __future__ import annotations

import sys

import typer

from ppipe import __version__
from ppipe.errors import PPipeError

app = typer.Typer(
    name="ppipe",
    help="Plan and simulate pool-based pipeline-parallel DNN serving on heterogeneous GPU clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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
from ppipe.cli import catalog_cmds, experiment_cmds, plan_cmds, solve_cmds  # noqa: E402,F401
from ppipe.cli import prepartition_cmds, profile_cmds, sim_cmds  # noqa: E402,F401


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code. User errors print one line, no traceback."""
    from ppipe.cli.common import err_console

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="ppipe", standalone_mode=True)
        return 0
    except SystemExit as exc:  # typer's own exits: usage errors, --help, typer.Exit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except PPipeError as exc:
        if debug:
            raise
        err_console.print(f"ppipe: error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        err_console.print("ppipe: interrupted", markup=False)
        return 130


def main() -> None:
    sys.exit(run())
