"""OCSP responses checked with ``cryptography``'s OCSP parser, requests built by it too."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from urllib.parse import quote

import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from pki.builders import NOW, Pki, build_pki
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.verify import verify_signature
from sealbridge.pki.ocsp import OCSPResponder
from sealbridge.pki.registry import RevocationReason


def _responder(pki: Pki) -> OCSPResponder:
    return OCSPResponder(pki.ca, lambda: NOW, timedelta(minutes=30))


def _request(
    pki: Pki,
    algorithm: hashes.HashAlgorithm | None = None,
    nonce: bytes | None = None,
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        cx509.load_der_x509_certificate(pki.ee.dump()),
        cx509.load_der_x509_certificate(pki.ca.certificate.dump()),
        algorithm or hashes.SHA256(),
    )
    if nonce is not None:
        builder = builder.add_extension(cx509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _hand_request(cert_ids: list[dict[str, object]], nonce: bytes | None = None) -> bytes:
    tbs: dict[str, object] = {"request_list": [{"req_cert": cert_id} for cert_id in cert_ids]}
    if nonce is not None:
        tbs["request_extensions"] = [{"extn_id": "nonce", "extn_value": nonce}]
    return asn1_ocsp.OCSPRequest({"tbs_request": tbs}).dump()


def _cert_id(pki: Pki, serial: int, algorithm: str = "sha1") -> dict[str, object]:
    public_key = bytes(pki.ca.certificate.public_key["public_key"])
    return {
        "hash_algorithm": {"algorithm": algorithm},
        "issuer_name_hash": hashlib.new(algorithm, pki.ca.certificate.subject.dump()).digest(),
        "issuer_key_hash": hashlib.new(algorithm, public_key).digest(),
        "serial_number": serial,
    }


def _check_signature(pki: Pki, response: ocsp.OCSPResponse) -> None:
    public_key = cx509.load_der_x509_certificate(pki.ca.certificate.dump()).public_key()
    algorithm = response.signature_hash_algorithm
    assert algorithm is not None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(
            response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm
        )


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256()], ids=["sha1", "sha256"])
def test_good_certificate(pki: Pki, algorithm: hashes.HashAlgorithm) -> None:
    response = ocsp.load_der_ocsp_response(_responder(pki).respond(_request(pki, algorithm)))

    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == pki.ee.serial_number
    assert response.hash_algorithm.name == algorithm.name
    assert response.produced_at_utc == NOW
    assert response.this_update_utc == NOW
    assert response.next_update_utc == NOW + timedelta(minutes=30)
    assert response.responder_name is None
    assert response.responder_key_hash == pki.ca.certificate.public_key.sha1
    assert len(response.extensions) == 0
    _check_signature(pki, response)


def test_revoked_certificate_carries_time_and_reason(pki: Pki) -> None:
    pki.ca.revoke(pki.ee, RevocationReason.KEY_COMPROMISE, at=NOW - timedelta(hours=2))
    response = ocsp.load_der_ocsp_response(_responder(pki).respond(_request(pki)))

    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == NOW - timedelta(hours=2)
    assert response.revocation_reason is cx509.ReasonFlags.key_compromise
    _check_signature(pki, response)


def test_unspecified_reason_is_left_out(pki: Pki) -> None:
    pki.ca.revoke(pki.ee, at=NOW)
    response = ocsp.load_der_ocsp_response(_responder(pki).respond(_request(pki)))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason is None


def test_nonce_is_echoed(pki: Pki) -> None:
    nonce = bytes(range(16))
    response = ocsp.load_der_ocsp_response(_responder(pki).respond(_request(pki, nonce=nonce)))
    echoed = response.extensions.get_extension_for_class(cx509.OCSPNonce).value
    assert echoed.nonce == nonce
    _check_signature(pki, response)


def test_overlong_nonce_is_not_echoed_and_empty_nonce_is_malformed(pki: Pki) -> None:
    # RFC 8954 §2.1: a responder may ignore nonces over 32 octets; an empty one is malformed.
    long = ocsp.load_der_ocsp_response(_responder(pki).respond(_request(pki, nonce=b"n" * 33)))
    assert long.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert len(long.extensions) == 0
    empty = _hand_request([_cert_id(pki, pki.ee.serial_number)], nonce=b"")
    assert _status(_responder(pki).respond(empty)) == "malformed_request"


def test_unissued_serial_of_this_ca_is_unknown(pki: Pki) -> None:
    unissued = _hand_request([_cert_id(pki, pki.ee.serial_number + 1, "sha256")])
    response = ocsp.load_der_ocsp_response(_responder(pki).respond(unissued))
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    _check_signature(pki, response)


def test_only_other_issuers_or_unknown_hashes_is_unauthorized(pki: Pki) -> None:
    # RFC 5019 §2.2.3: the responder cannot speak for an issuer it does not serve.
    other = build_pki(KeyKind.ECDSA_P256, label="other")
    foreign = _hand_request([_cert_id(other, other.ee.serial_number)])
    md5 = _hand_request([_cert_id(pki, pki.ee.serial_number, "md5")])
    for request in (foreign, md5):
        assert _status(_responder(pki).respond(request)) == "unauthorized"


def test_several_certificates_in_one_request(pki: Pki) -> None:
    pki.ca.revoke(pki.ee, RevocationReason.AFFILIATION_CHANGED, at=NOW)
    request = _hand_request(
        [
            _cert_id(pki, pki.tsa_cert.serial_number),
            _cert_id(pki, pki.ee.serial_number, "sha512"),
            _cert_id(pki, 12345, "sha384"),
            _cert_id(build_pki(KeyKind.ECDSA_P256, label="other"), 1),
        ],
        nonce=b"0123456789abcdef",
    )
    response = asn1_ocsp.OCSPResponse.load(_responder(pki).respond(request))
    data = response.basic_ocsp_response["tbs_response_data"]
    statuses = [single["cert_status"].name for single in data["responses"]]
    # Another issuer's certificate beside ours is unknown, not a reason to refuse all.
    assert statuses == ["good", "revoked", "unknown", "unknown"]
    revoked = data["responses"][1]["cert_status"].chosen
    assert revoked["revocation_reason"].native == "affiliation_changed"
    assert data["response_extensions"][0]["extn_value"].native == b"0123456789abcdef"


@pytest.mark.parametrize(
    "request_der",
    [
        b"",
        b"\x30\x00",
        b"not an OCSP request at all",
        bytes(range(256)),
        _hand_request([]),
    ],
    ids=["empty", "empty-sequence", "text", "bytes", "no-certificates"],
)
def test_malformed_requests(pki: Pki, request_der: bytes) -> None:
    assert _status(_responder(pki).respond(request_der)) == "malformed_request"


def test_truncated_or_padded_request_is_malformed(pki: Pki) -> None:
    request = _request(pki)
    responder = _responder(pki)
    assert _status(responder.respond(request[:-1])) == "malformed_request"
    assert _status(responder.respond(request + b"\x00")) == "malformed_request"


def test_sm2_ca_signs_responses_with_sm2(sm2_pki: Pki) -> None:
    der = _hand_request([_cert_id(sm2_pki, sm2_pki.ee.serial_number, "sm3")])
    basic = asn1_ocsp.OCSPResponse.load(_responder(sm2_pki).respond(der)).basic_ocsp_response
    assert basic["tbs_response_data"]["responses"][0]["cert_status"].name == "good"
    assert basic["signature_algorithm"]["algorithm"].native == "sm2_sm3"
    verify_signature(
        sm2_pki.ca.certificate.public_key,
        basic["signature_algorithm"],
        basic["tbs_response_data"].dump(),
        basic["signature"].native,
    )


def test_get_form_accepts_url_encoded_base64_and_base64url(pki: Pki) -> None:
    responder = _responder(pki)
    request = _request(pki, nonce=b"x" * 20)
    # Pick a request whose base64 has '+' or '/', so the encodings differ; the
    # nonce makes that likely, and the loop makes it certain.
    for counter in range(256):
        request = _request(pki, nonce=bytes([counter]) * 20)
        if set(base64.b64encode(request)) & set(b"+/="):
            break
    standard = base64.b64encode(request).decode()
    for segment in (
        quote(standard, safe=""),
        standard,
        base64.urlsafe_b64encode(request).decode().rstrip("="),
    ):
        response = ocsp.load_der_ocsp_response(responder.respond_get(segment))
        assert response.certificate_status is ocsp.OCSPCertStatus.GOOD


@pytest.mark.parametrize("segment", ["", "%%%", "not*base64", "QUJD", "A"])
def test_get_form_rejects_garbage(pki: Pki, segment: str) -> None:
    assert _status(_responder(pki).respond_get(segment)) == "malformed_request"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    response = asn1_ocsp.OCSPResponse.load(_FUZZ_RESPONDER.respond(data))
    assert response["response_status"].native in ("malformed_request", "successful")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_requests_never_raise(data: st.DataObject) -> None:
    request = bytearray(_FUZZ_REQUEST)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(request) - 1))
        request[index] = data.draw(st.integers(0, 255))
    response = asn1_ocsp.OCSPResponse.load(_FUZZ_RESPONDER.respond(bytes(request)))
    assert response["response_status"].native in ("malformed_request", "successful", "unauthorized")
    response.native  # noqa: B018 - the whole answer must be well-formed DER


def _status(der: bytes) -> str:
    status: str = asn1_ocsp.OCSPResponse.load(der)["response_status"].native
    return status


_FUZZ_PKI = build_pki(KeyKind.ECDSA_P256, label="fuzz")
_FUZZ_RESPONDER = _responder(_FUZZ_PKI)
_FUZZ_REQUEST = _request(_FUZZ_PKI, nonce=b"fuzz-nonce-16-by")
