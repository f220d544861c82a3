"""PAdES signing: one incremental revision per party, never breaking earlier signatures.

What to produce is declared in a ``PadesProfile``; where and how it looks in a
``VisibleStamp``. The key is reached only through a ``KeyHandle``.
"""

from __future__ import annotations

import asyncio
import binascii
import functools
import io
import zlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from asn1crypto import cms as asn1_cms
from asn1crypto import x509
from PIL import Image
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import add_mac_to_external_cms
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.keys import KeyHandle
from sealbridge.documents.pdf import cms
from sealbridge.documents.pdf.contract import SigningPlace
from sealbridge.documents.pdf.reader import open_for_signing
from sealbridge.documents.pdf.signer import CertificateOnlySigner, KeyHandleSigner
from sealbridge.errors import SealBridgeError

T = TypeVar("T")

# Changes made to the signer's revision before its signature field: they are signed too.
# Any result is ignored, so helpers that report what they added plug in unchanged.
Prepare = Callable[[IncrementalPdfFileWriter], object]

# Room for a signature timestamp token: a TSA certificate or two and the TSTInfo.
TIMESTAMP_ALLOWANCE = 8192
_MAX_SIGNATURE = 512  # RSA-4096; ECDSA and SM2 values are far shorter


class PadesLevel(StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


# What pyHanko raises on input it cannot sign; RecursionError is a hostile nesting in an
# object read lazily while signing (the reader parses only what signing touches).
_SIGNING_ERRORS = (SigningError, PdfError, ValueError, KeyError, RecursionError)


class PdfSigningError(SealBridgeError):
    """The PDF could not be signed; the message says why."""


@dataclass(frozen=True)
class PadesProfile:
    level: PadesLevel = PadesLevel.B_T
    certify: bool = False
    reason: str | None = None
    location: str | None = None
    # FieldMDP: which form fields this signature locks (None: none). ``()`` locks all.
    lock_fields: tuple[str, ...] | None = None

    def field_lock(self) -> fields.FieldMDPSpec | None:
        if self.lock_fields is None:
            return None
        if not self.lock_fields:
            return fields.FieldMDPSpec(fields.FieldMDPAction.ALL)
        return fields.FieldMDPSpec(fields.FieldMDPAction.INCLUDE, list(self.lock_fields))


@dataclass(frozen=True)
class VisibleStamp:
    """The signature's appearance: a picture (seal or signature block) in a place."""

    place: SigningPlace
    picture_png: bytes


@dataclass(frozen=True)
class PdfSignerIdentity:
    """Who signs. The certificates are kept in their parsed-from-DER form: one built in
    memory re-encodes its whole tree on every ``dump()``, milliseconds per signature."""

    key: KeyHandle
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "certificate", _as_loaded(self.certificate))
        object.__setattr__(self, "chain", tuple(_as_loaded(c) for c in self.chain))


def _as_loaded(certificate: x509.Certificate) -> x509.Certificate:
    return x509.Certificate.load(certificate.dump())


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the signer's revision, hence covered by its signature."""

    name: str
    data: bytes
    mime_type: str
    description: str


@dataclass(frozen=True)
class _Revision:
    """How the signer's revision is opened and what goes into it before the field."""

    attachments: Sequence[Attachment] = ()
    password: str | None = None
    prepare: Prepare | None = None


