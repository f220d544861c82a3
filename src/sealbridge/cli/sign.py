"""``sealbridge sign``: sign a PDF (PAdES) or stamp an OFD document from a data directory.

The key comes from the data directory's encrypted key store (``--key LABEL``, passphrase
from ``--passphrase-file`` or the environment, as for ``sealbridge ca``), the certificate
and its chain from PEM files; a key that is not the certificate's is refused. With
``--seal``, the seal comes from the data directory's seal registry, and its use by
``--user`` on this very document (SHA-256 of the input) is authorised and logged there
before anything is signed: a missing grant, a suspended or revoked seal or another
firm's seal ends the command with nothing written. In a PDF the seal picture is the
signature's appearance and the seal file (``<esID>.esl``) is embedded in the signer's
revision, so the signature covers it; without a seal the appearance is a signature block
with the signer's name.

Every check that needs no key or registry runs first, then the key, then the seal use,
then the signature. Exit status: 0 signed, 2 anything else, with one line on stderr
naming the problem; the output is written atomically, never over the input.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from asn1crypto import x509
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko_certvalidator import ValidationContext

from sealbridge.cli.ca import (
    DEFAULT_DATA,
    Data,
    PassphraseFile,
    matching_key,
    open_key_store,
    open_store,
    read_certificate,
    read_input,
    reported,
)
from sealbridge.cli.placement import (
    Placement,
    check_placement,
    free_name,
    parse_rect,
    pdf_place,
)
from sealbridge.crypto.keys import KeyHandle
from sealbridge.documents.ofd.container import read_package
from sealbridge.documents.ofd.markup import parse, tag
from sealbridge.documents.ofd.signatures import document_entry, page_ids
from sealbridge.documents.ofd.stamp import stamp_ofd
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import SigningPlace
from sealbridge.documents.pdf.crosspage import add_cross_page_seal
from sealbridge.documents.pdf.reader import open_pdf
from sealbridge.documents.pdf.sign import (
    Attachment,
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    Prepare,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.documents.pdf.sm2 import dual_sign_pdf
from sealbridge.documents.pdf.timestamper import HttpTimeStamper
from sealbridge.errors import MalformedInput, NotAuthorised
from sealbridge.files import write_atomically
from sealbridge.seals.decode import decode_seal
from sealbridge.seals.model import SealView
from sealbridge.seals.picture import SealPicture
from sealbridge.seals.verify import signer_bound_check
from sealbridge.service.seal_registry import SealRegistry
from sealbridge.trust.directory import load_trust_directory
from sealbridge.verify.chain import online_context
from sealbridge.verify.seal_attachment import SEAL_ATTACHMENT_SUFFIX

# Large scanned contracts run to hundreds of MB; the PDF reader bounds the work inside.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
BLOCK_SIZE_MM = (60.0, 30.0)  # the signature block of a party without a seal
OFD_MARGIN_MM = 25.0
A4_MM = (210.0, 297.0)


class DocumentKind(StrEnum):
    PDF = "pdf"
    OFD = "ofd"


@dataclass(frozen=True)
class Seal:
    """The registry's seal, decoded; its picture is the appearance."""

    es_id: str
    view: SealView

    @property
    def picture(self) -> SealPicture:
        info = self.view.picture
        return SealPicture(info.data, info.width_mm, info.height_mm)

    def attachment(self) -> Attachment:
        return Attachment(
            f"{self.es_id}{SEAL_ATTACHMENT_SUFFIX}",
            self.view.der,
            "application/octet-stream",
            "GB/T 38540 electronic seal",
        )


