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

Speed: with numba installed the event loop is compiled (first use ~10 s, then
cached on disk) and simulates several hundred thousand requests per wall
second; without it the same code runs as plain Python (~7,000 req/s) with
bit-identical results.
"""

from ppipe.sim.arrivals import BurstyArrivals, FixedArrivals, PoissonArrivals, TraceArrivals
from ppipe.sim.engine import Simulation, Snapshot, simulate
from ppipe.sim.metrics import SimulationResult

__all__ = ["Simulation", "Snapshot", "simulate", "SimulationResult", "PoissonArrivals", "TraceArrivals",
           "BurstyArrivals", "FixedArrivals"]


def __getattr__(name):  # lazy: lfsearch pulls in multiprocessing helpers
    if name in ("find_lf99", "attainment_curve", "lf99_table"):
        from ppipe.sim import lfsearch

        return getattr(lfsearch, name)
    raise AttributeError(name)
