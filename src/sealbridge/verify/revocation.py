"""Revocation of the certificates behind seals and stamps: a small interface and OCSP.

Verifiers ask a ``RevocationSource`` and never open a socket themselves, so tests and
offline relying parties can answer from what they hold. ``OcspRevocationSource`` asks
the responder a certificate names, over HTTP, and believes the answer only when the
issuer (or a responder the issuer delegated to) signed it, it is about this very
certificate, it echoes the nonce or is otherwise fresh. Every doubt becomes "unknown",
never "good": an unreachable responder must leave a verdict open, not pass it.
"""

from __future__ import annotations

import http.client
import secrets
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from asn1crypto import ocsp, x509

from sealbridge.crypto.algorithms import digest
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import SealBridgeError
from sealbridge.seals.decode import ASN1_ERRORS

MAX_RESPONSE_BYTES = 1024 * 1024
# Responder and relying party keep their own clocks.
CLOCK_SKEW = timedelta(minutes=5)
_OCSP_RESPONSE = "application/ocsp-response"

# Posts a DER request to a URL and returns the DER answer; raises OSError if it cannot.
Transport = Callable[[str, bytes], bytes]


class RevocationState(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RevocationStatus:
    """What a source knows of one certificate; ``source`` says who said so, or why not."""

    state: RevocationState
    source: str
    revoked_at: datetime | None = None
    reason: str | None = None


class RevocationSource(Protocol):
    def status(
        self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> RevocationStatus:
        """The status of ``certificate`` (issued by ``issuer``) as known for time ``at``."""
        ...


class _Doubt(SealBridgeError):
    """An OCSP answer that cannot be believed; its message says why."""


def http_post(url: str, body: bytes, *, timeout: float = 10.0) -> bytes:
    """POST an OCSP request (RFC 6960 appendix A) and return the response body."""
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/ocsp-request", "Accept": _OCSP_RESPONSE},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    if len(answer) > MAX_RESPONSE_BYTES:
        raise OSError(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
    return answer


class OcspRevocationSource:
    """Asks the OCSP responder named in each certificate's AIA extension.

    OCSP tells the status now; a certificate revoked later than ``at`` still comes back
    revoked, with its revocation time, and the caller compares. A response without
    the nonce echoed must carry a ``nextUpdate`` still ahead, or be at most ``max_age``
    old, so that an old "good" replayed by an attacker is not taken for a new one.
    """

    def __init__(
        self,
        *,
        transport: Transport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_age: timedelta = timedelta(hours=1),
    ) -> None:
        self._post = transport or http_post
        self._clock = clock
        self._max_age = max_age

    def status(
        self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> RevocationStatus:
        urls = [u for u in certificate.ocsp_urls if u.startswith(("http://", "https://"))]
        if not urls:
            return RevocationStatus(
                RevocationState.UNKNOWN, "the certificate names no HTTP OCSP responder"
            )
        doubts = []
        for url in urls:
            try:
                return self._ask(url, certificate, issuer)
            # URLError and HTTPError are OSErrors; a malformed URL is a ValueError.
            except (OSError, ValueError, http.client.HTTPException) as exc:
                doubts.append(f"OCSP responder {url} unreachable: {exc}")
            except _Doubt as exc:
                doubts.append(f"OCSP responder {url}: {exc}")
        return RevocationStatus(RevocationState.UNKNOWN, "; ".join(doubts))

    def _ask(
        self, url: str, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> RevocationStatus:
        nonce = secrets.token_bytes(16)
        answer = self._post(url, ocsp_request(certificate, issuer, nonce))
        try:
            return self._believe(answer, certificate, issuer, nonce, url)
        except ASN1_ERRORS as exc:
            raise _Doubt(f"unreadable response ({type(exc).__name__}: {exc})") from exc

    def _believe(
        self,
        answer: bytes,
        certificate: x509.Certificate,
        issuer: x509.Certificate,
        nonce: bytes,
        url: str,
    ) -> RevocationStatus:
        response = ocsp.OCSPResponse.load(answer, strict=True)
        status = response["response_status"].native
        if status != "successful":
            raise _Doubt(f"answered {status}")
        if response["response_bytes"]["response_type"].native != "basic_ocsp_response":
            raise _Doubt("not a basic OCSP response")
        basic = response.basic_ocsp_response
        data = basic["tbs_response_data"]
        signer = _responder(basic, issuer)
        try:
            verify_signature(
                signer.public_key,
                basic["signature_algorithm"],
                data.dump(),
                bytes(basic["signature"]),
            )
        except SealBridgeError as exc:
            raise _Doubt(f"the response signature does not verify ({exc})") from exc
        echoed = response.nonce_value
        if echoed is not None and echoed.native != nonce:
            raise _Doubt("the response echoes another nonce (a replayed answer)")
        single = _single_response(data, certificate, issuer)
        now = self._clock()
        this_update: datetime = single["this_update"].native
        next_update: datetime | None = single["next_update"].native
        if this_update > now + CLOCK_SKEW:
            raise _Doubt(f"thisUpdate {this_update.isoformat()} is in the future")
        if next_update is not None and next_update < now - CLOCK_SKEW:
            raise _Doubt(f"stale: nextUpdate {next_update.isoformat()} has passed")
        if echoed is None and next_update is None and this_update < now - self._max_age:
            raise _Doubt(f"no nonce and thisUpdate {this_update.isoformat()} is too old")
        return _status_of(single, f"OCSP {url} at {this_update.isoformat()}")


class EmbeddedOcspSource:
    """OCSP responses a document carries (a PDF's DSS): long-term proof of status.

    A response counts if it is about the certificate, signed by its issuer or a responder
    the issuer delegated to, and produced no earlier than the time asked about (minus
    clock skew): only then does "good" prove the certificate was not revoked at that
    time. Nothing here is fetched.
    """

    def __init__(self, responses: Sequence[ocsp.OCSPResponse]) -> None:
        self._responses = tuple(responses)

    def status(
        self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> RevocationStatus:
        too_early = []
        for response in self._responses:
            try:
                single, this_update = _embedded_answer(response, certificate, issuer)
            except (_Doubt, SealBridgeError, *ASN1_ERRORS):
                continue
            if this_update < at - CLOCK_SKEW:
                too_early.append(this_update.isoformat())
                continue
            return _status_of(single, f"embedded OCSP response of {this_update.isoformat()}")
        detail = "no embedded OCSP response for the certificate"
        if too_early:
            detail += f" from after {at.isoformat()} (only {', '.join(too_early)})"
        return RevocationStatus(RevocationState.UNKNOWN, detail)


class FirstKnown:
    """Asks each source in turn and takes the first that knows (e.g. embedded, then OCSP)."""

    def __init__(self, *sources: RevocationSource) -> None:
        self._sources = sources

    def status(
        self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> RevocationStatus:
        doubts = []
        for source in self._sources:
            found = source.status(certificate, issuer, at)
            if found.state is not RevocationState.UNKNOWN:
                return found
            doubts.append(found.source)
        return RevocationStatus(RevocationState.UNKNOWN, "; ".join(doubts))


def ocsp_request(
    certificate: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None
) -> bytes:
    """A DER OCSPRequest for one certificate, with a nonce when given."""
    tbs: dict[str, object] = {"request_list": [{"req_cert": _cert_id(certificate, issuer)}]}
    if nonce is not None:
        tbs["request_extensions"] = [{"extn_id": "nonce", "extn_value": nonce}]
    return bytes(ocsp.OCSPRequest({"tbs_request": tbs}).dump())


def fetch_ocsp(
    certificate: x509.Certificate, issuer: x509.Certificate, *, transport: Transport | None = None
) -> ocsp.OCSPResponse:
    """The responder's signed answer itself, to embed (no nonce: it is kept, not replayed).

    Raises ``SealBridgeError`` when no responder answers with a response about it.
    """
    post = transport or http_post
    for url in certificate.ocsp_urls:
        if not url.startswith(("http://", "https://")):
            continue
        try:
            response = ocsp.OCSPResponse.load(post(url, ocsp_request(certificate, issuer)))
            _embedded_answer(response, certificate, issuer)
        except (OSError, ValueError, http.client.HTTPException, _Doubt, *ASN1_ERRORS):
            continue
        return response
    raise SealBridgeError(f"no OCSP responder answered for {certificate.subject.human_friendly}")


def _embedded_answer(
    response: ocsp.OCSPResponse, certificate: x509.Certificate, issuer: x509.Certificate
) -> tuple[ocsp.SingleResponse, datetime]:
    """The verified answer about ``certificate`` in ``response``, and its thisUpdate."""
    if response["response_status"].native != "successful":
        raise _Doubt("not a successful response")
    basic = response.basic_ocsp_response
    data = basic["tbs_response_data"]
    single = _single_response(data, certificate, issuer)
    signer = _responder(basic, issuer)
    verify_signature(
        signer.public_key, basic["signature_algorithm"], data.dump(), bytes(basic["signature"])
    )
    this_update: datetime = single["this_update"].native
    return single, this_update


def _status_of(single: ocsp.SingleResponse, source: str) -> RevocationStatus:
    cert_status = single["cert_status"]
    if cert_status.name == "good":
        return RevocationStatus(RevocationState.GOOD, source)
    if cert_status.name == "revoked":
        info = cert_status.chosen
        reason = info["revocation_reason"].native if info["revocation_reason"] else None
        return RevocationStatus(
            RevocationState.REVOKED,
            source,
            info["revocation_time"].native,
            reason or "unspecified",
        )
    return RevocationStatus(
        RevocationState.UNKNOWN, f"{source}: the responder does not know the certificate"
    )


def _cert_id(certificate: x509.Certificate, issuer: x509.Certificate) -> ocsp.CertId:
    return ocsp.CertId(
        {
            "hash_algorithm": {"algorithm": "sha1"},
            "issuer_name_hash": digest("sha1", issuer.subject.dump()),
            "issuer_key_hash": digest("sha1", bytes(issuer.public_key["public_key"])),
            "serial_number": certificate.serial_number,
        }
    )


def _single_response(
    data: ocsp.ResponseData, certificate: x509.Certificate, issuer: x509.Certificate
) -> ocsp.SingleResponse:
    """The answer about this certificate, whatever hash the responder chose for CertID."""
    for single in data["responses"]:
        cert_id = single["cert_id"]
        hash_name = cert_id["hash_algorithm"]["algorithm"].native
        try:
            expected = (
                digest(hash_name, issuer.subject.dump()),
                digest(hash_name, bytes(issuer.public_key["public_key"])),
                certificate.serial_number,
            )
        except SealBridgeError:
            continue
        given = (
            cert_id["issuer_name_hash"].native,
            cert_id["issuer_key_hash"].native,
            cert_id["serial_number"].native,
        )
        if given == expected:
            return single
    raise _Doubt("the response is about other certificates")


def _responder(basic: ocsp.BasicOCSPResponse, issuer: x509.Certificate) -> x509.Certificate:
    """The issuer itself, or a responder certificate the issuer made for OCSP signing."""
    responder_id = basic["tbs_response_data"]["responder_id"]
    if _names(responder_id, issuer):
        return issuer
    for candidate in basic["certs"] or ():
        if not _names(responder_id, candidate) or candidate.issuer != issuer.subject:
            continue
        try:
            verify_signature(
                issuer.public_key,
                candidate["signature_algorithm"],
                candidate["tbs_certificate"].dump(),
                bytes(candidate["signature_value"]),
            )
        except SealBridgeError:
            continue
        usage = candidate.extended_key_usage_value
        if usage is None or "ocsp_signing" not in usage.native:
            raise _Doubt("the delegated responder certificate is not for OCSP signing")
        return candidate
    raise _Doubt("signed by neither the issuer nor a responder it delegated to")


def _names(responder_id: ocsp.ResponderId, certificate: x509.Certificate) -> bool:
    if responder_id.name == "by_key":
        key_hash = digest("sha1", bytes(certificate.public_key["public_key"]))
        return bool(responder_id.chosen.native == key_hash)
    return bool(responder_id.chosen == certificate.subject)
