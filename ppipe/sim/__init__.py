"""Discrete-event simulator of PPipe's data plane (SPEC sections 7 and 8).

Public API (also used by the TUI; nothing here imports a UI library):

- :class:`Simulation` (``ppipe.sim.engine``): ``Simulation(model_plan, profile,
  arrivals, rng=np.random.Generator, balancer="reservation"|"nexus",
  duration_s=30)`` with ``.step()``, ``.run(until=us)``, ``.snapshot()``,
  ``.result()`` -> :class:`SimulationResult` (dataclass with ``to_json()``).
- :func:`simulate`: one run to the end.
- Arrival processes (``ppipe.sim.arrivals``): :class:`PoissonArrivals`,
  :class:`TraceArrivals`, :class:`BurstyArrivals`, :class:`FixedArrivals`.
- Load-factor search (``ppipe.sim.lfsearch``): :func:`find_lf99`,
  :func:`attainment_curve`, :func:`lf99_table`.

Modules: ``layout`` (plan + profile -> validated integer tables), ``kernel``
(the event loop over flat arrays, numba-compiled when available), ``engine``
(the Simulation object), ``arrivals`` and ``traces`` (arrival streams),
``metrics`` (SimulationResult), ``lfsearch`` (load factor at 99 % attainment),
``synthetic`` (made-up plans for tests and demos).

Speed: with numba installed the event loop is compiled ahead of time into a
small extension module (first use ~10 s, then cached on disk and loaded in a
millisecond, without importing numba; see :mod:`ppipe.sim._jit`) and simulates
several hundred thousand requests per wall second; without numba the same code
runs as plain Python (~7,000 req/s) with bit-identical results.

Nothing is imported until used: ``from ppipe.sim import Simulation`` loads the
engine, ``import ppipe.sim.metrics`` does not.
"""

# Lazy: ``from ppipe.sim.metrics import ...`` runs this file first, and must not
# pay for the engine (or the arrival processes) it does not use.
_EXPORTS = {
    "Simulation": "ppipe.sim.engine", "Snapshot": "ppipe.sim.engine", "simulate": "ppipe.sim.engine",
    "SimulationResult": "ppipe.sim.metrics",
    "PoissonArrivals": "ppipe.sim.arrivals", "TraceArrivals": "ppipe.sim.arrivals",
    "BurstyArrivals": "ppipe.sim.arrivals", "FixedArrivals": "ppipe.sim.arrivals",
    "find_lf99": "ppipe.sim.lfsearch", "attainment_curve": "ppipe.sim.lfsearch", "lf99_table": "ppipe.sim.lfsearch",
}

__all__ = ["Simulation", "Snapshot", "simulate", "SimulationResult", "PoissonArrivals", "TraceArrivals",
           "BurstyArrivals", "FixedArrivals"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ppipe.sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
