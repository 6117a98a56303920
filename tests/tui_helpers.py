"""Helpers for driving ppipe-tui in tests (Textual's pilot) and for text snapshots.

Public Textual API only: keys go in as ``events.Key`` posted to the app, the screen
comes out of ``App.export_screenshot`` (its SVG holds every character at its cell),
and waiting is always for a state (with a generous deadline), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

from rich.cells import cell_len
from textual import events

from ppipe.planfile.plan import ModelPlan, Partition, Pipeline, Plan
from ppipe.planning.configs import batch_build_us, stage_xput
from ppipe.profiles.model import ModelProfile
from ppipe_tui.demo import demo_profile

#: Rich's SVG export: a cell is 20 px high and 0.61 of that wide
_CELL_WIDTH = 20 * 0.61
_SVG_TEXT = re.compile(r'<text class="[^"]*" x="([^"]+)" y="[^"]*" textLength="[^"]*" '
                       r'clip-path="url\(#[^"]*-line-(\d+)\)">(.*?)</text>')


def screen_text(app) -> str:
    """The screen as plain text (what a terminal shows, without colour), trailing blanks cut."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, y, text in _SVG_TEXT.findall(app.export_screenshot()):
        row = rows[int(y)]
        col = round(float(x) / _CELL_WIDTH)
        for ch in html.unescape(text.replace("&#160;", " ")):
            if 0 <= col < width:
                row[col] = ch
                for k in range(1, cell_len(ch)):  # a wide character covers the next cell
                    if col + k < width:
                        row[col + k] = ""
            col += cell_len(ch)
    lines = ["".join(r).rstrip() for r in rows]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


#: the bound a test puts on "within a second" (a cancel, a quit, a key): the app's own part
#: takes 15-40 ms here (``bench/bench_tui_latency.py`` times keys and a solve's cancel); the
#: rest is headroom for a loaded machine, where the whole process can stall (CI once held a
#: key for 0.69 s). What it catches is waiting for a thread or blocking the event loop (the
#: stuck threads in these tests run for minutes).
PROMPT_S = 3.0

#: single characters whose Textual key name is a word
_KEY_NAMES = {" ": "space", "+": "plus", "-": "minus", "=": "equals_sign", "?": "question_mark", ".": "full_stop",
              ",": "comma", "/": "slash", "_": "underscore", ":": "colon"}
_CHARACTERS = {name: char for char, name in _KEY_NAMES.items()}


async def press(pilot, *keys: str) -> None:
    """Press keys (Textual key names, or single characters), each handled before the next.

    Like ``Pilot.press`` (a ``Key`` event posted to the app), but it waits for the app,
    the screen and the focused widget to handle the key, not for the *process* to go
    idle: ``Pilot.press`` waits up to a second per key while a solver or simulation
    thread works (the responsiveness test took 50 s instead of 9, and spread its ten
    timed keys over 20 s of load).
    """
    app = pilot.app
    for key in keys:
        if len(key) == 1:
            name, char = _KEY_NAMES.get(key, key), key
        else:
            name, char = key, _CHARACTERS.get(key)
        app.post_message(events.Key(name, char))
        for _ in range(4):  # app -> screen -> focused widget -> the messages it posts
            await _drain(app)


async def _drain(app) -> None:
    """Wait until the app, the screen and the focused widget have handled what is queued now
    (cheaper than a full :func:`barrier`, which pings every widget of every screen shown)."""
    nodes = [app, app.screen]
    if app.focused is not None:
        nodes += list(app.focused.ancestors_with_self)
    pending = []
    for node in dict.fromkeys(nodes):
        done = asyncio.Event()
        if node.call_later(done.set):
            pending.append(done.wait())
    if pending:
        # an app that stops (a crash, a quit) never runs the callbacks: stop waiting then
        # (before, such a test waited out the whole 30 s)
        gathered = asyncio.gather(*pending)
        end = time.monotonic() + 30
        while not gathered.done():
            if not app.is_running:
                gathered.cancel()
                break
            if time.monotonic() >= end:
                gathered.cancel()
                raise asyncio.TimeoutError("the app did not handle its queued messages in 30 s")
            await asyncio.wait([gathered], timeout=0.05)
    await asyncio.sleep(0)


async def type_text(pilot, text: str) -> None:
    await press(pilot, *text)


async def tab_to(pilot, app, widget_id: str, limit: int = 60) -> None:
    """Tab until the widget ``widget_id`` has the focus (an error if it never does)."""
    for _ in range(limit):
        if app.focused is not None and app.focused.id == widget_id:
            return
        await press(pilot, "tab")
    raise AssertionError(f"tab never reached #{widget_id} (at {app.focused!r})")


async def choose_models(pilot, app, query: str, count: int) -> None:
    """On F2: type ``query`` in the model search and tick the first ``count`` matches."""
    assert await wait_for(pilot, lambda: app.session.models is not None, 10)
    await type_text(pilot, query)
    for i in range(count):
        if i:
            await press(pilot, "down")
        await press(pilot, "enter")


