"""The ``ppipe`` command line (typer). May use rich; never imports textual.

Exit codes are :class:`ppipe.errors.ExitCode`: 0 done, 1 the answer is no
(infeasible, a failed check), 2 bad input or usage, 3 no plan found, 130
interrupted. Command modules import only typer at the top (the rest inside
the commands), so ``ppipe --help`` does not pay for numpy, rich tables or the
simulator.
"""

from __future__ import annotations

import os
import sys

import typer

from ppipe import __version__
from ppipe.cli.common import Interrupted, PPipeGroup
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


def _one_line(text: object) -> str:
    """``text`` on one line (a message that must not wrap or span lines)."""
    return " ".join(str(text).split())


def _usage_line(exc) -> str:
    """A click usage error as one line: the problem, then where help is."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "ppipe"
    return f"ppipe: error: {_one_line(exc.format_message())} (see '{path} --help')"


def _empty_argument(args: list[str]) -> str | None:
    """The path option given an empty value (its long name), or "an argument" for an empty
    positional one; None when neither.

    Why: ``--to "$DEST"`` with DEST unset reaches us as ``--to ""``, which typer turns into
    ``Path(".")``, the current folder (``data import`` then wrote its 28 profiles there).
    Only paths: an empty list or price (``--own ""``, ``--price ""``) means "none" on
    purpose, and click names a flag given ``=`` or an unknown option better than we can."""
    command = None
    for i, arg in enumerate(args):
        if arg == "--":  # after it every word is a positional argument
            return "an argument" if "" in args[i + 1:] else None
        if arg.startswith("--") and arg.endswith("=") and len(arg) > 3:
            name = arg[:-1]
        elif arg == "" and i > 0 and args[i - 1].startswith("-") and "=" not in args[i - 1]:
            name = args[i - 1]
        elif arg == "":
            return "an argument"
        else:
            continue
        if command is None:
            command = typer.main.get_command(app)
        option = _find_option(command, args[:i], name)
        if option is not None and getattr(option, "is_flag", False) and arg == "":
            return "an argument"  # a flag takes no value: the "" is a positional one
        if option is not None and _takes_path(option):
            return max(option.opts, key=len)
    return None


def _takes_path(param) -> bool:
    """Whether a click parameter's value is a path (typer's annotation, or click's type)."""
    import typing
    from pathlib import PurePath

    def mentions(annotation) -> bool:
        if isinstance(annotation, type) and issubclass(annotation, PurePath):
            return True
        return any(mentions(a) for a in typing.get_args(annotation))

    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is not None:
        return mentions(annotation)
    return type(getattr(param, "type", None)).__name__ == "Path"


def _find_option(command, before: list[str], name: str):
    """The click option called ``name`` on the (sub)command the words ``before`` select."""
    while True:
        for param in command.params:
            if name in getattr(param, "opts", ()) or name in getattr(param, "secondary_opts", ()):
                return param
        sub = next((a for a in before if a in getattr(command, "commands", {})), None)
        if sub is None:
            return None
        before = before[before.index(sub) + 1:]
        command = command.commands[sub]


def os_error_line(exc: OSError) -> str:
    """``PATH: what went wrong`` for an OSError (full disk, read-only, permission, a loop of links)."""
    what = exc.strerror or exc.__class__.__name__
    names = [n for n in (exc.filename, exc.filename2) if n not in (None, "")]
    return f"{' -> '.join(map(str, names))}: {what}" if names else _one_line(str(exc) or what)


def _click_exceptions() -> tuple[tuple, tuple, tuple]:
    """(usage errors, other click errors, aborts): typer's own copy of click's, and click's."""
    usage, other, abort = [], [], []
    from typer import exceptions as tx

    abort.append(tx.Abort)
    try:
        from typer._click import exceptions as cx

        usage.append(cx.UsageError)
        other.append(cx.ClickException)
        if hasattr(cx, "Abort"):
            abort.append(cx.Abort)
    except ImportError:  # a typer that uses click itself
        pass
    try:
        import click.exceptions as ce

        usage.append(ce.UsageError)
        other.append(ce.ClickException)
        if hasattr(ce, "Abort"):
            abort.append(ce.Abort)
    except ImportError:
        pass
    return tuple(usage), tuple(other), tuple(abort)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    Every failure is one line on stderr and an exit code, never a traceback
    (``--debug`` shows one): a :class:`PPipeError` (bad input, exit 2); a usage
    error (one line when stderr is not a terminal, click's usual text when it
    is); an OSError no command caught (a full disk, a read-only folder: exit 2);
    input nested too deeply or too big for memory (exit 2); anything else is a
    bug: one line saying so, exit 70.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:  # a Ctrl-C while these import (click, rich) is still one line
        from ppipe.cli.common import err_console

        usage_errors, click_errors, aborts = _click_exceptions()
    except KeyboardInterrupt:
        if debug:
            raise
        print("ppipe: interrupted", file=sys.stderr)
        return ExitCode.CANCELLED

    def fail(message: str, code: int) -> int:
        err_console.print(_one_line(message), markup=False, soft_wrap=True, highlight=False)
        return code

    try:
        empty = _empty_argument(args)
        if empty is not None:
            what = "an argument is empty" if empty == "an argument" else f"{empty} is empty"
            return fail(f"ppipe: error: {what} (an unset shell variable?)", ExitCode.BAD_INPUT)
        rv = app(args=args, prog_name="ppipe", standalone_mode=False)
        return rv if isinstance(rv, int) else ExitCode.OK
    except SystemExit as exc:  # sys.exit() somewhere below
        code = exc.code
        return code if isinstance(code, int) else (ExitCode.OK if code is None else ExitCode.FAILED)
    except usage_errors as exc:
        if debug:
            raise
        if err_console.is_terminal or type(exc).__name__ == "NoArgsIsHelpError":  # help asked for by no args
            exc.show()
            return exc.exit_code
        return fail(_usage_line(exc), exc.exit_code)
    except click_errors as exc:  # e.g. a bad --flag value typer checks itself
        if debug:
            raise
        return fail(f"ppipe: error: {exc.format_message()}", exc.exit_code)
    except aborts:  # EOF on a prompt
        return fail("ppipe: aborted", ExitCode.CANCELLED)
    except PPipeError as exc:
        if debug:
            raise
        return fail(f"ppipe: error: {exc}", exc.exit_code)
    except (KeyboardInterrupt, Interrupted):
        if debug:
            raise
        return fail("ppipe: interrupted", ExitCode.CANCELLED)
    except BrokenPipeError:  # stdout closed early (``ppipe models | head``): quiet, like other tools
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return ExitCode.FAILED
    except RecursionError:
        if debug:
            raise
        return fail("ppipe: error: input nested too deeply to read (a corrupt or hostile file?)",
                    ExitCode.BAD_INPUT)
    except MemoryError:
        if debug:
            raise
        return fail("ppipe: error: out of memory: the input asks for more than this machine has "
                    "(smaller --duration, --load or plan?)", ExitCode.BAD_INPUT)
    except OSError as exc:
        if debug:
            raise
        return fail(f"ppipe: error: {os_error_line(exc)}", ExitCode.BAD_INPUT)
    except Exception as exc:  # a bug: still one line, the traceback with --debug
        if debug:
            raise
        return fail(f"ppipe: internal error: {exc.__class__.__name__}: {exc} "
                    "(a bug in ppipe; run with --debug for the traceback)", ExitCode.INTERNAL)


def main() -> None:
    sys.exit(run())
