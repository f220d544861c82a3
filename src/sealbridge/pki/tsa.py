"""RFC 3161 time-stamp authority: answers TimeStampReq bytes with TimeStampResp bytes.

Tokens are CMS SignedData built with asn1crypto and signed through a KeyHandle, so one
code path serves RSA, ECDSA and SM2 TSA keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from asn1crypto import cms, core, tsp, x509

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
    """Issues time-stamp tokens under one policy with one key and certificate."""

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
        self._certificate = certificate
        self._certificates = (certificate, *chain)
        self._policy = policy_oid
        self._clock = clock
        self._accuracy = accuracy_seconds
        self._signature_algorithm = key.default_signature_algorithm()
        self._digest_name = hash_of_signature_algorithm(self._signature_algorithm)
        self._signing_certificate = tsp.SigningCertificateV2(
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

    def respond(self, request_der: bytes) -> bytes:
        """DER TimeStampResp: a granted token, or a rejection saying what was wrong."""
        try:
            request = self._accept(request_der)
        except _Rejected as rejected:
            return rejection(rejected.failure, rejected.reason)
        return TimeStampResponse(
            {"status": {"status": "granted"}, "time_stamp_token": self._token(request)}
        ).dump()

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

    def _token(self, request: tsp.TimeStampReq) -> cms.ContentInfo:
        info: dict[str, object] = {
            "version": "v1",
            "policy": self._policy,
            "message_imprint": request["message_imprint"],
            "serial_number": random_serial(),
            "gen_time": self._clock().replace(microsecond=0),
            "accuracy": {"seconds": self._accuracy},
            "tsa": x509.GeneralName(name="directory_name", value=self._certificate.subject),
        }
        nonce = request["nonce"].native
        if nonce is not None:
            info["nonce"] = nonce
        tst_info = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [digest(self._digest_name, tst_info)]},
                {
                    "type": "signing_certificate_v2",
                    "values": [self._signing_certificate],
                },
            ]
        )
        # RFC 5652 §5.4: the signature covers the attributes encoded as a SET, not as [0].
        signature = self._key.sign(signed_attrs.dump(), self._signature_algorithm)
        signer_info = {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={
                    "issuer": self._certificate.issuer,
                    "serial_number": self._certificate.serial_number,
                },
            ),
            "digest_algorithm": {"algorithm": self._digest_name},
            "signed_attrs": signed_attrs,
            "signature_algorithm": self._signature_algorithm,
            "signature": signature,
        }
        signed_data: dict[str, object] = {
            # RFC 5652 §5.1: version 3 because the content type is not id-data.
            "version": "v3",
            "digest_algorithms": [{"algorithm": self._digest_name}],
            "encap_content_info": {
                "content_type": "tst_info",
                # Wrapped as is, so the embedded bytes are exactly the ones digested above.
                "content": core.ParsableOctetString(tst_info),
            },
            "signer_infos": [signer_info],
        }
        if request["cert_req"].native:
            signed_data["certificates"] = [
                cms.CertificateChoices(name="certificate", value=cert)
                for cert in self._certificates
            ]
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
