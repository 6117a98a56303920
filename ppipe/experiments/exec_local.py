"""The ``local`` executor: settings in a process pool on this machine (the default).

One setting per process, ``workers`` at a time (in the driver itself when one
worker suffices); HiGHS runs with one thread per setting, so plans do not depend
on ``workers``.

Workers never outlive the driver: each ignores SIGINT (the driver, which gets
Ctrl-C too, stops them and prints one line) and runs a watchdog thread that
ends the process within a second of the driver's death, even by SIGKILL
(the worker is re-parented, or the driver's pid is gone). A setting cut short
leaves at most hidden temp files, which the next run removes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

#: Seconds between the watchdog's looks at the driver.
WATCH_INTERVAL = 0.5
#: The exit status of a worker whose driver is gone.
ORPHAN_EXIT = 75


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process now holds the pid: ours is gone
        return False
    return True


def _watch_driver(driver_pid: int, parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_INTERVAL)
        if os.getppid() != parent_pid or not _alive(driver_pid):
            os._exit(ORPHAN_EXIT)


def worker_init(driver_pid: int) -> None:
    """In each pool worker: leave Ctrl-C to the driver and exit when the driver dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_driver, args=(driver_pid, os.getppid()), name="ppipe-driver-watchdog",
                     daemon=True).start()


def run(pending, spec, out_root: str, finished, status, workers: int = 1, **_options) -> None:
    from ppipe.experiments.runner import run_setting

    workers = max(1, int(workers))
    status({"running": min(workers, len(pending)), "cpus": workers, "executor": "local"})
    if workers <= 1 or len(pending) <= 1:
        left = len(pending)
        for s in pending:
            status({"running": 1, "current": [s.id], "cpus": workers, "executor": "local"})
            finished(run_setting(s, spec, out_root, 1))
            left -= 1
        return
    ex = ProcessPoolExecutor(max_workers=min(workers, len(pending)), initializer=worker_init,
                             initargs=(os.getpid(),))
    try:
        futs = {ex.submit(run_setting, s, spec, out_root, 1) for s in pending}
        while futs:
            done, futs = wait(futs, return_when=FIRST_COMPLETED)
            for f in done:
                finished(f.result())
            status({"running": min(workers, len(futs)), "cpus": workers, "executor": "local"})
    except BaseException:
        procs = list(getattr(ex, "_processes", {}).values())
        manager = getattr(ex, "_executor_manager_thread", None)  # shutdown() forgets it
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # our own workers only
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
        try:  # let the pool's manager thread see the dead workers and exit quietly
            ex.shutdown(wait=True)
        except Exception:  # noqa: BLE001 - the pool is broken on purpose
            pass
        # Python 3.11's exit hook wakes every pool's manager thread; one still closing its
        # wake-up pipe then races it ("OSError: Bad file descriptor" after our one line)
        if manager is not None:
            manager.join(timeout=5)
        raise
    ex.shutdown(wait=True)
