"""Locating a CJK font: seal pictures and contracts carry Chinese text.

The packaged Noto Sans CJK collection (a PyPI dependency) comes first so a fresh machine
renders the same glyphs as CI; common system fonts are the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sealbridge.errors import SealBridgeError

_SYSTEM_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)

# Index of "Noto Sans CJK SC" (simplified Chinese forms) inside the collection.
_NOTO_SC_INDEX = 2


class FontNotFound(SealBridgeError):
    """No font able to draw Chinese characters is installed."""


@dataclass(frozen=True)
class CJKFont:
    path: Path
    index: int


@cache
def cjk_font() -> CJKFont:
    try:
        import noto_cjk_sans_otc

        packaged = Path(str(noto_cjk_sans_otc.FONT_PATH))
        if packaged.is_file():
            return CJKFont(packaged, _NOTO_SC_INDEX)
    except ImportError:
        pass
    for path, index in _SYSTEM_FONTS:
        if Path(path).is_file():
            return CJKFont(Path(path), index)
    raise FontNotFound(
        "no CJK font found: install the 'noto-cjk-sans-otc' package or Debian's fonts-noto-cjk"
    )
