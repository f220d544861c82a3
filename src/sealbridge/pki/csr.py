"""PKCS#10 certificate requests: parsed, and their proof of possession checked.

A CA must not certify a key the requester cannot sign with; the request's own signature
proves it. SM2 requests follow GM/T 0015 (SM2-with-SM3, default user ID).
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import csr, keys, pem, x509

from sealbridge.crypto import sm2
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import MalformedInput, SealBridgeError, SignatureInvalid

MAX_CSR_BYTES = 64 * 1024


@dataclass(frozen=True)
class CertificateRequest:
    subject: x509.Name
    public_key: keys.PublicKeyInfo
    der: bytes


def load_csr(data: bytes) -> CertificateRequest:
    """Parse a PEM or DER request; raise unless its signature proves key possession."""
    if len(data) > MAX_CSR_BYTES:
        raise MalformedInput("certificate request", f"larger than {MAX_CSR_BYTES} bytes")
    try:
        der = pem.unarmor(data)[2] if pem.detect(data) else data
        request = csr.CertificationRequest.load(der, strict=True)
        info = request["certification_request_info"]
        subject = info["subject"]
        public_key = info["subject_pk_info"]
        subject.native  # noqa: B018 - parse fully now so garbage fails here
        public_key.native  # noqa: B018
        algorithm = request["signature_algorithm"]
        signature = bytes(request["signature"])
        signed = info.dump()
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise MalformedInput("certificate request", str(exc) or type(exc).__name__) from exc
    if info["version"].native != "v1":
        raise MalformedInput("certificate request", f"version {info['version'].native}")
    try:
        verify_signature(public_key, algorithm, signed, signature)
    except SignatureInvalid as exc:
        hint = (
            " (SM2 requests are signed with the GM/T 0015 user ID 1234567812345678;"
            " with OpenSSL 3 add -sigopt distid:1234567812345678)"
            if sm2.is_sm2_key(public_key)
            else ""
        )
        raise SignatureInvalid(
            f"certificate request: proof of possession failed (signature does not verify){hint}"
        ) from exc
    except SealBridgeError as exc:
        raise MalformedInput("certificate request", f"cannot check its signature: {exc}") from exc
    return CertificateRequest(subject, public_key, der)
