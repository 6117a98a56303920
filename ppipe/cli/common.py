"""Shared CLI plumbing: stderr console, JSON output, data-store options, live choices.

Start-up matters (``ppipe --help`` and a ``ppipe simulate`` of a 30 s run each
take well under a second): this module, like every command module, imports
only typer at the top. rich is loaded by the first console use, the core
library inside the commands that need it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from typer.core import TyperCommand, TyperGroup


class _LazyConsole:
    """A ``rich.console.Console`` made on first use (rich costs ~40 ms to import)."""

    def __init__(self, **options: Any):
        self._options = options
        self._console = None

    def get(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.get(), name)

    # special methods are looked up on the type, not through __getattr__ (rich's
    # Live/Progress use ``with console:``)
    def __enter__(self):
        return self.get().__enter__()

    def __exit__(self, *exc):
        return self.get().__exit__(*exc)

    def __repr__(self) -> str:
        return repr(self.get()) if self._console is not None else "<console, not yet made>"


#: Diagnostics and progress go to stderr; data goes to stdout.
#: ``soft_wrap``: a message is one line however long, never cut at the terminal width.
err_console = _LazyConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out_console = _LazyConsole(highlight=False, emoji=False)

DataOption = typer.Option(None, "--data", help="Profile data folder (artifact layout or ppipe profiles); default: $PPIPE_ARTIFACT, then user and shipped profiles.")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _clean(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def print_json(obj: Any) -> None:
    import json

    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")
    sys.stdout.flush()


def open_store(data: Optional[Path]):
    from ppipe.profiles.store import ProfileStore

    return ProfileStore.open(data)


def note(message: str) -> None:
    """A one-line note on stderr (not an error)."""
    err_console.print(f"note: {message}", markup=False, soft_wrap=True)


def warn(message: str) -> None:
    """A one-line warning on stderr (the command goes on)."""
    err_console.print(f"ppipe: warning: {message}", markup=False, soft_wrap=True)


# ------------------------------------------------------------ input checks

def given(ctx: Any, name: str) -> bool:
    """Whether the user gave option ``name`` (the parameter's name) on the command line
    (or through the environment), as opposed to its default."""
    try:
        source = ctx.get_parameter_source(name)
    except (AttributeError, KeyError):
        return False
    return source is not None and getattr(source, "name", "") not in ("DEFAULT", "DEFAULT_MAP")


def parse_counts(value: Optional[str], what: str, cast=int, flag: str = "") -> dict[str, Any]:
    """``A:1,B:2`` like :func:`ppipe.textparse.parse_kv`, but a name given twice is an
    error (``L4:25,L4:75`` would otherwise keep the last)."""
    from ppipe.errors import InputError
    from ppipe.textparse import parse_csv_list, parse_kv

    seen: set[str] = set()
    for item in parse_csv_list(value, what):
        sep = ":" if ":" in item else "="
        name = item.partition(sep)[0].strip()
        if name in seen:
            raise InputError(f"{flag + ' ' if flag else ''}{value}: {name} is given twice")
        seen.add(name)
    return parse_kv(value, what, cast)


def finite(value: Optional[float], flag: str, *, low: float = 0.0, low_open: bool = True,
           high: Optional[float] = None, high_open: bool = False, unit: str = "") -> Optional[float]:
    """``value`` if it is a finite number in range (None passes); else a one-line InputError
    naming the flag and the value."""
    from ppipe.errors import InputError

    if value is None:
        return None
    ok = math.isfinite(value) and (value > low if low_open else value >= low)
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        rng = f"{'>' if low_open else '>='} {low:g}"
        if high is not None:
            rng += f" and {'<' if high_open else '<='} {high:g}"
        raise InputError(f"{flag} must be a finite number {rng}{unit}, got {value:g}")
    return value


def is_stdout(path: Any) -> bool:
    """Whether an output path is ``-`` (standard output)."""
    return path is not None and str(path) == "-"


def output_file(path: Optional[Path], flag: str) -> Optional[Path]:
    """Check an output file before any work: not empty, not a folder, its folder not a file."""
    from ppipe.errors import InputError

    if path is None:
        return None
    if str(path) in ("", "."):
        raise InputError(f"{flag}: give a file name (got {str(path)!r})")
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{flag} {path}: {parent} is a file, not a folder")
            break
    return path


def output_dir(path: Optional[Path], flag: str) -> Optional[Path]:
    """Check an output folder before any work: not a file (nor inside one)."""
    from ppipe.errors import InputError

    if path is None:
        return None
    if str(path) == "":
        raise InputError(f"{flag}: give a folder name")
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise InputError(f"{flag} {path}: {p} is a file, not a folder")
            break
    return path


def write_error(path: Any, exc: OSError) -> str:
    """One line for a failed write: the file and the reason (disk full, read-only, permission)."""
    why = exc.strerror or str(exc) or exc.__class__.__name__
    return f"cannot write {path}: {why}"


#: At most this many of a plan's mismatches are printed (``ppipe check`` lists them all).
MAX_PLAN_WARNINGS = 5


def plan_mismatches(plan, plan_path: Path, store) -> list[str]:
    """How the plan disagrees with the profiles at hand (made with other profiles, SLOs or
    GPU limits broken), as :func:`ppipe.planning.record.plan_warnings` reports it."""
    from ppipe.planning.record import plan_limits, plan_warnings

    return plan_warnings(plan, store, plan_limits(plan, plan_path))


def warn_plan_mismatches(warnings: list[str], plan_path: Path, consequence: str = "") -> None:
    """Print a plan's mismatches on stderr, a line each, at most :data:`MAX_PLAN_WARNINGS`."""
    if not warnings:
        return
    warn(f"{plan_path.name} does not match the profiles here{consequence}:")
    for w in warnings[:MAX_PLAN_WARNINGS]:
        err_console.print(f"  {w}", markup=False, soft_wrap=True)
    if len(warnings) > MAX_PLAN_WARNINGS:
        err_console.print(f"  ... and {len(warnings) - MAX_PLAN_WARNINGS} more (ppipe check {plan_path})",
                          markup=False, soft_wrap=True)


def unfinished_plan_path(path: Path, status: str, gap: float | None) -> tuple[Path, str | None]:
    """Where to save a solve's plan, and a note to print once it is saved.

    A plan that is not proven optimal never silently replaces a plan file: a cancelled
    solve's best plan so far always goes to ``NAME.partial.json``; a time-limited one does
    when ``path`` already exists (a fresh name is safe to use)."""
    from ppipe.atomic import writes_through
    from ppipe.planfile.naming import partial_path

    status = str(status)
    if status not in ("cancelled", "time_limit") or is_stdout(path) or writes_through(path):
        return path, None
    exists = Path(path).exists()
    if status == "time_limit" and not exists:
        return path, None
    target = partial_path(path)
    why = "cancelled" if status == "cancelled" else "stopped at the time limit"
    gap_text = f", gap {100 * gap:.3f}%" if gap is not None else ""
    if exists:
        return target, (f"{path} was kept: this plan is not proven optimal ({why}{gap_text}), so it went to "
                        f"{target.name}")
    return target, None


def read_plan_checked(path: Path, what: str = "plan"):
    """:func:`ppipe.planfile.plan.read_plan` with every failure a one-line DataError naming
    the file: unreadable (a loop of links, a folder, binary), nested too deeply, and values
    of the wrong kind (``num_gpu: NaN``, ``"xput": "fast"``, ``config.sla: "x"``)."""
    from ppipe.errors import DataError
    from ppipe.planfile.plan import read_plan
    from ppipe.planning.check import validate_plan_values

    try:
        plan = read_plan(path)
    except RecursionError:
        raise DataError(f"{path}: {what} nested too deeply to read") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, OSError):
            why = exc.strerror or exc.__class__.__name__
        else:
            why = exc.__class__.__name__
        raise DataError(f"{path}: cannot read {what} ({why})") from None
    validate_plan_values(plan, str(path))
    return plan


