"""CMS SignedData for PAdES (ETSI.CAdES.detached), assembled from DER pieces.

pyHanko builds its CMS as asn1crypto object trees and re-encodes every certificate each
time (twice per PDF signature, with its dry run): most of its signing time. Here the
certificates are dumped once and a signature is a few concatenations around the
signed attributes and the signature value, so one code path serves RSA, ECDSA and SM2
keys behind a ``KeyHandle``.

The signed attributes are exactly those PAdES asks for: content-type, message-digest and
signing-certificate-v2; no signing-time (EN 319 142-1 5.2.1: the time is the /M entry of
the signature dictionary). A signature timestamp (B-T) is an unsigned attribute over
the signature value.

Object identifiers: the ContentInfo is the PKCS#7 signed-data type (1.2.840.113549.1.7.2)
and the encapsulated content type is id-data, not GB/T 35275's 1.2.156.10197.6.1.4.2.x,
also for SM2. PDF readers (pyHanko, poppler/NSS) and OpenSSL 3 decode SignedData only
under the PKCS#7 OID; under the GM one ``openssl cms`` sees an opaque "other" content and
cannot verify it. The algorithms are the national ones: SM3 (1.2.156.10197.1.401) as the
digest and SM2-with-SM3 (1.2.156.10197.1.501) as the signature algorithm, which is what
OpenSSL 3 itself writes in an SM2 SignerInfo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import algos, core, x509
from pyhanko.sign.timestamps.api import TimeStamper

from sealbridge.crypto.algorithms import (
    SM2_WITH_SM3_OID,
    digest,
    hash_of_signature_algorithm,
    signature_algorithm,
)
from sealbridge.crypto.keys import KeyHandle
from sealbridge.crypto.sm2 import is_sm2_key
from sealbridge.errors import UnsupportedAlgorithm

CONTENT_TYPE_OID = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST_OID = "1.2.840.113549.1.9.4"
SIGNING_CERTIFICATE_V2_OID = "1.2.840.113549.1.9.16.2.47"
SIGNATURE_TIMESTAMP_OID = "1.2.840.113549.1.9.16.2.14"
_SIGNED_DATA_OID = "1.2.840.113549.1.7.2"
_DATA_OID = "1.2.840.113549.1.7.1"

_SEQUENCE, _SET, _OCTET_STRING = 0x30, 0x31, 0x04
_VERSION_1 = core.Integer(1).dump()
_DATA = core.ObjectIdentifier(_DATA_OID).dump()
_ENCAPSULATED_DATA = b"\x30" + bytes([len(_DATA)]) + _DATA

# Digests a signature may be made over; SHA-1 and MD5 are refused outright.
DIGEST_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64, "sm3": 32}


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element with a single-byte tag."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def _set_of(elements: Sequence[bytes]) -> bytes:
    """DER SET OF: elements in ascending order of their encodings (X.690 11.6)."""
    return tlv(_SET, b"".join(sorted(elements)))


def _attribute(oid: str, value: bytes) -> bytes:
    return tlv(_SEQUENCE, _oid(oid) + tlv(_SET, value))


def digest_algorithm_der(name: str) -> bytes:
    if name not in DIGEST_LENGTHS:
        raise UnsupportedAlgorithm(f"digest algorithm {name!r} is not allowed in a signature")
    return bytes(algos.DigestAlgorithm({"algorithm": name}).dump())


def _signer_info_algorithm(name: str) -> bytes:
    """The SignerInfo's signatureAlgorithm, spelt as OpenSSL and pyHanko write it."""
    if name.endswith("_rsa"):
        return bytes(
            algos.SignedDigestAlgorithm(
                {"algorithm": "rsassa_pkcs1v15", "parameters": core.Null()}
            ).dump()
        )
    if name.endswith("_ecdsa"):
        return bytes(algos.SignedDigestAlgorithm({"algorithm": name}).dump())
    if name == "sm2_sm3":
        return tlv(_SEQUENCE, _oid(SM2_WITH_SM3_OID))
    raise UnsupportedAlgorithm(f"signature algorithm {name!r} is not supported in CMS")


@dataclass(frozen=True)
class SignatureSpec:
    """How a key signs: its signature algorithm and the digest that goes with it."""

    signature_algorithm: str
    digest_algorithm: str

    @classmethod
    def for_key(cls, key: KeyHandle) -> SignatureSpec:
        return cls.named(key.default_signature_algorithm()["algorithm"].native)

    @classmethod
    def for_certificate(cls, certificate: x509.Certificate) -> SignatureSpec:
        """What the holder of ``certificate`` signs with, for a key we cannot ask."""
        info = certificate.public_key
        if is_sm2_key(info):
            return cls.named("sm2_sm3")
        family = info.algorithm
        if family == "rsa":
            return cls.named("sha256_rsa")
        if family == "ec":
            curve = info.curve[1]
            return cls.named("sha384_ecdsa" if curve == "secp384r1" else "sha256_ecdsa")
        raise UnsupportedAlgorithm(f"{family} keys cannot sign PDFs here")

    @classmethod
    def named(cls, name: str) -> SignatureSpec:
        spec = cls(name, hash_of_signature_algorithm(signature_algorithm(name)))
        digest_algorithm_der(spec.digest_algorithm)
        _signer_info_algorithm(spec.signature_algorithm)
        return spec

    @property
    def asn1(self) -> algos.SignedDigestAlgorithm:
        return signature_algorithm(self.signature_algorithm)


