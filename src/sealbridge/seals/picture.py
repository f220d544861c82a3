"""Seal pictures: the round red company chop and the square name seal, as PNG.

A relying party recognises a Chinese seal by its look before any signature check, so the
layout follows the physical chops registered with the police: a thick red ring, the
firm's name round the upper arc with each character turned to face outwards, a
five-pointed star in the centre, the seal's purpose written straight below it and the
seal code round the bottom. Everything red is drawn into one coverage mask at twice the
output resolution and then halved, which antialiases edges and rotated glyphs alike.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from sealbridge.errors import MalformedInput
from sealbridge.fonts import cjk_font

SEAL_RED = (0xD8, 0x00, 0x0F)
MM_PER_INCH = 25.4
MAX_NAME_CHARS = 24
MAX_LABEL_CHARS = 10
MAX_CODE_CHARS = 20
MAX_ARC_DEGREES = 230.0
MIN_ARC_DEGREES = 140.0

_SUPERSAMPLE = 2
_STAR_POINTS = 5
# CJK fonts place the ideographic em box from 0.88 em above the baseline to 0.12 em
# below it; centring that box, not the ink, keeps 一 and 国 on one line.
_IDEOGRAPHIC_ASCENT = 0.88
_WHAT = "seal picture"


@dataclass(frozen=True)
class SealPicture:
    """A PNG and the size it is printed at (SES_ESPictrueInfo stores millimetres)."""

    png: bytes
    width_mm: int
    height_mm: int


def render_round_seal(
    name: str,
    label: str | None = None,
    *,
    code: str | None = None,
    diameter_mm: int = 40,
    dpi: int = 300,
) -> SealPicture:
    """A round chop: ``name`` on the upper arc, ``label`` under the star, ``code`` below."""
    name = _text(name, "name", MAX_NAME_CHARS)
    label = _text(label, "label", MAX_LABEL_CHARS) if label else None
    code = _text(code, "code", MAX_CODE_CHARS) if code else None
    _check_size(diameter_mm, 20, 60, dpi)
    canvas = _Canvas(diameter_mm, diameter_mm, dpi)
    radius = diameter_mm / 2
    ring = max(1.0, diameter_mm * 0.03)
    canvas.ring(radius - 0.2, ring)
    inner = radius - 0.2 - ring

    # Short names get taller characters, as on real chops, rather than wide gaps.
    name_em = diameter_mm * min(0.18, max(0.155, 0.2 - 0.005 * len(name)))
    _name_arc(canvas, name, inner - 1.0, name_em)
    star = diameter_mm * 0.175
    canvas.star(0.0, 0.0, star)
    if label:
        em = diameter_mm * 0.105
        canvas.line_text(label, star + 0.8 + em / 2, em, diameter_mm * 0.5)
    if code:
        # Digits stand about 0.73 em tall, so the em is sized from the wanted height.
        em = diameter_mm * 0.05 / 0.73
        radius = inner - 0.7 - em * 0.4
        span = min(len(code) * em * 0.6 / radius, math.radians(100))
        canvas.arc_text(code, radius, em, em * 0.5, span, top=False)
    return canvas.finish()


def _name_arc(canvas: _Canvas, name: str, outer_mm: float, em_mm: float) -> None:
    # Long names are squeezed sideways first, as carvers condense the type, and only
    # made smaller once characters would become narrower than half their height.
    count = len(name)
    radius = outer_mm - em_mm / 2
    advance = em_mm * 0.95
    limit = radius * math.radians(MAX_ARC_DEGREES)
    if count * advance > limit:
        advance = limit / count
        if advance * 0.9 < em_mm * 0.5:
            em_mm = advance * 0.9 / 0.5
            radius = outer_mm - em_mm / 2
            advance = min(advance, radius * math.radians(MAX_ARC_DEGREES) / count)
    natural = count * advance / radius
    # A short name is spread out so that it still arches over the star.
    span = max(natural, math.radians(min(MIN_ARC_DEGREES, 32.0 * count)))
    width = min(em_mm * 0.8, advance * 0.9)
    canvas.arc_text(name, radius, em_mm, width, span, top=True)


def render_name_seal(name: str, *, size_mm: int = 20, dpi: int = 300) -> SealPicture:
    """A legal representative's square seal: four characters in two columns.

    Read like classical text, right column first, top to bottom. Shorter names are made
    up to four with 印 or 之印, as seal carvers do.
    """
    name = _text(name, "name", 4)
    if len(name) == 1:
        raise MalformedInput(_WHAT, "a name seal needs a name of two to four characters")
    _check_size(size_mm, 10, 40, dpi)
    cells = name + {2: "之印", 3: "印", 4: ""}[len(name)]
    canvas = _Canvas(size_mm, size_mm, dpi)
    border = max(0.8, size_mm * 0.06)
    half = size_mm / 2 - 0.2
    canvas.square(half, border)
    cell = half - border - 0.5
    order = ((1, 0), (1, 1), (0, 0), (0, 1))
    for char, (column, row) in zip(cells, order, strict=True):
        x = (column - 0.5) * cell
        y = (row - 0.5) * cell
        canvas.glyph(char, x, y, cell * 0.92, cell * 0.98, 0.0)
    return canvas.finish()


def _text(value: str | None, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise MalformedInput(_WHAT, f"the {what} is empty")
    if len(text) > limit:
        raise MalformedInput(
            _WHAT, f"the {what} has {len(text)} characters; at most {limit} fit on the seal"
        )
    if not text.isprintable():
        raise MalformedInput(_WHAT, f"the {what} contains control characters")
    return text


def _check_size(size_mm: int, low: int, high: int, dpi: int) -> None:
    if not low <= size_mm <= high:
        raise MalformedInput(_WHAT, f"size {size_mm} mm is outside {low}-{high} mm")
    if not 72 <= dpi <= 1200:
        raise MalformedInput(_WHAT, f"{dpi} dpi is outside 72-1200 dpi")


@lru_cache(maxsize=32)
def _font(size_px: int) -> ImageFont.FreeTypeFont:
    font = cjk_font()
    return ImageFont.truetype(str(font.path), size_px, index=font.index)


class _Canvas:
    """A coverage mask in millimetre coordinates with the origin at the seal's centre."""

    def __init__(self, width_mm: int, height_mm: int, dpi: int) -> None:
        self.width_mm = width_mm
        self.height_mm = height_mm
        self.dpi = dpi
        self.size = (_pixels(width_mm, dpi), _pixels(height_mm, dpi))
        self.scale = dpi / MM_PER_INCH * _SUPERSAMPLE
        big = (self.size[0] * _SUPERSAMPLE, self.size[1] * _SUPERSAMPLE)
        self.mask = Image.new("L", big, 0)
        self.draw = ImageDraw.Draw(self.mask)
        self.cx = big[0] / 2
        self.cy = big[1] / 2

    def point(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        return self.cx + x_mm * self.scale, self.cy + y_mm * self.scale

    def ring(self, outer_mm: float, width_mm: float) -> None:
        left, top = self.point(-outer_mm, -outer_mm)
        right, bottom = self.point(outer_mm, outer_mm)
        self.draw.ellipse(
            (left, top, right, bottom), outline=255, width=round(width_mm * self.scale)
        )

    def square(self, half_mm: float, width_mm: float) -> None:
        left, top = self.point(-half_mm, -half_mm)
        right, bottom = self.point(half_mm, half_mm)
        self.draw.rectangle(
            (left, top, right, bottom), outline=255, width=round(width_mm * self.scale)
        )

    def star(self, x_mm: float, y_mm: float, radius_mm: float) -> None:
        # Inner radius from the regular pentagram, so the edges of opposite points
        # line up as on a carved star.
        inner = radius_mm * math.sin(math.radians(18)) / math.sin(math.radians(126))
        corners = []
        for i in range(_STAR_POINTS * 2):
            r = radius_mm if i % 2 == 0 else inner
            angle = math.radians(i * 180 / _STAR_POINTS)
            corners.append(self.point(x_mm + r * math.sin(angle), y_mm - r * math.cos(angle)))
        self.draw.polygon(corners, fill=255)

    def glyph(
        self, char: str, x_mm: float, y_mm: float, width_mm: float, em_mm: float, turn: float
    ) -> None:
        """Draw one character with its em box centred at (x, y), squeezed to ``width_mm``
        and turned ``turn`` degrees clockwise."""
        em = max(2, round(em_mm * self.scale))
        pad = max(1, round(em * 0.06))
        stroke = max(1, round(em * 0.025))
        cell = Image.new("L", (em + 2 * pad, em + 2 * pad), 0)
        ImageDraw.Draw(cell).text(
            (pad + em / 2, pad + em * _IDEOGRAPHIC_ASCENT),
            char,
            fill=255,
            font=_font(em),
            anchor="ms",
            stroke_width=stroke,
            stroke_fill=255,
        )
        squeezed = max(2, round(width_mm / em_mm * cell.width))
        if squeezed != cell.width:
            cell = cell.resize((squeezed, cell.height), Image.Resampling.BICUBIC)
        if turn:
            cell = cell.rotate(-turn, resample=Image.Resampling.BICUBIC, expand=True)
        px, py = self.point(x_mm, y_mm)
        self.mask.paste(255, (round(px - cell.width / 2), round(py - cell.height / 2)), cell)

    def arc_text(
        self, text: str, radius_mm: float, em_mm: float, width_mm: float, span: float, *, top: bool
    ) -> None:
        """Spread ``text`` over ``span`` radians of a circle, centred on top or bottom.

        Upper-arc text reads clockwise with its tops outwards; lower-arc text reads left
        to right with its tops inwards, as on carved chops.
        """
        step = span / len(text)
        for i, char in enumerate(text):
            offset = -span / 2 + step * (i + 0.5)
            angle = offset if top else math.pi - offset
            x = radius_mm * math.sin(angle)
            y = -radius_mm * math.cos(angle)
            turn = math.degrees(angle) if top else math.degrees(angle) - 180
            self.glyph(char, x, y, width_mm, em_mm, turn)

    def line_text(self, text: str, y_mm: float, em_mm: float, max_width_mm: float) -> None:
        advance = min(em_mm, max_width_mm / len(text))
        width = min(em_mm * 0.9, advance * 0.95)
        start = -advance * (len(text) - 1) / 2
        for i, char in enumerate(text):
            self.glyph(char, start + advance * i, y_mm, width, em_mm, 0.0)

    def finish(self) -> SealPicture:
        alpha = self.mask.reduce(_SUPERSAMPLE)
        image = Image.new("RGBA", self.size, (*SEAL_RED, 0))
        image.putalpha(alpha)
        out = io.BytesIO()
        image.save(out, format="PNG", dpi=(self.dpi, self.dpi))
        return SealPicture(out.getvalue(), self.width_mm, self.height_mm)


def _pixels(size_mm: float, dpi: int) -> int:
    return max(1, round(size_mm / MM_PER_INCH * dpi))
