"""The change analysis calls a string unchanged exactly when its bytes are: text read in
PDFDocEncoding, UTF-16 or UTF-8 (by its byte-order mark) and binary strings alike."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic

from sealbridge.verify.changes.diff import same

_MARKS = [b"", b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf"]
_strings = st.builds(
    lambda mark, body: mark + body,
    st.sampled_from(_MARKS),
    st.binary(max_size=12) | st.sampled_from([b"", b"Co", b"\x00C\x00o", b"T\x08T\x0c"]),
)


@given(_strings, _strings)
def test_strings_are_the_same_exactly_when_their_bytes_are(one: bytes, other: bytes) -> None:
    assert same(generic.pdf_string(one), generic.pdf_string(other)) is (one == other)


def test_one_text_in_two_encodings_is_a_change() -> None:
    pdfdoc = generic.pdf_string(b"Contract")
    utf16 = generic.pdf_string(b"\xfe\xff" + "Contract".encode("utf-16-be"))
    assert str(pdfdoc) == str(utf16)
    assert not same(pdfdoc, utf16)
    assert same(utf16, generic.pdf_string(b"\xfe\xff" + "Contract".encode("utf-16-be")))
