"""Pages as pixels, through poppler's ``pdftoppm``, so a change can be checked the way a
reader sees it rather than the way the objects say it should look.

Rendering is slow and the renderer is an outside program: every call is bounded by a
timeout and a page limit, and a missing or failing renderer is reported, never fatal.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from sealbridge.errors import SealBridgeError

Box = tuple[float, float, float, float]

# Grey-level difference below which two pixels count as the same (anti-aliasing noise).
_THRESHOLD = 40
_MASK_PADDING = 2
_PAGE_NUMBER = re.compile(r"-(\d+)\.png$")


class RenderError(SealBridgeError):
    """The renderer is missing, failed, or ran out of time."""


@dataclass(frozen=True)
class PageDifference:
    page: int
    share: float
    box: tuple[int, int, int, int] | None
    note: str = ""

    @property
    def sentence(self) -> str:
        if self.note:
            return f"page {self.page} {self.note}"
        where = f" in pixels {self.box}" if self.box else ""
        return (
            f"page {self.page} looks different from what was signed: {self.share:.2%} of "
            f"its pixels changed{where}, outside any later signature's box"
        )


def pdftoppm_available() -> bool:
    return shutil.which("pdftoppm") is not None


def render_pages(pdf: bytes, *, dpi: int, timeout: float, max_pages: int) -> list[Image.Image]:
    """The first ``max_pages`` pages as RGB images at ``dpi``."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RenderError("pdftoppm (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory(prefix="sealbridge-render-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        command = [tool, "-r", str(dpi), "-l", str(max_pages), "-png", str(source)]
        try:
            done = subprocess.run(
                [*command, str(Path(folder) / "page")],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"pdftoppm did not finish within {timeout:g} s") from exc
        pages = sorted(
            (int(m.group(1)), p)
            for p in Path(folder).glob("page-*.png")
            if (m := _PAGE_NUMBER.search(p.name))
        )
        if done.returncode != 0 and not pages:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RenderError(f"pdftoppm failed: {message[-1] if message else done.returncode}")
        images = []
        for _, path in pages:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        return images


def compare_pdfs(
    before: bytes,
    after: bytes,
    *,
    boxes: Sequence[Box],
    masks: Mapping[int, Sequence[Box]],
    dpi: int,
    timeout: float,
    max_pages: int,
) -> list[PageDifference]:
    """Pages of ``after`` that differ from ``before``, ignoring the ``masks`` (page index to
    boxes in PDF points, e.g. where later signatures are painted)."""
    old = render_pages(before, dpi=dpi, timeout=timeout, max_pages=max_pages)
    new = render_pages(after, dpi=dpi, timeout=timeout, max_pages=max_pages)
    found: list[PageDifference] = []
    for index, (a, b) in enumerate(zip(old, new, strict=False)):
        box = boxes[index] if index < len(boxes) else None
        difference = _difference(a, b, box, masks.get(index, ()))
        if difference is not None:
            share, pixels = difference
            found.append(PageDifference(index + 1, share, pixels))
    for index in range(len(new), len(old)):
        found.append(PageDifference(index + 1, 1.0, None, "was signed but is no longer shown"))
    for index in range(len(old), len(new)):
        found.append(PageDifference(index + 1, 1.0, None, "was added after signing"))
    return found


def _difference(
    a: Image.Image, b: Image.Image, box: Box | None, masks: Sequence[Box]
) -> tuple[float, tuple[int, int, int, int] | None] | None:
    if a.size != b.size:
        return 1.0, None
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > _THRESHOLD else 0)
    if box is not None and masks:
        draw = ImageDraw.Draw(diff)
        for mask in masks:
            draw.rectangle(_to_pixels(mask, box, diff.size), fill=0)
    bounds = diff.getbbox()
    if bounds is None:
        return None
    changed = diff.histogram()[255]
    return changed / (diff.width * diff.height), bounds


def _to_pixels(rect: Box, page: Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """PDF points (origin bottom left) to image pixels (origin top left)."""
    x0, y0, x1, y1 = page
    sx = size[0] / max(x1 - x0, 1.0)
    sy = size[1] / max(y1 - y0, 1.0)
    pad = _MASK_PADDING
    return (
        int((rect[0] - x0) * sx) - pad,
        int((y1 - rect[3]) * sy) - pad,
        int((rect[2] - x0) * sx) + pad,
        int((y1 - rect[1]) * sy) + pad,
    )
