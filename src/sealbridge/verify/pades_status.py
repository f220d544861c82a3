"""One PDF signature or document timestamp, checked: format, bytes, value, chain,
timestamp.

The signature dictionary's /SubFilter says what /Contents is, and its /ByteRange gives
the signed bytes; ``verify.cades`` checks the CMS over them and ``ChainValidator`` the
certificates. The result is a plain value that ``pades_checks`` turns into the report's
checks; what later revisions did is ``verify.changes``'s business, not this module's.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
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
    SignedContent,
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

CADES = "ETSI.CAdES.detached"
PKCS7 = "adbe.pkcs7.detached"
RFC3161 = "ETSI.RFC3161"
# Formats a PDF may declare that are not checked here: saying why beats a guess.
_UNSUPPORTED = {
    "adbe.pkcs7.sha1": (
        "its CMS signs the SHA-1 digest of the byte ranges as encapsulated content, "
        "a legacy format this verifier does not check"
    ),
    "adbe.x509.rsa_sha1": (
        "its /Contents is a bare PKCS#1 RSA-SHA1 value with the certificate in /Cert, "
        "a legacy format this verifier does not check"
    ),
}


class FormatFailure(MalformedInput):
    """A signature that cannot be processed in the form it has (EN 319 102-1's
    FORMAT_FAILURE): a /SubFilter naming a format not checked here (or none), or a
    signature dictionary pyHanko cannot list (no /ByteRange, unreadable). It is reported
    as undecided, neither passed on a guess nor failed for being old."""


@dataclass(frozen=True)
class Conformance:
    """Whether /Contents is what the signature dictionary's /SubFilter declares
    (``subfilter`` without its slash); ``detail`` says what was found either way."""

    subfilter: str
    conforms: bool
    detail: str

    @property
    def pades(self) -> bool:
        """A PAdES signature (EN 319 142-1): what the B-B to B-LTA levels are about."""
        return self.conforms and self.subfilter == CADES


@dataclass(frozen=True)
class SignatureStatus:
    """What was found for one signature (or document timestamp) of a PDF, or for a
    detached CMS signature (whose ``coverage`` is ``None``: it has no byte range).

    ``timestamp`` is the signature's timestamp token (``None`` for PAdES B-B and for a
    document timestamp, whose own time is ``time``); ``conformance`` is ``None`` for a
    detached signature, which has no /SubFilter.
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
    conformance: Conformance | None = None

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
    signatures. ``FormatFailure`` when its /SubFilter is one not checked here,
    ``MalformedInput`` when its CMS cannot be read at all, ``SignerCertificateMissing``
    when its signer's certificate is nowhere."""
    subfilter = _subfilter(sig)
    timestamp = sig.sig_object_type == "/DocTimeStamp"
    if not timestamp and subfilter not in (CADES, PKCS7, RFC3161):
        raise FormatFailure("PDF signature", unsupported_reason(subfilter))
    content = sig.signed_data  # parsed by pyHanko when it listed the signatures
    signed_bytes = _SignedRanges(
        (prefixes or FilePrefixes(file_bytes(sig))).digest_of(byte_ranges(sig)), sig
    )
    coverage = _coverage(sig)
    if timestamp:
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
            conformance=_timestamp_conformance(subfilter),
        )
    signed = read_signed_data(content, "PDF signature", known)
    status = signature_status(signed, signed_bytes, chains, known, coverage)
    return replace(status, conformance=_signature_conformance(subfilter, signed))


def signature_status(
    signed: SignedCms,
    content: SignedContent,
    chains: ChainValidator,
    known: Sequence[x509.Certificate],
    coverage: SignatureCoverageLevel | None = None,
) -> SignatureStatus:
    """A signature (not a document timestamp) over ``content``: its CMS, its signer's
    path, and its timestamp token if it has one; ``coverage`` is the PDF byte range's,
    ``None`` for a detached signature."""
    integrity = check_integrity(signed, content, "data")
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


