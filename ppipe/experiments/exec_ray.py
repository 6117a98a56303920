"""The ``ray`` executor: every setting a Ray task with one CPU (``pip install 'ppipe[ray]'``).

The driver connects to the cluster at ``address`` (``--address``), else at
``$RAY_ADDRESS``, else starts a Ray instance here with ``workers`` CPUs (no
dashboard, quiet logs) and stops it at the end. Tasks do not need the output
folder: the driver sends each task the setting's files written so far (its
plans and finished parts, so a resumed setting solves nothing again), the task
runs :func:`ppipe.experiments.runner.run_setting` in a scratch folder with one
HiGHS thread, and returns the setting's files, which the driver writes into the
output folder atomically as each task ends (plans first, the parts that mark a
variant done last). So workers need no shared file system, and killing the
driver and running it again resumes with the settings not yet written.

Workers do need what the specification points at: the profile data folder
(``--data`` / ``$PPIPE_ARTIFACT``, forwarded to the tasks) and, for trace
arrivals, the trace file, at the same paths.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path


def setting_files(out_root: str, s) -> dict[str, str]:
    """The setting's files in the output folder (relative path -> text), hidden temp files excluded."""
    from ppipe.experiments.outdir import OutDir

    out = OutDir(out_root)
    files = {}
    for d in (out.plans(s), out.parts(s)):
        if d.is_dir():
            for p in sorted(d.iterdir()):
                if p.is_file() and not p.name.startswith("."):
                    files[p.relative_to(out.root).as_posix()] = p.read_text(encoding="utf-8")
    return files


def run_setting_task(s, spec, files: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """Run one setting in a scratch folder seeded with ``files``; return its report and files."""
    import tempfile

    from ppipe.experiments.runner import run_setting

    with tempfile.TemporaryDirectory(prefix="ppipe-ray-") as tmp:
        for rel, text in files.items():
            p = Path(tmp) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        report = run_setting(s, spec, tmp, 1)
        return report, setting_files(tmp, s)


def write_setting_files(out_root: str, s, files: dict[str, str], report: dict) -> None:
    """Write a task's files into the output folder: plans, then timing/failed, then the parts."""
    from ppipe.atomic import write_text_atomic
    from ppipe.experiments.outdir import OutDir

    out = OutDir(out_root)

    def rank(rel: str) -> int:
        return 0 if rel.startswith("plans/") else (2 if rel.endswith(".csv") else 1)

    for rel in sorted(files, key=lambda r: (rank(r), r)):
        target = out.root / rel
        if not target.exists() or target.read_text(encoding="utf-8") != files[rel]:
            write_text_atomic(target, files[rel])
    if report.get("ok"):
        out.failed(s).unlink(missing_ok=True)
    elif "parts/" + s.id + "/failed.json" not in files:
        from ppipe.atomic import write_json_atomic

        write_json_atomic(out.failed(s), report)


def _init(address: str | None, workers: int) -> bool:
    """Connect or start Ray; True if this call started the instance (and so must stop it)."""
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    env = {k: os.environ[k] for k in ("PPIPE_ARTIFACT", "PPIPE_DATA") if os.environ.get(k)}
    kw = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=True,
              runtime_env={"env_vars": env} if env else None)
    if address:
        ray.init(address=address, **kw)
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=max(1, int(workers)), include_dashboard=False, **kw)
    return True


def run(pending, spec, out_root: str, finished, status, workers: int = 1, address: str | None = None,
        **_options) -> None:
    import ray

    started = _init(address, workers)
    refs: dict = {}
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_setting_task)
        for s in pending:
            refs[task.remote(s, spec, setting_files(out_root, s))] = s
        cpus = int(ray.cluster_resources().get("CPU", 0))
        last = 0.0
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
            now = time.monotonic()
            if now - last > 2.0 or done:
                cpus = int(ray.cluster_resources().get("CPU", cpus))
                last = now
            for ref in done:
                s = refs.pop(ref)
                try:
                    report, files = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    report, files = {"setting": s.id, "group": s.group, "cluster": s.cluster, "computed": [],
                                     "ok": False, "message": f"ray task failed: {str(exc).splitlines()[0][:200]}"}, {}
                write_setting_files(out_root, s, files, report)
                finished(report)
            status({"running": min(len(refs), cpus or len(refs)), "cpus": cpus, "executor": "ray"})
    except BaseException:
        for ref in refs:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort while stopping
                pass
        raise
    finally:
        if started:
            ray.shutdown()