def issuer_and_serial(certificate: x509.Certificate) -> bytes:
    return tlv(
        _SEQUENCE,
        bytes(certificate.issuer.dump()) + core.Integer(certificate.serial_number).dump(),
    )


def signing_certificate_v2(certificate: x509.Certificate, digest_algorithm: str) -> bytes:
    """SigningCertificateV2 naming ``certificate`` by hash and by issuer and serial (RFC 5035).

    The hash algorithm is the signature's own (SHA-256 is the default and so is left
    out, DER forbidding default values); an SM2 signature names its certificate by SM3.
    """
    cert_hash = tlv(_OCTET_STRING, digest(digest_algorithm, certificate.dump()))
    algorithm = b"" if digest_algorithm == "sha256" else digest_algorithm_der(digest_algorithm)
    issuer = tlv(_SEQUENCE, tlv(0xA4, bytes(certificate.issuer.dump())))
    issuer_serial = tlv(_SEQUENCE, issuer + core.Integer(certificate.serial_number).dump())
    cert_id = tlv(_SEQUENCE, algorithm + cert_hash + issuer_serial)
    return tlv(_SEQUENCE, tlv(_SEQUENCE, cert_id))


def signed_attributes(
    document_digest: bytes, certificate: x509.Certificate, digest_algorithm: str
) -> bytes:
    """The DER SET OF signed attributes: the bytes the signer's key signs."""
    if len(document_digest) != DIGEST_LENGTHS.get(digest_algorithm, -1):
        raise UnsupportedAlgorithm(
            f"a {len(document_digest)}-byte document digest is not a {digest_algorithm} digest"
        )
    return _set_of(
        (
            _attribute(CONTENT_TYPE_OID, _DATA),
            _attribute(MESSAGE_DIGEST_OID, tlv(_OCTET_STRING, document_digest)),
            _attribute(
                SIGNING_CERTIFICATE_V2_OID, signing_certificate_v2(certificate, digest_algorithm)
            ),
        )
    )


def signed_data(
    *,
    attributes: bytes,
    signature: bytes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    spec: SignatureSpec,
    timestamp_token: bytes | None = None,
) -> bytes:
    """The ContentInfo around one SignerInfo, certificates included, content detached."""
    digest_algorithm = digest_algorithm_der(spec.digest_algorithm)
    unsigned = b""
    if timestamp_token is not None:
        unsigned = tlv(0xA1, _attribute(SIGNATURE_TIMESTAMP_OID, timestamp_token))
    signer_info = tlv(
        _SEQUENCE,
        _VERSION_1
        + issuer_and_serial(certificate)
        + digest_algorithm
        + b"\xa0"
        + attributes[1:]  # [0] IMPLICIT: the SET's own tag replaced, length kept
        + _signer_info_algorithm(spec.signature_algorithm)
        + tlv(_OCTET_STRING, signature)
        + unsigned,
    )
    unique = {c.dump(): None for c in (certificate, *chain)}
    certificates = b"\xa0" + _set_of(list(unique))[1:]
    content = tlv(
        _SEQUENCE,
        _VERSION_1
        + tlv(_SET, digest_algorithm)
        + _ENCAPSULATED_DATA
        + certificates
        + tlv(_SET, signer_info),
    )
    return tlv(_SEQUENCE, _oid(_SIGNED_DATA_OID) + tlv(0xA0, content))


def timestamp_imprint_algorithm(spec: SignatureSpec) -> str:
    """The hash of a signature timestamp's imprint: the signature's, SHA-256 for SM3.

    Not every TSA accepts an SM3 imprint, while every one takes SHA-256.
    """
    return "sha256" if spec.digest_algorithm == "sm3" else spec.digest_algorithm


async def signature_timestamp(
    timestamper: TimeStamper, signature: bytes, spec: SignatureSpec
) -> bytes:
    """An RFC 3161 token over the signature value, for the unsigned attribute."""
    algorithm = timestamp_imprint_algorithm(spec)
    token = await timestamper.async_timestamp(digest(algorithm, signature), algorithm)
    return bytes(token.dump())


def sign_detached(
    document_digest: bytes,
    key: KeyHandle,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    *,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """A detached CMS SignedData over content whose digest is ``document_digest``.

    The digest algorithm is the one the key signs with (SHA-256 for P-256 and RSA,
    SHA-384 for P-384, SM3 for SM2); ``document_digest`` must have been made with it.
    """
    spec = SignatureSpec.for_key(key)
    attributes = signed_attributes(document_digest, certificate, spec.digest_algorithm)
    signature = key.sign(attributes, spec.asn1)
    token = None
    if timestamper is not None:
        token = asyncio.run(signature_timestamp(timestamper, signature, spec))
    return signed_data(
        attributes=attributes,
        signature=signature,
        certificate=certificate,
        chain=chain,
        spec=spec,
        timestamp_token=token,
    )
