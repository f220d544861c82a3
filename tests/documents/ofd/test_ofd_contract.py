"""The bilingual OFD contract is a GB/T 33190 package an OFD reader can lay out."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import date

from lxml import etree

from sealbridge.documents.ofd.contract import (
    PAGE_HEIGHT_MM,
    PAGE_WIDTH_MM,
    OfdContract,
    build_ofd_contract,
)
from sealbridge.documents.pdf.contract import ContractParty

NS = {"ofd": "http://www.ofdspec.org/2016"}


def _xml(files: dict[str, bytes], path: str) -> etree._Element:
    assert files[path].startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return etree.fromstring(files[path])


def test_package_has_the_files_a_reader_follows(
    contract: OfdContract, entries_of: Callable[[bytes], dict[str, bytes]]
) -> None:
    files = entries_of(contract.ofd)
    ofd = _xml(files, "OFD.xml")
    assert ofd.get("DocType") == "OFD"
    doc_root = ofd.findtext("ofd:DocBody/ofd:DocRoot", namespaces=NS)
    assert doc_root == "Doc_0/Document.xml"
    assert len(ofd.findtext("ofd:DocBody/ofd:DocInfo/ofd:DocID", namespaces=NS) or "") == 32

    document = _xml(files, doc_root)
    base = posixpath.dirname(doc_root)
    res = document.findtext("ofd:CommonData/ofd:PublicRes", namespaces=NS)
    fonts = _xml(files, posixpath.join(base, res or "")).findall("ofd:Fonts/ofd:Font", NS)
    assert [f.get("FontName") for f in fonts] == ["宋体"]
    pages = document.findall("ofd:Pages/ofd:Page", NS)
    assert pages
    for page in pages:
        content = _xml(files, posixpath.join(base, page.get("BaseLoc", "")))
        texts = content.findall(".//ofd:TextObject", NS)
        assert texts
        assert {t.get("Font") for t in texts} == {fonts[0].get("ID")}


def test_text_is_bilingual_and_on_the_page(
    contract: OfdContract, entries_of: Callable[[bytes], dict[str, bytes]]
) -> None:
    files = entries_of(contract.ofd)
    content = _xml(files, "Doc_0/Pages/Page_0/Content.xml")
    lines = []
    for text in content.iterfind(".//ofd:TextObject", NS):
        x, y, w, h = (float(v) for v in (text.get("Boundary") or "").split())
        assert x >= 0 and y >= 0
        assert x + w <= PAGE_WIDTH_MM and y + h <= PAGE_HEIGHT_MM
        code = text.find("ofd:TextCode", NS)
        assert code is not None and code.text
        deltas = (code.get("DeltaX") or "").split()
        assert len(deltas) == len(code.text) - 1
        lines.append(code.text)
    body = "\n".join(lines)
    assert "跨境货物买卖合同" in body
    assert "Cross-border Sale of Goods Contract" in body
    assert "第2条" in body and "Article 2." in body


def test_unit_ids_are_unique_and_bounded(
    contract: OfdContract, entries_of: Callable[[bytes], dict[str, bytes]]
) -> None:
    files = entries_of(contract.ofd)
    document = _xml(files, "Doc_0/Document.xml")
    max_id = int(document.findtext("ofd:CommonData/ofd:MaxUnitID", namespaces=NS) or 0)
    ids = [
        int(e.get("ID") or 0)
        for path, data in files.items()
        for e in etree.fromstring(data).iter()
        if e.get("ID") is not None
    ]
    assert len(ids) == len(set(ids))
    assert max(ids) == max_id


def test_seal_places_are_boxes_drawn_on_their_page(
    contract: OfdContract, entries_of: Callable[[bytes], dict[str, bytes]]
) -> None:
    files = entries_of(contract.ofd)
    assert [p.role for p in contract.places] == ["Party A", "Party B"]
    for place in contract.places:
        content = _xml(files, f"Doc_0/Pages/Page_{place.page}/Content.xml")
        boxes = [
            tuple(float(v) for v in (p.get("Boundary") or "").split())
            for p in content.iterfind(".//ofd:PathObject", NS)
        ]
        assert place.boundary_mm in boxes


def test_long_contracts_flow_onto_more_pages(
    entries_of: Callable[[bytes], dict[str, bytes]],
) -> None:
    clause = ("双方应遵守本合同的全部条款。" * 6, "Both parties shall comply with every term. " * 6)
    party = ContractParty("甲方", "Party A", "深圳市示例有限公司", "SZ Demo", "X", "深圳")
    long = build_ofd_contract(
        "长合同",
        "Long Contract",
        [party] * 3,
        [clause] * 40,
        contract_no="L-1",
        on=date(2026, 1, 2),
    )
    files = entries_of(long.ofd)
    pages = etree.fromstring(files["Doc_0/Document.xml"]).findall("ofd:Pages/ofd:Page", NS)
    assert len(pages) >= 3
    assert all(f"Doc_0/{p.get('BaseLoc')}" in files for p in pages)
    assert max(p.page for p in long.places) == len(pages) - 1
    words = "".join(
        t.text or ""
        for path, data in files.items()
        if path.endswith("Content.xml")
        for t in etree.fromstring(data).iterfind(".//ofd:TextCode", NS)
    )
    assert words.count("Article") == 40 and words.count("第") >= 40