def sign_pdf(
    pdf: bytes,
    signer: PdfSignerIdentity,
    stamp: VisibleStamp | None,
    profile: PadesProfile,
    *,
    timestamper: TimeStamper | None = None,
    validation_context: ValidationContext | None = None,
    attachments: Sequence[Attachment] = (),
    field_name: str | None = None,
    password: str | None = None,
    prepare: Prepare | None = None,
) -> bytes:
    """Return ``pdf`` with one more signature as an incremental update.

    B-B and B-T are signed once, into a placeholder sized from the certificates, with
    our own CMS builder, for RSA, ECDSA and SM2 keys alike; B-LT and B-LTA go through
    pyHanko, which also fetches and embeds the validation data. Without a ``stamp`` the
    signature is invisible, in a new field ``field_name``.

    The input is opened by ``reader.open_for_signing``: an encrypted PDF with
    ``password`` (and stays encrypted), a broken one under its repair rule; its typed
    errors pass through. ``prepare`` runs on the signer's revision after the attachments
    and before the signature field is made, so what it adds (a cross-page seal) is
    covered by the signature.
    """
    needs_tsa = profile.level is not PadesLevel.B_B
    if needs_tsa and timestamper is None:
        raise PdfSigningError(f"PAdES {profile.level} needs a timestamp authority")
    long_term = profile.level in (PadesLevel.B_LT, PadesLevel.B_LTA)
    if long_term and validation_context is None:
        raise PdfSigningError(f"PAdES {profile.level} needs a validation context")
    if long_term:
        if stamp is None:
            raise PdfSigningError(f"PAdES {profile.level} is signed in a visible field only")
        return _sign_long_term(
            pdf,
            signer,
            stamp,
            profile,
            timestamper,
            validation_context,
            _Revision(attachments, password, prepare),
        )
    try:
        return run_async(
            _sign_once(
                pdf,
                signer,
                stamp,
                profile,
                timestamper if needs_tsa else None,
                _Revision(attachments, password, prepare),
                field_name=field_name,
            )
        )
    except _SIGNING_ERRORS as exc:
        raise PdfSigningError(f"cannot sign PDF: {exc}") from exc


@dataclass(frozen=True)
class PreparedRevision:
    """The signer's revision with a zeroed placeholder, and the digest of what it covers.

    ``contents`` is the offset of the placeholder's ``<`` and the offset just past its
    ``>``: the gap in the /ByteRange. Everything here is plain data, so the revision can
    be kept (or sent) while the signature value is made elsewhere.
    """

    pdf: bytes
    document_digest: bytes
    contents: tuple[int, int]

    def embed(self, signature_container: bytes) -> bytes:
        """The finished PDF: the CMS written, in hex, into the placeholder."""
        start, _ = self.contents
        hex_value = _hex_for(self.contents, signature_container)
        whole = memoryview(self.pdf)
        return b"".join((whole[: start + 1], hex_value, whole[start + 1 + len(hex_value) :]))


def _hex_for(contents: tuple[int, int], signature_container: bytes) -> bytes:
    start, end = contents
    hex_value = binascii.hexlify(signature_container).upper()
    if len(hex_value) > end - start - 2:
        raise _Overflow(len(signature_container))
    return hex_value


class _Overflow(PdfSigningError):
    def __init__(self, needed: int) -> None:
        super().__init__(f"signature container of {needed} bytes does not fit its placeholder")
        self.needed = needed


def reserve_for(
    certificate: x509.Certificate, chain: Sequence[x509.Certificate], *, timestamped: bool
) -> int:
    """Placeholder size in bytes of DER: certificates, attributes, a signature, a token.

    Sizing from the certificates replaces pyHanko's dry-run signature (a second CMS
    build and a second use of the key, possibly on a token that asks for a PIN).
    """
    certificates = sum(len(c.dump()) for c in {c.dump(): c for c in (certificate, *chain)}.values())
    overhead = 1024 + 3 * len(certificate.issuer.dump()) + _MAX_SIGNATURE
    return certificates + overhead + (TIMESTAMP_ALLOWANCE if timestamped else 0)


async def prepare_revision(
    pdf: bytes,
    certificate: x509.Certificate,
    stamp: VisibleStamp | None,
    profile: PadesProfile,
    *,
    digest_algorithm: str,
    reserve: int,
    field_name: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> PreparedRevision:
    """Add the field, appearance and signature dictionary; digest the /ByteRange.

    With no ``stamp`` the signature is invisible, in a new field ``field_name``.
    """
    output, document_digest, contents, _ = await _layout(
        pdf,
        certificate,
        stamp,
        profile,
        digest_algorithm=digest_algorithm,
        reserve=reserve,
        field_name=field_name,
        revision=_Revision(attachments),
    )
    return PreparedRevision(output.getvalue(), document_digest, contents)


async def _layout(
    pdf: bytes,
    certificate: x509.Certificate,
    stamp: VisibleStamp | None,
    profile: PadesProfile,
    *,
    digest_algorithm: str,
    reserve: int,
    field_name: str | None = None,
    revision: _Revision = _Revision(),
) -> tuple[io.BytesIO, bytes, tuple[int, int], IncrementalPdfFileWriter]:
    """The revision written into a buffer that the signature can be filled in in place:
    for a large PDF, one copy of the file fewer than a ``PreparedRevision``. The writer
    comes back too: an encrypted document's MAC key is in its security handler."""
    writer = _writer(pdf, revision)
    name = field_name or (stamp.place.field_name if stamp is not None else None)
    if name is None:
        raise PdfSigningError("an invisible signature needs a field name")
    metadata = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm=digest_algorithm,
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=profile.certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        reason=profile.reason,
        location=profile.location,
    )
    lock = profile.field_lock()
    _lock_existing_field(writer, name, lock)
    spec = (
        fields.SigFieldSpec(
            sig_field_name=name,
            on_page=stamp.place.page,
            box=stamp.place.box,
            field_mdp_spec=lock,
        )
        if stamp is not None
        else fields.SigFieldSpec(sig_field_name=name, field_mdp_spec=lock)
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        signer=CertificateOnlySigner(certificate),
        stamp_style=_style(stamp) if stamp is not None else None,
        new_field_spec=spec,
    )
    output = io.BytesIO()
    prepared, _, _ = await pdf_signer.async_digest_doc_for_signing(
        writer, bytes_reserved=2 * reserve, output=output
    )
    return (
        output,
        prepared.document_digest,
        (
            prepared.reserved_region_start,
            prepared.reserved_region_end,
        ),
        writer,
    )


