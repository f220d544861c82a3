"""Signature-block pictures for firms that sign without a seal.

pyHanko's text stamps cannot draw from a font collection, so the block is drawn with
Pillow and the CJK font and placed like a seal picture.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from sealbridge.fonts import cjk_font

_SCALE = 4  # pixels per PDF point: crisp when printed


def render_signature_block(lines: Sequence[str], width_pt: int, height_pt: int) -> bytes:
    """A bordered block with ``lines`` of text, as a transparent PNG."""
    font_file = cjk_font()
    width, height = width_pt * _SCALE, height_pt * _SCALE
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    ink = (20, 40, 120, 255)
    draw.rectangle((2, 2, width - 3, height - 3), outline=ink, width=_SCALE)
    size = max(8, min(height // (len(lines) + 1) - _SCALE, 11 * _SCALE))
    font = ImageFont.truetype(str(font_file.path), size, index=font_file.index)
    while size > 8 and max(draw.textlength(line, font=font) for line in lines) > width - 8 * _SCALE:
        size -= 2
        font = ImageFont.truetype(str(font_file.path), size, index=font_file.index)
    y = (height - len(lines) * (size + _SCALE)) // 2
    for line in lines:
        draw.text((4 * _SCALE, y), line, font=font, fill=ink)
        y += size + _SCALE
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()
