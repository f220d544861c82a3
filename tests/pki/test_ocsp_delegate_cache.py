"""Delegated OCSP signers, the response cache, and the DER the templates produce."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from pki.builders import NOW, Pki, build_pki, cached_key
from sealbridge.crypto.algorithms import KeyKind, digest
from sealbridge.crypto.keys import KeyHandle
from sealbridge.crypto.verify import verify_signature
from sealbridge.pki import names, profiles
from sealbridge.pki.ocsp import OCSPResponder, ResponderCertificate
from sealbridge.pki.registry import CertificateRegistry, RevocationReason

VALIDITY = timedelta(minutes=30)


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _delegate(pki: Pki, kind: KeyKind | None = None, **issue: object) -> ResponderCertificate:
    key = cached_key(kind or pki.ca.key.kind, "ocsp-delegate")
    certificate = pki.ca.issue(
        names.ca_name("SealBridge Test OCSP", "SealBridge Test", "CN"),
        key.public_key_info,
        profiles.OCSP_SIGNER,
        **issue,  # type: ignore[arg-type]
    )
    return ResponderCertificate(key, certificate)


def _request(pki: Pki, certificate: x509.Certificate | None = None, nonce: bytes = b"") -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        cx509.load_der_x509_certificate((certificate or pki.ee).dump()),
        cx509.load_der_x509_certificate(pki.ca.certificate.dump()),
        hashes.SHA1(),
    )
    if nonce:
        builder = builder.add_extension(cx509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _verify(signer: x509.Certificate, response: ocsp.OCSPResponse) -> None:
    public_key = cx509.load_der_x509_certificate(signer.dump()).public_key()
    algorithm = response.signature_hash_algorithm
    assert algorithm is not None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(
            response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm
        )


def _assert_der(response_der: bytes) -> None:
    """Re-encoding every field changes nothing: the hand-assembled bytes are DER."""
    response = asn1_ocsp.OCSPResponse.load(response_der)
    assert response.dump(force=True) == response_der
    basic_der = response["response_bytes"]["response"].contents
    assert asn1_ocsp.BasicOCSPResponse.load(basic_der).dump(force=True) == basic_der


def test_delegate_signs_and_is_sent_along(pki: Pki) -> None:
    delegate = _delegate(pki)
    responder = OCSPResponder(pki.ca, lambda: NOW, VALIDITY, delegate=delegate)
    der = responder.respond(_request(pki, nonce=b"delegated-nonce!"))
    response = ocsp.load_der_ocsp_response(der)

    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.certificates == [cx509.load_der_x509_certificate(delegate.certificate.dump())]
    assert response.responder_key_hash == delegate.certificate.public_key.sha1
    _verify(delegate.certificate, response)
    _assert_der(der)


def test_ca_signed_revoked_response_is_der(pki: Pki) -> None:
    pki.ca.revoke(pki.ee, RevocationReason.SUPERSEDED, at=NOW - timedelta(days=1))
    der = OCSPResponder(pki.ca, lambda: NOW, VALIDITY).respond(_request(pki, nonce=b"n" * 8))
    _assert_der(der)
    assert ocsp.load_der_ocsp_response(der).certificates == []


def test_sm2_delegate(sm2_pki: Pki) -> None:
    delegate = _delegate(sm2_pki)
    der = OCSPResponder(sm2_pki.ca, lambda: NOW, VALIDITY, delegate=delegate).respond(
        _hand_request(sm2_pki, sm2_pki.ee.serial_number, "sm3")
    )
    basic = asn1_ocsp.OCSPResponse.load(der).basic_ocsp_response
    assert basic["signature_algorithm"]["algorithm"].native == "sm2_sm3"
    assert [c.dump() for c in basic["certs"]] == [delegate.certificate.dump()]
    verify_signature(
        delegate.certificate.public_key,
        basic["signature_algorithm"],
        basic["tbs_response_data"].dump(),
        basic["signature"].native,
    )
    _assert_der(der)


def _hand_request(pki: Pki, serial: int, algorithm: str = "sha1") -> bytes:
    cert_id = {
        "hash_algorithm": {"algorithm": algorithm},
        "issuer_name_hash": digest(algorithm, pki.ca.certificate.subject.dump()),
        "issuer_key_hash": digest(algorithm, bytes(pki.ca.certificate.public_key["public_key"])),
        "serial_number": serial,
    }
    request = {"tbs_request": {"request_list": [{"req_cert": cert_id}]}}
    return asn1_ocsp.OCSPRequest(request).dump()


def test_next_update_never_outlives_the_delegate(pki: Pki) -> None:
    delegate = _delegate(pki, not_before=NOW, validity=timedelta(minutes=20))
    responder = OCSPResponder(pki.ca, lambda: NOW, timedelta(hours=1), delegate=delegate)
    response = ocsp.load_der_ocsp_response(responder.respond(_request(pki)))
    expires = delegate.certificate["tbs_certificate"]["validity"]["not_after"].native
    assert response.next_update_utc == expires < NOW + timedelta(hours=1)


def _foreign_delegate(pki: Pki) -> ResponderCertificate:
    return _delegate(build_pki(pki.ca.key.kind, label="foreign"), pki.ca.key.kind)


def _plain_certificate(pki: Pki) -> ResponderCertificate:
    key = cached_key(KeyKind.ECDSA_P256, "not-ocsp")
    name = names.ca_name("not an OCSP signer", "SealBridge Test", "CN")
    return ResponderCertificate(
        key, pki.ca.issue(name, key.public_key_info, profiles.ENTERPRISE_SIGNATURE)
    )


def _without_nocheck(pki: Pki) -> ResponderCertificate:
    key = cached_key(KeyKind.ECDSA_P256, "no-nocheck")
    name = names.ca_name("OCSP signer without nocheck", "SealBridge Test", "CN")
    profile = replace(profiles.OCSP_SIGNER, ocsp_no_check=False)
    return ResponderCertificate(key, pki.ca.issue(name, key.public_key_info, profile))


def _wrong_key(pki: Pki) -> ResponderCertificate:
    return ResponderCertificate(
        cached_key(KeyKind.ECDSA_P256, "stranger"), _delegate(pki).certificate
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_foreign_delegate, "not issued by this CA"),
        (_plain_certificate, "OCSPSigning"),
        (_without_nocheck, "nocheck"),
        (_wrong_key, "does not match"),
    ],
    ids=["other-ca", "no-eku", "no-nocheck", "key-mismatch"],
)
def test_unusable_delegates_are_refused(
    pki: Pki, make: Callable[[Pki], ResponderCertificate], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        OCSPResponder(pki.ca, lambda: NOW, VALIDITY, delegate=make(pki))


@pytest.fixture
def ecdsa() -> Pki:
    """ECDSA signatures differ every time, so equal bytes can only mean a cache hit."""
    return build_pki(KeyKind.ECDSA_P256, label="cache")


def test_nonceless_answer_is_reused_until_half_life(ecdsa: Pki) -> None:
    clock = _Clock()
    responder = OCSPResponder(ecdsa.ca, clock, VALIDITY)
    request = _request(ecdsa)
    first = responder.respond(request)
    assert responder.respond(request) == first
    segment = base64.urlsafe_b64encode(request).decode().rstrip("=")
    assert responder.respond_get(segment) == first  # GET and POST share the cache

    clock.now += VALIDITY / 2 - timedelta(seconds=1)
    assert responder.respond(request) == first
    clock.now += timedelta(seconds=1)
    fresh = ocsp.load_der_ocsp_response(responder.respond(request))
    assert fresh.produced_at_utc == clock.now
    assert fresh.next_update_utc == clock.now + VALIDITY


def test_revocation_invalidates_the_cached_answer(ecdsa: Pki) -> None:
    responder = OCSPResponder(ecdsa.ca, lambda: NOW, VALIDITY)
    request = _request(ecdsa)
    assert ocsp.load_der_ocsp_response(responder.respond(request)).certificate_status is (
        ocsp.OCSPCertStatus.GOOD
    )
    ecdsa.ca.revoke(ecdsa.ee, RevocationReason.KEY_COMPROMISE, at=NOW)
    revoked = responder.respond(request)
    assert ocsp.load_der_ocsp_response(revoked).certificate_status is (ocsp.OCSPCertStatus.REVOKED)
    assert responder.respond(request) == revoked  # revoked stays revoked: cached


def test_nonce_answers_are_never_reused(ecdsa: Pki) -> None:
    responder = OCSPResponder(ecdsa.ca, lambda: NOW, VALIDITY)
    request = _request(ecdsa, nonce=b"same nonce twice")
    first, second = responder.respond(request), responder.respond(request)
    assert first != second
    for der in (first, second):
        nonce = ocsp.load_der_ocsp_response(der).extensions.get_extension_for_class(cx509.OCSPNonce)
        assert nonce.value.nonce == b"same nonce twice"


class _CountingRegistry:
    def __init__(self, inner: CertificateRegistry) -> None:
        self._inner = inner
        self.lookups = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def is_issued(self, serial: int) -> bool:
        self.lookups += 1
        return self._inner.is_issued(serial)


def test_unknown_answers_are_not_cached(ecdsa: Pki) -> None:
    registry = _CountingRegistry(ecdsa.ca.registry)
    ecdsa.ca.registry = registry  # type: ignore[assignment]
    responder = OCSPResponder(ecdsa.ca, lambda: NOW, VALIDITY)
    request = _hand_request(ecdsa, ecdsa.ee.serial_number + 1)
    responder.respond(request)
    responder.respond(request)
    assert registry.lookups == 2


def test_cache_keeps_only_the_newest_entries(ecdsa: Pki) -> None:
    responder = OCSPResponder(ecdsa.ca, lambda: NOW, VALIDITY, cache_size=2)
    requests = [_request(ecdsa, _issue(ecdsa, f"cached {number}")) for number in range(3)]
    answers = [responder.respond(request) for request in requests]
    assert responder.respond(requests[2]) == answers[2]
    assert responder.respond(requests[1]) == answers[1]
    assert responder.respond(requests[0]) != answers[0]  # evicted, signed again


def _issue(pki: Pki, label: str) -> x509.Certificate:
    key: KeyHandle = cached_key(KeyKind.ECDSA_P256, "ee")
    return pki.ca.issue(
        names.ca_name(label, "SealBridge Test", "CN"), key.public_key_info, profiles.INDIVIDUAL
    )


def test_a_new_nonce_reuses_the_parsed_request(ecdsa: Pki) -> None:
    registry = _CountingRegistry(ecdsa.ca.registry)
    ecdsa.ca.registry = registry  # type: ignore[assignment]
    responder = OCSPResponder(ecdsa.ca, lambda: NOW, VALIDITY)
    for nonce in (b"first nonce 0001", b"other nonce 0002", b"third nonce 0003"):
        response = ocsp.load_der_ocsp_response(responder.respond(_request(ecdsa, nonce=nonce)))
        echoed = response.extensions.get_extension_for_class(cx509.OCSPNonce).value.nonce
        assert echoed == nonce
        assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
        _verify(ecdsa.ca.certificate, response)
    assert registry.lookups == 1  # only the first request was parsed and looked up
    responder.respond(_request(ecdsa, nonce=b"a nonce of another length"))
    assert registry.lookups == 2

    ecdsa.ca.revoke(ecdsa.ee, RevocationReason.CA_COMPROMISE, at=NOW)
    revoked = ocsp.load_der_ocsp_response(responder.respond(_request(ecdsa, nonce=b"x" * 16)))
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED


def test_truncated_twin_of_a_cached_request_is_malformed(ecdsa: Pki) -> None:
    responder = OCSPResponder(ecdsa.ca, lambda: NOW, VALIDITY)
    request = _request(ecdsa, nonce=b"sixteen octets!!")
    assert request.endswith(b"sixteen octets!!")  # the nonce is the request's last field
    responder.respond(request)
    for twin in (request[:-5], request + b"\x00", request[:-1] + b"!!"):
        assert _status(responder.respond(twin)) == "malformed_request"


def test_answers_with_and_without_nonce_never_mix(ecdsa: Pki) -> None:
    responder = OCSPResponder(ecdsa.ca, lambda: NOW, VALIDITY)
    with_nonce = responder.respond(_request(ecdsa, nonce=b"n" * 16))
    without = ocsp.load_der_ocsp_response(responder.respond(_request(ecdsa)))
    assert len(without.extensions) == 0
    assert responder.respond(_request(ecdsa, nonce=b"n" * 16)) != with_nonce


def _status(der: bytes) -> str:
    status: str = asn1_ocsp.OCSPResponse.load(der)["response_status"].native
    return status


def _meaning(der: bytes) -> tuple[object, ...]:
    """What an answer says, leaving out the signature and the times."""
    response = asn1_ocsp.OCSPResponse.load(der)
    status = response["response_status"].native
    if status != "successful":
        return (status,)
    data = response.basic_ocsp_response["tbs_response_data"]
    singles = [
        (single["cert_id"].dump(), single["cert_status"].name) for single in data["responses"]
    ]
    return status, singles, data["response_extensions"].native


_WARM = build_pki(KeyKind.ECDSA_P256, label="warm")
_WARM_RESPONDER = OCSPResponder(_WARM.ca, lambda: NOW, VALIDITY)
_SEED = _request(_WARM, nonce=b"0123456789abcdef")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_warm_cache_never_changes_what_is_said(data: st.DataObject) -> None:
    """Requests mutated around a cached one get the answer a cold responder gives."""
    _WARM_RESPONDER.respond(_SEED)
    request = bytearray(_SEED)
    for _ in range(data.draw(st.integers(1, 3))):
        request[data.draw(st.integers(0, len(request) - 1))] = data.draw(st.integers(0, 255))
    cold = OCSPResponder(_WARM.ca, lambda: NOW, VALIDITY)
    assert _meaning(_WARM_RESPONDER.respond(bytes(request))) == _meaning(
        cold.respond(bytes(request))
    )