# ------------------------------------------------------------- live choices
#
# Options whose values name an entry of a registry (schedulers, solver
# backends, balancers, arrival kinds) read that registry when used, not when
# this module is imported, so an entry registered later (a plugin, a test)
# is accepted and listed in --help with no other edit. A help text names the
# list with a placeholder ("{schedulers}"); LiveChoicesCommand fills it in
# when the help is shown, and registry_choice() checks a value when parsed:
# an unknown name is an InputError (one line, exit 2) listing the known ones.
# (typer 0.29 has no click_type=, and a typer.Choice would be fixed at import.)

def _schedulers():
    from ppipe.schedulers import SCHEDULERS

    return SCHEDULERS


def _solvers():
    from ppipe.planning.solvers import SOLVERS

    return SOLVERS


def _balancers():
    from ppipe.sim.balancers import BALANCERS

    return BALANCERS


def _arrivals():
    from ppipe.sim.arrivals import ARRIVALS

    return ARRIVALS


#: placeholder -> the registry (a ppipe.registry.Registry), imported when asked for
CHOICES: dict[str, Callable[[], Any]] = {
    "schedulers": _schedulers,
    "solvers": _solvers,
    "balancers": _balancers,
    "arrivals": _arrivals,
}


def choices_text(names: tuple[str, ...] | list[str], default: Optional[str] = None) -> str:
    """``a (default), b, c or d``."""
    shown = [f"{n} (default)" if n == default else n for n in names]
    if len(shown) <= 1:
        return shown[0] if shown else "none"
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def check_choice(kind: str, value: Optional[str]) -> Optional[str]:
    """``value`` if the registry ``kind`` has it (None passes); else the registry's
    InputError naming its entries."""
    if value is not None:
        CHOICES[kind]().get(value)
    return value