async def barrier(app, rounds: int = 2) -> None:
    """Wait until the app and every widget of every screen shown (the top one and those behind
    a dialog) have handled what was queued when called; twice, so the idle work (layout,
    table sizes) that follows a round has run too."""
    for _ in range(rounds):
        nodes = [app]
        for screen in app.screen_stack:
            nodes += list(screen.walk_children(with_self=True))
        pending = []
        for node in nodes:
            done = asyncio.Event()
            if node.call_later(done.set):
                pending.append(done.wait())
        if pending:
            await asyncio.wait_for(asyncio.gather(*pending), 30)
        await asyncio.sleep(0)


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> bool:
    """Let the app run until ``predicate()`` holds (True) or ``timeout`` passes (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(step)
        await _drain(pilot.app)
    return predicate()


async def settle(pilot) -> None:
    """Let queued messages, refreshes and animations finish (no fixed wait)."""
    await barrier(pilot.app)
    await pilot.wait_for_scheduled_animations()
    await barrier(pilot.app)


async def wait_mode(pilot, app, mode: str, timeout: float = 30.0) -> bool:
    """Wait until ``mode`` is current and its screen is mounted and settled."""
    ok = await wait_for(pilot, lambda: app.current_mode == mode and app.screen.is_mounted
                        and getattr(app.screen, "mode", None) == mode, timeout)
    if ok:
        await settle(pilot)
    return ok


async def wait_screen(pilot, app, cls, timeout: float = 30.0) -> bool:
    """Wait until the top screen is a mounted ``cls`` (a dialog, help) and settled."""
    ok = await wait_for(pilot, lambda: isinstance(app.screen, cls) and app.screen.is_mounted
                        and bool(app.screen.children), timeout)
    if ok:
        await settle(pilot)
    return ok


async def stable_text(pilot, app, *needles: str, timeout: float = 120.0) -> str:
    """The screen's text once it shows every one of ``needles`` and stays the same across a
    full round of message handling (what a snapshot captures); after ``timeout``, the text
    as it is (the golden comparison then shows what is missing)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        await barrier(app)
        text = screen_text(app)
        if text == last and all(n in text for n in needles):
            return text
        if time.monotonic() > end:
            missing = [n for n in needles if n not in text]
            warnings.warn(f"stable_text gave up after {timeout:g} s: "
                          + (f"missing {missing}" if missing else "the screen kept changing"), stacklevel=2)
            return text
        last = text
        await asyncio.sleep(0.02)


def make_app(data: Path, plans: Path, plan: Path | None = None, catalog=None):
    """The app on the profiles in ``data``, saving to ``plans``, optionally opening ``plan``."""
    from ppipe_tui.app import PPipeApp
    from ppipe_tui.state import Session

    return PPipeApp(Session(str(data), plans, catalog=catalog), plan=plan)


# ------------------------------------------------------------- fixed plans

def _partition(prof: ModelProfile, gpu: str, k: int, start: int, end: int, b: int, num_gpu: float, gps: int,
               bw: float) -> Partition:
    L = prof.num_chunks
    trans = prof.transmit_times_us(bw)
    lat = prof.lat_infer(gpu, k, start, end, b)
    lat_trans = trans[end - 1] * b if end < L else 0.0
    dl = trans[start - 1] if 0 < start < L else 1.0
    ul = trans[end - 1] if 0 < end < L else 1.0
    inst = int(round(num_gpu * k))
    x = inst * stage_xput(b, lat, k, gps, dl, ul)
    return Partition(dnn=prof.name, layers=[start, end], gpu=gpu, mps=k - 1, bs=b, num_gpu_per_server=gps,
                     num_gpu=num_gpu, lat_infer=lat, lat_trans=lat_trans, xput=x)


def _model_plan(prof: ModelProfile, pipes: list[list[tuple]], batch: list[int], est: float, bw: float = 10.0,
                mult: float = 5.0, discount: float = 0.4) -> ModelPlan:
    sla = prof.sla_us(mult)
    hist = round(discount * sla)
    gps = {"L4": 4, "T4": 2}
    pipelines = []
    for stages, b in zip(pipes, batch):
        parts = [_partition(prof, g, k, s, e, b, n, gps[g], bw) for g, k, s, e, n in stages]
        pipelines.append(Pipeline(xput=min(p.xput for p in parts), partitions=parts, est_xput=est,
                                  est_batch_build_lat=batch_build_us(b, est, 1.3), batch_build_factor=1.3,
                                  hist_adjustment=hist, hist_adjustment_w_scheduling=0))
    config = {"dnn_name": prof.name, "gpu_name_arr": ["L4", "T4"], "sla": sla, "num_mps_levels": [4, 4],
              "max_num_parts": 2, "bs_same": True, "transmit_time_us_arr": prof.transmit_times_us(bw),
              "est_xput": est, "batch_build_factor": 1.3, "hist_adjustment": hist,
              "hist_adjustment_w_scheduling": 0, "num_gpu_per_server_arr": [4, 2],
              "force_sum_gpu_integer_per_partition": True, "bw_gbps": bw, "runtime_fmt": 1}
    return ModelPlan(xput=sum(p.xput for p in pipelines), config=config, sla=sla, pipelines=pipelines)


