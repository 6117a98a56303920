"""The balancer table: how requests are routed to workers in the simulator.

A balancer is implemented inside the compiled event loop (:mod:`ppipe.sim.kernel`),
which dispatches on an integer code; this table names the codes, says what each
does, and is what the CLI, the experiments and the layout check read. An unknown
name is an error, never a silent fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppipe.registry import Registry

#: Kernel codes (``ppipe.sim.kernel.BAL_*``; a test keeps them in step).
RESERVATION_CODE = 0
NEXUS_CODE = 1


@dataclass(frozen=True)
class Balancer:
    name: str
    label: str
    code: int  # the kernel's dispatch code
    inner_queues: bool  # has a balancer in front of every later stage (Nexus-style)
    description: str = ""


BALANCERS: Registry[Balancer] = Registry("balancer")
BALANCERS.register(Balancer("reservation", "Reservation (PPipe)", RESERVATION_CODE, False,
                            "reserves a worker on every stage of a pipeline route (SPEC 7)"))
BALANCERS.register(Balancer("nexus", "Nexus-style", NEXUS_CODE, True,
                            "SLO-aware balancers in front of every stage (the ablation)"))
DEFAULT_BALANCER = "reservation"


def get(name: str) -> Balancer:
    return BALANCERS.get(name)


def names() -> tuple[str, ...]:
    return BALANCERS.names()
