"""Operator key rollover through pivot lists signed by a pinned key."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cache

import pytest
from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.errors import TrustError
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.trust.pivot import PinnedOperators, accept_rollover
from sealbridge.trust.xml import ListPointer, load_trust_list_xml, to_xml, verify_trust_list_xml
from support.trust import NOW, Operator

LOCATION = "https://tl.sz.example/tl.xml"


@cache
def _operator_key(generation: int) -> tuple[KeyHandle, x509.Certificate]:
    key = generate_key(KeyKind.ECDSA_P256)
    name = ca_name(f"SZ Trust List Operator, key {generation}", "SealBridge Test", "CN")
    return key, CertificateAuthority.create_root(name, key).certificate


def _pivot(
    op: Operator,
    signer: tuple[KeyHandle, x509.Certificate],
    announced: tuple[x509.Certificate, ...],
    *,
    sequence: int = 5,
    territory: str = "SZ",
    issued_days_ago: int = 0,
) -> bytes:
    issued = NOW - timedelta(days=issued_days_ago)
    tl = replace(
        op.trust_list(sequence),
        territory=territory,
        issued=issued,
        next_update=issued + timedelta(days=30),
    )
    return to_xml(tl, *signer, pointers=[ListPointer(territory, LOCATION, announced)])


def _pinned(op: Operator, sequence: int = 0) -> PinnedOperators:
    return PinnedOperators("SZ", (op.certificate,), sequence)


def test_new_key_is_accepted_after_a_pivot(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    new_key, new_cert = _operator_key(2)
    pins = accept_rollover(_pivot(sz, (sz.key, sz.certificate), (new_cert,)), _pinned(sz), NOW)
    assert pins.pins(new_cert) and not pins.pins(sz.certificate)
    assert pins.sequence_number == 5
    new_list = to_xml(sz.trust_list(6), new_key, new_cert)
    assert pins.load(new_list, now=NOW, last_sequence_number=5).sequence_number == 6
    with pytest.raises(TrustError, match="not by the pinned operator"):
        _pinned(sz).load(new_list, now=NOW)
    with pytest.raises(TrustError, match="not by the pinned operator"):
        load_trust_list_xml(new_list, sz.certificate, now=NOW)
    with pytest.raises(TrustError, match="not by the pinned operator"):
        pins.load(to_xml(sz.trust_list(6), sz.key, sz.certificate), now=NOW)


def test_overlap_keeps_both_keys(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    new_key, new_cert = _operator_key(2)
    pivot = _pivot(sz, (sz.key, sz.certificate), (sz.certificate, new_cert, new_cert))
    pins = accept_rollover(pivot, _pinned(sz), NOW)
    assert len(pins.certificates) == 2
    for key, cert in ((sz.key, sz.certificate), (new_key, new_cert)):
        assert pins.load(to_xml(sz.trust_list(6), key, cert), now=NOW).territory == "SZ"


def test_pivot_announces_its_certificates_as_a_pointer(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    _, new_cert = _operator_key(2)
    verified = verify_trust_list_xml(
        _pivot(sz, (sz.key, sz.certificate), (new_cert,)), [sz.certificate]
    )
    (pointer,) = verified.pointers
    assert (pointer.territory, pointer.location) == ("SZ", LOCATION)
    assert [c.dump() for c in pointer.operator_certificates] == [new_cert.dump()]
    assert verified.signer.dump() == sz.certificate.dump()


@pytest.mark.parametrize("signer", ["new key itself", "another operator"])
def test_pivot_not_signed_by_a_pinned_key_is_refused(
    operators: dict[str, Operator], signer: str
) -> None:
    sz, mo = operators["SZ"], operators["MO"]
    new_key, new_cert = _operator_key(2)
    key, cert = (new_key, new_cert) if signer == "new key itself" else (mo.key, mo.certificate)
    with pytest.raises(TrustError, match=r"pivot for SZ refused: .*not by the pinned operator"):
        accept_rollover(_pivot(sz, (key, cert), (new_cert,)), _pinned(sz), NOW)


def test_tampered_pivot_is_refused(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    _, new_cert = _operator_key(2)
    pivot = _pivot(sz, (sz.key, sz.certificate), (new_cert,))
    tampered = pivot.replace(LOCATION.encode(), b"https://tl.evil.example/tl.xml")
    with pytest.raises(TrustError, match=r"pivot for SZ refused: .*does not verify"):
        accept_rollover(tampered, _pinned(sz), NOW)


def test_pivot_without_its_own_pointer_is_refused(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    _, new_cert = _operator_key(2)
    tl = sz.trust_list(5)
    pivot = to_xml(tl, sz.key, sz.certificate, pointers=[ListPointer("HK", LOCATION, (new_cert,))])
    with pytest.raises(TrustError, match="must point to SZ's own list exactly once"):
        accept_rollover(pivot, _pinned(sz), NOW)


def test_pivot_of_another_territory_is_refused(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    _, new_cert = _operator_key(2)
    pivot = _pivot(sz, (sz.key, sz.certificate), (new_cert,), territory="HK")
    with pytest.raises(TrustError, match="it is the list of HK"):
        accept_rollover(pivot, _pinned(sz), NOW)


def test_older_pivot_cannot_undo_a_later_one(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    _, new_cert = _operator_key(2)
    pivot = _pivot(sz, (sz.key, sz.certificate), (new_cert,), sequence=4)
    with pytest.raises(TrustError, match="sequence 4 is older than 5"):
        accept_rollover(pivot, _pinned(sz, sequence=5), NOW)


def test_pivot_dated_in_the_future_is_refused(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    _, new_cert = _operator_key(2)
    pivot = _pivot(sz, (sz.key, sz.certificate), (new_cert,), issued_days_ago=-1)
    with pytest.raises(TrustError, match="after 2026-11-25"):
        accept_rollover(pivot, _pinned(sz), NOW)


def test_chain_of_pivots_is_followed_even_when_expired(operators: dict[str, Operator]) -> None:
    sz = operators["SZ"]
    key2, cert2 = _operator_key(2)
    _, cert3 = _operator_key(3)
    first = _pivot(sz, (sz.key, sz.certificate), (cert2,), sequence=5, issued_days_ago=100)
    second = _pivot(sz, (key2, cert2), (cert3,), sequence=9, issued_days_ago=10)
    pins = accept_rollover(second, accept_rollover(first, _pinned(sz), NOW), NOW)
    assert pins.pins(cert3) and pins.sequence_number == 9
    with pytest.raises(TrustError, match="not by the pinned operator"):
        accept_rollover(first, pins, NOW)


def test_nothing_pinned_is_an_error() -> None:
    with pytest.raises(TrustError, match="no operator certificate is pinned for SZ"):
        PinnedOperators("SZ", ())
