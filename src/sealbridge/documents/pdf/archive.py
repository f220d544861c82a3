"""Keeping B-LTA documents verifiable: when to renew the archive timestamp, and renewing.

A B-LTA document stays provable only while its newest document timestamp does: once the
TSA's certificate expires, or the timestamp's digest algorithm is no longer trusted,
nothing vouches for the document any more. Renewal adds the validation data of that
timestamp to the DSS and covers everything with a fresh document timestamp, before the
deadline. What counts as "no longer trusted" is data (``AlgorithmSunsets``), not code:
algorithm catalogues (ETSI TS 119 312, SOG-IS) change, and operators must follow them.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext

from sealbridge.documents.pdf.sign import PdfSigningError
from sealbridge.errors import MalformedInput

DEFAULT_MARGIN = timedelta(days=90)


@dataclass(frozen=True)
class AlgorithmSunsets:
    """Digest algorithms and key sizes after which a timestamp no longer proves anything.

    ``digests`` maps a digest name to the day it stops being trusted for archival
    timestamps; the default lists only what is broken beyond dispute (MD5, SHA-1).
    ``min_rsa_bits`` is the smallest TSA key still accepted.
    """

    digests: dict[str, date] = field(
        default_factory=lambda: {"md5": date(2005, 1, 1), "sha1": date(2017, 2, 23)}
    )
    min_rsa_bits: int = 2048


@dataclass(frozen=True)
class ArchiveState:
    """Where a document stands: its newest timestamp and the day renewal is due."""

    last_timestamp_at: datetime
    tsa: str
    tsa_certificate_expires: datetime
    digest_algorithm: str
    renew_by: datetime
    reasons: tuple[str, ...]

    def due(self, now: datetime, margin: timedelta = DEFAULT_MARGIN) -> bool:
        return now + margin >= self.renew_by


def archive_state(pdf: bytes, sunsets: AlgorithmSunsets | None = None) -> ArchiveState:
    """The newest document timestamp of ``pdf`` and its deadline.

    Raises ``MalformedInput`` for unreadable PDFs and PDFs without a document timestamp
    (they are not B-LTA: ``add_archive_timestamp`` makes them so).
    """
    rules = sunsets or AlgorithmSunsets()
    reader = _reader(pdf)
    stamps = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    if not stamps:
        raise MalformedInput("PDF", "no document timestamp: not a B-LTA document yet")
    newest = max(stamps, key=lambda s: s.signed_revision)
    try:
        tsa_certificate: x509.Certificate = newest.signer_cert
        digest = str(newest.md_algorithm)
        content = newest.signed_data["encap_content_info"]["content"]
        token_time: datetime = content.parsed["gen_time"].native
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise MalformedInput("PDF", f"unreadable document timestamp: {exc}") from exc
    expires = tsa_certificate.not_valid_after
    deadlines = [(expires, f"the TSA certificate expires on {expires:%Y-%m-%d}")]
    sunset = rules.digests.get(digest)
    if sunset is not None:
        when = datetime.combine(sunset, datetime.min.time(), UTC)
        deadlines.append((when, f"{digest} is not trusted after {sunset:%Y-%m-%d}"))
    key = tsa_certificate.public_key
    if key.algorithm == "rsa" and key.bit_size < rules.min_rsa_bits:
        deadlines.append(
            (
                token_time,
                f"the TSA's RSA key has {key.bit_size} bits, fewer than {rules.min_rsa_bits}",
            )
        )
    renew_by = min(when for when, _ in deadlines)
    return ArchiveState(
        last_timestamp_at=token_time,
        tsa=tsa_certificate.subject.human_friendly,
        tsa_certificate_expires=expires,
        digest_algorithm=digest,
        renew_by=renew_by,
        reasons=tuple(reason for when, reason in sorted(deadlines, key=lambda d: d[0])),
    )


def renew_archive_timestamp(
    pdf: bytes,
    timestamper: TimeStamper,
    validation_context: ValidationContext,
    *,
    now: datetime,
    margin: timedelta = DEFAULT_MARGIN,
    sunsets: AlgorithmSunsets | None = None,
    force: bool = False,
) -> bytes | None:
    """A renewed ``pdf``, or ``None`` when its newest timestamp is good past ``now + margin``.

    The newest timestamp's chain and revocation data go into the DSS, then a new document
    timestamp covers them (pyHanko's archival timestamp chain update), in one event loop.
    """
    state = archive_state(pdf, sunsets)
    if not force and not state.due(now, margin):
        return None
    if now >= state.renew_by:
        raise PdfSigningError(
            f"too late to renew: {state.reasons[0]}; the newest timestamp no longer proves "
            "the document, so a new one would prove only that it exists now"
        )
    try:
        return asyncio.run(_renew(pdf, timestamper, validation_context))
    except (SigningError, PdfError, ValueError, KeyError) as exc:
        raise PdfSigningError(f"cannot renew the archive timestamp: {exc}") from exc


async def _renew(pdf: bytes, timestamper: TimeStamper, context: ValidationContext) -> bytes:
    out = io.BytesIO()
    await signers.PdfTimeStamper(timestamper).async_update_archival_timestamp_chain(
        _reader(pdf), context, in_place=False, output=out
    )
    return out.getvalue()


def _reader(pdf: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise MalformedInput("PDF", str(exc) or type(exc).__name__) from exc
