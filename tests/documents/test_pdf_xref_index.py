"""The indexed cross-reference cache answers every question as pyHanko's own does: where
each object is as of each revision, and which revision last changed it, for objects in
tables, in object streams, freed, never there, and in files with many revisions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import XRefCache

from documents.test_pdf_fastread import histories
from sealbridge.documents.pdf.fastread import FastObjectReader
from sealbridge.documents.pdf.reader import open_pdf
from sealbridge.documents.pdf.xref_index import IndexedXRefCache
from support.contracts import one_party_signed, signed_once
from support.pdf_oracle import one_revision_pdf

INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "dss-pades"
needs_interop = pytest.mark.skipif(not INTEROP.is_dir(), reason=f"no interop vectors at {INTEROP}")


def _questions(xrefs: XRefCache) -> list[generic.Reference]:
    """Every object any section names, each with the generation after it, and one
    number no section names."""
    refs: set[tuple[int, int]] = {(10**6, 0)}
    for revision in range(xrefs.total_revisions):
        data = xrefs.get_xref_data(revision)
        for table in (data, data.hybrid.xref_data if data.hybrid is not None else None):
            if table is None:
                continue
            named = {(i, 0) for i in table.xrefs_in_objstm}
            named |= {(i, g) for i, (g, _) in table.standard_xrefs.items()}
            named |= {(i, f - 1) for i, f in table.freed.items()}
            refs |= named | {(i, g + 1) for i, g in named}
    return [generic.Reference(i, g) for i, g in sorted(refs)]


def _assert_answers_alike(data: bytes) -> None:
    # The sections as the verifier reads them (repaired where pyHanko cannot open the
    # file), asked once through pyHanko's plain cache and once through the index.
    opened = open_pdf(data, scan=False).reader.xrefs
    plain = XRefCache(opened.reader, opened._xref_sections)
    indexed = IndexedXRefCache(plain)
    for ref in _questions(plain):
        for revision in range(-1, plain.total_revisions + 1):
            assert indexed.get_historical_ref(ref, revision) == plain.get_historical_ref(
                ref, revision
            ), (ref, revision)
        assert indexed[ref] == plain[ref], ref
        try:
            last = plain.get_last_change(ref)
        except KeyError:
            with pytest.raises(KeyError):
                indexed.get_last_change(ref)
        else:
            assert indexed.get_last_change(ref) == last, ref


def _freed_in_an_update() -> bytes:
    """Objects 3 and 4, then an update that frees 4 (next generation 1) and rewrites 3."""
    base = one_revision_pdf(b"3 0 obj\n<< /A 1 >>\nendobj", b"4 0 obj\n<< /B 2 >>\nendobj")
    prev = int(base[base.rindex(b"startxref") + 10 :].split()[0])
    body = b"3 0 obj\n<< /A 2 >>\nendobj\n"
    at = len(base)
    xref = at + len(body)
    update = (
        body
        + b"xref\n0 1\n0000000000 65535 f \n3 2\n%010d 00000 n \n0000000000 00001 f \n" % at
        + b"trailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (prev, xref)
    )
    return base + update


def test_freed_and_rewritten_objects_answer_alike() -> None:
    data = _freed_in_an_update()
    _assert_answers_alike(data)
    xrefs = IndexedXRefCache(PdfFileReader(io.BytesIO(data), strict=False).xrefs)
    assert xrefs[generic.Reference(4, 0)] is None
    assert xrefs.get_historical_ref(generic.Reference(4, 0), 0) is not None


def test_a_many_times_signed_contract_answers_alike() -> None:
    pdf, _ = one_party_signed("SB-XREF-1", "Signer1")
    for number in range(2, 6):
        pdf, _ = signed_once(pdf, f"Signer{number}")
    _assert_answers_alike(pdf)


@needs_interop
@pytest.mark.parametrize("name", sorted(p.name for p in INTEROP.glob("*.pdf")))
def test_real_world_signed_pdfs_answer_alike(name: str) -> None:
    _assert_answers_alike((INTEROP / name).read_bytes())


@settings(max_examples=40, deadline=None)
@given(data=histories())
def test_object_stream_histories_answer_alike(data: bytes) -> None:
    _assert_answers_alike(data)


def test_the_fast_reader_asks_the_index() -> None:
    reader = FastObjectReader(io.BytesIO(_freed_in_an_update()), strict=False)
    assert isinstance(reader.xrefs, IndexedXRefCache)