async def _sign_once(
    pdf: bytes,
    signer: PdfSignerIdentity,
    stamp: VisibleStamp | None,
    profile: PadesProfile,
    timestamper: TimeStamper | None,
    revision: _Revision,
    *,
    field_name: str | None = None,
) -> bytes:
    spec = cms.SignatureSpec.for_key(signer.key)
    reserve = reserve_for(signer.certificate, signer.chain, timestamped=timestamper is not None)
    for _ in range(2):
        output, document_digest, contents, writer = await _layout(
            pdf,
            signer.certificate,
            stamp,
            profile,
            digest_algorithm=spec.digest_algorithm,
            reserve=reserve,
            field_name=field_name,
            revision=revision,
        )
        attributes = cms.signed_attributes(
            document_digest, signer.certificate, spec.digest_algorithm
        )
        signature = signer.key.sign(attributes, spec.asn1)
        token = None
        if timestamper is not None:
            token = await cms.signature_timestamp(timestamper, signature, spec)
        container = cms.signed_data(
            attributes=attributes,
            signature=signature,
            certificate=signer.certificate,
            chain=signer.chain,
            spec=spec,
            timestamp_token=token,
        )
        if writer.security_handler is not None and writer.security_handler.pdf_mac_enabled:
            container = _with_mac(writer, container, document_digest, spec.digest_algorithm)
        try:
            hex_value = _hex_for(contents, container)
        except _Overflow as overflow:
            reserve = overflow.needed + 1024  # an unusually large timestamp token
            continue
        output.seek(contents[0] + 1)
        output.write(hex_value)
        return output.getvalue()
    raise PdfSigningError("signature container does not fit its placeholder")


def _with_mac(
    writer: IncrementalPdfFileWriter, container: bytes, document_digest: bytes, digest: str
) -> bytes:
    """ISO/TS 32004: in a PDF encrypted with a MAC, every signature carries a MAC token
    over the document digest and its own signature value, or readers that check the MAC
    (pyHanko, hence our verifier) refuse the whole file. pyHanko adds it to the CMS
    containers it makes; ours get it here, as an unsigned attribute.
    """
    content_info = asn1_cms.ContentInfo.load(container)
    add_mac_to_external_cms(writer, digest, content_info["content"], document_digest)
    return content_info.dump()


def _sign_long_term(
    pdf: bytes,
    signer: PdfSignerIdentity,
    stamp: VisibleStamp,
    profile: PadesProfile,
    timestamper: TimeStamper | None,
    validation_context: ValidationContext | None,
    revision: _Revision,
) -> bytes:
    try:
        writer = _writer(pdf, revision)
        lock = profile.field_lock()
        _lock_existing_field(writer, stamp.place.field_name, lock)
        metadata = signers.PdfSignatureMetadata(
            field_name=stamp.place.field_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=profile.certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            reason=profile.reason,
            location=profile.location,
            embed_validation_info=True,
            use_pades_lta=profile.level is PadesLevel.B_LTA,
            validation_context=validation_context,
        )
        pdf_signer = signers.PdfSigner(
            metadata,
            signer=KeyHandleSigner(signer.key, signer.certificate, signer.chain),
            timestamper=timestamper,
            stamp_style=_style(stamp),
            new_field_spec=fields.SigFieldSpec(
                sig_field_name=stamp.place.field_name,
                on_page=stamp.place.page,
                box=stamp.place.box,
                field_mdp_spec=lock,
            ),
        )
        out = io.BytesIO()
        pdf_signer.sign_pdf(writer, output=out)
        return out.getvalue()
    except _SIGNING_ERRORS as exc:
        raise PdfSigningError(f"cannot sign PDF: {exc}") from exc


