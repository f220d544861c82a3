"""The OCSP revocation source believes only answers it has reason to believe.

The responder here is SealBridge's own, called in-process through the source's transport
seam so that each test can bend one thing between question and answer; the way over
real HTTP is covered in test_seal_verify.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import ocsp, x509

from sealbridge.crypto.algorithms import KeyKind, digest
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.pki.ocsp import OCSPResponder, error_response
from sealbridge.pki.registry import RevocationReason
from sealbridge.verify.revocation import (
    EmbeddedOcspSource,
    FirstKnown,
    OcspRevocationSource,
    RevocationState,
    RevocationStatus,
    fetch_ocsp,
)

URL = "http://ocsp.test.invalid/ocsp"
NOW = datetime.now(UTC).replace(microsecond=0)

Bend = Callable[[bytes], bytes]


def _ca(name: str = "OCSP Test CA", key: KeyHandle | None = None) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        ca_name(name, "SealBridge Test", "CN"),
        key or generate_key(KeyKind.ECDSA_P256),
        urls=AuthorityUrls(ocsp=URL),
    )


def _issue(
    ca: CertificateAuthority, profile: profiles.CertificateProfile = profiles.SEAL_MAKER
) -> tuple[KeyHandle, x509.Certificate]:
    key = generate_key(KeyKind.ECDSA_P256)
    return key, ca.issue(
        ca_name("Seal Maker", "SealBridge Test", "CN"), key.public_key_info, profile
    )


def _ask(
    ca: CertificateAuthority,
    certificate: x509.Certificate,
    *,
    request: Bend = lambda r: r,
    answer: Bend = lambda a: a,
    responder: CertificateAuthority | None = None,
    clock: datetime = NOW,
) -> RevocationStatus:
    served = OCSPResponder(responder or ca, lambda: NOW)
    asked: list[str] = []

    def transport(url: str, body: bytes) -> bytes:
        asked.append(url)
        return answer(served.respond(request(body)))

    source = OcspRevocationSource(transport=transport, clock=lambda: clock)
    status = source.status(certificate, ca.certificate, NOW)
    assert asked == [URL]
    return status


def _resigned(
    answer: bytes,
    key: KeyHandle,
    change: Callable[[ocsp.ResponseData], None] = lambda _: None,
    certs: list[x509.Certificate] | None = None,
) -> bytes:
    """The answer with its data changed and signed again by ``key``, named by key hash."""
    basic = ocsp.OCSPResponse.load(answer).basic_ocsp_response
    data = ocsp.ResponseData.load(basic["tbs_response_data"].dump())
    change(data)
    data["responder_id"] = ocsp.ResponderId(
        name="by_key", value=digest("sha1", bytes(key.public_key_info["public_key"]))
    )
    algorithm = key.default_signature_algorithm()
    signed: dict[str, object] = {
        "tbs_response_data": data,
        "signature_algorithm": algorithm,
        "signature": key.sign(data.dump(force=True), algorithm),
    }
    if certs:
        signed["certs"] = certs
    return ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {
                "response_type": "basic_ocsp_response",
                "response": ocsp.BasicOCSPResponse(signed),
            },
        }
    ).dump()


def _without_nonce(request: bytes) -> bytes:
    parsed = ocsp.OCSPRequest.load(request)
    parsed["tbs_request"]["request_extensions"] = []
    return parsed.dump(force=True)


def test_good_and_revoked() -> None:
    ca = _ca()
    _, good = _issue(ca)
    _, revoked = _issue(ca)
    ca.revoke(revoked, RevocationReason.KEY_COMPROMISE, NOW - timedelta(days=1))
    assert _ask(ca, good).state is RevocationState.GOOD
    status = _ask(ca, revoked)
    assert status.state is RevocationState.REVOKED
    assert status.revoked_at == NOW - timedelta(days=1)
    assert status.reason == "key_compromise"
    assert URL in status.source


def test_certificate_the_responder_does_not_know() -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    forgetful = CertificateAuthority(ca.certificate, ca.key)
    status = _ask(ca, certificate, responder=forgetful)
    assert status.state is RevocationState.UNKNOWN and "does not know" in status.source


def _other_nonce(request: bytes) -> bytes:
    parsed = ocsp.OCSPRequest.load(request)
    parsed["tbs_request"]["request_extensions"] = [{"extn_id": "nonce", "extn_value": b"x" * 16}]
    return parsed.dump(force=True)


def _flipped_signature(answer: bytes) -> bytes:
    response = ocsp.OCSPResponse.load(answer)
    basic = response.basic_ocsp_response
    value = bytearray(basic["signature"].native)
    value[-3] ^= 1
    basic["signature"] = bytes(value)
    response["response_bytes"]["response"] = basic
    return response.dump(force=True)


@pytest.mark.parametrize(
    ("request_bend", "answer_bend", "words"),
    [
        (_other_nonce, lambda a: a, "another nonce"),
        (lambda r: r, _flipped_signature, "signature does not verify"),
        (lambda r: r, lambda _: error_response("try_later"), "answered try_later"),
        (lambda r: r, lambda _: b"\x30\x03\x0a\x01\x00garbage", "unreadable"),
        (lambda r: r, lambda _: b"", "unreadable"),
    ],
    ids=["replayed", "bad-signature", "error-status", "garbage", "empty"],
)
def test_answers_not_to_be_believed(request_bend: Bend, answer_bend: Bend, words: str) -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    status = _ask(ca, certificate, request=request_bend, answer=answer_bend)
    assert status.state is RevocationState.UNKNOWN
    assert words in status.source


def test_answer_signed_by_another_key() -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    impostor = generate_key(KeyKind.ECDSA_P256)
    status = _ask(ca, certificate, answer=lambda answer: _resigned(answer, impostor))
    assert status.state is RevocationState.UNKNOWN
    assert "neither the issuer nor a responder it delegated to" in status.source


def test_answer_about_another_certificate() -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    _, other = _issue(ca)

    def ask_about_other(request: bytes) -> bytes:
        parsed = ocsp.OCSPRequest.load(request)
        parsed["tbs_request"]["request_list"][0]["req_cert"]["serial_number"] = other.serial_number
        return parsed.dump(force=True)

    status = _ask(ca, certificate, request=ask_about_other)
    assert status.state is RevocationState.UNKNOWN and "other certificates" in status.source


@pytest.mark.parametrize(
    ("clock", "words"),
    [(NOW + timedelta(hours=1), "stale"), (NOW - timedelta(hours=1), "in the future")],
)
def test_answers_out_of_their_time(clock: datetime, words: str) -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    status = _ask(ca, certificate, clock=clock)
    assert status.state is RevocationState.UNKNOWN and words in status.source


def _no_next_update(data: ocsp.ResponseData) -> None:
    data["responses"][0]["next_update"] = None


def test_answer_without_nonce_must_be_recent() -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    # Without the nonce echoed, a nextUpdate still ahead vouches for freshness...
    assert _ask(ca, certificate, request=_without_nonce).state is RevocationState.GOOD
    # ...and without either, only a recent thisUpdate does.
    undated = lambda answer: _resigned(answer, ca.key, _no_next_update)  # noqa: E731
    assert (
        _ask(ca, certificate, request=_without_nonce, answer=undated).state is RevocationState.GOOD
    )
    late = _ask(
        ca, certificate, request=_without_nonce, answer=undated, clock=NOW + timedelta(hours=2)
    )
    assert late.state is RevocationState.UNKNOWN and "too old" in late.source


@pytest.mark.parametrize(
    ("profile", "state"),
    [(profiles.OCSP_SIGNER, RevocationState.GOOD), (profiles.TSA, RevocationState.UNKNOWN)],
    ids=["ocsp-signer", "not-for-ocsp"],
)
def test_delegated_responder(profile: profiles.CertificateProfile, state: RevocationState) -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    delegate_key, delegate = _issue(ca, profile)
    status = _ask(
        ca,
        certificate,
        answer=lambda answer: _resigned(answer, delegate_key, certs=[delegate]),
    )
    assert status.state is state, status.source
    if state is RevocationState.UNKNOWN:
        assert "not for OCSP signing" in status.source


def test_delegate_not_issued_by_the_issuer_is_refused() -> None:
    ca = _ca()
    _, certificate = _issue(ca)
    delegate_key, delegate = _issue(_ca(), profiles.OCSP_SIGNER)
    status = _ask(
        ca, certificate, answer=lambda answer: _resigned(answer, delegate_key, certs=[delegate])
    )
    assert status.state is RevocationState.UNKNOWN


def test_no_responder_named_or_none_reachable() -> None:
    ca = CertificateAuthority.create_root(
        ca_name("No OCSP CA", "SealBridge Test", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    _, certificate = _issue(ca)
    silent = OcspRevocationSource(transport=lambda url, body: b"")
    status = silent.status(certificate, ca.certificate, NOW)
    assert status.state is RevocationState.UNKNOWN and "names no HTTP OCSP" in status.source

    with_url = _ca()
    _, pointed = _issue(with_url)

    def refuse(url: str, body: bytes) -> bytes:
        raise ConnectionRefusedError(111, "Connection refused")

    down = OcspRevocationSource(transport=refuse).status(pointed, with_url.certificate, NOW)
    assert down.state is RevocationState.UNKNOWN and "unreachable" in down.source


def test_embedded_responses_prove_status_only_from_when_they_were_made() -> None:
    """A DSS response counts for the certificate it is about, signed by its issuer, and
    only for times up to when it was produced (a response proves nothing earlier)."""
    ca = _ca()
    _, good = _issue(ca)
    _, revoked = _issue(ca)
    _, other = _issue(_ca("Another CA"))
    ca.revoke(revoked, RevocationReason.KEY_COMPROMISE, NOW - timedelta(days=1))
    served = OCSPResponder(ca, lambda: NOW)
    responses = [
        fetch_ocsp(cert, ca.certificate, transport=lambda _url, body: served.respond(body))
        for cert in (good, revoked)
    ]
    source = EmbeddedOcspSource(responses)
    assert source.status(good, ca.certificate, NOW - timedelta(hours=1)).state is (
        RevocationState.GOOD
    )
    late = source.status(good, ca.certificate, NOW + timedelta(days=1))
    assert late.state is RevocationState.UNKNOWN and "only" in late.source
    found = source.status(revoked, ca.certificate, NOW)
    assert (found.state, found.revoked_at) == (RevocationState.REVOKED, NOW - timedelta(days=1))
    assert source.status(other, ca.certificate, NOW).state is RevocationState.UNKNOWN
    first = FirstKnown(EmbeddedOcspSource(()), source)
    assert first.status(good, ca.certificate, NOW).state is RevocationState.GOOD
