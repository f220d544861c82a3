"""PAdES signing: one incremental revision per party, never breaking earlier signatures.

What to produce is declared in a ``PadesProfile``; where and how it looks in a
``VisibleStamp``. The key is reached only through a ``KeyHandle``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import x509
from PIL import Image
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.keys import KeyHandle
from sealbridge.documents.pdf.contract import SigningPlace
from sealbridge.documents.pdf.signer import KeyHandleSigner
from sealbridge.errors import SealBridgeError


class PadesLevel(StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


class PdfSigningError(SealBridgeError):
    """The PDF could not be signed; the message says why."""


@dataclass(frozen=True)
class PadesProfile:
    level: PadesLevel = PadesLevel.B_T
    certify: bool = False
    reason: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class VisibleStamp:
    """The signature's appearance: a picture (seal or signature block) in a place."""

    place: SigningPlace
    picture_png: bytes


@dataclass(frozen=True)
class PdfSignerIdentity:
    key: KeyHandle
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the signer's revision, hence covered by its signature."""

    name: str
    data: bytes
    mime_type: str
    description: str


def sign_pdf(
    pdf: bytes,
    signer: PdfSignerIdentity,
    stamp: VisibleStamp,
    profile: PadesProfile,
    *,
    timestamper: TimeStamper | None = None,
    validation_context: ValidationContext | None = None,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """Return ``pdf`` with one more signature as an incremental update."""
    needs_tsa = profile.level is not PadesLevel.B_B
    if needs_tsa and timestamper is None:
        raise PdfSigningError(f"PAdES {profile.level} needs a timestamp authority")
    long_term = profile.level in (PadesLevel.B_LT, PadesLevel.B_LTA)
    if long_term and validation_context is None:
        raise PdfSigningError(f"PAdES {profile.level} needs a validation context")
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        for attachment in attachments:
            embed.embed_file(
                writer,
                embed.FileSpec(
                    file_spec_string=attachment.name,
                    file_name=attachment.name,
                    embedded_data=embed.EmbeddedFileObject.from_file_data(
                        writer, attachment.data, mime_type=attachment.mime_type
                    ),
                    description=attachment.description,
                ),
            )
        metadata = signers.PdfSignatureMetadata(
            field_name=stamp.place.field_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=profile.certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            reason=profile.reason,
            location=profile.location,
            embed_validation_info=long_term,
            use_pades_lta=profile.level is PadesLevel.B_LTA,
            validation_context=validation_context,
        )
        pdf_signer = signers.PdfSigner(
            metadata,
            signer=KeyHandleSigner(signer.key, signer.certificate, signer.chain),
            timestamper=timestamper if needs_tsa else None,
            stamp_style=_style(stamp),
            new_field_spec=fields.SigFieldSpec(
                sig_field_name=stamp.place.field_name,
                on_page=stamp.place.page,
                box=stamp.place.box,
            ),
        )
        out = io.BytesIO()
        pdf_signer.sign_pdf(writer, output=out)
        return out.getvalue()
    except (SigningError, PdfError, ValueError, KeyError) as exc:
        raise PdfSigningError(f"cannot sign PDF: {exc}") from exc


def add_archive_timestamp(
    pdf: bytes, timestamper: TimeStamper, validation_context: ValidationContext
) -> bytes:
    """B-LTA: every signature's validation data into the DSS, then a document timestamp.

    The DSS update comes first so that the document timestamp covers it; the timestamp's
    own chain and revocation data are added with it. All of it runs in one event loop,
    because the context's HTTP fetchers cannot outlive the loop they were made in.
    """
    try:
        return asyncio.run(_archive(pdf, timestamper, validation_context))
    except (SigningError, PdfError, ValueError, KeyError) as exc:
        raise PdfSigningError(f"cannot add archive timestamp: {exc}") from exc


async def _archive(pdf: bytes, timestamper: TimeStamper, context: ValidationContext) -> bytes:
    count = len(_reader(pdf).embedded_regular_signatures)
    for index in range(count):
        out = io.BytesIO()
        sig = _reader(pdf).embedded_regular_signatures[index]
        await async_add_validation_info(sig, context, output=out)
        pdf = out.getvalue()
    out = io.BytesIO()
    await signers.PdfTimeStamper(timestamper).async_timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False),
        "sha256",
        validation_context=context,
        output=out,
    )
    return out.getvalue()


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=False)


def _style(stamp: VisibleStamp) -> StaticStampStyle:
    try:
        image = Image.open(io.BytesIO(stamp.picture_png))
        image.load()
    except OSError as exc:
        raise PdfSigningError(f"stamp picture is not a readable image: {exc}") from exc
    return StaticStampStyle(background=PdfImage(image), background_opacity=1.0, border_width=0)
