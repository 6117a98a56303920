"""How a solve ended, one word that JSON, tables and exit codes share."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A solve's outcome. A ``str`` subclass: compares equal to and serialises as its value."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    CANCELLED = "cancelled"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def has_plan_kind(self) -> bool:
        """Statuses that may come with a plan (the best one found so far)."""
        return self in (Status.OPTIMAL, Status.TIME_LIMIT, Status.CANCELLED)
