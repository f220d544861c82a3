"""Seal pictures: transparent red PNGs of the right size in millimetres."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from sealbridge.errors import MalformedInput
from sealbridge.seals import SealPicture, SealType, render_name_seal, render_round_seal


def _image(picture: SealPicture) -> Image.Image:
    image = Image.open(io.BytesIO(picture.png))
    image.load()
    return image


def _red_share(image: Image.Image) -> float:
    """Share of opaque pixels that are seal red."""
    raw = image.tobytes()
    pixels = [raw[i : i + 4] for i in range(0, len(raw), 4)]
    opaque = [p for p in pixels if p[3] > 200]
    red = [p for p in opaque if p[0] > 170 and p[1] < 60 and p[2] < 80]
    return len(red) / max(1, len(opaque))


def test_round_seal_is_a_transparent_red_png(chop: SealPicture) -> None:
    image = _image(chop)
    assert image.format == "PNG"
    assert image.mode == "RGBA"
    alphas = image.getchannel("A").getextrema()
    assert alphas == (0, 255)
    assert _red_share(image) > 0.99
    corner = image.getpixel((0, 0))
    assert isinstance(corner, tuple)
    assert corner[3] == 0
    assert (chop.width_mm, chop.height_mm) == (40, 40)


@pytest.mark.parametrize(
    ("diameter", "dpi", "pixels"), [(40, 300, 472), (42, 600, 992), (38, 96, 144)]
)
def test_round_seal_size_follows_millimetres_and_dpi(diameter: int, dpi: int, pixels: int) -> None:
    picture = render_round_seal("示例公司", diameter_mm=diameter, dpi=dpi)
    image = _image(picture)
    assert image.size == (pixels, pixels)
    assert round(diameter / 25.4 * dpi) == pixels
    assert image.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)
    assert picture.width_mm == picture.height_mm == diameter


def test_round_seal_draws_ring_star_and_text(chop: SealPicture) -> None:
    image = _image(chop)
    alpha = image.getchannel("A")
    middle = image.width // 2
    assert alpha.getpixel((middle, middle)) == 255  # the star's centre
    column = [alpha.getpixel((middle, y)) for y in range(image.height // 8)]
    assert column[0] == 0  # outside the ring
    ring = column.index(255)
    gap = column.index(0, ring)  # between the ring and the name
    assert 0 < ring < gap < column.index(255, gap)
    plain = render_round_seal("深圳市前海示例科技有限公司")
    assert _image(plain).getchannel("A").histogram()[255] < alpha.histogram()[255]


def test_company_seal_has_no_label_text() -> None:
    assert SealType.COMPANY.chop_text is None
    assert SealType.CONTRACT.chop_text == "合同专用章"
    assert SealType.FINANCE.label_en == "Finance seal"
    assert SealType.LEGAL_REPRESENTATIVE.label_zh == "法定代表人名章"


def test_name_seal_is_square() -> None:
    picture = render_name_seal("张三")
    image = _image(picture)
    assert image.size == (236, 236)
    assert (picture.width_mm, picture.height_mm) == (20, 20)
    assert _red_share(image) > 0.99
    alpha = image.getchannel("A")
    assert alpha.getpixel((2, 2)) == 255  # square corner of the border


@pytest.mark.parametrize(
    ("render", "message"),
    [
        (lambda: render_round_seal(""), "name is empty"),
        (lambda: render_round_seal("   "), "name is empty"),
        (lambda: render_round_seal("字" * 25), "25 characters; at most 24"),
        (lambda: render_round_seal("示例公司", "合同专用章合同专用章章"), "label has 11"),
        (lambda: render_round_seal("示例公司", code="1" * 21), "code has 21"),
        (lambda: render_round_seal("示例\n公司"), "control characters"),
        (lambda: render_round_seal("示例公司", diameter_mm=100), "outside 20-60 mm"),
        (lambda: render_round_seal("示例公司", dpi=20), "outside 72-1200 dpi"),
        (lambda: render_name_seal("张"), "two to four"),
        (lambda: render_name_seal("欧阳小明明"), "at most 4"),
    ],
)
def test_bad_requests_are_typed_errors(render: object, message: str) -> None:
    assert callable(render)
    with pytest.raises(MalformedInput, match=message):
        render()


def test_longest_name_still_renders() -> None:
    picture = render_round_seal(
        "北京市海淀区中关村科学城示例信息技术股份有限公司"[:24], "财务专用章"
    )
    assert _red_share(_image(picture)) > 0.99


def test_rendering_is_fast(chop: SealPicture) -> None:
    start = time.perf_counter()
    render_round_seal("深圳市前海示例科技有限公司", "合同专用章", code="4403050123456")
    # 100 ms on a developer machine; the bound leaves room for slow CI runners.
    assert time.perf_counter() - start < 0.3
