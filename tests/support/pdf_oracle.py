"""Reading the same bytes with the fast reader and with pyHanko's, and comparing what a
user of a reader sees: the object (or the error), its type, its container reference
and its content, all the way down."""

from __future__ import annotations

import io
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader

from sealbridge.documents.pdf.fastread import FastObjectReader
from support.handmade import definition, handmade_pdf


def one_revision_pdf(*objects: bytes) -> bytes:
    """A one-revision PDF: a catalog (1), an empty page tree (2), then ``objects``
    verbatim (each a whole ``N G obj ... endobj``), numbered 3, 4, ... in the xref table
    whatever their own header says, so a vector can also lie about its number."""
    return handmade_pdf(
        [
            definition(1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            definition(2, b"<< /Type /Pages /Kids [] /Count 0 >>"),
            *objects,
        ]
    )


def read_or_error(
    reader: PdfFileReader, ref: generic.Reference, revision: int | None = None
) -> Any:
    """The object, or the error the reader raised: the error is part of its behaviour."""
    try:
        return reader.get_object(ref, revision=revision)
    except Exception as exc:
        return exc


def shape(obj: generic.PdfObject) -> tuple[object, ...]:
    """Type, container reference and content of ``obj`` and everything inside it: what
    ``==`` on pyHanko objects ignores (a TextStringObject equals a str, a reference's
    reader is not compared) but a caller of the reader depends on."""
    ref = obj.container_ref
    where = (ref.idnum, ref.generation) if isinstance(ref, generic.Reference) else repr(ref)
    body: object
    if isinstance(obj, generic.DictionaryObject):
        body = tuple(sorted((str(k), shape(v)) for k, v in dict.items(obj)))
        if isinstance(obj, generic.StreamObject):
            body = (body, obj.encoded_data)
    elif isinstance(obj, generic.ArrayObject):
        body = tuple(shape(v) for v in list.__iter__(obj))
    elif isinstance(obj, generic.TextStringObject | generic.ByteStringObject):
        body = bytes(obj.original_bytes)
    elif isinstance(obj, generic.NullObject):
        body = None
    else:
        body = repr(obj)
    return (type(obj).__name__, where, body)


def assert_read_alike(fast: Any, plain: Any) -> None:
    if isinstance(plain, ArithmeticError):
        # pyHanko lets decimal.InvalidOperation out of a malformed number ("1.2."); the
        # fast reader says what it is, an object that cannot be read.
        assert isinstance(fast, PdfReadError), fast
        assert "holds a number that cannot be read" in str(fast)
        return
    if isinstance(fast, Exception) or isinstance(plain, Exception):
        assert (type(fast), str(fast)) == (type(plain), str(plain))
        return
    if isinstance(plain, generic.StreamObject):
        assert isinstance(fast, generic.StreamObject)
        assert dict(fast) == dict(plain) and fast.encoded_data == plain.encoded_data
    else:
        assert fast == plain
    assert shape(fast) == shape(plain)


def both_readers(data: bytes, *, strict: bool = False) -> tuple[FastObjectReader, PdfFileReader]:
    return (
        FastObjectReader(io.BytesIO(data), strict=strict),
        PdfFileReader(io.BytesIO(data), strict=strict),
    )
