"""A named table of things people add (schedulers, balancers, solver backends,
arrival processes), read by everything that lists or looks them up.

Adding a scheduler or a balancer is one module and one ``register`` call: the
CLI's choices, plan-file names, experiment variants, figures and the TUI all
read the table, so no other file needs an edit.
"""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, Protocol, TypeVar

from ppipe.errors import InputError


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Entries by name, kept in the order they were registered."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, entry: T, *, replace: bool = False) -> T:
        if entry.name in self._entries and not replace:
            raise ValueError(f"{self.what} {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise InputError(f"unknown {self.what} {name!r} (use {', '.join(self._entries)})") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)


def resolve(target: str | Callable) -> Callable:
    """A callable, or one named ``"package.module:attribute"`` (imported on first use,
    so a registry table costs nothing to import)."""
    if callable(target):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
