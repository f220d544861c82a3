"""RFC 3161 time-stamp authority: answers TimeStampReq bytes with TimeStampResp bytes.

Tokens are CMS SignedData signed through a KeyHandle, so one code path serves RSA, ECDSA
and SM2 TSA keys. Everything in a token but the imprint, serial, time, nonce and
signature is the same every time, so it is encoded once, when the TSA is set up; a token
then costs one request parse, one signature and a few concatenations, where building it
as an asn1crypto object tree re-encoded the embedded certificates on every request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, tsp, x509
from asn1crypto.parser import emit

from sealbridge.crypto.algorithms import digest, hash_of_signature_algorithm
from sealbridge.crypto.keys import KeyHandle
from sealbridge.pki.issuer import random_serial

# Imprint hashes a token may vouch for, with their lengths. SHA-1 is refused: a token
# over a SHA-1 imprint would let a collision be time-stamped as the genuine document.
_IMPRINT_LENGTHS = {
    "sha256": 32,
    "sha384": 48,
    "sha512": 64,
    "sha3_256": 32,
    "sha3_384": 48,
    "sha3_512": 64,
    "sm3": 32,
}

_GRANTED = tsp.PKIStatusInfo({"status": "granted"}).dump()
_VERSION_1 = core.Integer(1).dump()
_SIGNED_DATA_V3 = core.Integer(3).dump()  # RFC 5652 §5.1: the content is not id-data
_SIGNED_DATA = cms.ContentType("signed_data").dump()
_TST_INFO = cms.ContentType("tst_info").dump()
_MESSAGE_DIGEST = cms.CMSAttributeType("message_digest").dump()


class TimeStampResponse(tsp.TimeStampResp):  # type: ignore[misc]  # asn1crypto is untyped
    """asn1crypto's TimeStampResp with the token optional, as RFC 3161 §2.4.2 has it.

    asn1crypto's own spec can neither build nor parse a rejection, which has no token.
    """

    _fields = [  # noqa: RUF012 - asn1crypto's own spec style
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _Rejected(Exception):
    def __init__(self, failure: str, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


def rejection(failure: str, reason: str) -> bytes:
    """A DER TimeStampResp refusing the request, with a PKIFailureInfo bit name."""
    return TimeStampResponse(
        {"status": {"status": "rejection", "status_string": [reason], "fail_info": {failure}}}
    ).dump()


class TimeStampAuthority:
    """Issues time-stamp tokens under one policy with one key and certificate.

    Tokens carry the request's nonce, the policy, an accuracy of ``accuracy_seconds``
    and an ESSCertIDv2 (SHA-256) of the TSA certificate; the certificates (the TSA's
    and ``chain``) go in only when the request asks for them.
    """

    def __init__(
        self,
        key: KeyHandle,
        certificate: x509.Certificate,
        *,
        policy_oid: str,
        clock: Callable[[], datetime],
        accuracy_seconds: int = 1,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        if accuracy_seconds < 1:
            raise ValueError("accuracy must be at least one second: genTime has no fractions")
        if bytes(certificate.public_key["public_key"]) != bytes(key.public_key_info["public_key"]):
            raise ValueError("the TSA key does not match the TSA certificate")
        # RFC 3161 §2.3: verifiers reject tokens unless this is the one critical EKU.
        eku = certificate.extended_key_usage_value
        if (
            eku is None
            or eku.native != ["time_stamping"]
            or "extended_key_usage" not in certificate.critical_extensions
        ):
            raise ValueError("a TSA certificate needs timeStamping as its only, critical, EKU")
        self._key = key
        self._policy = policy_oid
        self._clock = clock
        self._signature_algorithm = key.default_signature_algorithm()
        self._digest_name = hash_of_signature_algorithm(self._signature_algorithm)
        self._templates = _Templates(
            certificate, (certificate, *chain), policy_oid, accuracy_seconds, self._digest_name
        )
        self._signature_algorithm_der = self._signature_algorithm.dump()

    def respond(self, request_der: bytes) -> bytes:
        """DER TimeStampResp: a granted token, or a rejection saying what was wrong."""
        try:
            request = self._accept(request_der)
        except _Rejected as rejected:
            return rejection(rejected.failure, rejected.reason)
        return _sequence(_GRANTED, self._token(request))

    def _accept(self, der: bytes) -> tsp.TimeStampReq:
        try:
            request = tsp.TimeStampReq.load(der, strict=True)
            request.native  # noqa: B018 - forces asn1crypto's lazy parser over every field
        # Not only ValueError: hostile DER makes asn1crypto raise others (AttributeError on
        # a REAL, for one). Whatever the decoder trips on, the bytes are not a request.
        except Exception as exc:
            raise _Rejected("bad_data_format", "the request is not a DER TimeStampReq") from exc
        if request["version"].native != "v1":
            raise _Rejected("bad_data_format", "only version 1 requests are understood")
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        length = _IMPRINT_LENGTHS.get(algorithm)
        if length is None:
            raise _Rejected("bad_alg", f"imprint hash {algorithm} is not accepted")
        if len(imprint["hashed_message"].native) != length:
            raise _Rejected("bad_data_format", f"a {algorithm} imprint has {length} octets")
        policy = request["req_policy"].native
        if policy is not None and policy != self._policy:
            raise _Rejected("unaccepted_policy", f"this TSA only issues under {self._policy}")
        if request["extensions"].native:
            raise _Rejected("unaccepted_extensions", "no request extension is supported")
        return request

    def _token(self, request: tsp.TimeStampReq) -> bytes:
        """The token, a DER ContentInfo, assembled around the per-request fields."""
        t = self._templates
        nonce = request["nonce"]
        tst_info = _sequence(
            t.version_and_policy,
            # Re-encoded, so a BER imprint from the client cannot make the token non-DER.
            request["message_imprint"].dump(force=True),
            core.Integer(random_serial()).dump(),
            # genTime in whole seconds: the accuracy field says how far off it may be.
            core.GeneralizedTime(self._clock().astimezone(UTC).replace(microsecond=0)).dump(),
            t.accuracy,
            nonce.dump(force=True) if nonce.native is not None else b"",
            t.tsa_name,
        )
        message_digest = _sequence(
            _MESSAGE_DIGEST, emit(0, 1, 17, emit(0, 0, 4, digest(self._digest_name, tst_info)))
        )
        # DER sorts a SET OF by the encodings; the digest attribute's place can vary.
        attributes = b"".join(sorted((t.content_type, message_digest, t.signing_certificate)))
        # RFC 5652 §5.4: the signature covers the attributes encoded as a SET, not as [0].
        signature = self._key.sign(emit(0, 1, 17, attributes), self._signature_algorithm)
        signer_info = _sequence(
            t.signer_info_prefix,
            emit(2, 1, 0, attributes),
            self._signature_algorithm_der,
            emit(0, 0, 4, signature),
        )
        signed_data = _sequence(
            _SIGNED_DATA_V3,
            t.digest_algorithms,
            # eContent is [0] EXPLICIT OCTET STRING holding exactly the bytes digested.
            _sequence(_TST_INFO, emit(2, 1, 0, emit(0, 0, 4, tst_info))),
            t.certificates if request["cert_req"].native else b"",
            emit(0, 1, 17, signer_info),
        )
        return _sequence(_SIGNED_DATA, emit(2, 1, 0, signed_data))


class _Templates:
    """The DER of every token field that does not change between requests."""

    def __init__(
        self,
        certificate: x509.Certificate,
        certificates: Sequence[x509.Certificate],
        policy_oid: str,
        accuracy_seconds: int,
        digest_name: str,
    ) -> None:
        self.version_and_policy = _VERSION_1 + core.ObjectIdentifier(policy_oid).dump()
        self.accuracy = tsp.Accuracy({"seconds": accuracy_seconds}).dump()
        # tsa [0] EXPLICIT GeneralName: the TSA's subject, as RFC 3161 §2.4.2 suggests.
        self.tsa_name = emit(
            2, 1, 0, x509.GeneralName(name="directory_name", value=certificate.subject).dump()
        )
        self.content_type = cms.CMSAttribute(
            {"type": "content_type", "values": ["tst_info"]}
        ).dump()
        # RFC 5816: ESSCertIDv2 with SHA-256 (the default, so its identifier is omitted).
        signing_certificate = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                        "issuer_serial": {
                            "issuer": [
                                x509.GeneralName(name="directory_name", value=certificate.issuer)
                            ],
                            "serial_number": certificate.serial_number,
                        },
                    }
                ]
            }
        )
        self.signing_certificate = cms.CMSAttribute(
            {"type": "signing_certificate_v2", "values": [signing_certificate]}
        ).dump()
        digest_algorithm = algos.DigestAlgorithm({"algorithm": digest_name})
        self.digest_algorithms = cms.DigestAlgorithms([digest_algorithm]).dump()
        self.signer_info_prefix = (
            _VERSION_1
            + cms.IssuerAndSerialNumber(
                {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
            ).dump()
            + digest_algorithm.dump()
        )
        # certificates [0] IMPLICIT CertificateSet: a SET OF, so sorted by encoding.
        self.certificates = emit(2, 1, 0, b"".join(sorted(c.dump() for c in certificates)))


def _sequence(*parts: bytes) -> bytes:
    return emit(0, 1, 16, b"".join(parts))