def sign(
    file: Annotated[Path, typer.Argument(help="The PDF or OFD document to sign")],
    out: Annotated[Path, typer.Option("--out", help="Signed document to write")],
    key: Annotated[str, typer.Option("--key", help="Key store label of the signing key")],
    cert: Annotated[Path, typer.Option("--cert", help="The key's certificate (PEM or DER)")],
    chain: Annotated[
        list[Path] | None, typer.Option("--chain", help="Issuer certificate (repeatable)")
    ] = None,
    seal: Annotated[
        str | None, typer.Option("--seal", help="esID of a seal in the data directory's registry")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Registry user applying the seal")
    ] = None,
    field: Annotated[
        str | None, typer.Option("--field", help="Existing empty signature field (PDF)")
    ] = None,
    page: Annotated[int | None, typer.Option("--page", min=1, help="Page number, from 1")] = None,
    rect: Annotated[
        str | None,
        typer.Option("--rect", help="PDF: x1,y1,x2,y2 in points; OFD: x,y,w,h in mm"),
    ] = None,
    anchor: Annotated[
        str | None, typer.Option("--anchor", help="Text to centre the stamp on (PDF)")
    ] = None,
    occurrence: Annotated[
        int | None, typer.Option("--occurrence", help="Which hit of --anchor: 1.., -1 last")
    ] = None,
    cross_page: Annotated[
        bool, typer.Option("--cross-page", help="Add the cross-page seal (PDF, needs --seal)")
    ] = False,
    level: Annotated[
        str | None, typer.Option("--level", help="B-B, B-T (default), B-LT or B-LTA")
    ] = None,
    tsa: Annotated[str | None, typer.Option("--tsa", help="RFC 3161 TSA URL (B-T and up)")] = None,
    trust: Annotated[
        Path | None, typer.Option("--trust", help="Trust directory: roots for B-LT and B-LTA")
    ] = None,
    certify: Annotated[
        bool, typer.Option("--certify", help="Certification (DocMDP) signature")
    ] = False,
    lock: Annotated[
        list[str] | None,
        typer.Option("--lock", help="Form field this signature locks (FieldMDP; repeatable)"),
    ] = None,
    lock_all: Annotated[
        bool, typer.Option("--lock-all", help="Lock every form field (FieldMDP)")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    location: Annotated[str | None, typer.Option("--location")] = None,
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="Password of an encrypted PDF")
    ] = None,
    dual_sm2: Annotated[
        bool, typer.Option("--dual-sm2", help="Also sign with an SM2 key (PDF, B-B or B-T)")
    ] = False,
    sm2_key: Annotated[str | None, typer.Option("--sm2-key", help="Label of the SM2 key")] = None,
    sm2_cert: Annotated[Path | None, typer.Option("--sm2-cert", help="The SM2 certificate")] = None,
    sm2_chain: Annotated[
        list[Path] | None, typer.Option("--sm2-chain", help="SM2 issuer (repeatable)")
    ] = None,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Sign a PDF (PAdES, optionally with a seal) or stamp an OFD document with a seal."""
    with reported():
        document = read_input(file, MAX_DOCUMENT_BYTES)
        kind = _kind(document, file)
        _refuse_overwriting(file, out)
        placement = Placement(field, page, parse_rect(rect), anchor, occurrence)
        check_placement(placement)
        if (seal is None) != (user is None):
            raise MalformedInput("--seal/--user", "a seal is applied by a user: give both")
        if kind is DocumentKind.OFD:
            if seal is None or user is None:
                raise MalformedInput("--seal", "an OFD document is signed by stamping a seal")
            _refuse_for_ofd(
                field=field,
                anchor=anchor,
                cross_page=cross_page,
                level=level,
                tsa=tsa,
                trust=trust,
                certify=certify,
                lock=lock or None,
                lock_all=lock_all,
                password_file=password_file,
                dual_sm2=dual_sm2,
            )
            summary = _stamp_ofd(
                document, out, placement, key, cert, seal, user, data, passphrase_file
            )
        else:
            pades = _level(level)
            if cross_page and seal is None:
                raise MalformedInput("--cross-page", "the cross-page seal needs --seal")
            if pades is not PadesLevel.B_B and tsa is None:
                raise MalformedInput("--tsa", f"PAdES {pades} needs a timestamp authority")
            if pades in (PadesLevel.B_LT, PadesLevel.B_LTA) and trust is None:
                raise MalformedInput("--trust", f"PAdES {pades} needs a trust directory")
            if dual_sm2 and pades not in (PadesLevel.B_B, PadesLevel.B_T):
                raise MalformedInput("--dual-sm2", f"dual signing is B-B or B-T, not {pades}")
            if dual_sm2 and (sm2_key is None or sm2_cert is None):
                raise MalformedInput("--dual-sm2", "needs --sm2-key LABEL and --sm2-cert PEM")
            password = _password(password_file)
            summary = _sign_pdf(
                document,
                out,
                _PdfRequest(
                    placement=placement,
                    profile=PadesProfile(
                        pades, certify, reason, location, _locks(lock or [], lock_all)
                    ),
                    tsa=tsa,
                    trust=trust,
                    password=password,
                    cross_page=cross_page,
                ),
                _Keys(
                    data,
                    passphrase_file,
                    key,
                    cert,
                    chain or [],
                    sm2_key if dual_sm2 else None,
                    sm2_cert if dual_sm2 else None,
                    sm2_chain or [],
                ),
                (seal, user) if seal is not None and user is not None else None,
            )
    typer.echo(summary)


# ----------------------------------------------------------------- input checks


def _kind(document: bytes, path: Path) -> DocumentKind:
    """By content: the suffix of a file someone renamed is no reason to misread it."""
    if document.startswith(b"%PDF-"):
        return DocumentKind.PDF
    if document.startswith(b"PK\x03\x04"):
        return DocumentKind.OFD
    raise MalformedInput(str(path), "neither a PDF (%PDF-) nor an OFD package (zip)")


def _refuse_overwriting(source: Path, out: Path) -> None:
    if out.resolve() == source.resolve() or (out.exists() and out.samefile(source)):
        raise MalformedInput("--out", f"{out} is the input; write the signed copy elsewhere")


def _locks(names: list[str], everything: bool) -> tuple[str, ...] | None:
    if everything and names:
        raise MalformedInput("--lock", "--lock-all already locks every field")
    if everything:
        return ()
    return tuple(names) or None


def _refuse_for_ofd(**options: object) -> None:
    """PAdES options have no meaning for an OFD stamp; silently ignoring one would mislead."""
    given = [name for name, value in options.items() if value not in (None, False)]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise MalformedInput(flag, "applies to PDF only; an OFD document gets a seal stamp")


def _level(text: str | None) -> PadesLevel:
    if text is None:
        return PadesLevel.B_T
    try:
        return PadesLevel(text.strip().upper())
    except ValueError:
        raise MalformedInput("--level", f"{text!r} is not one of {', '.join(PadesLevel)}") from None


def _password(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return read_input(path).decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise MalformedInput(f"password file {path}", "not UTF-8 text") from exc


# ----------------------------------------------------------------- keys and seals


@dataclass(frozen=True)
class _Keys:
    data: Path
    passphrase_file: Path | None
    label: str
    cert: Path
    chain: list[Path]
    sm2_label: str | None
    sm2_cert: Path | None
    sm2_chain: list[Path]


def _identity(keys_of: _Keys, label: str, cert: Path, chain: list[Path]) -> PdfSignerIdentity:
    certificate = read_certificate(cert)
    issuers = tuple(read_certificate(path) for path in chain)
    key = _key(keys_of.data, keys_of.passphrase_file, label, certificate)
    return PdfSignerIdentity(key, certificate, issuers)


def _key(
    data: Path, passphrase_file: Path | None, label: str, certificate: x509.Certificate
) -> KeyHandle:
    store = open_key_store(data, passphrase_file)
    return matching_key(store.load(label), certificate, label)


def _seal(data: Path, es_id: str, signer: x509.Certificate) -> Seal:
    """The registered seal, refused up front if it is not bound to the signer."""
    with open_store(data) as store:
        record = SealRegistry(store).seal(es_id)
    view = decode_seal(record.der)
    if view.picture.kind.upper() != "PNG":
        raise MalformedInput(f"seal {es_id}", f"its picture is {view.picture.kind}, not PNG")
    bound = signer_bound_check(view, signer)
    if not bound.passed:
        raise NotAuthorised(f"seal {es_id}: {bound.detail}")
    return Seal(es_id, view)


@dataclass(frozen=True)
class _SealUse:
    """One application of a registry seal to one document: refused before signing if it
    would be, logged only once the signed document exists (so a failed signature, a TSA
    that is down, leaves no use in the log)."""

    data: Path
    user: str
    es_id: str
    document_hash: bytes

    def check(self) -> None:
        with open_store(self.data) as store:
            SealRegistry(store).check_use(self.user, self.es_id, self.document_hash)

    def record(self) -> None:
        with open_store(self.data) as store:
            SealRegistry(store).use_seal(self.user, self.es_id, self.document_hash)


# ----------------------------------------------------------------- PDF


@dataclass(frozen=True)
class _PdfRequest:
    placement: Placement
    profile: PadesProfile
    tsa: str | None
    trust: Path | None
    password: str | None
    cross_page: bool


def _sign_pdf(
    document: bytes,
    out: Path,
    request: _PdfRequest,
    keys: _Keys,
    seal_use: tuple[str, str] | None,
) -> str:
    opened = open_pdf(document, password=request.password)
    signer = _identity(keys, keys.label, keys.cert, keys.chain)
    national = None
    if keys.sm2_label is not None and keys.sm2_cert is not None:
        national = _identity(keys, keys.sm2_label, keys.sm2_cert, keys.sm2_chain)
    seal = _seal(keys.data, seal_use[0], signer.certificate) if seal_use else None
    names = {str(name) for name, _, _ in enumerate_sig_fields(opened.reader)}
    default_name = free_name(f"Seal-{seal.es_id}" if seal else "Signature", names)
    size_mm = (
        (float(seal.picture.width_mm), float(seal.picture.height_mm)) if seal else BLOCK_SIZE_MM
    )
    place = pdf_place(document, opened.reader, request.placement, default_name, size_mm)
    picture = seal.picture.png if seal else _signature_block(signer.certificate, place)
    timestamper = HttpTimeStamper(request.tsa) if request.tsa else None
    context = _validation_context(request.trust) if request.trust else None
    attachments = [seal.attachment()] if seal else []
    prepare: Prepare | None = (
        functools.partial(add_cross_page_seal, seal=seal.picture)
        if seal and request.cross_page
        else None
    )
    use = (
        _SealUse(keys.data, seal_use[1], seal_use[0], hashlib.sha256(document).digest())
        if seal_use is not None
        else None
    )
    if use is not None:
        use.check()
    stamp = VisibleStamp(place, picture)
    if national is not None:
        signed = dual_sign_pdf(
            document,
            signer,
            national,
            stamp,
            request.profile,
            timestamper=timestamper,
            attachments=attachments,
            password=request.password,
            prepare=prepare,
        )
    else:
        signed = sign_pdf(
            document,
            signer,
            stamp,
            request.profile,
            timestamper=timestamper,
            validation_context=context,
            attachments=attachments,
            password=request.password,
            prepare=prepare,
        )
    if use is not None:
        use.record()
    write_atomically(out, signed)
    what = f"PAdES {request.profile.level}" + (" + SM2" if national else "")
    sealed = f", seal {seal.es_id}" if seal else ""
    return f"signed {out} ({what}{sealed}) in field {place.field_name} on page {place.page + 1}"


def _signature_block(certificate: x509.Certificate, place: SigningPlace) -> bytes:
    subject = certificate.subject.native
    lines = ["电子签名 Digitally signed", str(subject.get("common_name", ""))]
    organisation = subject.get("organization_name")
    if organisation:
        lines.append(str(organisation))
    lines.append(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    x1, y1, x2, y2 = place.box
    return render_signature_block([line for line in lines if line], x2 - x1, y2 - y1)


def _validation_context(trust: Path) -> ValidationContext:
    federation = load_trust_directory(trust, now=datetime.now(UTC))
    anchors = federation.ca_certificates()
    if not anchors:
        raise MalformedInput("--trust", f"{trust} lists no CA to validate the signer against")
    return online_context(anchors)


# ----------------------------------------------------------------- OFD


def _stamp_ofd(
    document: bytes,
    out: Path,
    placement: Placement,
    label: str,
    cert: Path,
    es_id: str,
    user: str,
    data: Path,
    passphrase_file: Path | None,
) -> str:
    if (placement.page is None) != (placement.rect is None):
        raise MalformedInput("--page/--rect", "give both (x,y,w,h in mm), or neither")
    certificate = read_certificate(cert)
    key = _key(data, passphrase_file, label, certificate)
    seal = _seal(data, es_id, certificate)
    page, boundary = _ofd_place(document, placement, seal.picture)
    use = _SealUse(data, user, es_id, hashlib.sha256(document).digest())
    use.check()
    stamped = stamp_ofd(
        document,
        seal_der=seal.view.der,
        signer_key=key,
        signer_certificate=certificate,
        page=page,
        boundary_mm=boundary,
        time=datetime.now(UTC),
    )
    use.record()
    write_atomically(out, stamped)
    return f"stamped {out} (OFD, seal {es_id}) on page {page + 1}"


def _ofd_place(
    document: bytes, placement: Placement, picture: SealPicture
) -> tuple[int, tuple[float, float, float, float]]:
    """The given page and box, or the seal's size at the bottom right of the last page."""
    package = read_package(document)
    entry = document_entry(package)
    count = len(page_ids(package, entry.document_path))
    if placement.page is not None and placement.rect is not None:
        if placement.page > count:
            raise MalformedInput("--page", f"{placement.page} is past the last page ({count})")
        return placement.page - 1, placement.rect
    width, height = _ofd_page_size(package.read(entry.document_path), entry.document_path)
    seal_w, seal_h = float(picture.width_mm), float(picture.height_mm)
    x = max(width - OFD_MARGIN_MM - seal_w, 0.0)
    y = max(height - OFD_MARGIN_MM - seal_h, 0.0)
    return count - 1, (x, y, seal_w, seal_h)


def _ofd_page_size(document_xml: bytes, path: str) -> tuple[float, float]:
    """The document's default page area (CommonData/PageArea/PhysicalBox), else A4."""
    box = parse(document_xml, path).find(
        f"{tag('CommonData')}/{tag('PageArea')}/{tag('PhysicalBox')}"
    )
    text = box.text if box is not None and box.text else ""
    try:
        _, _, width, height = (float(v) for v in text.split())
    except ValueError:
        return A4_MM
    return (width, height) if width > 0 and height > 0 else A4_MM
