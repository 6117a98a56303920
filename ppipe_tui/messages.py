"""Messages that carry worker results back to the UI thread."""

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
