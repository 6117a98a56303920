"""ppipe-tui: the interactive planner in the terminal.

``ppipe-tui [--data DIR] [--plans DIR] [--demo] [PLAN]``

The app has one screen per step of the workflow (Textual modes, so each keeps
its state), listed once in :data:`ppipe_tui.screens.table.SCREENS`: F2 set-up,
F3 solve, F4 plan, F5 simulate, F6 sweep, F7 saved plans; F1 or ? for help,
Ctrl+P for the command palette. Screens get the shared Session when their mode
is created and post requests (:mod:`ppipe_tui.messages`) up to the app. Solves,
simulations and sweeps run in thread workers and report back with messages; a
failure in one becomes an error dialog and the app keeps running.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Iterable

from rich.console import Console
from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from ppipe.errors import PPipeError
from ppipe.planfile.plan import write_plan
from ppipe_tui.messages import (
    CancelSolve,
    FillPlan,
    GotoMode,
    ModelsLoaded,
    OpenPlan,
    OpenRun,
    SavePlan,
    ShowError,
    ShowPlan,
    SimulateModel,
    SolveDone,
    SolveProgress,
    StartSolve,
)
from ppipe_tui.runners import run_solve, write_crash_log
from ppipe_tui.screens.base import PPipeScreen, ScreenSpec
from ppipe_tui.screens.dialogs import ConfirmDialog, ErrorDialog, InputDialog
from ppipe_tui.screens.help import HelpScreen, help_markdown
from ppipe_tui.screens.setup import SetupScreen
from ppipe_tui.screens.sim import SimScreen
from ppipe_tui.screens.table import SCREENS
from ppipe_tui.state import (
    PlanEntry,
    Session,
    SolveRequest,
    SolveRun,
    check_field,
    compare_schedulers,
    load_model_info,
    load_plan,
    plan_warnings,
    save_path,
    scheduler_label,
    validate,
)


def screen_bindings(screens: tuple[ScreenSpec, ...] = SCREENS) -> list[Binding]:
    """One F-key per screen; the footer shows them as one range, the top bar names each screen."""
    span = f"{screens[0].key_label}-{screens[-1].key_label}"
    return [Binding(s.key, f"goto({s.mode!r})", "Screens" if i == 0 else s.title, show=i == 0,
                    key_display=span if i == 0 else None) for i, s in enumerate(screens)]


class PPipeApp(App):
    TITLE = "ppipe"
    CSS_PATH = "app.tcss"
    #: the set-up is the first screen, made as the app starts: keys typed at the first
    #: paint land in its search box (a mode switched to later could lose them)
    DEFAULT_MODE = SCREENS[0].mode
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="F1"),
        *screen_bindings(),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, session: Session | None = None, plan: str | Path | None = None, data: str | None = None,
                 plan_dir: str | Path | None = None) -> None:
        super().__init__()
        self.session = session if session is not None else Session(data, Path(plan_dir) if plan_dir else None)
        self.initial_plan = Path(plan) if plan else None
        #: where the traceback of a crash went (main() prints this one line and exits 1)
        self.crash_log: Path | None = None
        # Textual prints an unhandled exception's traceback through ``error_console`` as the
        # app exits: send it to the crash log (main() prints one line with its path).
        self.error_console = Console(file=_CrashLogFile(self), markup=False, highlight=False, width=120,
                                     color_system=None, force_terminal=False)
        #: the screen of each mode, once the mode was first shown
        self._screens: dict[str, PPipeScreen] = {}
        nav = tuple(spec.nav_item for spec in SCREENS)
        for spec in SCREENS:
            self.add_mode(spec.mode, partial(self._create_screen, spec, nav))

    def _create_screen(self, spec: ScreenSpec, nav) -> PPipeScreen:
        """A mode's screen, made the first time the mode is shown, with the session injected."""
        screen = spec.screen_class(self.session, spec.mode, nav)
        self._screens[spec.mode] = screen
        return screen

    @property
    def last_action_at(self) -> float:
        """perf_counter of the last handled key action (the tests check that a key ran its action;
        ``bench/bench_tui_latency.py`` times it against the key press)."""
        return self.session.last_action_at

    # ------------------------------------------------------------ start-up
    def on_mount(self) -> None:
        self._load_models()
        if not self.is_headless:
            self._warm_simulator()
        if self.initial_plan is not None:
            self.switch_mode("plan")
            self.call_after_refresh(self.open_plan_file, self.initial_plan)

    def reload_models(self) -> None:
        """Read the model list again (the store changed: a GPU type's profiles were added)."""
        self._load_models()

    def _load_models(self) -> None:
        store = self.session.store
        self.session.start_job("load models", lambda: self.post_message(ModelsLoaded(load_model_info(store))),
                               on_error=self._job_failed)

    def _warm_simulator(self) -> None:
        """Bind (and on first use build) the simulator's compiled kernel in the background,
        so the first simulation starts at once instead of compiling for ~10 s. A failure is
        not an error: the simulator falls back by itself when it is first used."""
        def warm() -> None:
            try:
                from ppipe.sim import _jit, kernel  # noqa: F401 - registers the kernel functions

                _jit.backend("ppipe.sim.kernel")
            except Exception:  # noqa: BLE001 - the first simulation reports any real problem
                pass

        threading.Thread(target=warm, name="ppipe-warm-simulator", daemon=True).start()

    def _job_failed(self, message: str, log: str) -> None:
        """A background job raised (called on its thread): an error dialog; the exit status says so."""
        self.post_message(ShowError("A background task failed", f"{message}\n\nDetails: {log}"))

    @on(ModelsLoaded)
    def _models_loaded(self, message: ModelsLoaded) -> None:
        self.session.models = message.models
        for scr in self._screens.values():
            if scr.is_mounted:
                scr.models_loaded()
        if not message.models:
            self.notify("No model profiles found: start with --data DIR, set PPIPE_ARTIFACT, or try --demo.",
                        severity="warning", timeout=10)

    def mode_screen(self, mode: str) -> PPipeScreen | None:
        """The screen of ``mode`` (None until the mode was first shown)."""
        return self._screens.get(mode)

    # ---------------------------------------------------------- navigation
    async def action_goto(self, mode: str) -> None:
        self.session.mark_action()
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        elif isinstance(self.screen, ModalScreen):
            self.bell()  # answer the dialog first
            return
        if self.current_mode != mode:
            await self.switch_mode(mode)
        if mode == "setup" and isinstance(self.screen, SetupScreen):
            self.screen.action_focus_search()  # F2 always lands in the model search

    @on(GotoMode)
    async def _goto(self, message: GotoMode) -> None:
        await self.action_goto(message.mode)

    def action_help(self) -> None:
        self.session.mark_action()
        if not isinstance(self.screen, HelpScreen):
            if not self.is_screen_installed("help"):
                # built once: Markdown is slow to lay out
                self.install_screen(HelpScreen(help_markdown(SCREENS)), "help")
            self.push_screen("help")

    def show_error(self, title: str, message: str) -> None:
        self.push_screen(ErrorDialog(title, message))

    @on(ShowError)
    def _show_error(self, message: ShowError) -> None:
        self.show_error(message.title, message.message)

    async def _on_screen(self, mode: str, action: str) -> None:
        """Run a screen's action (from the palette): go there first."""
        await self.action_goto(mode)
        screen = self.mode_screen(mode)
        if screen is not None and self.screen is screen:
            await screen.run_action(action)

    # -------------------------------------------------------------- solves
    @on(StartSolve)
    async def _solve_requested(self, message: StartSolve) -> None:
        await self._start_solve(compare_schedulers() if message.compare else None)

    async def _start_solve(self, schedulers: tuple[str, ...] | None) -> None:
        s = self.session
        if s.solving:
            self.notify("A solve is running: Escape on F3 cancels it.", severity="warning")
            await self.action_goto("solve")
            return
        request, errors = validate(s.form, s.store, s.catalog, schedulers)
        if errors:
            await self.action_goto("setup")
            scr = self.screen
            if isinstance(scr, SetupScreen):
                scr.revalidate()
                scr.focus_first_error(errors)
            first = next(iter(errors.values()))
            self.notify(f"{len(errors)} problem(s) in the set-up; first: {first}", severity="error",
                        title="Cannot solve")
            return
        await self._run_request(request)

    async def _run_request(self, request: SolveRequest) -> None:
        """Solve a validated request with each of its schedulers, live on F3."""
        s = self.session
        s.runs = [SolveRun(sched, request) for sched in request.schedulers]
        await self.action_goto("solve")
        scr = self.mode_screen("solve")
        if scr is not None and scr.is_mounted:
            scr.refresh_view()
        for run in s.runs:
            s.start_job(f"solve {run.scheduler}", self._solve, run, cancel=run.cancel, on_error=self._job_failed)

    def _solve(self, run: SolveRun) -> None:
        """On a job's thread: one scheduler's solve; its ``cancel`` event is the run's."""
        try:
            res = run_solve(run.request, run.scheduler, run.cancel,
                            lambda p: self.post_message(SolveProgress(run.id, p)))
        except Exception as exc:  # noqa: BLE001 - a dialog, not a crash
            self.post_message(SolveDone(run.id, error=f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(SolveDone(run.id, result=res))

    def _run(self, run_id: int) -> SolveRun | None:
        for r in self.session.runs:
            if r.id == run_id:
                return r
        return None

    @on(SolveProgress)
    def _solve_progress(self, message: SolveProgress) -> None:
        run = self._run(message.run_id)
        if run is None or run.finished:
            return
        run.add_progress(message.progress)
        scr = self.mode_screen("solve")
        if scr is not None and scr.is_mounted:
            scr.run_changed(run.id)

    @on(SolveDone)
    def _solve_done(self, message: SolveDone) -> None:
        run = self._run(message.run_id)
        if run is None:
            return
        run.finished = True
        run.result = message.result
        run.error = message.error
        res = message.result
        if res is not None:
            run.incumbent = res.objective
            if res.plan is not None:
                self.session.by_scheduler[run.scheduler] = PlanEntry.from_result(run, self.session.store)
        scr = self.mode_screen("solve")
        if scr is not None and scr.is_mounted:
            scr.run_changed(run.id)
        if run.error:
            self.show_error(f"{run.label} solve failed", run.error)
        elif res is not None and res.status == "error":
            self.show_error(f"{run.label} solve failed", res.message or "the solver reported an error")
        elif res is not None and res.plan is None:
            self.notify(f"{run.label}: {res.status}. {res.message}", severity="warning", timeout=8)
        if not self.session.solving:
            self._all_solved()

    def _all_solved(self) -> None:
        runs = self.session.runs
        with_plan = [r for r in runs if r.result is not None and r.result.plan is not None]
        if not with_plan:
            return
        best = next((r for r in with_plan if r.scheduler == "ppipe"), with_plan[0])
        self.session.set_current(self.session.by_scheduler[best.scheduler])
        if len(runs) == 1:
            res = best.result
            self.notify(f"{best.label} {res.status}: objective {res.objective:,.2f}. Ctrl+S saves, S simulates.",
                        title="Plan ready")
            if self.current_mode == "solve":
                self.call_later(self.action_goto, "plan")
        else:
            summary = ", ".join(f"{r.label} {r.result.objective:,.1f}" for r in with_plan
                                if r.result.objective is not None)
            self.notify(f"{summary}. Enter opens a plan; F6 compares them under load.", title="Plans ready",
                        timeout=8)

    @on(FillPlan)
    async def _fill_plan(self) -> None:
        """Solve the current plan's problem again with ``fill_leftover`` (the CLI's ``--fill``)."""
        s = self.session
        entry = s.current
        if entry is None:
            self.notify("No plan to fill yet.", severity="warning")
            return
        if s.solving:
            self.notify("A solve is running: Escape on F3 cancels it.", severity="warning")
            return
        if entry.problem is None:
            self.notify("Fill solves the plan's set-up again: this plan came from a file, so set it up on F2 "
                        "(the plan records its cluster) and solve.", severity="warning", timeout=8)
            return
        if len(entry.problem.models) < 2:
            self.notify("Fill gives idle GPUs to the other models: a one-model plan has none.", severity="warning")
            return
        sched = entry.scheduler if entry.scheduler in ("ppipe", "np") else None
        if sched is None:
            self.notify(f"Fill works for PPipe and NP plans, not {scheduler_label(entry.scheduler)}.",
                        severity="warning")
            return
        form = s.form
        problem_text = check_field(form, "time_limit")
        if problem_text:  # Fill solves with the set-up's time limit: refuse a bad one, as Solve does
            self.notify(f"Fix the set-up (F2) first: {problem_text}", severity="error")
            return
        tl = float(form.time_limit) if form.time_limit.strip() else None
        problem = replace(entry.problem, fill_leftover=True)
        await self._run_request(SolveRequest(problem, (sched,), form.solver, tl))

    @on(CancelSolve)
    def _cancel_solve(self) -> None:
        running = [r for r in self.session.runs if not r.finished]
        if not running:
            self.notify("No solve is running.")
            return
        for r in running:
            r.cancel.set()
        self.notify("Cancelling: the best plan found so far is kept.")

    @on(OpenRun)
    def _open_run(self, message: OpenRun) -> None:
        run = self._run(message.run_id)
        if run is None or run.result is None or run.result.plan is None:
            self.notify("That solve has no plan (yet).", severity="warning")
            return
        self.session.set_current(self.session.by_scheduler.get(run.scheduler) or PlanEntry.from_result(run, self.session.store))
        self.call_later(self.action_goto, "plan")

    # --------------------------------------------------------------- plans
    def open_plan_file(self, path: str | Path) -> bool:
        try:
            entry = PlanEntry.from_file(path)
        except PPipeError as exc:
            self.show_error("Cannot open plan", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a file the reader did not expect: a dialog, not a crash
            self.show_error("Cannot open plan", f"{path}: {type(exc).__name__}: {exc}")
            return False
        entry.warnings = plan_warnings(entry.plan, self.session.store, entry.limits)
        self._show_current(entry)
        if entry.warnings:
            self.notify(f"{Path(path).name}: {len(entry.warnings)} problem(s) with the current profiles; "
                        "see the banner on F4.", severity="warning", title="Plan does not match", timeout=8)
        else:
            self.notify(f"opened {Path(path).name}")
        return True

    @on(OpenPlan)
    def _open_plan(self, message: OpenPlan) -> None:
        self.open_plan_file(message.path)

    @on(ShowPlan)
    def _show_plan(self, message: ShowPlan) -> None:
        self._show_current(message.entry)

    def _show_current(self, entry) -> None:
        """Make ``entry`` the current plan and show it on F4 (going there, or redrawing it)."""
        self.session.set_current(entry)
        if self.current_mode != "plan":
            self.call_later(self.action_goto, "plan")
        else:
            scr = self.mode_screen("plan")
            if scr is not None and scr.is_mounted:
                scr.refresh_view()

    @on(SavePlan)
    def _save_plan(self) -> None:
        if isinstance(self.screen, ModalScreen):
            self.bell()  # one dialog at a time (a second Save would stack on the first)
            return
        entry = self.session.current
        if entry is None:
            self.notify("No plan to save yet.", severity="warning")
            return
        default = entry.path or (self.session.plan_dir / entry.suggested_name())

        def write(path: Path) -> None:
            try:
                out = write_plan(entry.plan, path)
            except (OSError, PPipeError) as exc:
                self.show_error("Cannot save plan", str(exc))
                return
            entry.path = Path(out)
            self.notify(f"saved {out}", title="Plan saved")
            for mode in ("plan", "files"):
                scr = self.mode_screen(mode)
                if scr is not None and scr.is_mounted:
                    scr.refresh_view()

        def chosen(name: str | None) -> None:
            if not name:
                return
            try:
                path = save_path(name)
            except PPipeError as exc:
                self.show_error("Cannot save plan", str(exc))
                return
            if path.exists() and path != entry.path:
                self.push_screen(ConfirmDialog("Overwrite?", f"{path} exists. Replace it?", "Replace"),
                                 lambda yes: write(path) if yes else None)
            else:
                write(path)

        self.push_screen(InputDialog("Save plan", "Save the plan as:", str(default)), chosen)

    @on(SimulateModel)
    async def _simulate_model(self, message: SimulateModel) -> None:
        await self.action_goto("sim")
        scr = self.screen
        if isinstance(scr, SimScreen):
            scr.choose_model(message.index)
            if message.start:
                scr.action_start()

    # ------------------------------------------------------------- errors
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            err = event.worker.error
            msg = f"{type(err).__name__}: {err}"
            log = write_crash_log(f"worker {event.worker.name!r} failed", err)
            self.session.failures.append((msg, str(log)))
            self.show_error(f"{event.worker.name or 'background task'} failed", f"{msg}\n\nDetails: {log}")

    def _cancel_background(self) -> None:
        """Ask solver and simulation threads to stop (they cannot be killed, only asked);
        nothing waits for them: they are daemon threads."""
        self.session.cancel_jobs()
        self.workers.cancel_all()

    async def action_quit(self) -> None:
        self.session.mark_action()
        self._cancel_background()
        self.exit()

    def on_unmount(self) -> None:
        self._cancel_background()

    # ------------------------------------------------------ command palette
    def action_command_palette(self) -> None:
        """Ctrl+P: the palette, but never over a dialog, the help or itself (answer those first)."""
        if isinstance(self.screen, ModalScreen):
            self.bell()
            return
        super().action_command_palette()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Help (F1, ?)", "Keys and the workflow", self.action_help)
        for spec in SCREENS:
            yield SystemCommand(f"{spec.title} screen ({spec.key_label})", spec.summary,
                                partial(self.action_goto, spec.mode))
            for cmd in spec.screen_class.PALETTE:
                yield SystemCommand(cmd.title, cmd.help, partial(self._on_screen, spec.mode, cmd.action))
        yield SystemCommand("Quit (Ctrl+Q)", "Leave ppipe-tui", self.action_quit)
        for cmd in super().get_system_commands(screen):
            if cmd.title not in ("Quit",):
                yield cmd


class _CrashLogFile:
    """A text stream that appends to the crash log, opened on the first write, and
    records on the app where its traceback went."""

    def __init__(self, app: PPipeApp):
        self.app = app
        self._fh = None

    def write(self, text: str) -> int:
        if not text:
            return 0
        if self._fh is None:
            path = write_crash_log("ppipe-tui crashed (traceback below)", None, with_traceback=False)
            self._fh = open(path, "a", encoding="utf-8")
            self.app.crash_log = path
        n = self._fh.write(text)
        self._fh.flush()
        return n

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def isatty(self) -> bool:
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ppipe-tui", description=(
        "Plan and simulate DNN inference serving on heterogeneous GPU clusters, interactively."))
    parser.add_argument("plan", nargs="?", metavar="PLAN", help="open this plan file (ppipe or artifact JSON)")
    parser.add_argument("--data", metavar="DIR", help="profile folder (artifact layout or *.profile.json)")
    parser.add_argument("--plans", metavar="DIR", help="folder for saved plans (default: saved_plans)")
    parser.add_argument("--demo", action="store_true", help="use three small made-up models (no data needed)")
    args = parser.parse_args(argv)
    data = args.data
    try:
        if args.demo:
            from ppipe.paths import user_data_dir
            from ppipe_tui.demo import write_demo_profiles

            data = str(write_demo_profiles(user_data_dir() / "tui-demo-profiles"))
        session = Session(data, Path(args.plans) if args.plans else None)
        if args.plan:
            load_plan(args.plan)  # a plan that cannot be read: one line and exit 2, before the app starts
    except (PPipeError, OSError) as exc:
        print(f"ppipe-tui: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("ppipe-tui: interrupted", file=sys.stderr)
        sys.exit(130)
    app = PPipeApp(session, plan=args.plan)
    try:
        app.run()
    except KeyboardInterrupt:
        session.cancel_jobs()
        print("ppipe-tui: interrupted", file=sys.stderr)
        _exit(130, session)
    except Exception as exc:  # noqa: BLE001 - one line and the log, not a traceback
        session.cancel_jobs()
        log = write_crash_log("ppipe-tui failed", exc)
        print(f"ppipe-tui: error: {type(exc).__name__}: {exc} (details in {log})", file=sys.stderr)
        _exit(1, session)
    _exit(exit_status(app), session)


def exit_status(app: PPipeApp) -> int:
    """The process's exit status once the app has ended; prints one line when it is not 0.

    Never 0 after a crash (``crash_log``), an unhandled background failure, or an app that
    ended without ``exit()`` (``return_code`` None)."""
    rc = app.return_code
    if app.crash_log is not None:
        print(f"ppipe-tui: error: the app crashed; details in {app.crash_log}", file=sys.stderr)
        return rc or 1
    failures = app.session.failures
    if failures:
        msg, log = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        print(f"ppipe-tui: error: a background task failed: {msg}{more}; details in {log}", file=sys.stderr)
        return rc or 1
    if rc is None:
        print("ppipe-tui: error: the app ended unexpectedly", file=sys.stderr)
        return 1
    return rc


def _exit(code: int, session: Session) -> None:
    """Exit now: a solver thread still winding down (a daemon) must not hold the process."""
    session.cancel_jobs()
    if any(t.is_alive() and t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
