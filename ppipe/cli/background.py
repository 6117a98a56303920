"""Long work in a worker thread, so Ctrl-C cancels it (keeping the best result) and
the user sees it is alive: a rich status line on a terminal, a plain line every
``PROGRESS_EVERY_S`` seconds otherwise (logs, CI). Used by ``solve`` and ``size``."""

from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

from ppipe.cli.common import err_console

T = TypeVar("T")

#: Without a terminal, a plain progress line this often.
PROGRESS_EVERY_S = 10.0


class LiveStatus:
    """The latest progress as one line, fed by a solver's progress callback."""

    def __init__(self, initial: str, digits: int = 2, show_gap: bool = True):
        self.text = initial
        self.digits = digits
        self.show_gap = show_gap
        self.lock = threading.Lock()

    def __call__(self, p) -> None:
        # The figures first: on 80 columns the status line is cut at the edge, and the
        # stage's words can lose their end where the incumbent, bound and gap cannot.
        parts = []
        if p.incumbent is not None:
            parts.append(f"incumbent {p.incumbent:,.{self.digits}f}")
        if p.bound is not None:
            parts.append(f"bound {p.bound:,.{self.digits}f}")
        if self.show_gap and p.gap is not None:
            parts.append(f"gap {100 * p.gap:.3f}%")
        if p.message:
            parts.append(p.message)
        with self.lock:
            self.text = " | ".join(parts) or self.text

    def read(self) -> str:
        with self.lock:
            return self.text


def run_in_background(fn: Callable[[], T], live: LiveStatus, cancel: threading.Event,
                      verb: str = "solving") -> tuple[T, bool]:
    """Run ``fn`` in a daemon thread; Ctrl-C sets ``cancel`` and waits for ``fn`` to return
    its best result. Returns (result, whether the user interrupted); re-raises ``fn``'s error."""
    box: dict = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the main thread
            box["error"] = exc
        finally:
            done.set()

    # The console (and rich) is set up before the work starts, so a Ctrl-C right after
    # the start lands in the wait loop below.
    status = err_console.status(verb, spinner="dots") if err_console.is_terminal else None
    if status is not None:
        status.start()
    interrupted = False
    t0 = last_line = time.perf_counter()
    thread = threading.Thread(target=work, name=f"ppipe-{verb}", daemon=True)
    started = False
    try:
        # Every step, the start included, sits inside the KeyboardInterrupt handler: a
        # Ctrl-C at any moment cancels the work instead of escaping as an exception.
        # Wait on an Event, not Thread.join: an interrupted join can leave the thread
        # looking finished while it still runs.
        while True:
            try:
                if not started:
                    started = True
                    thread.start()
                if done.wait(0.1):
                    break
                now = time.perf_counter()
                if status is not None:
                    status.update(f"{verb} ({now - t0:.1f} s) {live.read()}")
                elif now - last_line >= PROGRESS_EVERY_S:
                    last_line = now
                    err_console.print(f"{verb}: {now - t0:.0f} s, {live.read()}", markup=False, soft_wrap=True)
            except KeyboardInterrupt:
                interrupted = True
                cancel.set()
    finally:
        if status is not None:
            status.stop()
    if "error" in box:
        raise box["error"]
    return box["result"], interrupted
