"""PDFs written by hand, byte for byte: one revision, a classic cross-reference table
with the right offsets, and whatever objects a test needs to be exactly as it wrote them."""

from __future__ import annotations

from collections.abc import Sequence


def definition(number: int, body: bytes) -> bytes:
    """Object ``number`` (generation 0) holding ``body``."""
    return b"%d 0 obj\n" % number + body + b"\nendobj"


def handmade_pdf(definitions: Sequence[bytes], trailer_extra: bytes = b"") -> bytes:
    """A one-revision PDF of ``definitions`` verbatim (each a whole ``N G obj ...
    endobj``), the i-th at cross-reference entry i from 1, whatever its own header says
    (a test can make one lie about its number); object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for whole in definitions:
        offsets.append(len(out))
        out += whole + b"\n"
    xref = len(out)
    size = len(definitions) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        trailer_extra,
        xref,
    )
    return bytes(out)
