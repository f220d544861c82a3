"""Any bytes into verify_detached_cms: a report or a typed error, never another exception.

A detached signature's attributes are parsed lazily, deep inside the checks; a mutated
one must still end in a verdict. The corpus is mutations of one signed .p7s (SM2 and
ECDSA, one with a signature timestamp) drawn from fixed seeds, plus hypothesis's search.
"""

from __future__ import annotations

import random

import pytest
from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbridge.crypto.algorithms import KeyKind, digest
from sealbridge.documents.pdf.cms import sign_detached
from sealbridge.errors import MalformedInput
from sealbridge.verify.cms import verify_detached_cms
from sealbridge.verify.pdf import federation_context
from sealbridge.verify.report.model import Indication
from support.cms_world import World

CONTENT = b"contract body\n" * 40
CORPUS_SEED = 20261125


@pytest.fixture(scope="module")
def containers(world: World) -> list[bytes]:
    made = []
    for kind, stamped in ((KeyKind.SM2, False), (KeyKind.ECDSA_P256, True)):
        signer = world.firm(kind)
        made.append(
            sign_detached(
                digest("sm3" if kind is KeyKind.SM2 else "sha256", CONTENT),
                signer.key,
                signer.certificate,
                (signer.ca.certificate,),
                timestamper=world.timestamper if stamped else None,
            )
        )
    return made


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out))
        choice = rng.random()
        if choice < 0.6:
            out[at] = rng.randrange(256)
        elif choice < 0.8:
            del out[at : at + rng.randint(1, 16)]
        else:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(out)


def _check(world: World, data: bytes, original: bytes) -> None:
    """Offline, so the corpus runs at CPU speed; the verdict is what matters."""
    context = federation_context(world.federation, fetch=False)
    try:
        report = verify_detached_cms(
            data, CONTENT, "f.p7s", world.federation, ["SZ"], context=context
        )
    except MalformedInput:
        return
    (sig,) = report.signatures
    if sig.indication is Indication.TOTAL_PASSED:
        # A changed container may still verify, but only if the change missed what is
        # signed: the signed attributes, the signature value and the signer certificate.
        assert _signed_parts(data) == _signed_parts(original)


def _signed_parts(container: bytes) -> tuple[bytes, bytes]:
    info = cms.ContentInfo.load(container)["content"]["signer_infos"][0]
    return info["signed_attrs"].dump(), bytes(info["signature"].native)


def test_fixed_corpus(world: World, containers: list[bytes]) -> None:
    rng = random.Random(CORPUS_SEED)
    for original in containers:
        for _ in range(60):
            _check(world, _mutate(original, rng), original)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), which=st.integers(0, 1))
def test_random_mutations(world: World, containers: list[bytes], seed: int, which: int) -> None:
    original = containers[which]
    _check(world, _mutate(original, random.Random(seed)), original)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=1024))
def test_arbitrary_bytes(world: World, raw: bytes) -> None:
    _check(world, raw, b"")
