"""Arrays of references (a page's /Annots, the form's /Fields, /Kids) read in one match,
and runs of integers (a font's /W, a /Rect) read a run at a time, are the arrays pyHanko
reads: the same items, in order, each belonging to the object that holds it; whatever is
written any other way is read token by token, as before."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic

from support.pdf_oracle import assert_read_alike, both_readers, one_revision_pdf, read_or_error

HOLDER = generic.Reference(3, 0)

_REFERENCE = st.builds(
    lambda number, generation: b"%d %d R" % (number, generation),
    st.integers(1, 10**10 - 1),
    st.integers(0, 99999),
)
# What can stand in a reference array, well or oddly written: references, a reference to
# object 0, leading zeros, a reference padded past pyHanko's 20-byte peek, an R glued to
# a letter or a digit, and other values.
_ITEM = st.one_of(
    _REFERENCE,
    _REFERENCE,
    st.sampled_from(
        [
            b"0 0 R",
            b"016 0 R",
            b"16 00 R",
            b"16        0           R",
            b"16 0 Rx",
            b"16 0 R19 0 R",
            b"/Name",
            b"12",
            b"(text)",
            b"<< /A 1 0 R >>",
            b"[ 4 0 R ]",
            b"[ 1 2 3 ]",
            b"[278 347]",
            b"-0",
            b"007",
            b"+5",
            b"1.5",
            b"12-3",
            b"5 0 Rx",
            b"5\t0\tR",
        ]
    ),
    st.integers(-(10**12), 10**12).map(lambda n: b"%d" % n),
    st.integers(0, 999).map(lambda n: b"%d" % n),
)
_SEPARATOR = st.sampled_from([b" ", b"\n", b"\r", b"\r\n", b"  ", b"\t", b"\x00", b""])


@st.composite
def reference_arrays(draw: st.DrawFn) -> bytes:
    items = draw(st.lists(_ITEM, max_size=8))
    separator = draw(_SEPARATOR)
    inside = separator.join(items)
    opening, closing = draw(st.sampled_from([(b"[ ", b" ]"), (b"[", b"]"), (b"[\n", b"\n]")]))
    return opening + inside + closing


@settings(max_examples=300, deadline=None)
@given(array=reference_arrays(), strict=st.booleans())
def test_reference_arrays_read_as_pyhanko_reads_them(array: bytes, strict: bool) -> None:
    holder = b"3 0 obj\n<< /Type /Page /Annots " + array + b" >>\nendobj"
    fast, plain = both_readers(one_revision_pdf(holder), strict=strict)
    assert_read_alike(read_or_error(fast, HOLDER), read_or_error(plain, HOLDER))


def test_a_grown_annotation_list_reads_whole() -> None:
    numbers = list(range(16, 16 + 3 * 40, 3))
    array = b"[ " + b" ".join(b"%d 0 R" % n for n in numbers) + b" ]"
    fast, plain = both_readers(one_revision_pdf(b"3 0 obj\n<< /Annots " + array + b" >>\nendobj"))
    annots = read_or_error(fast, HOLDER).raw_get("/Annots")
    assert [item.idnum for item in annots] == numbers
    assert all(item.container_ref == HOLDER for item in annots)
    assert_read_alike(read_or_error(fast, HOLDER), read_or_error(plain, HOLDER))


def test_a_cjk_fonts_widths_read_whole() -> None:
    widths = b"[ 1 1 224 9 10 338 13 [ 278 347 278 392 ]\n 17 19 555 22 23 -555 27 27 278 ]"
    holder = b"3 0 obj\n<< /Type /Font /W " + widths + b" /FontDescriptor 10 0 R >>\nendobj"
    fast, plain = both_readers(one_revision_pdf(holder))
    read = read_or_error(fast, HOLDER)
    assert read.raw_get("/W")[6] == 13 and list(read.raw_get("/W")[7]) == [278, 347, 278, 392]
    assert read.raw_get("/W")[-4] == -555
    assert_read_alike(read, read_or_error(plain, HOLDER))
