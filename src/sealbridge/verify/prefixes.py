"""Digests of a PDF's signed bytes that share the file's common beginning.

Signature k of n signs the file from its first byte up to its own /Contents, which
holds every earlier revision: hashing each byte range from the start hashed the file's
first part n times over, a cost that grew with the square of the number of signatures.
Here the hash of each prefix is kept, so the next signature's digest continues from the
longest prefix already hashed (hash states copy; a digest is never recomputed), and a
file's signatures together hash it about once.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right, insort
from collections.abc import Callable, Sequence
from typing import Any

from sealbridge.errors import SealBridgeError

Range = tuple[int, int]


class FilePrefixes:
    """One file's bytes with the hash states of the prefixes hashed so far, per algorithm."""

    def __init__(self, data: bytes | memoryview) -> None:
        self._data = memoryview(data)
        self._states: dict[str, list[tuple[int, Any]]] = {}

    def digest_of(self, ranges: Sequence[Range]) -> Callable[[str], bytes]:
        """A digest function over the concatenated ``(start, length)`` ranges, computed
        once per algorithm asked for; a first range starting at 0 continues a prefix."""
        done: dict[str, bytes] = {}

        def compute(algorithm: str) -> bytes:
            if algorithm not in done:
                hasher = self._start(algorithm, ranges)
                for start, length in ranges[1:] if ranges and ranges[0][0] == 0 else ranges:
                    hasher.update(self._data[start : start + length])
                done[algorithm] = hasher.digest()
            return done[algorithm]

        return compute

    def _start(self, algorithm: str, ranges: Sequence[Range]) -> Any:
        """A hasher that has taken in the first range when it starts at byte 0, else none."""
        try:
            fresh = hashlib.new(algorithm)
        except ValueError as exc:
            raise SealBridgeError(f"digest algorithm {algorithm} is not supported") from exc
        if not ranges or ranges[0][0] != 0:
            return fresh
        # The bytes a slice gives, as for any other range (a hostile length included).
        end = len(self._data[: ranges[0][1]])
        states = self._states.setdefault(algorithm, [(0, fresh)])
        at = bisect_right(states, end, key=lambda state: state[0]) - 1
        offset, state = states[at]
        if offset != end:
            state = state.copy()
            state.update(self._data[offset:end])
            insort(states, (end, state), key=lambda kept: kept[0])
        return state.copy()
