"""The one timing rule of the benchmarks that measure a task many times over."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(work: Callable[[], object], repeat: int, seconds: float) -> float:
    """The fastest of at least ``repeat`` runs and of ``seconds`` of running: on a shared
    machine a few runs of a short task are often all slowed by a neighbour."""
    times: list[float] = []
    until = time.perf_counter() + seconds
    while len(times) < repeat or time.perf_counter() < until:
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)
