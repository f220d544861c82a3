"""OCSP responder (RFC 6960) answering from a CA's registry and signing with the CA key.

The CA signs responses itself, so relying parties need no delegated responder
certificate; the responder is identified by the hash of the CA key.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import unquote

from asn1crypto import ocsp

from sealbridge.crypto.algorithms import digest
from sealbridge.errors import MalformedInput
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.registry import RevocationReason

# Hashes a client may use in CertID. SHA-1 stays because RFC 5019 clients (openssl
# included) still default to it; it only identifies the issuer here, it secures nothing.
_CERT_ID_HASHES = ("sha1", "sha256", "sha384", "sha512", "sm3")

# RFC 8954 §2.1: responders must accept nonces up to 32 octets and may ignore longer ones.
_MAX_NONCE = 32


def error_response(status: str) -> bytes:
    """A DER OCSPResponse carrying only an error status, e.g. ``internal_error``."""
    return ocsp.OCSPResponse({"response_status": status}).dump()


class OCSPResponder:
    """Answers OCSP requests about the certificates one CA issued."""

    def __init__(
        self,
        ca: CertificateAuthority,
        clock: Callable[[], datetime],
        validity: timedelta = timedelta(minutes=10),
    ) -> None:
        self._ca = ca
        self._clock = clock
        self._validity = validity
        subject = ca.certificate.subject.dump()
        public_key = bytes(ca.certificate.public_key["public_key"])
        self._issuer_hashes = {
            name: (digest(name, subject), digest(name, public_key)) for name in _CERT_ID_HASHES
        }
        # RFC 6960 §4.2.2.3: the responder KeyHash is always the SHA-1 one.
        self._responder_key_hash = self._issuer_hashes["sha1"][1]

    def respond(self, request_der: bytes) -> bytes:
        """DER OCSPResponse for a DER OCSPRequest; malformedRequest if it does not parse."""
        try:
            request = _parse(request_der)
            nonce = _nonce(request)
        except MalformedInput:
            return error_response("malformed_request")
        return self._sign(request, nonce)

    def respond_get(self, path_segment: str) -> bytes:
        """Answer the GET form of RFC 6960 appendix A.1: URL-encoded base64 of the request.

        Standard and URL-safe base64 are both accepted, padded or not, since clients differ.
        """
        text = unquote(path_segment).strip().replace("-", "+").replace("_", "/")
        try:
            der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except ValueError:  # binascii.Error included
            return error_response("malformed_request")
        return self.respond(der)

    def _sign(self, request: ocsp.OCSPRequest, nonce: bytes | None) -> bytes:
        now = self._clock().replace(microsecond=0)
        responses = [
            {
                "cert_id": item["req_cert"],
                "cert_status": self._status(item["req_cert"]),
                "this_update": now,
                "next_update": now + self._validity,
            }
            for item in request["tbs_request"]["request_list"]
        ]
        data: dict[str, object] = {
            "responder_id": ocsp.ResponderId(name="by_key", value=self._responder_key_hash),
            "produced_at": now,
            "responses": responses,
        }
        if nonce is not None:
            data["response_extensions"] = [{"extn_id": "nonce", "extn_value": nonce}]
        tbs = ocsp.ResponseData(data)
        algorithm = self._ca.key.default_signature_algorithm()
        basic = ocsp.BasicOCSPResponse(
            {
                "tbs_response_data": tbs,
                "signature_algorithm": algorithm,
                "signature": self._ca.key.sign(tbs.dump(), algorithm),
            }
        )
        return ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
            }
        ).dump()

    def _status(self, cert_id: ocsp.CertId) -> ocsp.CertStatus:
        expected = self._issuer_hashes.get(cert_id["hash_algorithm"]["algorithm"].native)
        serial = cert_id["serial_number"].native
        given = (cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native)
        if expected != given or not self._ca.registry.is_issued(serial):
            return ocsp.CertStatus(name="unknown", value=None)
        revocation = self._ca.registry.revocation(serial)
        if revocation is None:
            return ocsp.CertStatus(name="good", value=None)
        info: dict[str, object] = {"revocation_time": revocation.revoked_at.replace(microsecond=0)}
        # Mirrors the CRL, where RFC 5280 asks for an absent reason rather than unspecified.
        if revocation.reason is not RevocationReason.UNSPECIFIED:
            info["revocation_reason"] = revocation.reason.value
        return ocsp.CertStatus(name="revoked", value=info)


def _parse(der: bytes) -> ocsp.OCSPRequest:
    """Load and fully decode a request, so later field access cannot fail on bad bytes."""
    try:
        request = ocsp.OCSPRequest.load(der, strict=True)
        request.native  # noqa: B018 - forces asn1crypto's lazy parser over every field
    # Not only ValueError: hostile DER makes asn1crypto raise others (AttributeError on a
    # REAL, for one). Whatever the decoder trips on, the bytes are not a request.
    except Exception as exc:
        raise MalformedInput("OCSP request", str(exc)) from exc
    if len(request["tbs_request"]["request_list"]) == 0:
        raise MalformedInput("OCSP request", "no certificate is asked about")
    return request


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    """The nonce to echo, per RFC 8954: refuse an empty one, drop one that is too long."""
    for extension in request["tbs_request"]["request_extensions"] or ():
        if extension["extn_id"].native != "nonce":
            continue
        value: bytes = extension["extn_value"].parsed.native
        if not value:
            raise MalformedInput("OCSP request", "empty nonce")
        return value if len(value) <= _MAX_NONCE else None
    return None
