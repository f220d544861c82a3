"""The one timing rule of the benchmarks that measure a task many times over."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

# How long one timed batch lasts at least: a 4 ms task runs in batches of 64, a 150 ms
# one in batches of 2, so every figure is sampled alike.
BATCH_SECONDS = 0.2

K = TypeVar("K")


def best(works: Mapping[K, Callable[[], object]], repeat: int, seconds: float) -> dict[K, float]:
    """Seconds per run of each work: the fastest of its batches, each batch running the
    work back to back for at least ``BATCH_SECONDS``.

    The works take turns, one batch each per round, for at least ``repeat`` rounds and
    ``seconds`` per work in all. Turns, because a shared machine's speed drifts by a
    third over minutes: timed one after the other, the anchor and SealBridge (or one
    signature and thirty) met different neighbours, and their ratio measured the drift
    as much as the code. Taking turns, every work samples the same spells; a burst that
    slows all of one work's batches still shows.

    The fastest batch, because on a shared machine a few runs are often all slowed by a
    neighbour. Batches, not single runs: the fastest single run of a short task is the
    luckiest of many more tries than a long task gets, and it leaves out what the runs
    cost together (the cycle collector's passes over what each leaves behind), so a
    one-signature document looked cheaper against a thirty-signature one than it is.
    """
    loops = {key: _loops(work) for key, work in works.items()}
    fastest = {key: float("inf") for key in works}
    until = time.perf_counter() + seconds * len(works)
    rounds = 0
    while rounds < repeat or time.perf_counter() < until:
        for key, work in works.items():
            fastest[key] = min(fastest[key], _batch(work, loops[key]) / loops[key])
        rounds += 1
    return fastest


def _loops(work: Callable[[], object]) -> int:
    """How many runs of ``work`` fill one batch."""
    loops = 1
    elapsed = _batch(work, loops)
    while elapsed < BATCH_SECONDS:
        # As many runs as the last batch says fill one, and never fewer than twice as
        # many (a batch that ran fast by luck undershoots).
        loops = max(loops * 2, int(loops * BATCH_SECONDS / max(elapsed, 1e-9)))
        elapsed = _batch(work, loops)
    return loops


def _batch(work: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        work()
    return time.perf_counter() - start
