"""Linear or not, told by a clock that a loaded machine cannot fool: a hostile input is timed against a plain input
of the same size, both large enough that a quadratic path takes seconds where a linear one takes a fraction."""

from __future__ import annotations

import time
from collections.abc import Callable


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def assert_costs_like(hostile: Callable[[], object], plain: Callable[[], object]) -> None:
    """`hostile` takes at most three times what `plain` takes, and half a second for the noise."""
    baseline = seconds(plain)
    took = seconds(hostile)
    assert took < 3 * baseline + 0.5, f"hostile input {took:.2f} s, plain input of its size {baseline:.2f} s"