def _writer(pdf: bytes, revision: _Revision) -> IncrementalPdfFileWriter:
    writer = open_for_signing(pdf, password=revision.password)
    for attachment in revision.attachments:
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
    if revision.prepare is not None:
        revision.prepare(writer)
    return writer


def _lock_existing_field(
    writer: IncrementalPdfFileWriter, name: str, lock: fields.FieldMDPSpec | None
) -> None:
    """Put the /Lock on a field made in advance (the contract's), in the signer's revision;
    pyHanko then records the FieldMDP transform in the signature. A field that does not
    exist yet gets its lock where it is created (``SigFieldSpec.field_mdp_spec``)."""
    if lock is None:
        return
    for _, _, field_ref in fields.enumerate_sig_fields(writer, with_name=name):
        field = field_ref.get_object()
        if "/V" in field:
            raise PdfSigningError(f"signature field {name!r} is already signed")
        field["/Lock"] = lock.as_sig_field_lock()
        writer.update_container(field)


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` without its SIGINT handler.

    On Python 3.11, restoring that handler formats the repr of the finished main task,
    result included: for a 200 MB PDF, a 400 MB string and a second of work.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(work)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


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
    except _SIGNING_ERRORS as exc:
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
    picture = _encoded_picture(stamp.picture_png)
    return StaticStampStyle(
        background=_EncodedImage(picture), background_opacity=1.0, border_width=0
    )


@dataclass(frozen=True)
class _Picture:
    """A stamp picture as PDF image streams, compressed once however often it is used."""

    image: Image.Image
    colour: bytes
    alpha: bytes | None


@functools.lru_cache(maxsize=32)
def _encoded_picture(png: bytes) -> _Picture:
    """Decoding and deflating the picture was a fifth of a signature's time; a firm
    stamps with the same few pictures, so each is done once per process."""
    try:
        opened = Image.open(io.BytesIO(png))
        opened.load()
    except OSError as exc:
        raise PdfSigningError(f"stamp picture is not a readable image: {exc}") from exc
    has_alpha = opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info
    image = opened.convert("RGBA" if has_alpha else "RGB")
    alpha = zlib.compress(image.getchannel("A").tobytes()) if has_alpha else None
    colour = zlib.compress(image.convert("RGB").tobytes())
    return _Picture(image, colour, alpha)


class _EncodedImage(PdfImage):
    """pyHanko's image content, fed with the streams of a ``_Picture``."""

    def __init__(self, picture: _Picture) -> None:
        super().__init__(picture.image)
        self._picture = picture
        self._ref: generic.IndirectObject | None = None

    @property
    def image_ref(self) -> generic.IndirectObject:
        writer = self.writer
        if writer is None:
            raise PdfSigningError("the stamp picture was drawn outside a PDF writer")
        if self._ref is not None and self._ref.get_pdf_handler() is writer:
            return self._ref
        picture = self._picture
        entries = {
            "/Type": generic.NameObject("/XObject"),
            "/Subtype": generic.NameObject("/Image"),
            "/Width": generic.NumberObject(picture.image.width),
            "/Height": generic.NumberObject(picture.image.height),
            "/BitsPerComponent": generic.NumberObject(8),
            "/Filter": generic.NameObject("/FlateDecode"),
        }
        colour = generic.DictionaryObject(
            {**entries, "/ColorSpace": generic.NameObject("/DeviceRGB")}
        )
        if picture.alpha is not None:
            alpha = generic.DictionaryObject(
                {**entries, "/ColorSpace": generic.NameObject("/DeviceGray")}
            )
            colour["/SMask"] = writer.add_object(
                generic.StreamObject(alpha, encoded_data=picture.alpha)
            )
        self._ref = writer.add_object(generic.StreamObject(colour, encoded_data=picture.colour))
        return self._ref
