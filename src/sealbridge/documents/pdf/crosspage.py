"""The cross-page seal (骑缝章): one chop split across the right edges of all pages.

On paper the pages are fanned out, page 1 on top, each next page peeking out a strip
further right, and the chop is pressed across the strips; pulling or swapping a page
then breaks the picture. Electronically, slice i of N vertical slices of the seal
picture goes to the right edge of page i, all at the same height from the top.

How the slices are added, and why: they are the widgets of one extra, read-only
signature field, created inside the signer's own revision so that the signature covers
them. Two alternatives were weighed and rejected:

* Stamp annotations: pyHanko's modification analysis has no rule for new annotations,
  so an earlier signer's signature would be reported as ILLEGAL_MODIFICATIONS
  (level OTHER). New signature fields and their widgets, on any page, are explained
  changes at level FORM_FILLING, which an approval signature accepts.
* Widgets of the signing field itself: PDF allows a field one widget per page, but
  pyHanko signs only fields with exactly one widget.

Costs of this choice: the helper field stays unsigned, so ``pdfsig`` lists each of its
widgets as "not signed"; it is flagged read-only so viewers do not offer to sign it.
After a certification signature no new visible field is allowed, so the certifying
signer must add the cross-page seal in its own revision.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import pil_image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError

from sealbridge.errors import MalformedInput, SealBridgeError
from sealbridge.seals.picture import SealPicture

PT_PER_MM = 72 / 25.4
MIN_SLICE_MM = 1.0  # narrower strips are no longer recognisable as parts of a chop
DEFAULT_FIELD = "CrossPageSeal"

_PRINT = 4
_LOCKED = 128
_READ_ONLY_FIELD = 1


class CrossPageSealError(SealBridgeError):
    """The cross-page seal cannot be placed on this document; the message says why."""


@dataclass(frozen=True)
class CrossPageSlice:
    """Where one slice went: 0-based page and its box in PDF points."""

    page: int
    box: tuple[float, float, float, float]


def add_cross_page_seal(
    writer: IncrementalPdfFileWriter,
    seal: SealPicture,
    *,
    field_name: str = DEFAULT_FIELD,
    from_top_mm: float | None = None,
) -> tuple[CrossPageSlice, ...]:
    """Add the slices to ``writer``'s pending revision; sign in the same revision.

    ``from_top_mm`` is where the seal's centre sits, measured down from the top of each
    page; by default it is half the first page's height.
    """
    try:
        count = int(writer.root["/Pages"]["/Count"])
        pages = [writer.find_page_for_modification(i)[0] for i in range(count)]
    except (PdfError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise MalformedInput("PDF", f"cannot read its pages: {exc}") from exc
    if count < 2:
        raise CrossPageSealError(
            f"a cross-page seal spans several pages; this PDF has {count} page(s)"
        )
    if seal.width_mm / count < MIN_SLICE_MM:
        raise CrossPageSealError(
            f"a {seal.width_mm} mm seal over {count} pages gives slices under "
            f"{MIN_SLICE_MM} mm; seal the document in parts"
        )
    if field_name in _field_names(writer):
        raise CrossPageSealError(f"the PDF already has a field named {field_name!r}")
    picture = _picture(seal)
    boxes = [_crop_box(page.get_object(), number) for number, page in enumerate(pages)]
    centre_from_top = (
        from_top_mm * PT_PER_MM if from_top_mm is not None else (boxes[0][3] - boxes[0][1]) / 2
    )
    width = seal.width_mm * PT_PER_MM
    height = seal.height_mm * PT_PER_MM

    field = generic.DictionaryObject(
        {
            pdf_name("/FT"): pdf_name("/Sig"),
            pdf_name("/T"): generic.TextStringObject(field_name),
            pdf_name("/TU"): generic.TextStringObject("骑缝章 Cross-page seal"),
            pdf_name("/Ff"): generic.NumberObject(_READ_ONLY_FIELD),
        }
    )
    field_ref = writer.add_object(field)
    kids = generic.ArrayObject()
    slices = []
    for number, (page_ref, crop) in enumerate(zip(pages, boxes, strict=True)):
        left_px = round(number * picture.width / count)
        right_px = round((number + 1) * picture.width / count)
        slice_width = width * (right_px - left_px) / picture.width
        top = min(max(crop[3] - centre_from_top + height / 2, crop[1] + height), crop[3])
        box = (crop[2] - slice_width, top - height, crop[2], top)
        part = picture.crop((left_px, 0, right_px, picture.height))
        widget = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/Parent"): field_ref,
                pdf_name("/P"): page_ref,
                pdf_name("/F"): generic.NumberObject(_PRINT | _LOCKED),
                pdf_name("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in box),
                pdf_name("/AP"): generic.DictionaryObject(
                    {pdf_name("/N"): _appearance(writer, part, slice_width, height)}
                ),
            }
        )
        widget_ref = writer.add_object(widget)
        writer.register_annotation(page_ref, widget_ref)
        kids.append(widget_ref)
        slices.append(CrossPageSlice(number, box))
    field[pdf_name("/Kids")] = kids
    _register_field(writer, field_ref)
    return tuple(slices)


def with_cross_page_seal(
    pdf: bytes,
    seal: SealPicture,
    *,
    field_name: str = DEFAULT_FIELD,
    from_top_mm: float | None = None,
) -> bytes:
    """The slices in a revision of their own, unsigned: for previews and tests.

    A signer should use ``add_cross_page_seal`` inside its signing revision instead, so
    the signature covers the slices.
    """
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise MalformedInput("PDF", f"cannot open it: {exc}") from exc
    add_cross_page_seal(writer, seal, field_name=field_name, from_top_mm=from_top_mm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _picture(seal: SealPicture) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(seal.png))
        image.load()
    except OSError as exc:
        raise MalformedInput("seal picture", f"not a readable image: {exc}") from exc
    if seal.width_mm <= 0 or seal.height_mm <= 0:
        raise MalformedInput("seal picture", f"size {seal.width_mm}x{seal.height_mm} mm")
    return image.convert("RGBA")


def _crop_box(page: generic.PdfObject, number: int) -> tuple[float, float, float, float]:
    """The visible area of a page, following inherited attributes up the page tree.

    Rotated pages are refused: their visible right edge is another edge of the box,
    and the slice picture would have to turn with it.
    """
    attributes: dict[str, generic.PdfObject] = {}
    node = page
    for _ in range(64):  # a page tree deeper than this is a loop
        if not isinstance(node, generic.DictionaryObject):
            break
        for key in ("/CropBox", "/MediaBox", "/Rotate"):
            if key in node and key not in attributes:
                attributes[key] = node[key]
        if "/Parent" not in node:
            break
        node = node["/Parent"]
    turn = attributes.get("/Rotate")
    rotate = int(turn) % 360 if isinstance(turn, generic.NumberObject) else 0
    if rotate:
        raise CrossPageSealError(
            f"page {number + 1} is rotated by {rotate} degrees; rotated pages are not supported"
        )
    box = attributes.get("/CropBox", attributes.get("/MediaBox"))
    if not isinstance(box, generic.ArrayObject) or len(box) != 4:
        raise MalformedInput("PDF", f"page {number + 1} has no usable media box")
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _appearance(
    writer: IncrementalPdfFileWriter, part: Image.Image, width: float, height: float
) -> generic.IndirectObject:
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                generic.FloatObject(v) for v in (0, 0, width, height)
            ),
            pdf_name("/Resources"): generic.DictionaryObject(
                {
                    pdf_name("/XObject"): generic.DictionaryObject(
                        {pdf_name("/Im0"): pil_image(part, writer)}
                    )
                }
            ),
        },
        stream_data=f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode("ascii"),
    )
    stream.compress()
    return writer.add_object(stream)


def _field_names(writer: IncrementalPdfFileWriter) -> set[str]:
    try:
        fields = writer.root["/AcroForm"]["/Fields"]
    except KeyError:
        return set()
    return {str(f.get_object().get("/T")) for f in fields}


def _register_field(writer: IncrementalPdfFileWriter, field_ref: generic.IndirectObject) -> None:
    root = writer.root
    if "/AcroForm" not in root:
        root[pdf_name("/AcroForm")] = writer.add_object(
            generic.DictionaryObject({pdf_name("/Fields"): generic.ArrayObject([field_ref])})
        )
        writer.update_root()
        return
    form = root["/AcroForm"]
    fields_raw = form.raw_get("/Fields")
    fields = form["/Fields"]
    fields.append(field_ref)
    if isinstance(fields_raw, generic.IndirectObject):
        writer.mark_update(fields_raw)
    else:
        writer.update_container(form)
