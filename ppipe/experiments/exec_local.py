"""The ``local`` executor: settings in a process pool on this machine (the default).

One setting per process, ``workers`` at a time (in the driver itself when one
worker suffices); HiGHS runs with one thread per setting, so plans do not depend
on ``workers``.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait


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
    ex = ProcessPoolExecutor(max_workers=min(workers, len(pending)))
    try:
        futs = {ex.submit(run_setting, s, spec, out_root, 1) for s in pending}
        while futs:
            done, futs = wait(futs, return_when=FIRST_COMPLETED)
            for f in done:
                finished(f.result())
            status({"running": min(workers, len(futs)), "cpus": workers, "executor": "local"})
    except BaseException:
        procs = list(getattr(ex, "_processes", {}).values())
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
        raise
    ex.shutdown(wait=True)
