"""Helpers for driving the app in tests (Textual pilot) and for text snapshots."""

from __future__ import annotations

import asyncio
import io
import re
import time
from pathlib import Path
from typing import Callable

from rich.console import Console

from ppipe.planning.configs import batch_build_us, stage_xput
from ppipe.planfile.plan import ModelPlan, Partition, Pipeline, Plan
from ppipe.profiles.model import ModelProfile
from ppipe_tui.demo import demo_profile


def screen_text(app) -> str:
    """The screen as plain text (what a terminal shows, without colour), trailing blanks cut."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system=None,
                      record=True, legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    console.print(update)
    text = console.export_text(styles=False)
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def normalise(text: str, replacements: dict[str, str] | None = None) -> str:
    for old, new in (replacements or {}).items():
        text = text.replace(old, new)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return text


_CHARS = {"space": " ", "plus": "+", "minus": "-", "equals_sign": "=", "question_mark": "?", "full_stop": ".",
          "comma": ",", "slash": "/", "underscore": "_", "colon": ":"}


async def press(pilot, *keys: str) -> None:
    """Like ``pilot.press`` without waiting for the *process* to go idle.

    ``pilot.press`` waits until CPU time stops advancing, which never happens
    while a solver or simulation thread works, so every key would cost up to a
    second. Here each key is sent and the screen's queued messages processed.
    """
    from textual import events

    app = pilot.app
    for key in keys:
        if len(key) == 1:
            name = {v: k for k, v in _CHARS.items()}.get(key, key)
            char = key
        else:
            name, char = key, _CHARS.get(key)
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)
        for _ in range(4):  # driver -> app -> screen -> focused widget -> messages it posts
            await _drain(app)


async def _drain(app) -> None:
    """Wait until the app, the screen and the focused widget have handled what is queued now
    (cheaper than ``pilot._wait_for_screen``, which pings every widget on the screen)."""
    nodes = [app, app.screen]
    if app.focused is not None:
        nodes += list(app.focused.ancestors_with_self)
    pending = []
    for node in dict.fromkeys(nodes):
        done = asyncio.Event()
        if node.call_later(done.set):
            pending.append(done.wait())
    if pending:
        await asyncio.wait_for(asyncio.gather(*pending), 10)
    await asyncio.sleep(0)


async def type_text(pilot, text: str) -> None:
    await press(pilot, *text)


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> bool:
    """Let the app run until ``predicate()`` holds (True) or ``timeout`` passes (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(step)
        await _drain(pilot.app)
    return predicate()


async def wait_mode(pilot, app, mode: str, timeout: float = 20.0) -> bool:
    """Wait until ``mode`` is current and its screen is mounted and drawn."""
    ok = await wait_for(pilot, lambda: app.current_mode == mode and app.screen.is_mounted
                        and getattr(app.screen, "MODE", None) == mode, timeout)
    if ok:
        await pilot.pause(0.1)
        await pilot.wait_for_scheduled_animations()
    return ok


async def wait_screen(pilot, app, cls, timeout: float = 10.0) -> bool:
    """Wait until the top screen is a mounted ``cls`` (a dialog, help) and drawn."""
    ok = await wait_for(pilot, lambda: isinstance(app.screen, cls) and app.screen.is_mounted
                        and bool(app.screen.children), timeout)
    if ok:
        await pilot.pause(0.05)
    return ok


async def settle(pilot, seconds: float = 0.2) -> None:
    """Give pending messages and refreshes a moment."""
    await pilot.pause(seconds)
    await pilot.wait_for_scheduled_animations()
    await asyncio.sleep(0)


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
