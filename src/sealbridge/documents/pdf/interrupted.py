"""Remote signing in two halves: the key stays on the signer's USB token or HSM.

``start_signing`` lays out the revision (field, appearance, placeholder), digests the
/ByteRange and builds the signed attributes; only those attributes (or their digest)
go to the signer. ``finish_signing`` takes the signature value that comes back, checks
it against the certificate before anything is written, and completes the CMS and the
PDF. Between the halves everything is a ``PendingSignature``: plain data that
serialises to JSON, sealed with an HMAC when a key is given, so it may wait in a
database or travel through the browser and come back unaltered, or be refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper

from sealbridge.crypto.algorithms import digest, sm3
from sealbridge.crypto.sm2 import DEFAULT_SIGNER_ID, point_of
from sealbridge.crypto.verify import verify_signature
from sealbridge.documents.pdf import cms
from sealbridge.documents.pdf.sign import (
    Attachment,
    PadesLevel,
    PadesProfile,
    PdfSigningError,
    PreparedRevision,
    VisibleStamp,
    prepare_revision,
    reserve_for,
    run_async,
)
from sealbridge.errors import MalformedInput, SignatureInvalid

FORMAT = "sealbridge.pending-signature/1"

# GB/T 32918.5 curve parameters a, b, xG, yG: the fixed part of Z_A.
_SM2_CURVE = bytes.fromhex(
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)


class SignatureValueRefused(SignatureInvalid):
    """The signature value that came back does not verify with the signer's certificate."""


@dataclass(frozen=True)
class PendingSignature:
    """A PDF revision waiting for its signature value."""

    revision: PreparedRevision
    attributes: bytes
    spec: cms.SignatureSpec
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    timestamped: bool

    @property
    def digest_to_sign(self) -> bytes:
        """The hash the token signs: of the attributes, or for SM2, SM3(Z_A || attributes).

        Tokens that take the data itself are given ``attributes`` instead.
        """
        if self.spec.signature_algorithm == "sm2_sm3":
            return sm3(_z_a(self.certificate) + self.attributes)
        return digest(self.spec.digest_algorithm, self.attributes)

    def to_json(self, mac_key: bytes | None = None) -> str:
        """The state as JSON; with ``mac_key`` sealed by HMAC-SHA256 against alteration."""
        body: dict[str, Any] = {
            "format": FORMAT,
            "pdf": _b64(self.revision.pdf),
            "document_digest": _b64(self.revision.document_digest),
            "contents": list(self.revision.contents),
            "attributes": _b64(self.attributes),
            "signature_algorithm": self.spec.signature_algorithm,
            "certificate": _b64(self.certificate.dump()),
            "chain": [_b64(c.dump()) for c in self.chain],
            "timestamped": self.timestamped,
        }
        if mac_key is not None:
            body["mac"] = _mac(mac_key, body)
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, mac_key: bytes | None = None) -> PendingSignature:
        """Read back ``to_json``; raises ``MalformedInput`` if it is not that, or was altered."""
        try:
            body = json.loads(text)
            if not isinstance(body, dict) or body.get("format") != FORMAT:
                raise MalformedInput("pending signature", f"not a {FORMAT} document")
            if mac_key is not None:
                sent = body.pop("mac", None)
                if not isinstance(sent, str) or not hmac.compare_digest(sent, _mac(mac_key, body)):
                    raise MalformedInput("pending signature", "its MAC does not match")
            start, end = body["contents"]
            return cls(
                revision=PreparedRevision(
                    _unb64(body["pdf"]), _unb64(body["document_digest"]), (int(start), int(end))
                ),
                attributes=_unb64(body["attributes"]),
                spec=cms.SignatureSpec.named(str(body["signature_algorithm"])),
                certificate=x509.Certificate.load(_unb64(body["certificate"])),
                chain=tuple(x509.Certificate.load(_unb64(c)) for c in body["chain"]),
                timestamped=bool(body["timestamped"]),
            )
        except MalformedInput:
            raise
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise MalformedInput("pending signature", str(exc) or type(exc).__name__) from exc


