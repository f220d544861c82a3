"""One PDF signature or document timestamp, checked: bytes, value, chain, timestamp.

The signature dictionary's /ByteRange gives the signed bytes; ``verify.cades`` checks
the CMS over them and ``ChainValidator`` the certificates. The result is a plain value
that ``pades_checks`` turns into the report's checks; what later revisions did is
``verify.changes``'s business, not this module's.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from sealbridge.errors import MalformedInput
from sealbridge.seals.decode import ASN1_ERRORS
from sealbridge.verify.cades import (
    Integrity,
    SignedCms,
    TokenOutcome,
    check_integrity,
    check_token,
    digest_of,
    read_signed_data,
    signature_timestamp,
    signing_time,
)
from sealbridge.verify.chain import ChainOutcome, ChainValidator, Usage
from sealbridge.verify.prefixes import FilePrefixes, Range

_NATIONAL = frozenset({"sm3", "sm2", "sm2_sm3"})


@dataclass(frozen=True)
class SignatureStatus:
    """What was found for one signature (or document timestamp) of a PDF, or for a
    detached CMS signature (whose ``coverage`` is ``None``: it has no byte range).

    ``timestamp`` is the signature's timestamp token (``None`` for PAdES B-B and for a
    document timestamp, whose own time is ``time``).
    """

    document_timestamp: bool
    integrity: Integrity
    coverage: SignatureCoverageLevel | None
    chain: ChainOutcome
    timestamp: TokenOutcome | None
    time: datetime | None
    claimed: datetime | None
    signer: x509.Certificate
    digest_algorithm: str

    @property
    def best_signature_time(self) -> datetime | None:
        """The earliest time proven to have seen the signature (or the claim, marked as
        such by the report), per EN 319 102-1's best-signature-time."""
        if self.document_timestamp:
            return self.time
        if self.timestamp is not None and self.timestamp.proves_time:
            return self.timestamp.time
        return self.claimed


def check_pdf_signature(
    sig: EmbeddedPdfSignature,
    chains: ChainValidator,
    known: Sequence[x509.Certificate] = (),
    prefixes: FilePrefixes | None = None,
) -> SignatureStatus:
    """Check ``sig``; certificates a CMS names but does not carry are looked for in
    ``known`` (the DSS, the trust lists). ``prefixes`` is the file's, shared by its
    signatures. ``MalformedInput`` when its CMS cannot be read at all,
    ``SignerCertificateMissing`` when its signer's certificate is nowhere."""
    content = sig.signed_data  # parsed by pyHanko when it listed the signatures
    signed_bytes = (prefixes or FilePrefixes(file_bytes(sig))).digest_of(byte_ranges(sig))
    coverage = _coverage(sig)
    if sig.sig_object_type == "/DocTimeStamp":
        outcome = check_token(content, signed_bytes, chains, "the document timestamp", known)
        # Read again only when the token could not be: its error is the report's.
        signed = outcome.signed or read_signed_data(content, "document timestamp", known)
        return SignatureStatus(
            document_timestamp=True,
            integrity=outcome.integrity,
            coverage=coverage,
            chain=outcome.chain or _unchecked(outcome.integrity),
            timestamp=None,
            time=outcome.time if outcome.integrity.valid else None,
            claimed=None,
            signer=signed.signer,
            digest_algorithm=signed.digest_algorithm,
        )
    signed = read_signed_data(content, "PDF signature", known)
    return signature_status(signed, signed_bytes, chains, known, coverage)


def signature_status(
    signed: SignedCms,
    content_digest: Callable[[str], bytes],
    chains: ChainValidator,
    known: Sequence[x509.Certificate],
    coverage: SignatureCoverageLevel | None = None,
) -> SignatureStatus:
    """A signature (not a document timestamp) over what ``content_digest`` digests: its
    CMS, its signer's path, and its timestamp token if it has one; ``coverage`` is the
    PDF byte range's, ``None`` for a detached signature."""
    integrity = check_integrity(signed, content_digest, "data")
    if integrity.intact and integrity.valid:
        chain = chains(signed.signer, signed.certificates, Usage.SIGNING)
    else:
        chain = _unchecked(integrity)
    try:
        token = signature_timestamp(signed)
    except MalformedInput as exc:
        stamp: TokenOutcome | None = TokenOutcome(Integrity(False, False, exc.reason), None, None)
    else:
        stamp = (
            None
            if token is None
            else check_token(
                token, digest_of((signed.signature,)), chains, "the signature timestamp", known
            )
        )
    return SignatureStatus(
        document_timestamp=False,
        integrity=integrity,
        coverage=coverage,
        chain=chain,
        timestamp=stamp,
        time=None,
        claimed=signing_time(signed),
        signer=signed.signer,
        digest_algorithm=signed.digest_algorithm,
    )


def is_national(sig: EmbeddedPdfSignature) -> bool:
    """Whether a PDF signature uses SM2/SM3: checked like any other, reported as CMS."""
    try:
        info = sig.signer_info
        names = {
            info["digest_algorithm"]["algorithm"].native,
            info["signature_algorithm"]["algorithm"].native,
        }
    except ASN1_ERRORS:
        return False
    return bool(names & _NATIONAL)


def file_bytes(sig: EmbeddedPdfSignature) -> bytes:
    """The whole file ``sig`` is in."""
    stream = sig.reader.stream
    if isinstance(stream, io.BytesIO):
        return stream.getvalue()
    stream.seek(0)
    return stream.read()


def byte_ranges(sig: EmbeddedPdfSignature) -> tuple[Range, ...]:
    """What /ByteRange says was signed, as (start, length) pairs."""
    values: Iterable[int] = sig.byte_range
    bounds = list(values)
    return tuple((bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2))


def _coverage(sig: EmbeddedPdfSignature) -> SignatureCoverageLevel | None:
    try:
        coverage = sig.evaluate_signature_coverage()
    except (PdfError, *ASN1_ERRORS):
        return None
    # Kept on the signature, where pyHanko's own analysis looks for it.
    sig.coverage = coverage  # type: ignore[assignment]  # pyHanko declares it None
    return coverage


def _unchecked(integrity: Integrity) -> ChainOutcome:
    """A broken signature's chain is not worth validating: nothing it says holds."""
    return ChainOutcome(None, None, f"not validated: {integrity.detail}")