def registry_choice(kind: str) -> Callable[[Optional[str]], Optional[str]]:
    """An option callback accepting the names the registry ``kind`` holds when the command runs."""
    if kind not in CHOICES:
        raise KeyError(kind)

    def check(value: Optional[str]) -> Optional[str]:
        return check_choice(kind, value)

    return check


def fill_choices(text: Optional[str], default: Any = None) -> Optional[str]:
    """Replace ``{schedulers}``-style placeholders by the registries' names now."""
    if not text or "{" not in text:
        return text
    for key, registry in CHOICES.items():
        mark = "{" + key + "}"
        if mark in text:
            text = text.replace(mark, choices_text(registry().names(), default if isinstance(default, str) else None))
    return text


class LiveChoicesCommand(TyperCommand):
    """A command whose option help may name registry entries (``{schedulers}``,
    ``{solvers}``, ``{balancers}``, ``{arrivals}``), listed as they are when the
    help is shown. Use with ``@app.command(cls=LiveChoicesCommand)``."""

    def _fill(self) -> None:
        for p in self.params:
            template = getattr(p, "_ppipe_help_template", None)
            if template is None:
                template = getattr(p, "help", None)
                if not template or "{" not in template:
                    continue
                p._ppipe_help_template = template
            p.help = fill_choices(template, p.default)

    def format_help(self, ctx, formatter) -> None:
        self._fill()
        return super().format_help(ctx, formatter)

    def get_help(self, ctx) -> str:
        self._fill()
        return super().get_help(ctx)


# ------------------------------------------------------- fast option values
#
# typer 0.29 converts every option value through a pydantic TypeAdapter:
# importing pydantic (with its plugin loader) and building one adapter per
# option costs ~0.1 s of every command, a fifth of a whole ``ppipe simulate``. Plain values -- str, and
# int, float and Path in their ordinary spellings -- are converted here exactly
# as pydantic would (int("42"), float("0.1"), Path(s) then typer's own path
# checks); anything else (other spellings, ranges, choices, lists, parsers)
# still goes to typer's converter, so what is accepted and every error
# message stay typer's. If typer's internals change, this quietly does nothing.