def demo_plan(scheduler: str = "ppipe") -> Plan:
    """A fixed, hand-made plan over the demo profiles (stable numbers for goldens)."""
    a, b = demo_profile("alpha-net"), demo_profile("beta-det")
    if scheduler == "np":
        return Plan([
            _model_plan(a, [[("L4", 1, 0, 4, 2.0)], [("T4", 1, 0, 4, 3.0)]], [2, 1], 900.0),
            _model_plan(b, [[("L4", 1, 0, 4, 2.0)]], [2], 700.0),
        ])
    return Plan([
        _model_plan(a, [[("L4", 1, 0, 2, 1.0), ("T4", 2, 2, 4, 2.0)], [("L4", 2, 0, 4, 1.0)]], [1, 1], 900.0),
        _model_plan(b, [[("L4", 2, 0, 4, 1.5)], [("L4", 1, 0, 2, 1.0), ("T4", 1, 2, 4, 3.0)]], [1, 1], 700.0),
    ])


def demo_plan_name(scheduler: str = "ppipe") -> str:
    from ppipe.planfile.naming import plan_file_name

    return plan_file_name(["alpha-net", "beta-det"], [1, 1], ["L4", "T4"], [6, 8], 10, 5, scheduler)


def write_demo_plans(folder: Path) -> dict[str, Path]:
    """The PPipe and NP demo plans, named like the artifact's files (siblings of one setting)."""
    from ppipe.planfile.plan import write_plan

    folder.mkdir(parents=True, exist_ok=True)
    return {s: Path(write_plan(demo_plan(s), folder / demo_plan_name(s))) for s in ("ppipe", "np")}


# ------------------------------------------------------------ corrupt plans

#: file names of :func:`write_corrupt_plans`, what each is
CORRUPT_PLANS = {
    "invalid.json": "not JSON",
    "deep.json": "a list nested 100,000 deep",
    "nan.json": "num_gpu: NaN",
    "fast.json": '"xput": "fast"',
    "huge.json": "xput 1e300",
    "binary.json": "binary bytes",
    "empty.json": "an empty file",
    "x.json": "a directory",
    "loop.json": "a symlink loop",
    "dangling.json": "a symlink to nothing",
    "fifo.json": "a FIFO (reading it would block)",
}


def write_corrupt_plans(folder: Path) -> list[Path]:
    """A folder of broken plan files (issue 13's corrupt plans), plus one good plan."""
    import json
    import os

    from ppipe.planfile.plan import write_plan

    folder.mkdir(parents=True, exist_ok=True)
    write_plan(demo_plan(), folder / "good.json")
    doc = json.loads(demo_plan().dumps())
    (folder / "invalid.json").write_text("{ not json")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    nan = json.loads(json.dumps(doc))
    nan[0]["pipelines"][0]["partitions"][0]["num_gpu"] = float("nan")
    (folder / "nan.json").write_text(json.dumps(nan))  # NaN, as Python's json writes it
    fast = json.loads(json.dumps(doc))
    fast[0]["xput"] = "fast"
    (folder / "fast.json").write_text(json.dumps(fast))
    huge = json.loads(json.dumps(doc))
    huge[0]["xput"] = 1e300
    (folder / "huge.json").write_text(json.dumps(huge))
    (folder / "binary.json").write_bytes(bytes(range(256)) * 4)
    (folder / "empty.json").write_bytes(b"")
    (folder / "x.json").mkdir()
    (folder / "loop.json").symlink_to(folder / "loop.json")
    (folder / "dangling.json").symlink_to(folder / "nowhere" / "plan.json")
    os.mkfifo(folder / "fifo.json")
    return sorted(folder.glob("*.json"))


# ------------------------------------------------------- a slow enumeration

def slow_enumeration(started: threading.Event, honour_stop: bool = True, slow_from_call: int = 1):
    """An ``enumerate_configs`` that takes minutes unless stopped (it polls ``should_stop``
    every 10 ms, as the real one does between pieces of work) and reports progress.
    Calls before ``slow_from_call`` enumerate for real (call 1 is the est_xput NP solve's)."""
    from ppipe.planning.configs import EnumerationStopped, enumerate_configs

    calls = [0]

    def fake(problem, d, max_parts=None, prune=True, *, should_stop=None, on_progress=None):
        calls[0] += 1
        if calls[0] < slow_from_call:
            return enumerate_configs(problem, d, max_parts, prune, should_stop=should_stop, on_progress=on_progress)
        started.set()
        n = 0
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if honour_stop and should_stop is not None and should_stop():
                raise EnumerationStopped()
            n += 1000
            if on_progress is not None:
                on_progress(n, n // 10)
            time.sleep(0.01)
        return []

    return fake
