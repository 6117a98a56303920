"""Where an experiment's settings run: a table of executors, one module each.

- ``local`` (:mod:`ppipe.experiments.exec_local`, the default): a process pool on
  this machine, ``workers`` settings at a time;
- ``ray`` (:mod:`ppipe.experiments.exec_ray`, ``pip install 'ppipe[ray]'``): every
  setting a Ray task with one CPU, on the cluster at ``--address`` /
  ``$RAY_ADDRESS`` or on a Ray instance started here.

An executor gets the pending settings and runs them, calling ``finished(report)``
in the driver as each setting ends (:func:`ppipe.experiments.runner.run_setting`'s
report) and ``status(info)`` with what is running; the runner merges the results
after every setting. Whatever the executor, a setting's files are those
:func:`~ppipe.experiments.runner.run_setting` writes, so the output folder, its
fingerprint and ``results.csv`` do not depend on it. A KeyboardInterrupt in
the driver stops the executor's work and propagates.

Adding an executor is one module and one ``register`` call.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

from ppipe.errors import InputError
from ppipe.registry import Registry, resolve


@dataclass(frozen=True)
class Executor:
    """``run`` is ``"module:function"`` (imported on first use) with the signature
    ``run(pending, spec, out_root, finished, status, workers=..., **options)``."""

    name: str
    run: str | Callable
    description: str = ""
    requires: tuple[str, ...] = ()  # importable modules it needs
    install_hint: str = ""
    options: tuple[str, ...] = field(default_factory=tuple)  # keyword options it accepts

    def available(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def runner(self) -> Callable:
        if not self.available():
            raise InputError(f"executor {self.name!r} needs {', '.join(self.requires)}: {self.install_hint}")
        return resolve(self.run)


EXECUTORS: Registry[Executor] = Registry("executor")
EXECUTORS.register(Executor("local", "ppipe.experiments.exec_local:run",
                            "a process pool on this machine (--workers settings at a time)"))
EXECUTORS.register(Executor("ray", "ppipe.experiments.exec_ray:run",
                            "Ray tasks, one CPU each, on --address / $RAY_ADDRESS or a local Ray instance",
                            requires=("ray",), install_hint="pip install 'ppipe[ray]'", options=("address",)))


def available() -> tuple[str, ...]:
    """The executors whose requirements are installed."""
    return tuple(e.name for e in EXECUTORS if e.available())


def get(name: str) -> Executor:
    return EXECUTORS.get(name)
