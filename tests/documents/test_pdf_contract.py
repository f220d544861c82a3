"""Every party's signing place is on a page, where its label and its field are."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract

POPPLER = shutil.which("pdftotext") is not None
LABEL = "(Seal/Signature)"
_PARTY = ContractParty("甲方", "Party A", "深圳市示例科技有限公司", "SZ Demo Tech", "X", "深圳")


def _contract(parties: int) -> ContractDocument:
    return build_contract(
        "多方合同",
        "Multi-party Contract",
        [_PARTY] * parties,
        [("各方共同遵守。", "All parties comply.")],
        contract_no="M-1",
        on=date(2026, 12, 7),
    )


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("parties", [1, 8, 9, 10, 30])
def test_every_field_is_on_its_page_where_the_place_says(parties: int) -> None:
    contract = _contract(parties)
    reader = PdfFileReader(io.BytesIO(contract.pdf))
    pages = [reader.root["/Pages"]["/Kids"][i].get_object() for i in range(_page_count(reader))]
    fields = {
        str(f["/T"]): f for f in (x.get_object() for x in reader.root["/AcroForm"]["/Fields"])
    }
    assert [p.field_name for p in contract.places] == [f"Party{n + 1}" for n in range(parties)]
    for place in contract.places:
        left, bottom, right, top = _media_box(pages[place.page])
        x1, y1, x2, y2 = place.box
        assert left <= x1 < x2 <= right and bottom <= y1 < y2 <= top, place
        widget = fields[place.field_name]
        assert [float(v) for v in widget["/Rect"]] == [float(v) for v in place.box]
        annots = pages[place.page]["/Annots"]
        assert any(a.get_object() is widget for a in annots), place
    for first in contract.places:
        for second in contract.places:
            if first is not second and first.page == second.page:
                assert not _overlap(first.box, second.box), (first, second)


def _media_box(page: generic.DictionaryObject) -> tuple[float, ...]:
    """The page's own /MediaBox or the one it inherits from its page tree."""
    node: generic.DictionaryObject = page
    while "/MediaBox" not in node:
        node = node["/Parent"]
    return tuple(float(v) for v in node["/MediaBox"])


def _page_count(reader: PdfFileReader) -> int:
    count = reader.root["/Pages"]["/Count"]
    assert isinstance(count, generic.NumberObject)
    return int(count)


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) not installed")
def test_each_label_is_printed_on_the_page_of_its_box(tmp_path: Path) -> None:
    contract = _contract(30)
    path = tmp_path / "contract.pdf"
    path.write_bytes(contract.pdf)
    pages = max(p.page for p in contract.places) + 1
    for page in range(pages):
        text = subprocess.run(
            ["pdftotext", "-f", str(page + 1), "-l", str(page + 1), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        expected = sum(1 for p in contract.places if p.page == page)
        assert text.count(LABEL) == expected, page
