"""OCSP responder (RFC 6960) answering from a CA's registry, fast enough to face the public.

Either the CA key signs responses (the responder is then named by the CA's key hash), or
a delegated responder does: a certificate the CA issued for the purpose (profile
``OCSP_SIGNER``: OCSP-signing EKU and id-pkix-ocsp-nocheck), sent in every response so
relying parties can check it without another round trip.

Two habits of the RFC 5019 lightweight profile keep the cost per request low. Responses
to requests without a nonce are cached, keyed by the request bytes, and served again
until half their validity has passed, or until a certificate they call good is revoked.
And every response is assembled from DER pieces computed once, so a fresh answer costs
one signature and a few concatenations rather than an asn1crypto object tree.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from urllib.parse import unquote

from asn1crypto import crl, ocsp, x509
from asn1crypto.parser import emit

from sealbridge.crypto.algorithms import digest
from sealbridge.crypto.keys import KeyHandle
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import MalformedInput, SignatureInvalid, UnsupportedAlgorithm
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.registry import RevocationReason

# Hashes a client may use in CertID. SHA-1 stays because RFC 5019 clients (openssl
# included) still default to it; it only identifies the issuer here, it secures nothing.
_CERT_ID_HASHES = ("sha1", "sha256", "sha384", "sha512", "sm3")

# RFC 8954 §2.1: responders must accept nonces up to 32 octets and may ignore longer ones.
_MAX_NONCE = 32

_GOOD = b"\x80\x00"  # [0] IMPLICIT NULL
_UNKNOWN = b"\x82\x00"  # [2] IMPLICIT UnknownInfo (NULL)
# CRLReason as [0] EXPLICIT ENUMERATED inside RevokedInfo. "unspecified" is left out, as
# on the CRL, where RFC 5280 §5.3.1 asks for an absent reason rather than that value.
_REASONS: dict[RevocationReason, bytes] = {
    reason: emit(2, 1, 0, crl.CRLReason(reason.value).dump())
    for reason in RevocationReason
    if reason is not RevocationReason.UNSPECIFIED
}
_SUCCESSFUL = ocsp.OCSPResponseStatus("successful").dump()
_BASIC_RESPONSE_TYPE = ocsp.ResponseType("basic_ocsp_response").dump()
_NONCE_ID = ocsp.TBSRequestExtensionId("nonce").dump()


def error_response(status: str) -> bytes:
    """A DER OCSPResponse carrying only an error status, e.g. ``internal_error``."""
    return ocsp.OCSPResponse({"response_status": status}).dump()


_MALFORMED = error_response("malformed_request")
_UNAUTHORIZED = error_response("unauthorized")


@dataclass(frozen=True)
class ResponderCertificate:
    """A delegated OCSP signer: its key and the certificate its CA issued for it."""

    key: KeyHandle
    certificate: x509.Certificate


class _Template(NamedTuple):
    """What the answer to one request is made of, kept until half its validity is over."""

    singles: bytes  # the SingleResponses, DER
    refresh_at: datetime
    # Serials the answer calls good: it is stale as soon as one of them is revoked.
    good: tuple[int, ...]
    # Where the nonce value sits in the request, or -1 if the request had none.
    nonce_at: int
    # The signed answer, served as it is again when the request has no nonce.
    response: bytes


class _Status(NamedTuple):
    der: bytes
    good: bool
    ours: bool  # the CertID names this responder's CA


class OCSPResponder:
    """Answers OCSP requests about the certificates one CA issued.

    ``validity`` is how far ahead nextUpdate lies; a cached response is reissued once
    half of it has passed, so no client is handed an answer about to expire.
    """

    def __init__(
        self,
        ca: CertificateAuthority,
        clock: Callable[[], datetime],
        validity: timedelta = timedelta(minutes=10),
        *,
        delegate: ResponderCertificate | None = None,
        cache_size: int = 10_000,
    ) -> None:
        self._ca = ca
        self._clock = clock
        self._validity = validity
        self._cache_size = cache_size
        self._cache: dict[bytes, _Template] = {}
        self._cache_lock = threading.Lock()
        subject = ca.certificate.subject.dump()
        public_key = bytes(ca.certificate.public_key["public_key"])
        self._issuer_hashes = {
            name: (digest(name, subject), digest(name, public_key)) for name in _CERT_ID_HASHES
        }
        if delegate is None:
            self._key = ca.key
            signer = ca.certificate
            self._certs = b""
        else:
            _check_delegate(ca, delegate)
            self._key = delegate.key
            signer = delegate.certificate
            # [0] EXPLICIT SEQUENCE OF Certificate: the one relying parties need.
            self._certs = emit(2, 1, 0, emit(0, 1, 16, signer.dump()))
        self._not_after: datetime = signer["tbs_certificate"]["validity"]["not_after"].native
        # RFC 6960 §4.2.2.3: byKey, the SHA-1 hash of the signer's public key.
        self._responder_id = ocsp.ResponderId(
            name="by_key", value=digest("sha1", bytes(signer.public_key["public_key"]))
        ).dump()
        self._algorithm = self._key.default_signature_algorithm()
        self._algorithm_der = self._algorithm.dump()

    def respond(self, request_der: bytes) -> bytes:
        """DER OCSPResponse for a DER OCSPRequest.

        malformedRequest if the bytes are not a request; unauthorized if it asks only
        about certificates of other issuers, which this responder cannot speak for
        (RFC 5019 §2.2.3).

        The same request bytes get the same cached answer. A request that differs from
        one answered before only in its nonce is neither parsed nor looked up again:
        its nonce is spliced into the same SingleResponses and the result signed.
        """
        key, nonce_at = _without_nonce(request_der)
        template = self._cache.get(key)
        if template is not None and template.nonce_at == nonce_at and self._fresh(template):
            if nonce_at < 0:
                return template.response
            spliced = request_der[nonce_at : nonce_at + len(request_der) - len(key)]
            return self._sign(template.singles, spliced, self._now())
        try:
            request = _parse(request_der)
            nonce, nonce_extension = _nonce(request)
        except MalformedInput:
            return _MALFORMED
        cert_ids = [item["req_cert"] for item in request["tbs_request"]["request_list"]]
        statuses = [self._status(cert_id) for cert_id in cert_ids]
        if not any(status.ours for status in statuses):
            return _UNAUTHORIZED
        now = self._now()
        this_update = _generalized_time(now)
        next_update = emit(2, 1, 0, _generalized_time(min(now + self._validity, self._not_after)))
        singles = b"".join(
            _sequence(cert_id.dump(force=True), status.der, this_update, next_update)
            for cert_id, status in zip(cert_ids, statuses, strict=True)
        )
        response = self._sign(singles, nonce, now)
        # An unknown status may be a serial about to be issued, or a guess sent to crowd
        # good answers out of the cache; and the nonce must be where it was looked for.
        if all(status.der is not _UNKNOWN for status in statuses) and _nonce_is_at(
            request_der, nonce_at, nonce, nonce_extension
        ):
            good = tuple(
                cert_id["serial_number"].native
                for cert_id, status in zip(cert_ids, statuses, strict=True)
                if status.good
            )
            refresh_at = now + self._validity / 2
            self._remember(key, _Template(singles, refresh_at, good, nonce_at, response))
        return response

    def respond_get(self, path_segment: str) -> bytes:
        """Answer the GET form of RFC 6960 appendix A.1: URL-encoded base64 of the request.

        Standard and URL-safe base64 are both accepted, padded or not, since clients differ.
        """
        text = unquote(path_segment).strip().replace("-", "+").replace("_", "/")
        try:
            der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except ValueError:  # binascii.Error included
            return _MALFORMED
        return self.respond(der)

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def _fresh(self, template: _Template) -> bool:
        if self._clock() >= template.refresh_at:
            return False
        revocation = self._ca.registry.revocation
        return all(revocation(serial) is None for serial in template.good)

    def _remember(self, key: bytes, template: _Template) -> None:
        # Readers go without the lock (one dict lookup is atomic); writers take it so
        # that eviction never iterates the dict while another thread resizes it.
        with self._cache_lock:
            self._cache.pop(key, None)
            if len(self._cache) >= self._cache_size:
                # Oldest first: dicts keep insertion order, and a refreshed entry moves last.
                del self._cache[next(iter(self._cache))]
            self._cache[key] = template

    def _status(self, cert_id: ocsp.CertId) -> _Status:
        expected = self._issuer_hashes.get(cert_id["hash_algorithm"]["algorithm"].native)
        given = (cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native)
        if expected != given:
            return _Status(_UNKNOWN, good=False, ours=False)
        serial = cert_id["serial_number"].native
        registry = self._ca.registry
        revocation = registry.revocation(serial)
        if revocation is not None:
            info = _generalized_time(revocation.revoked_at) + _REASONS.get(revocation.reason, b"")
            return _Status(emit(2, 1, 1, info), good=False, ours=True)
        if registry.is_issued(serial):
            return _Status(_GOOD, good=True, ours=True)
        return _Status(_UNKNOWN, good=False, ours=True)

    def _sign(self, singles: bytes, nonce: bytes | None, now: datetime) -> bytes:
        extensions = b""
        if nonce is not None:
            # The extnValue is echoed as the client wrapped it (RFC 8954: an OCTET STRING).
            nonce_extension = _sequence(_NONCE_ID, emit(0, 0, 4, emit(0, 0, 4, nonce)))
            extensions = emit(2, 1, 1, _sequence(nonce_extension))
        tbs = _sequence(self._responder_id, _generalized_time(now), _sequence(singles), extensions)
        signature = self._key.sign(tbs, self._algorithm)
        basic = _sequence(tbs, self._algorithm_der, emit(0, 0, 3, b"\x00" + signature), self._certs)
        response_bytes = _sequence(_BASIC_RESPONSE_TYPE, emit(0, 0, 4, basic))
        return _sequence(_SUCCESSFUL, emit(2, 1, 0, response_bytes))


def _check_delegate(ca: CertificateAuthority, delegate: ResponderCertificate) -> None:
    """Refuse a delegate relying parties would reject, before it signs anything."""
    certificate = delegate.certificate
    if bytes(certificate.public_key["public_key"]) != bytes(
        delegate.key.public_key_info["public_key"]
    ):
        raise ValueError("the responder key does not match the responder certificate")
    # RFC 6960 §4.2.2.2: the CA itself must have issued the delegate, for OCSP signing.
    if certificate.issuer != ca.certificate.subject:
        raise ValueError("the responder certificate was not issued by this CA")
    try:
        verify_signature(
            ca.certificate.public_key,
            certificate["signature_algorithm"],
            certificate["tbs_certificate"].dump(),
            certificate["signature_value"].native,
        )
    except (SignatureInvalid, UnsupportedAlgorithm) as exc:
        raise ValueError("the responder certificate was not issued by this CA") from exc
    eku = certificate.extended_key_usage_value
    if eku is None or "ocsp_signing" not in eku.native:
        raise ValueError("a responder certificate needs the OCSPSigning extended key usage")
    # Without nocheck a client would need revocation data for the responder itself,
    # which only this responder could give: RFC 6960 §4.2.2.2.1.
    if certificate.ocsp_no_check_value is None:
        raise ValueError("a responder certificate needs id-pkix-ocsp-nocheck")


def _sequence(*parts: bytes) -> bytes:
    return emit(0, 1, 16, b"".join(parts))


def _generalized_time(value: datetime) -> bytes:
    """GeneralizedTime in UTC without fractions, as RFC 6960 (via RFC 5280) wants it."""
    value = value.astimezone(UTC)
    text = b"%04d%02d%02d%02d%02d%02dZ" % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )
    return emit(0, 0, 24, text)


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


def _nonce(request: ocsp.OCSPRequest) -> tuple[bytes | None, bytes]:
    """The nonce to echo and its extension's DER, per RFC 8954: refuse an empty nonce,
    drop one that is too long."""
    for extension in request["tbs_request"]["request_extensions"] or ():
        if extension["extn_id"].native != "nonce":
            continue
        value: bytes = extension["extn_value"].parsed.native
        if not value:
            raise MalformedInput("OCSP request", "empty nonce")
        return (value if len(value) <= _MAX_NONCE else None), extension.dump()
    return None, b""


def _without_nonce(der: bytes) -> tuple[bytes, int]:
    """The request with its nonce value cut out, and where it was; or the request and -1.

    A plain byte search, so that it costs nothing: what it finds is only trusted for a
    request whose parse put the nonce exactly there (``_nonce_is_at``). A request that
    matches such a one except in those bytes differs from it only in its nonce.
    """
    at = der.rfind(_NONCE_ID)
    if at < 0:
        return der, -1
    position = at + len(_NONCE_ID)
    if der[position : position + 2] == b"\x01\x01":  # critical = TRUE, or FALSE in BER
        position += 3
    head = der[position : position + 4]
    if len(head) < 4 or head[0] != 4 or head[2] != 4 or head[1] != head[3] + 2:
        return der, -1
    start, length = position + 4, head[3]
    if not 0 < length <= _MAX_NONCE or start + length > len(der):
        return der, -1
    return der[:start] + der[start + length :], start


def _nonce_is_at(der: bytes, nonce_at: int, nonce: bytes | None, extension: bytes) -> bool:
    """Whether the parsed request agrees with ``_without_nonce`` on where its nonce is."""
    if nonce is None:
        return nonce_at < 0 and not extension
    # The extension's own bytes end with the nonce; found once, they pin its place.
    return (
        nonce_at >= 0
        and der.count(extension) == 1
        and der.index(extension) + len(extension) == nonce_at + len(nonce)
        and der[nonce_at : nonce_at + len(nonce)] == nonce
    )
