"""Where ``sealbridge sign`` puts a PDF signature: an existing field, a page and a box,
or a keyword in the text; refused clearly when the options do not say one place."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from sealbridge.documents.pdf.anchor import place_at_anchor
from sealbridge.documents.pdf.contract import SigningPlace
from sealbridge.errors import MalformedInput


@dataclass(frozen=True)
class Placement:
    """Where the appearance goes: exactly one of an existing field, a page box, an anchor."""

    field: str | None
    page: int | None
    rect: tuple[float, float, float, float] | None
    anchor: str | None
    occurrence: int | None


def parse_rect(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise MalformedInput("--rect", f"{text!r} is not four comma-separated numbers")
    return (values[0], values[1], values[2], values[3])


def check_placement(placement: Placement) -> None:
    chosen = [
        placement.field is not None,
        placement.page is not None or placement.rect is not None,
        placement.anchor is not None,
    ]
    if sum(chosen) > 1:
        raise MalformedInput("placement", "give one of --field, --page with --rect, or --anchor")
    if placement.occurrence is not None and placement.anchor is None:
        raise MalformedInput("--occurrence", "counts hits of --anchor, which is missing")


def free_name(base: str, taken: set[str]) -> str:
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def pdf_place(
    document: bytes,
    reader: PdfFileReader,
    placement: Placement,
    default_name: str,
    size_mm: tuple[float, float],
) -> SigningPlace:
    if placement.field is not None:
        return _existing_field(reader, placement.field)
    if placement.anchor is not None:
        return place_at_anchor(
            document,
            placement.anchor,
            field_name=default_name,
            size_mm=size_mm,
            occurrence=placement.occurrence,
        )
    if placement.page is None or placement.rect is None:
        raise MalformedInput(
            "placement", "give --field NAME, --page N with --rect x1,y1,x2,y2, or --anchor TEXT"
        )
    count = page_count(reader)
    if placement.page > count:
        raise MalformedInput("--page", f"{placement.page} is past the last page ({count})")
    x1, y1, x2, y2 = placement.rect
    if not (x2 > x1 and y2 > y1):
        raise MalformedInput("--rect", "x1,y1,x2,y2 needs x2 > x1 and y2 > y1 (points)")
    box = (round(x1), round(y1), round(x2), round(y2))
    return SigningPlace(default_name, placement.page - 1, box)


def page_count(reader: PdfFileReader) -> int:
    try:
        return int(reader.root["/Pages"]["/Count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedInput("PDF", f"cannot count its pages: {exc}") from exc


def _existing_field(reader: PdfFileReader, name: str) -> SigningPlace:
    """The field's own rectangle: the appearance is drawn to fit it."""
    found = list(enumerate_sig_fields(reader, with_name=name))
    if not found:
        raise MalformedInput("--field", f"the PDF has no signature field named {name!r}")
    _, value, ref = found[0]
    if value is not None:
        raise MalformedInput("--field", f"field {name!r} is already signed")
    widget = ref.get_object()
    if "/Rect" not in widget and "/Kids" in widget:
        widget = widget["/Kids"][0].get_object()
    try:
        a, b, c, d = (float(v) for v in widget["/Rect"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedInput("--field", f"field {name!r} has no usable /Rect") from exc
    x1, y1, x2, y2 = min(a, c), min(b, d), max(a, c), max(b, d)
    if x2 - x1 < 1 or y2 - y1 < 1:
        raise MalformedInput("--field", f"field {name!r} is invisible; it has no area to draw in")
    return SigningPlace(
        name, _widget_page(reader, widget), (round(x1), round(y1), round(x2), round(y2))
    )


def _widget_page(reader: PdfFileReader, widget: generic.DictionaryObject) -> int:
    """The 0-based page the widget's /P names: only reported, as an existing field keeps
    its own page; 0 when the widget does not say."""
    page = widget.raw_get("/P") if "/P" in widget else None
    if not isinstance(page, generic.IndirectObject):
        return 0
    for number in range(page_count(reader)):
        if reader.find_page_for_modification(number)[0].reference == page.reference:
            return number
    return 0
