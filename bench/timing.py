"""The one timing rule of the benchmarks that measure a task many times over."""

from __future__ import annotations

import time
from collections.abc import Callable

# How long one timed batch lasts at least: a 4 ms task runs in batches of 64, a 150 ms
# one in batches of 2, so every figure is sampled alike.
BATCH_SECONDS = 0.2


def best(work: Callable[[], object], repeat: int, seconds: float) -> float:
    """Seconds per run of ``work``: the fastest of at least ``repeat`` batches and of
    ``seconds`` of running, each batch running ``work`` back to back for at least
    ``BATCH_SECONDS``.

    The fastest batch, because on a shared machine a few runs are often all slowed by a
    neighbour. Batches, not single runs: the fastest single run of a short task is the
    luckiest of many more tries than a long task gets, and it leaves out what the runs
    cost together (the cycle collector's passes over what each leaves behind), so a
    one-signature document looked cheaper against a thirty-signature one than it is.
    """
    loops = 1
    elapsed = _batch(work, loops)
    while elapsed < BATCH_SECONDS:
        # As many runs as the last batch says fill one, and never fewer than twice as
        # many (a batch that ran fast by luck undershoots).
        loops = max(loops * 2, int(loops * BATCH_SECONDS / max(elapsed, 1e-9)))
        elapsed = _batch(work, loops)
    times = [elapsed / loops]
    until = time.perf_counter() + seconds
    while len(times) < repeat or time.perf_counter() < until:
        times.append(_batch(work, loops) / loops)
    return min(times)


def _batch(work: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        work()
    return time.perf_counter() - start