_INT = None
_FLOAT = None


def _fast_value(kind: str, value: Any) -> Any:
    """The converted value, or _MISS when typer's converter should decide."""
    global _INT, _FLOAT
    if kind == "str":
        return value if isinstance(value, str) else _MISS
    if kind == "bool":
        return value if isinstance(value, bool) else _MISS
    if kind == "int":
        if type(value) is int:
            return value
        if isinstance(value, str):
            if _INT is None:
                import re

                _INT = re.compile(r"[+-]?[0-9]{1,18}")
            if _INT.fullmatch(value):
                return int(value)
        return _MISS
    if kind == "float":
        if type(value) is float:
            return value if math.isfinite(value) else _MISS
        if type(value) is int and abs(value) < 1 << 53:
            return float(value)
        if isinstance(value, str):
            if _FLOAT is None:
                import re

                _FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
            if _FLOAT.fullmatch(value):
                f = float(value)
                return f if math.isfinite(f) else _MISS
        return _MISS
    if kind == "path":
        if isinstance(value, Path):
            return value
        return Path(value) if isinstance(value, str) and value else _MISS
    return _MISS


_MISS = object()


def _fast_kind(desc: Any) -> Optional[str]:
    info = desc.parameter_info
    if desc.file_annotation is not None or getattr(info, "parser", None) is not None:
        return None
    if getattr(info, "min", None) is not None or getattr(info, "max", None) is not None:
        return None
    ann = desc.annotation
    if ann is str:
        return "str"
    if ann is bool:
        return "bool"
    if ann is int:
        return "int"
    if ann is float:
        return "float"
    if ann is Path and getattr(info, "path_type", None) is None:
        return "path"
    return None


def _make_fast_param_class():
    from dataclasses import dataclass

    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path

    @dataclass(frozen=True)
    class FastRuntimeParam(RuntimeParam):
        descriptor: Any = None
        kind: str = ""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            fast = _fast_value(self.kind, value)
            if fast is _MISS:
                slow = build_runtime_param(self.descriptor)
                param._runtime_param = slow  # typer decides this option from now on
                return slow._coerce_value(value, param=param, ctx=ctx)
            if self.kind == "path":
                return coerce_cli_path(fast, self.parameter_info, path_type=Path, param=param, ctx=ctx)
            return fast

    return FastRuntimeParam


_FAST_PARAM: Any = None


def speed_up(command: Any) -> None:
    """Give ``command``'s (and its subcommands') plain options the fast converter."""
    global _FAST_PARAM
    try:
        if _FAST_PARAM is None:
            _FAST_PARAM = _make_fast_param_class()
        params = list(getattr(command, "params", ()))
        if hasattr(command, "get_help_option"):  # made (and cached) now, so that it gets the fast path too
            from types import SimpleNamespace

            params.append(command.get_help_option(SimpleNamespace(help_option_names=["--help"])))
        for p in params:
            desc = getattr(p, "type_descriptor", None) if p is not None else None
            if desc is None or getattr(p, "_runtime_param", 1) is not None:
                continue
            kind = _fast_kind(desc)
            if kind is not None:
                p._runtime_param = _FAST_PARAM(parameter_info=desc.parameter_info, annotation=desc.annotation,
                                               descriptor=desc, kind=kind)
    except (ImportError, AttributeError, TypeError):  # a typer without these internals: its own converter
        return
    for sub in (getattr(command, "commands", None) or {}).values():
        speed_up(sub)


class Interrupted(Exception):
    """Ctrl-C inside a command. typer turns a KeyboardInterrupt into a silent exit 130;
    this one passes typer by, so :func:`ppipe.cli.run` says "interrupted" in one line."""


class PPipeGroup(TyperGroup):
    """The root group: every command built under it gets the fast converter, and a
    Ctrl-C in any command becomes :class:`Interrupted`."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        speed_up(self)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted() from exc  # --debug shows where it landed