@dataclass(frozen=True)
class _SignedRanges:
    """The bytes a PDF signature signs: digested through the file's shared prefixes, and
    read out whole only for a check that needs them (SM2 without signed attributes)."""

    digests: Callable[[str], bytes]
    sig: EmbeddedPdfSignature

    def __call__(self, algorithm: str) -> bytes:
        return self.digests(algorithm)

    def read(self) -> bytes:
        # Sliced as FilePrefixes slices them, a hostile range included.
        data = memoryview(file_bytes(self.sig))
        return b"".join(data[start : start + length] for start, length in byte_ranges(self.sig))


def _subfilter(sig: EmbeddedPdfSignature) -> str | None:
    value = sig.sig_object.get("/SubFilter")
    return None if value is None else str(value).removeprefix("/")


def unsupported_reason(subfilter: str | None) -> str:
    if subfilter is None:
        return "the signature dictionary has no /SubFilter, so what /Contents holds is undeclared"
    reason = _UNSUPPORTED.get(subfilter, "a format this verifier does not know")
    return f"/SubFilter {subfilter} is not supported: {reason}"


def _timestamp_conformance(subfilter: str | None) -> Conformance:
    """ISO 32000-2 12.8.5: a document timestamp is an RFC 3161 token, declared so."""
    if subfilter == RFC3161:
        return Conformance(RFC3161, True, f"/SubFilter {RFC3161}: an RFC 3161 document timestamp")
    return Conformance(
        str(subfilter),
        False,
        f"a document timestamp must declare /SubFilter {RFC3161}, not {subfilter}",
    )


def _signature_conformance(subfilter: str | None, signed: SignedCms) -> Conformance:
    """What the declared format requires of the CMS, and what binds its signer.

    EN 319 142-1 6.3 makes signed attributes and an ESS signing-certificate(-v2) part of
    every PAdES signature, so a CMS without them fails format checking; adbe.pkcs7.detached
    (ISO 32000-1 12.8.3.3) requires neither, so there the report only says what is not
    bound. The same table leaves the CMS signing-time out of PAdES baseline signatures
    (the claimed time is /M), but one that has it is still a valid signature (DSS calls it
    non-baseline, pyHanko accepts it): that is noted, not failed.
    """
    if subfilter == RFC3161:
        return Conformance(
            RFC3161,
            False,
            f"/SubFilter {RFC3161} declares a document timestamp, but the dictionary is a /Sig",
        )
    try:
        attributes = signed.has_signed_attributes
        bound = bool(
            signed.signed_attribute("signing_certificate_v2")
            or signed.signed_attribute("signing_certificate")
        )
        claims_time = bool(signed.signed_attribute("signing_time"))
    except ASN1_ERRORS:
        return Conformance(str(subfilter), False, "the signed attributes cannot be read")
    if subfilter == PKCS7:
        if not attributes:
            return Conformance(
                PKCS7,
                True,
                f"/SubFilter {PKCS7} without signed attributes: the value signs the document "
                "digest alone, so neither the signer's certificate nor a signing time is bound",
            )
        if not bound:
            return Conformance(
                PKCS7,
                True,
                f"/SubFilter {PKCS7}: no signing-certificate attribute binds the signer's "
                "certificate to the signature",
            )
        return Conformance(PKCS7, True, f"/SubFilter {PKCS7}: a CMS signature (not PAdES)")
    if not attributes:
        return Conformance(
            CADES, False, f"/SubFilter {CADES} requires signed attributes; the CMS has none"
        )
    if not bound:
        return Conformance(
            CADES,
            False,
            f"/SubFilter {CADES} requires an ESS signing-certificate-v2 attribute; the CMS "
            "has no signing-certificate attribute",
        )
    if claims_time:
        return Conformance(
            CADES,
            True,
            f"/SubFilter {CADES}: a PAdES signature, though its CMS signing-time attribute "
            "is outside the PAdES baseline (EN 319 142-1 puts the claimed time in /M)",
        )
    return Conformance(CADES, True, f"/SubFilter {CADES}: a PAdES signature")


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
