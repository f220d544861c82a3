"""A file's signatures share the hashing of its common beginning; each digest must still
be exactly the digest of its own byte ranges, whatever order the signatures are checked
in, whatever algorithm each uses, and whatever a hostile /ByteRange says."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealbridge.errors import SealBridgeError
from sealbridge.verify.prefixes import FilePrefixes, Range


def _plain(data: bytes, ranges: list[Range], algorithm: str) -> bytes:
    hasher = hashlib.new(algorithm)
    for start, length in ranges:
        hasher.update(data[start : start + length])
    return hasher.digest()


_RANGE = st.tuples(st.integers(-50, 400), st.integers(-50, 400))


@given(
    data=st.binary(max_size=300),
    requests=st.lists(
        st.tuples(
            st.lists(_RANGE, max_size=3).map(lambda r: r if r else [(0, 0)]),
            st.sampled_from(["sha256", "sha512", "sha1"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_every_digest_equals_hashing_its_ranges_alone(
    data: bytes, requests: list[tuple[list[Range], str, bool]]
) -> None:
    prefixes = FilePrefixes(data)
    for ranges, algorithm, from_start in requests:
        if from_start:
            ranges = [(0, ranges[0][1]), *ranges[1:]]
        digest = prefixes.digest_of(ranges)
        assert digest(algorithm) == _plain(data, ranges, algorithm)
        assert digest(algorithm) == _plain(data, ranges, algorithm)  # asked again


def test_signatures_of_a_many_party_file_in_any_order() -> None:
    # The shape of n sequential signatures: each signs up to its /Contents and then the
    # rest of its revision, and the next one's prefix holds it.
    data = bytes(range(256)) * 40
    layouts = [[(0, 300 * k), (300 * k + 100, 150)] for k in range(1, 30)]
    prefixes = FilePrefixes(data)
    for ranges in [*layouts[::-1], *layouts[::2], *layouts]:
        assert prefixes.digest_of(ranges)("sha256") == _plain(data, ranges, "sha256")


def test_an_unknown_algorithm_is_a_typed_error() -> None:
    with pytest.raises(SealBridgeError, match="not-a-hash"):
        FilePrefixes(b"%PDF-1.7").digest_of([(0, 4)])("not-a-hash")
