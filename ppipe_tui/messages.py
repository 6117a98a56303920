"""Messages: worker results coming back to the UI thread, and requests screens make of the app."""

from __future__ import annotations

from textual.message import Message


class ModelsLoaded(Message):
    """The model picker's data (a list of state.ModelInfo) is ready."""

    def __init__(self, models: list) -> None:
        super().__init__()
        self.models = models


class SolveProgress(Message):
    def __init__(self, run_id: int, progress) -> None:
        super().__init__()
        self.run_id = run_id
        self.progress = progress


class SolveDone(Message):
    def __init__(self, run_id: int, result=None, error: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.result = result
        self.error = error


class SimFrameReady(Message):
    def __init__(self, run_id: int, frame) -> None:
        super().__init__()
        self.run_id = run_id
        self.frame = frame


class SimFailed(Message):
    def __init__(self, run_id: int, error: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.error = error


class SweepPointReady(Message):
    def __init__(self, run_id: int, scheduler: str, point) -> None:
        super().__init__()
        self.run_id = run_id
        self.scheduler = scheduler
        self.point = point


class SweepDone(Message):
    def __init__(self, run_id: int, error: str | None = None, cancelled: bool = False) -> None:
        super().__init__()
        self.run_id = run_id
        self.error = error
        self.cancelled = cancelled


# ------------------------------------------------- requests a screen makes of the app
# Screens never call the app: they post one of these (it bubbles up to the app, which
# handles it with ``@on``) and read the shared Session for everything else.


class ShowError(Message):
    """Show an error dialog (something failed; the app keeps running)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title = title
        self.message = message


class OpenPlan(Message):
    """Make the plan in this file the current plan and show it (F4)."""

    def __init__(self, path) -> None:
        super().__init__()
        self.path = path


class OpenRun(Message):
    """Make this solve's plan the current plan and show it (F4)."""

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id


class SavePlan(Message):
    """Ask for a file name and save the current plan."""


class StartSolve(Message):
    """Solve the set-up: with its scheduler, or every scheduler of the comparison."""

    def __init__(self, compare: bool = False) -> None:
        super().__init__()
        self.compare = compare


class CancelSolve(Message):
    """Stop the running solves (each keeps its best plan so far)."""


class SimulateModel(Message):
    """Go to the simulation (F5) with this model of the current plan chosen; ``start`` runs it."""

    def __init__(self, index: int, start: bool = False) -> None:
        super().__init__()
        self.index = index
        self.start = start


class GotoMode(Message):
    """Show another screen of the workflow."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode


class ShowPlan(Message):
    """Make this plan (a ``state.PlanEntry``, e.g. a sized fleet's) the current plan and show it (F4)."""

    def __init__(self, entry) -> None:
        super().__init__()
        self.entry = entry


# ------------------------------------------------------------- sizing (F8)

class SizeProgress(Message):
    def __init__(self, run_id: int, progress) -> None:
        super().__init__()
        self.run_id = run_id
        self.progress = progress


class SizePointReady(Message):
    """One load factor of a cost-versus-load sweep (a ``ppipe.planning.sizing.SweepPoint``)."""

    def __init__(self, run_id: int, point) -> None:
        super().__init__()
        self.run_id = run_id
        self.point = point


class SizeDone(Message):
    def __init__(self, run_id: int, comparison=None, error: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.comparison = comparison
        self.error = error


class FillPlan(Message):
    """Solve the current plan's problem again, giving the GPUs the max-min optimum leaves
    idle to the models (``PlanningProblem.fill_leftover``, the CLI's ``--fill``)."""