def start_signing(
    pdf: bytes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    stamp: VisibleStamp | None,
    profile: PadesProfile,
    *,
    attachments: Sequence[Attachment] = (),
    field_name: str | None = None,
) -> PendingSignature:
    """The first half: everything but the signature value, for the holder of ``certificate``.

    B-T is timestamped in the second half, over the value that comes back.
    """
    if profile.level not in (PadesLevel.B_B, PadesLevel.B_T):
        raise PdfSigningError(f"remote signing is B-B or B-T, not {profile.level}")
    spec = cms.SignatureSpec.for_certificate(certificate)
    timestamped = profile.level is PadesLevel.B_T
    certificate = x509.Certificate.load(certificate.dump())
    chain = tuple(x509.Certificate.load(c.dump()) for c in chain)
    try:
        revision = run_async(
            prepare_revision(
                pdf,
                certificate,
                stamp,
                profile,
                digest_algorithm=spec.digest_algorithm,
                reserve=reserve_for(certificate, chain, timestamped=timestamped),
                field_name=field_name,
                attachments=attachments,
            )
        )
    except (SigningError, PdfError, ValueError, KeyError) as exc:
        raise PdfSigningError(f"cannot prepare PDF for signing: {exc}") from exc
    attributes = cms.signed_attributes(revision.document_digest, certificate, spec.digest_algorithm)
    return PendingSignature(revision, attributes, spec, certificate, chain, timestamped)


def finish_signing(
    pending: PendingSignature,
    signature_value: bytes,
    *,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """The second half: the signed PDF, or ``SignatureValueRefused`` if the value is wrong.

    The pending state is checked to be self-consistent first (its attributes are those
    of its revision and certificate), so an altered state cannot get a signature
    embedded over something else. ECDSA and SM2 values may come as DER or as raw r || s.
    """
    if pending.timestamped and timestamper is None:
        raise PdfSigningError("PAdES B-T needs a timestamp authority to finish")
    revision = pending.revision
    expected = cms.signed_attributes(
        _byte_range_digest(revision, pending.spec.digest_algorithm),
        pending.certificate,
        pending.spec.digest_algorithm,
    )
    if not hmac.compare_digest(expected, pending.attributes):
        raise MalformedInput("pending signature", "its attributes do not match its revision")
    value = _der_signature(signature_value, pending.spec)
    try:
        verify_signature(
            pending.certificate.public_key, pending.spec.asn1, pending.attributes, value
        )
    except SignatureInvalid as exc:
        raise SignatureValueRefused(
            "the returned signature value does not verify with the signer's certificate "
            f"({pending.certificate.subject.human_friendly}): {exc}"
        ) from exc
    token = None
    if timestamper is not None and pending.timestamped:
        token = run_async(cms.signature_timestamp(timestamper, value, pending.spec))
    container = cms.signed_data(
        attributes=pending.attributes,
        signature=value,
        certificate=pending.certificate,
        chain=pending.chain,
        spec=pending.spec,
        timestamp_token=token,
    )
    return revision.embed(container)


def _byte_range_digest(revision: PreparedRevision, algorithm: str) -> bytes:
    start, end = revision.contents
    view = memoryview(revision.pdf)
    if not (0 < start < end <= len(view)) or view[start] != ord("<") or view[end - 1] != ord(">"):
        raise MalformedInput("pending signature", "its placeholder is not in its PDF")
    hasher = hashlib.new(algorithm)
    hasher.update(view[:start])
    hasher.update(view[end:])
    if hasher.digest() != revision.document_digest:
        raise MalformedInput("pending signature", "its PDF does not match its digest")
    return revision.document_digest


def _der_signature(value: bytes, spec: cms.SignatureSpec) -> bytes:
    """ECDSA/SM2 tokens (PKCS#11, SKF) often return r || s; CMS wants DER."""
    if spec.signature_algorithm.endswith("_rsa") or value[:1] == b"\x30":
        return value
    if not value or len(value) % 2 or len(value) > 132:
        raise SignatureValueRefused(f"a {len(value)}-byte value is no ECDSA or SM2 signature")
    return bytes(algos.DSASignature.from_p1363(value).dump())


def _z_a(certificate: x509.Certificate) -> bytes:
    """Z_A of GB/T 32918.2 for the default signer ID: what SM2 hashes before the data."""
    entl = (len(DEFAULT_SIGNER_ID) * 8).to_bytes(2, "big")
    return sm3(entl + DEFAULT_SIGNER_ID + _SM2_CURVE + point_of(certificate.public_key))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(text, validate=True)


def _mac(key: bytes, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()
