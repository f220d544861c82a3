"""Any bytes into verify_pdf: a report or a typed error, never another exception or a hang.

The corpus is data: mutations of one signed contract drawn from a fixed seed (so every
run checks the same inputs), plus hypothesis's own search on top.
"""

from __future__ import annotations

import random

import pytest
from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbridge.errors import SealBridgeError
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication
from support.contracts import one_party_signed

CORPUS_SEED = 20261125
CORPUS_SIZE = 40


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, Federation]:
    return one_party_signed("F-1", "Fuzzed")


def _mutate(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    """A mutated copy and the first offset that differs from ``data``."""
    choice = rng.randrange(4)
    at = rng.randrange(len(data))
    if choice == 0:
        return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :], at
    if choice == 1:
        return data[:at], at
    if choice == 2:
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        return data[:at] + noise + data[at:], at
    return data[:at] + data[at + rng.randrange(1, 512) :], at


def _check(original: bytes, mutated: bytes, at: int, federation: Federation) -> None:
    """A typed error, or a report that does not pass a signature whose bytes changed."""
    if mutated == original:
        return
    try:
        report = verify_pdf(
            mutated,
            "fuzz.pdf",
            federation,
            ["SZ"],
            context=federation_context(federation, fetch=False),
        )
    except SealBridgeError:
        return
    if not original:
        return
    start, end = _signature_hex(original)
    if not start <= at < end:  # the signature value's own zero padding is not signed
        assert all(s.indication is not Indication.TOTAL_PASSED for s in report.signatures)


def _signature_hex(data: bytes) -> tuple[int, int]:
    """The bytes a signature's ByteRange leaves out: its /Contents value."""
    marker = data.rindex(b"/ByteRange")
    numbers = data[marker : marker + 80].split(b"[", 1)[1].split(b"]", 1)[0].split()
    return int(numbers[1]), int(numbers[2])


def test_the_fixed_corpus(signed: tuple[bytes, Federation]) -> None:
    data, federation = signed
    rng = random.Random(CORPUS_SEED)
    for _ in range(CORPUS_SIZE):
        _check(data, *_mutate(data, rng), federation)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_mutations(signed: tuple[bytes, Federation], seed: int) -> None:
    data, federation = signed
    _check(data, *_mutate(data, random.Random(seed)), federation)


@given(st.binary(max_size=2048))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_arbitrary_bytes(signed: tuple[bytes, Federation], raw: bytes) -> None:
    _check(b"", b"%PDF-1.7\n" + raw, -1, signed[1])


def test_mutations_inside_the_signature_container(signed: tuple[bytes, Federation]) -> None:
    """/Contents is outside the byte range: anyone can rewrite the CMS it holds, and its
    certificate bag and unsigned attributes are signed by nothing. Hex digits changed
    there give a verdict, never an exception (a mangled CA certificate in the bag or a
    mangled signer key once escaped as ValueError); a verdict that still passes means
    the change missed the signed attributes and the signature value."""
    data, federation = signed
    start, end = _signature_hex(data)
    der_end = start + 1 + 2 * _der_length(data, start)
    original = _signed_parts(data, start, end)
    rng = random.Random(CORPUS_SEED)
    context = federation_context(federation, fetch=False)
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(start + 1, der_end)] = ord(rng.choice("0123456789ABCDEF"))
        try:
            report = verify_pdf(bytes(mutated), "fuzz.pdf", federation, ["SZ"], context=context)
        except SealBridgeError:
            continue
        (sig,) = report.signatures
        if sig.indication is Indication.TOTAL_PASSED:
            assert _signed_parts(bytes(mutated), start, end) == original


def _der_length(data: bytes, start: int) -> int:
    """Bytes of DER in the /Contents hex (the rest is zero padding)."""
    header = bytes.fromhex(data[start + 1 : start + 1 + 8].decode())
    return 4 + int.from_bytes(header[2:4], "big") if header[1] == 0x82 else 2 + header[1]


def _signed_parts(data: bytes, start: int, end: int) -> tuple[bytes, bytes] | None:
    try:
        info = cms.ContentInfo.load(bytes.fromhex(data[start + 1 : end - 1].decode()))
        signer = info["content"]["signer_infos"][0]
        return signer["signed_attrs"].dump(), bytes(signer["signature"].native)
    except ValueError:
        return None
