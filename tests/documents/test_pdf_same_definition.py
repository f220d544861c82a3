"""A definition written again byte for byte is not parsed again: the object read before
is reused. What must hold: the same bytes are recognised, and no other bytes are, not
even one changed byte or a definition that only begins the same way."""

from __future__ import annotations

import io

from pyhanko.pdf_utils import generic

from sealbridge.documents.pdf.fastread import FastObjectReader

CATALOG = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /PageLayout /OneColumn >>\nendobj\n"
PAGES = b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
STREAM = b"3 0 obj\n<< /Length 2 >>\nstream\nAB\nendstream\nendobj\n"


def _pdf(*bodies: bytes) -> tuple[bytes, list[int]]:
    """A file whose objects are ``bodies`` in order (later ones as incremental updates
    of the same numbers need no cross-reference data here: offsets are read directly)."""
    data = b"%PDF-1.7\n"
    offsets = []
    for body in bodies:
        offsets.append(len(data))
        data += body
    xref = len(data)
    data += (
        b"xref\n0 4\n0000000000 65535 f\r\n"
        + b"".join(b"%010d 00000 n\r\n" % at for at in offsets[:3])
        + b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    )
    return data, offsets


def _read(reader: FastObjectReader, number: int, offset: int) -> generic.PdfObject:
    return reader._read_object(generic.Reference(number, 0, reader), offset)


def test_the_same_bytes_are_the_same_definition() -> None:
    changed = CATALOG.replace(b"OneColumn", b"TwoColumn")
    longer = CATALOG.replace(b">>\nendobj", b"/Extra 1 >>\nendobj")
    data, at = _pdf(CATALOG, PAGES, STREAM, CATALOG, changed, longer)
    reader = FastObjectReader(io.BytesIO(data), strict=False)
    _read(reader, 1, at[0])
    assert reader.same_definition(at[0], at[3])
    assert not reader.same_definition(at[0], at[4])
    assert not reader.same_definition(at[0], at[5])
    assert not reader.same_definition(at[0], at[0])  # a definition is not its own copy


def test_a_stream_or_an_unread_definition_is_never_the_same() -> None:
    data, at = _pdf(CATALOG, PAGES, STREAM, STREAM)
    reader = FastObjectReader(io.BytesIO(data), strict=False)
    assert not reader.same_definition(at[0], at[0] + 1)  # nothing read yet
    _read(reader, 3, at[2])
    assert not reader.same_definition(at[2], at[3])


def test_a_copy_found_the_same_is_the_definition_the_next_copy_is_compared_with() -> None:
    # A catalog every signing revision writes again unchanged: each copy is recognised
    # from the one before, not only from the one that was parsed.
    changed = CATALOG.replace(b"OneColumn", b"TwoColumn")
    data, at = _pdf(CATALOG, PAGES, STREAM, CATALOG, CATALOG, changed)
    reader = FastObjectReader(io.BytesIO(data), strict=False)
    _read(reader, 1, at[0])
    assert reader.same_definition(at[0], at[3])
    assert reader.same_definition(at[3], at[4])
    assert not reader.same_definition(at[4], at[5])
