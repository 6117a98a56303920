"""map_in_threads: side-by-side solves keep the order of their inputs and their errors."""

from __future__ import annotations

import threading

import pytest

from ppipe.planning.parallel import default_workers, map_in_threads


def test_results_keep_the_order_of_the_inputs_whatever_starts_first():
    started: list[int] = []
    lock = threading.Lock()

    def square(x: int) -> int:
        with lock:
            started.append(x)
        return x * x

    items = [3, 1, 4, 1, 5, 9, 2, 6]
    assert map_in_threads(square, items, workers=3, first=lambda x: x) == [x * x for x in items]
    assert sorted(started) == sorted(items)
    assert map_in_threads(square, items, workers=1) == [x * x for x in items]


def test_the_largest_start_first():
    """Two workers: the two largest are taken first, and nothing else starts until one of
    them returns (they wait for each other), so the first two recorded are exactly those."""
    order: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2, timeout=30)

    def record(x: int) -> int:
        with lock:
            order.append(x)
            early = len(order) <= 2
        if early:
            barrier.wait()
        return x

    assert map_in_threads(record, [1, 7, 3, 9, 5], workers=2, first=lambda x: x) == [1, 7, 3, 9, 5]
    assert set(order[:2]) == {9, 7} and sorted(order) == [1, 3, 5, 7, 9]


def test_calls_run_side_by_side():
    """Two calls that each wait for the other finish only if they run at the same time."""
    barrier = threading.Barrier(2, timeout=30)

    def meet(x: int) -> int:
        barrier.wait()
        return x

    assert map_in_threads(meet, [1, 2], workers=2) == [1, 2]


def test_the_first_error_is_raised_after_the_others_return():
    done: list[int] = []

    def fail_on_two(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        done.append(x)
        return x

    with pytest.raises(ValueError, match="two"):
        map_in_threads(fail_on_two, [1, 2, 3], workers=2)
    assert sorted(done) == [1, 3]


def test_default_workers_is_at_least_one():
    assert 1 <= default_workers() <= 4
