"""The fast object reader reads long hex strings, literal strings (and every object around
them) exactly as pyHanko's own reader does.

``FastObjectReader`` (documents/pdf/fastread.py) is the reader ``open_pdf`` uses. The
/Contents it decodes is what the integrity check hashes around and what the CMS parser
reads, the /M and /Reason it decodes are what the report shows, and the objects it
returns are the ones incremental updates rewrite. A dropped or padded digit, a misread
escape, a lost container reference or a swallowed error would change a verdict or corrupt
the next signer's revision, so every test reads the same bytes with both readers and
compares what a user of the reader sees.
"""

from __future__ import annotations

import binascii
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import filters, generic
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DecodePurpose, StreamDecodeLimits
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.pdf_utils.xref import ObjStreamRef

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf import fastread
from sealbridge.documents.pdf.fastread import FastObjectReader
from sealbridge.documents.pdf.limits import ReadLimits
from sealbridge.documents.pdf.reader import RepairedPdfFileReader
from sealbridge.documents.pdf.sign import PadesLevel, PadesProfile, PdfSignerIdentity, sign_pdf
from support.contracts import block_stamp, two_party_contract
from support.pdf_oracle import (
    assert_read_alike,
    both_readers,
    one_revision_pdf,
    read_or_error,
    shape,
)
from support.pki import demo_ca, enterprise

INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "dss-pades"
needs_interop = pytest.mark.skipif(not INTEROP.is_dir(), reason=f"no interop vectors at {INTEROP}")
PADES5 = "pades-5-signatures-and-1-document-timestamp.pdf"
# Signature dictionaries per file, document timestamps included (MANIFEST.md).
INTEROP_SIGNATURES = {
    "Signature-P-HU_MIC-1.pdf": 1,
    "belgian_pki_multiple_ocsps_lt.pdf": 1,
    "doc-firmado-LT.pdf": 1,
    "modified_after_signature.pdf": 1,
    PADES5: 6,
}
INTEROP_FILES = list(INTEROP_SIGNATURES)

SIG = generic.Reference(3, 0)
# A DER-looking signature value (not text in any encoding) and a UTF-16 text string.
DER = bytes.fromhex("308202fc06092a864886f70d010702") + bytes(range(256)) * 3
TEXT = "\ufeff签署 Signed".encode("utf-16-be") * 30
UPPER = DER.hex().upper().encode()
LOWER = DER.hex().encode()
MIXED = "".join(c.upper() if i % 3 == 0 else c for i, c in enumerate(DER.hex())).encode()


# ---------------------------------------------------------------- helpers


def _sig(contents: bytes, *, end: bytes = b"\nendobj", number: int = 3) -> bytes:
    """Object ``number``: a signature dictionary whose /Contents is ``contents`` verbatim."""
    return (
        b"%d 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n"
        b"/ByteRange [0 100 200 300] /Contents "
        % number
        + contents
        + b"\n/M (D:20260101120000Z) >>"
        + end
    )


def _hex(digits: bytes) -> bytes:
    return b"<" + digits + b">"


def _every_definition(reader: PdfFileReader) -> Iterator[tuple[generic.Reference, int]]:
    """Each object as written in each revision (historical reads bypass the cache)."""
    xrefs = reader.xrefs
    for revision in range(xrefs.total_revisions):
        live = xrefs.explicit_refs_in_revision(revision) - xrefs.refs_freed_in_revision(revision)
        for ref in sorted(live, key=lambda r: (r.idnum, r.generation)):
            yield ref, revision


def _assert_documents_read_alike(
    data: bytes, fast: PdfFileReader, plain: PdfFileReader, signatures: int
) -> None:
    definitions = list(_every_definition(plain))
    assert definitions
    for ref, revision in definitions:
        assert_read_alike(read_or_error(fast, ref, revision), read_or_error(plain, ref, revision))
    for ref in {ref for ref, _ in definitions}:
        assert_read_alike(read_or_error(fast, ref), read_or_error(plain, ref))
    fast_sigs, plain_sigs = fast.embedded_signatures, plain.embedded_signatures
    assert len(fast_sigs) == len(plain_sigs) == signatures
    for mine, theirs in zip(fast_sigs, plain_sigs, strict=True):
        assert mine.pkcs7_content == theirs.pkcs7_content
        assert list(mine.byte_range) == list(theirs.byte_range)
        contents = mine.sig_object.raw_get("/Contents")
        assert shape(contents) == shape(theirs.sig_object.raw_get("/Contents"))
        # The string decoded is exactly the hex written in the gap the byte range leaves.
        _, len1, start2, _ = mine.byte_range
        gap = data[len1 + 1 : start2 - 1]
        assert binascii.unhexlify(gap + b"0" * (len(gap) % 2)) == contents.original_bytes


# ---------------------------------------------------------------- real documents


@pytest.fixture(scope="module")
def thrice_signed() -> bytes:
    """Our contract, certified by one party, signed by the other and by an invisible witness."""
    doc = two_party_contract("HEX-1")
    ca = demo_ca("SZ", KeyKind.ECDSA_P256)
    signer = enterprise(ca, "深圳甲公司", KeyKind.ECDSA_P256)
    identity = PdfSignerIdentity(signer.key, signer.certificate, (ca.certificate,))
    pdf = sign_pdf(
        doc.pdf, identity, block_stamp(doc, 0), PadesProfile(PadesLevel.B_B, certify=True)
    )
    pdf = sign_pdf(pdf, identity, block_stamp(doc, 1), PadesProfile(PadesLevel.B_B))
    return sign_pdf(pdf, identity, None, PadesProfile(PadesLevel.B_B), field_name="Witness")


def test_our_signed_contract_reads_the_same_through_both_readers(thrice_signed: bytes) -> None:
    """Every object of every revision, and all three signatures' contents and ranges."""
    _assert_documents_read_alike(thrice_signed, *both_readers(thrice_signed), signatures=3)


@needs_interop
@pytest.mark.parametrize("name", INTEROP_FILES)
def test_real_world_signed_pdfs_read_the_same_through_both_readers(name: str) -> None:
    """Files written by other tools; one that pyHanko cannot open fails the same way."""
    data = (INTEROP / name).read_bytes()
    try:
        plain = PdfFileReader(io.BytesIO(data), strict=False)
    except Exception as plain_error:
        with pytest.raises(type(plain_error)) as fast_error:
            FastObjectReader(io.BytesIO(data), strict=False)
        assert str(fast_error.value) == str(plain_error)
        return
    fast = FastObjectReader(io.BytesIO(data), strict=False)
    _assert_documents_read_alike(data, fast, plain, signatures=INTEROP_SIGNATURES[name])


class _RepairedWithPyhankoObjects(RepairedPdfFileReader):
    """The repairing reader with pyHanko's own object reading put back."""

    _read_object = PdfFileReader._read_object


@needs_interop
def test_the_repaired_reader_reads_the_file_pyhanko_cannot_open_the_same_way() -> None:
    """open_pdf reads pades-5 through the repairing reader, a FastObjectReader too: its six
    signatures must come out as pyHanko's object reader would make them."""
    data = (INTEROP / PADES5).read_bytes()
    fast = RepairedPdfFileReader(data, ReadLimits())
    plain = _RepairedWithPyhankoObjects(data, ReadLimits())
    _assert_documents_read_alike(data, fast, plain, signatures=INTEROP_SIGNATURES[PADES5])


# ---------------------------------------------------------------- hand-built vectors


class Decoder(Enum):
    """How the vector's hex strings (in LITERALS: its literal strings) are read."""

    FAST = "every one in one call, none through pyHanko's tokenizer"
    PYHANKO = "pyHanko's tokenizer reads at least one"
    EITHER = "whichever is quicker: only the result is specified"
    ERROR = "they are not: the object is unreadable"


@dataclass(frozen=True)
class Vector:
    name: str
    objects: tuple[bytes, ...]
    path: Decoder


def _split(digits: bytes, insert: bytes, at: int = 300) -> bytes:
    return digits[:at] + insert + digits[at:]


VECTORS = [
    Vector("uppercase digits", (_sig(_hex(UPPER)),), Decoder.FAST),
    Vector("lowercase digits", (_sig(_hex(LOWER)),), Decoder.FAST),
    Vector("mixed-case digits", (_sig(_hex(MIXED)),), Decoder.FAST),
    Vector("odd number of digits", (_sig(_hex(UPPER[:-1])),), Decoder.FAST),
    Vector("exactly 256 digits", (_sig(_hex(UPPER[:256])),), Decoder.FAST),
    Vector("257 digits", (_sig(_hex(LOWER[:257])),), Decoder.FAST),
    Vector("UTF-16 text string", (_sig(_hex(TEXT.hex().encode())),), Decoder.FAST),
    Vector(
        "no whitespace around the string",
        (b"3 0 obj<</Type/Sig/Contents" + _hex(UPPER) + b">>endobj",),
        Decoder.FAST,
    ),
    Vector(
        "two long strings",
        (
            b"3 0 obj\n<< /Contents "
            + _hex(UPPER)
            + b"\n/Cert "
            + _hex(LOWER[:600])
            + b" >>\nendobj",
        ),
        Decoder.FAST,
    ),
    Vector(
        "comments between entries",
        (
            b"3 0 obj\n<< /Type /Sig % a comment\n/Contents "
            + _hex(UPPER)
            + b" %another\n/M (x) >>\nendobj",
        ),
        Decoder.EITHER,
    ),
    Vector(
        "short strings beside a long one",
        (b"3 0 obj\n<< /Empty <> /Contents " + _hex(UPPER) + b" /Short <41> >>\nendobj",),
        Decoder.EITHER,
    ),
    Vector(
        "a literal string that looks like hex",
        (b"3 0 obj\n<< /Contents (<" + UPPER[:400] + b">) >>\nendobj",),
        Decoder.FAST,
    ),
    Vector("space inside the digits", (_sig(_hex(_split(UPPER, b" "))),), Decoder.PYHANKO),
    Vector("line breaks inside the digits", (_sig(_hex(_split(LOWER, b"\r\n"))),), Decoder.PYHANKO),
    Vector("whitespace after <", (_sig(b"< " + UPPER + b">"),), Decoder.PYHANKO),
    Vector("whitespace before >", (_sig(b"<" + UPPER + b"\n>"),), Decoder.PYHANKO),
    Vector("comment inside the digits", (_sig(_hex(_split(UPPER, b"%ab\n"))),), Decoder.PYHANKO),
    Vector("255 digits", (_sig(_hex(UPPER[:255])),), Decoder.EITHER),
    Vector(
        "duplicate /Contents",
        (
            b"3 0 obj\n<< /Contents "
            + _hex(UPPER)
            + b" /Type /Sig /Contents "
            + _hex(LOWER[:512])
            + b" >>\nendobj",
        ),
        Decoder.PYHANKO,
    ),
    Vector(
        "a stream",
        (
            b"3 0 obj\n<< /Length 11 /Contents "
            + _hex(UPPER)
            + b" >>\nstream\nhello world\nendstream\nendobj",
        ),
        Decoder.EITHER,
    ),
    Vector(
        "a stream with an indirect length",
        (
            b"3 0 obj\n<< /Contents "
            + _hex(LOWER)
            + b" /Length 4 0 R >>\nstream\nhello world\nendstream\nendobj",
            b"4 0 obj\n11\nendobj",
        ),
        Decoder.EITHER,
    ),
    Vector("no endobj", (_sig(_hex(UPPER), end=b""),), Decoder.PYHANKO),
    Vector(
        "dictionary closed by a single >", (_sig(_hex(UPPER), end=b"x endobj"),), Decoder.PYHANKO
    ),
    Vector(
        "the string inside an array",
        (b"3 0 obj\n<< /Contents [" + _hex(UPPER) + b"] >>\nendobj",),
        Decoder.EITHER,
    ),
    Vector(
        "the string inside a nested dictionary",
        (b"3 0 obj\n<< /V << /Contents " + _hex(LOWER) + b" >> >>\nendobj",),
        Decoder.EITHER,
    ),
    Vector(
        "the object is the string itself",
        (b"3 0 obj\n" + _hex(UPPER) + b"\nendobj",),
        Decoder.EITHER,
    ),
    Vector("a non-hex character", (_sig(_hex(_split(UPPER, b"G"))),), Decoder.ERROR),
    Vector(
        "a non-hex character after 256 digits",
        (_sig(_hex(_split(LOWER, b"z", 256))),),
        Decoder.ERROR,
    ),
    Vector("an unterminated string", (_sig(b"<" + UPPER, end=b""),), Decoder.ERROR),
    Vector(
        "a hex string where a key should be",
        (b"3 0 obj\n<< /Type /Sig " + _hex(UPPER) + b" /M (x) >>\nendobj",),
        Decoder.ERROR,
    ),
    Vector(
        "a key without a value",
        (b"3 0 obj\n<< /Contents " + _hex(UPPER) + b" /M >>\nendobj",),
        Decoder.ERROR,
    ),
    Vector("the header names another object", (_sig(_hex(UPPER), number=7),), Decoder.ERROR),
]


def _written(text: str) -> bytes:
    """``text`` as pyHanko's writer writes a /Title, /Reason or /M: octal escapes, and
    UTF-16BE with a byte order mark when PDFDocEncoding cannot hold it."""
    out = io.BytesIO()
    generic.TextStringObject(text).write_to_stream(out)
    return out.getvalue()


def _literal(name: str, literal: bytes, path: Decoder) -> Vector:
    """A signature dictionary whose /Contents is ``literal`` verbatim (a /M date follows)."""
    return Vector(name, (_sig(literal),), path)


# Literal strings (PDF 32000 7.3.4.2) as pyHanko reads them: octal escapes of one to three
# digits (it takes up to three *decimal* digits and fails on 8, 9 or a value over 255), a
# backslash before an end of line of up to two bytes, the named escapes and the escaped
# delimiters; any other escape is an error. FAST: read without pyHanko's tokenizer.
LITERALS = [
    _literal("plain ASCII", b"(Signed in Shenzhen, 25 Nov 2026.)", Decoder.FAST),
    _literal("empty literal", b"()", Decoder.FAST),
    _literal("UTF-16BE title as pyHanko writes it", _written("签署 Signed (v2)"), Decoder.FAST),
    _literal("UTF-16BE with BOM in octal", rb"(\376\377\000S\000i\000g\000n)", Decoder.FAST),
    _literal("PDF date with an octal colon", rb"(D\07220261125170939Z)", Decoder.FAST),
    _literal("escaped parentheses", rb"(a\(b\)c)", Decoder.FAST),
    _literal("balanced nested parentheses", b"(a(b)c)", Decoder.PYHANKO),
    _literal("nested twice", b"(a(b(c)d)e)", Decoder.PYHANKO),
    _literal("an unbalanced escaped (", rb"(a\(b)", Decoder.FAST),
    _literal("an unbalanced escaped )", rb"(a\)b)", Decoder.FAST),
    *(
        _literal(f"escape {chr(c)!r}", b"(x\\" + bytes([c]) + b"y)", Decoder.FAST)
        for c in b"nrtbf() /%<>[]#_&$\\"
    ),
    _literal("octal: 1 digit, then a letter", rb"(\1a)", Decoder.FAST),
    _literal("octal: 2 digits, then a letter", rb"(\12a)", Decoder.FAST),
    _literal("octal: 3 digits, then a letter", rb"(\123a)", Decoder.FAST),
    _literal("octal: 1 digit, then )", rb"(a\7)", Decoder.FAST),
    _literal("octal: 3 digits, then a digit", rb"(\1234)", Decoder.FAST),
    _literal("octal: 3 digits, then 8", rb"(\0018)", Decoder.FAST),
    _literal("octal: 3 digits, then 9", rb"(\0019)", Decoder.FAST),
    _literal("octal: 1 digit, then 8", rb"(\18)", Decoder.ERROR),
    _literal("octal: 1 digit, then 9", rb"(\19)", Decoder.ERROR),
    _literal("octal: 2 digits, then 8", rb"(\128)", Decoder.ERROR),
    _literal("octal: 2 digits, then 9", rb"(\079)", Decoder.ERROR),
    _literal("octal: 8 first", rb"(\8)", Decoder.ERROR),
    _literal("octal: 9 first", rb"(\9a)", Decoder.ERROR),
    _literal("octal: 377, the largest byte", rb"(\377)", Decoder.FAST),
    _literal("octal: 400, one over a byte", rb"(\400)", Decoder.ERROR),
    _literal("octal: 777", rb"(\777)", Decoder.ERROR),
    _literal("backslash-CR", b"(a\\\rb)", Decoder.FAST),
    _literal("backslash-LF", b"(a\\\nb)", Decoder.FAST),
    _literal("backslash-CRLF", b"(a\\\r\nb)", Decoder.FAST),
    _literal("backslash-LFLF, both consumed", b"(a\\\n\nb)", Decoder.FAST),
    _literal("backslash-LFCR", b"(a\\\n\rb)", Decoder.FAST),
    _literal("backslash-CRLF, then LF kept", b"(a\\\r\n\nb)", Decoder.FAST),
    _literal("backslash-CR, then an escape", b"(a\\\r\\nb)", Decoder.FAST),
    _literal("backslash-CR before the closing )", b"(a\\\r)", Decoder.FAST),
    _literal("backslash-LF before a nested (", b"(a\\\n(b)c)", Decoder.PYHANKO),
    _literal("an unknown escape", rb"(a\qb)", Decoder.ERROR),
    _literal("an escaped NUL", b"(a\\\x00b)", Decoder.ERROR),
    _literal("a backslash right before the closing )", rb"(abc\)", Decoder.ERROR),
    _literal("an escaped ) closed later", rb"(abc\) def)", Decoder.FAST),
    _literal("an escaped backslash before the closing )", rb"(abc\\)", Decoder.FAST),
    _literal("an escaped backslash before a digit", rb"(\\101)", Decoder.FAST),
    _literal("raw CR and LF bytes", b"(a\rb\nc\r\nd\n\re)", Decoder.FAST),
    _literal("a non-ASCII byte", b"(caf\xe9)", Decoder.FAST),
    _literal("raw UTF-16BE bytes", b"(" + "\ufeffSigné".encode("utf-16-be") + b")", Decoder.FAST),
    _literal("bytes that are no text", b"(\x00\x9f\xff\x7f)", Decoder.FAST),
    _literal("an unterminated literal", b"(abc", Decoder.ERROR),
    Vector(
        "a literal that is the whole object",
        (b"3 0 obj\n" + rb"(D\07220261125170939Z)" + b"\nendobj",),
        Decoder.FAST,
    ),
    Vector(
        "literals packed in an array",
        (b"3 0 obj\n<</Kids[(a)(b\\)c)(\\101)5(d)6 0 R(e)]/M(x)>>endobj",),
        Decoder.FAST,
    ),
    Vector(
        # Printable ASCII decodes to itself (PDFDocEncoding); the bytes around it do not.
        "every byte value alone, as an octal escape and as hex",
        (
            b"3 0 obj\n<< /Kids ["
            + b"".join(b"(\\%03o)<%02x>" % (value, value) for value in range(256))
            + b"] >>\nendobj",
        ),
        Decoder.FAST,
    ),
    Vector(
        "printable ASCII in one literal",
        (
            b"3 0 obj\n<< /Reason ("
            + bytes(range(0x20, 0x7F))
            .replace(b"\\", b"\\\\")
            .replace(b"(", b"\\(")
            .replace(b")", b"\\)")
            + b") >>\nendobj",
        ),
        Decoder.FAST,
    ),
    Vector(
        "a literal beside a long hex string",
        (b"3 0 obj\n<< /Contents " + _hex(UPPER) + b" /Name (\\376\\377\\000A) >>\nendobj",),
        Decoder.FAST,
    ),
]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("vector", VECTORS + LITERALS, ids=lambda v: v.name)
def test_hand_built_objects_read_as_pyhanko_reads_them(vector: Vector, strict: bool) -> None:
    fast, plain = both_readers(one_revision_pdf(*vector.objects), strict=strict)
    mine, theirs = read_or_error(fast, SIG), read_or_error(plain, SIG)
    assert_read_alike(mine, theirs)
    if vector.path is Decoder.ERROR:
        assert isinstance(theirs, Exception)


def test_an_odd_number_of_digits_is_padded_with_a_zero() -> None:
    """PDF 32000 7.3.4.3: a missing final digit is taken as 0."""
    fast, _ = both_readers(one_revision_pdf(_sig(_hex(UPPER[:-1]))))
    assert fast.get_object(SIG)["/Contents"].original_bytes == DER[:-1] + bytes([DER[-1] & 0xF0])


def test_a_duplicate_key_keeps_the_first_value_leniently_and_is_an_error_strictly() -> None:
    objects = VECTORS[[v.name for v in VECTORS].index("duplicate /Contents")].objects
    lenient, _ = both_readers(one_revision_pdf(*objects))
    assert lenient.get_object(SIG)["/Contents"].original_bytes == DER
    strict, _ = both_readers(one_revision_pdf(*objects), strict=True)
    assert isinstance(read_or_error(strict, SIG), Exception)


# ---------------------------------------------------------------- which path is taken


def _count_calls(monkeypatch: pytest.MonkeyPatch, reader: str) -> list[int]:
    """Counts calls of one of pyHanko's character-by-character string readers."""
    calls: list[int] = []
    original = getattr(generic, reader)

    def counting(stream: Any) -> Any:
        calls.append(stream.tell())
        return original(stream)

    monkeypatch.setattr(generic, reader, counting)
    return calls


@pytest.fixture
def hex_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return _count_calls(monkeypatch, "read_hex_string_from_stream")


@pytest.fixture
def literal_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return _count_calls(monkeypatch, "read_string_from_stream")


_TOKENIZER_CASES = [
    *(
        pytest.param(v, "read_hex_string_from_stream", id=f"hex: {v.name}")
        for v in VECTORS
        if v.path in (Decoder.FAST, Decoder.PYHANKO)
    ),
    *(
        pytest.param(v, "read_string_from_stream", id=f"literal: {v.name}")
        for v in LITERALS
        if v.path in (Decoder.FAST, Decoder.PYHANKO)
    ),
]


@pytest.mark.parametrize(("vector", "reader"), _TOKENIZER_CASES)
def test_strings_read_fast_skip_pyhankos_tokenizer_and_others_use_it(
    vector: Vector, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The speed-up is real for a plain signature dictionary: its /Contents, dates,
    reasons and titles are read in one pass. A hex string with whitespace or a comment
    inside, a literal with nested parentheses, or an object the fast reader declines, is
    read by pyHanko."""
    fast = FastObjectReader(io.BytesIO(one_revision_pdf(*vector.objects)), strict=False)
    calls = _count_calls(monkeypatch, reader)
    obj = fast.get_object(SIG)
    assert isinstance(obj, generic.PdfObject)
    if vector.path is Decoder.FAST:
        assert calls == []
    else:
        assert calls


@pytest.mark.parametrize(
    "text",
    ["签署 Signed (v2)", "D:20261125170939Z", "a (b) c", "back\\slash", "tab\tand\nline", "€uro"],
)
def test_text_as_pyhanko_writes_it_reads_back_fast(text: str, literal_reads: list[int]) -> None:
    """What our signer writes in /Reason, /Name or /M is read back as the very text, and
    without pyHanko's tokenizer: these strings are in every document we verify."""
    data = one_revision_pdf(b"3 0 obj\n<< /Type /Sig /Reason " + _written(text) + b" >>\nendobj")
    fast = FastObjectReader(io.BytesIO(data), strict=False)
    literal_reads.clear()
    assert str(fast.get_object(SIG)["/Reason"]) == text
    assert literal_reads == []


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS + LITERALS if v.path is Decoder.FAST], ids=lambda v: v.name
)
def test_objects_read_fast_belong_to_their_own_reference(vector: Vector) -> None:
    """pyHanko finds the object to rewrite in an incremental update via container_ref."""
    fast = FastObjectReader(io.BytesIO(one_revision_pdf(*vector.objects)), strict=False)
    obj = fast.get_object(SIG)
    assert obj.container_ref == SIG and obj.container_ref.pdf is fast
    values = dict.values(obj) if isinstance(obj, generic.DictionaryObject) else ()
    for value in values:
        assert value.container_ref == SIG and value.container_ref.pdf is fast


def test_an_incremental_update_rewrites_the_object_a_fast_string_came_from() -> None:
    """What signing on top of a document does: read from the reader, then let pyHanko
    find through container_ref which object the changed value must be rewritten in. The
    revision is appended in place, to the very stream the reader read (the fast path must
    leave it writable)."""
    stream = io.BytesIO(one_revision_pdf(_sig(_hex(UPPER))))
    reader = FastObjectReader(stream, strict=False)
    writer = IncrementalPdfFileWriter(stream, prev=reader)
    sig = reader.get_object(SIG)
    sig["/M"] = generic.pdf_string("D:20270101120000Z")
    writer.update_container(sig["/Contents"])
    writer.write_in_place()

    after = PdfFileReader(io.BytesIO(stream.getvalue()), strict=False)
    assert after.xrefs.total_revisions == 2
    assert SIG in after.xrefs.explicit_refs_in_revision(1)
    rewritten = after.get_object(SIG)
    assert rewritten["/M"] == "D:20270101120000Z"
    assert rewritten["/Contents"].original_bytes == DER


def test_an_encrypted_file_is_decrypted_not_read_fast(hex_reads: list[int]) -> None:
    """Strings in an encrypted file are ciphertext in hex: decoding them raw would be wrong."""
    writer = PdfFileWriter(stream_xrefs=False)
    ref = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Sig"),
                generic.pdf_name("/Contents"): generic.ByteStringObject(DER),
            }
        )
    ).reference
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()

    fast, plain = both_readers(data)
    for reader in (fast, plain):
        reader.decrypt("user-secret")
    hex_reads.clear()
    mine = fast.get_object(ref)
    assert hex_reads
    assert mine["/Contents"].original_bytes == DER
    assert mine == plain.get_object(ref)


# ---------------------------------------------------------------- known divergences


def test_a_stream_length_read_mid_object_does_not_move_the_reader() -> None:
    """An indirect /Length not yet in the cache is read while the stream is parsed; the
    bytes read as the payload must still be those after this object's ``stream``
    keyword, not whatever follows the length object (a decoy there is not a payload)."""
    data = one_revision_pdf(
        b"3 0 obj\n<< /Contents " + _hex(UPPER) + b" /Length 4 0 R >>\n"
        b"stream\nREALXendstream\nendobj",
        b"4 0 obj 5 endobjDECOYendstream\nendobj",
    )
    fast, plain = both_readers(data)
    assert plain.get_object(SIG).encoded_data == b"REALX"
    assert fast.get_object(SIG).encoded_data == b"REALX"


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _reads_until_recursion_stops(reader: PdfFileReader) -> int:
    """How many indirect-object reads ``get_object`` makes on object 3 before giving up,
    with 100 frames of stack left (so that the count is the same on every run)."""
    calls = 0
    read = reader._read_object

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return read(*args, **kwargs)

    reader._read_object = counting  # type: ignore[method-assign]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 100)
    try:
        reader.get_object(SIG)
    except (RecursionError, PdfError):
        pass
    finally:
        sys.setrecursionlimit(limit)
    return calls


def test_a_stream_whose_length_is_itself_costs_what_it_costs_pyhanko() -> None:
    """``/Length 3 0 R`` inside object 3: pyHanko recurses to the stack limit and stops
    (open_pdf reports a nesting limit). Each level must not be tried twice, fast and
    then again through pyHanko, or the work doubles per level and open_pdf never ends
    on a 400-byte file."""
    data = one_revision_pdf(b"3 0 obj\n<< /Length 3 0 R >>\nstream\nabcdeendstream\nendobj")
    fast, plain = both_readers(data)
    assert _reads_until_recursion_stops(fast) <= 2 * _reads_until_recursion_stops(plain) + 4


# ---------------------------------------------------------------- property


def hex_strings(*, long: bool) -> st.SearchStrategy[bytes]:
    """Any case, odd or even, binary or UTF-16 text, sometimes broken by whitespace, a
    comment or a non-hex character (which must send the reader back to pyHanko's path).
    Long ones are drawn around the 256-digit threshold and above it."""
    sizes = st.integers(126, 300) if long else st.integers(0, 20)

    @st.composite
    def strings(draw: st.DrawFn) -> bytes:
        size = draw(sizes)
        binary = st.binary(min_size=size, max_size=size)
        text = st.text(min_size=size // 2, max_size=size // 2).map(
            lambda t: ("\ufeff" + t).encode("utf-16-be", "surrogatepass")
        )
        digits = draw(st.one_of(binary, text)).hex()
        if digits and draw(st.booleans()):
            digits = digits[:-1]
        upper_every = draw(st.integers(0, 3))
        digits = "".join(
            c.upper() if upper_every and i % upper_every == 0 else c for i, c in enumerate(digits)
        )
        if draw(st.integers(0, 3)) == 0:
            at = draw(st.integers(0, len(digits)))
            digits = digits[:at] + draw(st.sampled_from([" ", "\n", "%c\n", "g"])) + digits[at:]
        return ("<" + digits + ">").encode()

    return strings()


_ESCAPES = st.one_of(
    st.sampled_from([b"\\" + bytes([c]) for c in b"nrtbf() /%<>[]#_&$\\"]),
    st.text("01234567", min_size=1, max_size=3).map(lambda d: b"\\" + d.encode()),
    st.sampled_from([b"\r", b"\n", b"\r\n", b"\n\n", b"\n\r", b"\r\r", b"\r\n\n"]).map(
        lambda eol: b"\\" + eol
    ),
)
# Pieces of a literal pyHanko reads; a digit after a short octal escape may still break it.
_WELL_FORMED_PIECES = st.one_of(
    st.binary(max_size=6).map(lambda b: bytes(c for c in b if c not in b"()\\")),
    st.sampled_from([b"a", b"0", b"7", b"8", b"9", b" ", b"\r", b"\n", b"\xe9"]),
    _ESCAPES,
)
_ANY_PIECES = st.one_of(
    _WELL_FORMED_PIECES,
    # Anything: now and then an unescaped parenthesis or a lone backslash.
    st.binary(max_size=6),
    st.sampled_from([b"(", b")", b"\\"]),
    # Octal runs with 8 or 9 in them, values over 255, escapes pyHanko does not know.
    st.text("0123456789", min_size=1, max_size=3).map(lambda d: b"\\" + d.encode()),
    st.binary(min_size=1, max_size=1).map(lambda c: b"\\" + c),
)


@st.composite
def literal_strings(draw: st.DrawFn) -> bytes:
    """Text as pyHanko writes it, or bytes mixed with escapes of every kind, sometimes
    nested in balanced parentheses; one in three malformed: an escape pyHanko rejects,
    a parenthesis too many, a backslash before the closing parenthesis or none at all."""
    if draw(st.integers(0, 4)) == 0:
        return _written(draw(st.text(max_size=12)))
    wild = draw(st.integers(0, 2)) == 0
    pieces = draw(st.lists(_ANY_PIECES if wild else _WELL_FORMED_PIECES, max_size=8))
    if pieces and draw(st.integers(0, 4)) == 0:
        start = draw(st.integers(0, len(pieces) - 1))
        end = draw(st.integers(start, len(pieces)))
        pieces = [*pieces[:start], b"(", *pieces[start:end], b")", *pieces[end:]]
    close = draw(st.sampled_from([b")", b")", b"\\)", b""])) if wild else b")"
    return b"(" + b"".join(pieces) + close


_SCALARS = st.one_of(
    st.sampled_from([b"/Sig", b"/Adobe.PPKLite", b"true", b"null", b"(D:2026)", b"5 0 R"]),
    st.integers(-(10**6), 10**6).map(lambda n: b"%d" % n),
    st.sampled_from([b"0.5", b"-.25", b"3.", b"+7", b"007", b"1.2.3", b"/A#20B", b"truex"]),
    hex_strings(long=False),
    hex_strings(long=True),
    literal_strings(),
)
_KEYS = st.sampled_from([b"/Type", b"/Contents", b"/Cert", b"/M", b"/ByteRange"])


def _dictionary(entries: list[tuple[bytes, bytes]], separator: bytes) -> bytes:
    return b"<<" + separator + separator.join(k + b" " + v for k, v in entries) + separator + b">>"


_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: b"[" + b" ".join(xs) + b"]"),
        st.lists(st.tuples(_KEYS, inner), max_size=2).map(lambda es: _dictionary(es, b" ")),
    ),
    max_leaves=4,
)


@st.composite
def indirect_dictionaries(draw: st.DrawFn) -> bytes:
    """A few entries, usually with a long /Contents string among them (the case the fast
    path is for), sometimes a duplicate key, a stream or no endobj after it."""
    entries = draw(st.lists(st.tuples(_KEYS, _VALUES), max_size=4))
    if draw(st.integers(0, 4)):
        at = draw(st.integers(0, len(entries)))
        entries.insert(at, (b"/Contents", draw(hex_strings(long=True))))
    separator = draw(st.sampled_from([b" ", b"\n", b"\r\n", b" %note\n"]))
    end = draw(
        st.sampled_from(
            [
                b"\nendobj",
                b" endobj",
                b"endobj",
                b"\rendobj",
                b"",
                b"\nstream\nabc\nendstream\nendobj",
            ]
        )
    )
    return b"3 0 obj\n" + _dictionary(entries, separator) + end


@settings(max_examples=150, deadline=None)
@given(obj=indirect_dictionaries(), strict=st.booleans())
def test_generated_dictionaries_read_as_pyhanko_reads_them(obj: bytes, strict: bool) -> None:
    fast, plain = both_readers(one_revision_pdf(obj), strict=strict)
    assert_read_alike(read_or_error(fast, SIG), read_or_error(plain, SIG))


@settings(max_examples=300, deadline=None)
@given(literal=literal_strings(), strict=st.booleans())
def test_generated_literal_strings_read_as_pyhanko_reads_them(literal: bytes, strict: bool) -> None:
    """Each literal as a /Reason between two other entries, so that a string ended too
    early or too late leaves the rest of the dictionary to be read wrong the same way."""
    fast, plain = both_readers(
        one_revision_pdf(b"3 0 obj\n<< /Type /Sig /Reason " + literal + b" /M (D:2026) >>\nendobj"),
        strict=strict,
    )
    assert_read_alike(read_or_error(fast, SIG), read_or_error(plain, SIG))


# ---------------------------------------------------------------- object streams
#
# Objects in object streams (PDF 32000 7.5.7) are read from the stream's decoded data, its
# header of (object number, offset) pairs read once per definition of the stream. pyHanko
# reads them leniently (an index out of range, a header it cannot read, an object it
# cannot parse: null) and hands back a stream or a reference found there as it is; every
# test reads the same bytes through both readers.


def _xref_stream_pdf(plain: dict[int, bytes], compressed: dict[int, tuple[int, int]]) -> bytes:
    """One revision indexed by a cross-reference stream: a catalog (1), an empty page tree
    (2), the ``plain`` objects (number: what stands between ``N 0 obj`` and ``endobj``)
    and, listed as in object streams, the ``compressed`` ones (number: object stream
    number and index), whether or not that stream holds them."""
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [] /Count 0 >>",
        **plain,
    }
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number, body in sorted(bodies.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = max([*offsets, *compressed]) + 1
    offsets[xref] = len(out)
    rows = bytearray()
    for number in range(xref + 1):
        if number in compressed:
            rows += (
                bytes([2]) + compressed[number][0].to_bytes(4) + compressed[number][1].to_bytes(2)
            )
        elif number in offsets:
            rows += bytes([1]) + offsets[number].to_bytes(4) + bytes(2)
        else:
            rows += bytes([0]) + bytes(4) + (65535 if number == 0 else 0).to_bytes(2)
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % (
        xref,
        xref + 1,
        len(rows),
    )
    out += rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[xref]
    return bytes(out)


def _object_stream(
    header: bytes,
    body: bytes,
    *,
    n: int | None = None,
    first: int | None = None,
    dictionary: bytes | None = None,
) -> bytes:
    """An uncompressed object stream: ``header`` then ``body``; /N counts the header's
    pairs and /First is the header's length unless given, ``dictionary`` replaces both
    and /Type."""
    if dictionary is None:
        dictionary = b"/Type /ObjStm /N %d /First %d" % (
            len(header.split()) // 2 if n is None else n,
            len(header) if first is None else first,
        )
    data = header + body
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def _packed(objects: list[bytes], separator: bytes = b" ") -> bytes:
    """``objects`` as a writer packs them: numbered 10, 11, ... in order, each at the
    offset its pair says, ``separator`` between them (pyHanko's writer puts nothing)."""
    pairs, offset = [], 0
    for number, obj in enumerate(objects, start=10):
        pairs.append(b"%d %d" % (number, offset))
        offset += len(obj) + len(separator)
    return _object_stream(b" ".join(pairs) + b" ", separator.join(objects))


def _entries(count: int, stream: int = 3) -> dict[int, tuple[int, int]]:
    """Objects 10, 11, ... at indexes 0, 1, ... of ``stream``, and 30 at index 0 though
    the header does not name it."""
    return {10 + index: (stream, index) for index in range(count)} | {30: (stream, 0)}


@dataclass(frozen=True)
class Packed:
    """An object stream as object 3, the objects the cross-reference stream says are in
    it (or in another object), and any other objects it needs."""

    name: str
    stream: bytes
    entries: dict[int, tuple[int, int]]
    plain: tuple[tuple[int, bytes], ...] = ()

    def pdf(self) -> bytes:
        return _xref_stream_pdf({3: self.stream, **dict(self.plain)}, self.entries)


def _packs(name: str, *objects: bytes, separator: bytes = b" ") -> Packed:
    return Packed(name, _packed(list(objects), separator), _entries(len(objects) + 1))


# Each vector's objects are read through both readers, strictly and leniently, indexes
# beyond /N included.
OBJECT_STREAMS = [
    _packs("plain objects", b"<< /Type /Annot /Rect [0 0 1 1] >>", b"[1 2.5 /A]", b"(text)"),
    _packs(
        "objects packed as pyHanko packs them",
        b"1",
        b"2",
        b"/A",
        b"true",
        b"<<>>",
        b"3",
        b"[]",
        separator=b"",
    ),
    _packs("a reference spanning two objects", b"5", b"0", b"R", b"[5 0 R]"),
    _packs("a reference that is the object", b"5 0 R", b"<< /P 5 0 R >>"),
    _packs("a reference at the very end of the data", b"(a)", b"5 0 R", separator=b""),
    _packs("a reference too long to be seen as one", b"1 0000000000000000000 R", b"1"),
    _packs("a stream as the object", b"<< /Length 3 >>\nstream\nabc\nendstream", b"(x)"),
    _packs("a dictionary followed by 'stream' without payload", b"<< /A 1 >>", b"streamy"),
    _packs("a comment where the object starts", b"%note\n<< /A 1 >>", b"/B"),
    _packs("a comment after the last object", b"/A", b"<< /B 2 >> %trailing"),
    _packs(
        "a comment between a dictionary and stream", b"<< /Length 1 >> %c\nstream\nx\nendstream"
    ),
    _packs("whitespace where the object starts", b" /A", b"\n1"),
    _packs("a duplicate key", b"<< /A 1 /A 2 >>", b"(b)"),
    _packs("a key without a value", b"<< /A >>", b"/B"),
    _packs("nested parentheses", b"(a(b)c)", b"/B"),
    _packs("a bad hex string", b"<A0G1>", b"<A0>"),
    _packs("an unterminated array", b"[1 2", b"3"),
    _packs("a name with an escape", b"/A#20B", b"/C"),
    _packs("null and booleans", b"null", b"true", b"false", separator=b"\n"),
    _packs("numbers", b"+7", b"-.5", b"007", b"1.2.3", b"4,5"),
    Packed("an empty stream", _object_stream(b"", b"", n=0), _entries(1)),
    Packed(
        "/N larger than the header", _object_stream(b"10 0 11 3 ", b"12 3 [5]", n=4), _entries(5)
    ),
    Packed(
        "/N smaller than the header",
        _object_stream(b"10 0 30 2 12 4 ", b"/A/B/C", n=1),
        _entries(3),
    ),
    Packed("/N zero", _object_stream(b"10 0 ", b"/A", n=0), _entries(2)),
    Packed("/N negative", _object_stream(b"10 0 ", b"/A", n=-1), _entries(2)),
    Packed("offsets out of order", _object_stream(b"10 6 11 0 12 3 ", b"/A /B /C"), _entries(4)),
    Packed("an offset beyond the data", _object_stream(b"10 0 11 999 ", b"/A"), _entries(3)),
    Packed("an offset inside a token", _object_stream(b"10 0 11 2 ", b"<< /A 1 >>"), _entries(3)),
    Packed("an object named twice", _object_stream(b"10 0 10 3 11 6 ", b"/A /B /C"), _entries(3)),
    Packed("leading zeros", _object_stream(b"010 0 0011 03 ", b"/A /B"), _entries(3)),
    Packed(
        "every kind of whitespace", _object_stream(b"10\x000\x0c11\t3\r\n", b"/A /B"), _entries(3)
    ),
    Packed("no whitespace before the body", _object_stream(b"10 0 11 3", b"/A /B"), _entries(3)),
    Packed(
        "a header that is the whole data", _object_stream(b"10 0 11 3", b"", first=0), _entries(3)
    ),
    Packed("a letter in the header", _object_stream(b"10 0 x 3 11 6 ", b"/A /B /C"), _entries(3)),
    # Digits followed by a letter: no pair to find by splitting the digits ("31 1").
    Packed(
        "a letter where an offset belongs",
        _object_stream(b"10 0 311 x ", b"[1] /B", n=2),
        _entries(2) | {31: (3, 1)},
    ),
    Packed(
        "a comment before the header", _object_stream(b"%c\n10 0 ", b"/A", first=8), _entries(2)
    ),
    Packed("a real offset", _object_stream(b"10 0 11 3.0 ", b"/A /B"), _entries(3)),
    Packed("a signed number", _object_stream(b"10 0 +11 3 ", b"/A /B"), _entries(3)),
    Packed("a negative offset", _object_stream(b"10 0 11 -3 ", b"/A /B"), _entries(3)),
    Packed("a comma in the header", _object_stream(b"10,0 11 3 ", b"/A /B"), _entries(3)),
    Packed("a comment in the header", _object_stream(b"10 0 %c\n11 3 ", b"/A /B"), _entries(3)),
    Packed("a comment ending the header", _object_stream(b"10 0 11 3 %c\n", b"/A /B"), _entries(3)),
    Packed(
        "an odd number of header numbers", _object_stream(b"10 0 11 ", b"/A /B", n=2), _entries(3)
    ),
    Packed(
        "a number longer than int() takes",
        _object_stream(b"10 0 " + b"1" * 5000 + b" 3 ", b"/A /B"),
        _entries(3),
    ),
    Packed("/First beyond the data", _object_stream(b"10 0 ", b"/A", first=99), _entries(2)),
    Packed("/First negative", _object_stream(b"10 0 11 7 ", b"/A /B", first=-5), _entries(3)),
    Packed(
        "/First inside the header", _object_stream(b"10 0 11 3 ", b"/A /B", first=2), _entries(3)
    ),
    Packed(
        "/N and /First indirect",
        _object_stream(b"", b"10 0 11 3 /A /B", dictionary=b"/Type /ObjStm /N 4 0 R /First 5 0 R"),
        _entries(3),
        ((4, b"2"), (5, b"10")),
    ),
    Packed(
        "/N a real",
        _object_stream(b"", b"10 0 /A", dictionary=b"/Type /ObjStm /N 1.0 /First 5"),
        _entries(2),
    ),
    Packed(
        "/First a real",
        _object_stream(b"", b"10 0 /A", dictionary=b"/Type /ObjStm /N 1 /First 5.0"),
        _entries(2),
    ),
    Packed(
        "no /N", _object_stream(b"", b"10 0 /A", dictionary=b"/Type /ObjStm /First 5"), _entries(2)
    ),
    Packed(
        "no /First", _object_stream(b"", b"10 0 /A", dictionary=b"/Type /ObjStm /N 1"), _entries(2)
    ),
    Packed("no /Type", _object_stream(b"", b"10 0 /A", dictionary=b"/N 1 /First 5"), _entries(2)),
    Packed(
        "a stream of another /Type",
        _object_stream(b"", b"10 0 /A", dictionary=b"/Type /XObject /N 1 /First 5"),
        _entries(2),
    ),
    Packed(
        "/Type a string",
        _object_stream(b"", b"10 0 /A", dictionary=b"/Type (/ObjStm) /N 1 /First 5"),
        _entries(2),
    ),
    Packed(
        "/Type indirect",
        _object_stream(b"", b"10 0 /A", dictionary=b"/Type 4 0 R /N 1 /First 5"),
        _entries(2),
        ((4, b"/ObjStm"),),
    ),
    Packed(
        "an object stream that is not a stream", b"<< /Type /ObjStm /N 1 /First 5 >>", _entries(2)
    ),
    Packed(
        "objects said to be in the page tree",
        _object_stream(b"10 0 ", b"/A"),
        _entries(2, stream=2),
    ),
    Packed(
        "objects said to be in a missing object",
        _object_stream(b"10 0 ", b"/A"),
        _entries(2, stream=9),
    ),
]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("vector", OBJECT_STREAMS, ids=lambda v: v.name)
def test_objects_in_hand_built_object_streams_read_as_pyhanko_reads_them(
    vector: Packed, strict: bool
) -> None:
    """Read current (then from the reader's cache) and as of the one revision (not cached)."""
    fast, plain = both_readers(vector.pdf(), strict=strict)
    for revision in (None, None, 0):
        for number in vector.entries:
            ref = generic.Reference(number, 0)
            assert_read_alike(
                read_or_error(fast, ref, revision), read_or_error(plain, ref, revision)
            )


@settings(max_examples=150, deadline=None)
@given(
    objects=st.lists(_VALUES, min_size=1, max_size=5),
    separator=st.sampled_from([b"", b" ", b"\n", b"\r\n"]),
    strict=st.booleans(),
)
def test_generated_objects_in_an_object_stream_read_as_pyhanko_reads_them(
    objects: list[bytes], separator: bytes, strict: bool
) -> None:
    """The values of the uncompressed-object property, packed into one stream, with nothing
    between them at times: a value may then run on into the next one as pyHanko reads it."""
    data = _xref_stream_pdf({3: _packed(objects, separator)}, _entries(len(objects) + 1))
    fast, plain = both_readers(data, strict=strict)
    for number in _entries(len(objects) + 1):
        ref = generic.Reference(number, 0)
        assert_read_alike(read_or_error(fast, ref), read_or_error(plain, ref))


_HEADER_PIECES = st.sampled_from(
    [b"10", b"11", b"12", b"0", b"3", b"6", b" ", b"\n", b"\x00", b"%c\n", b"x", b".", b"+", b"-"]
)


@settings(max_examples=200, deadline=None)
@given(
    header=st.lists(_HEADER_PIECES, max_size=14).map(b"".join),
    body=st.lists(_VALUES, max_size=3).map(b" ".join),
    count=st.integers(-1, 6),
    first=st.integers(-3, 30),
    strict=st.booleans(),
)
def test_generated_object_stream_headers_read_as_pyhanko_reads_them(
    header: bytes, body: bytes, count: int, first: int, strict: bool
) -> None:
    """Headers of numbers, whitespace, comments and junk, any /N and /First."""
    entries = _entries(7)
    data = _xref_stream_pdf({3: _object_stream(header, body, n=count, first=first)}, entries)
    fast, plain = both_readers(data, strict=strict)
    for number in entries:
        ref = generic.Reference(number, 0)
        assert_read_alike(read_or_error(fast, ref), read_or_error(plain, ref))


def _in_stream(
    writer: IncrementalPdfFileWriter, objects: dict[int, generic.PdfObject], number: int | None
) -> None:
    """Puts ``objects`` (existing object numbers) in a new object stream, or in a new
    definition of object stream ``number``: pyHanko's writer has no call for either."""
    stream = writer.prepare_object_stream()
    for idnum, obj in objects.items():
        stream.add_object(idnum, obj)
        writer.objs_in_streams[idnum] = obj
    if number is not None:
        writer.objects[(0, number)] = stream.as_pdf_object()
        stream.ref = generic.IndirectObject(number, 0, writer)


def _with_streams(*streams: list[generic.PdfObject], compress: bool = True) -> bytes:
    """A document by pyHanko's writer with each list of objects in an object stream."""
    writer = PdfFileWriter(stream_xrefs=True)
    for objects in streams:
        stream = writer.prepare_object_stream(compress=compress)
        for obj in objects:
            writer.add_object(obj, obj_stream=stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _updated(data: bytes, change: Callable[[IncrementalPdfFileWriter], object]) -> bytes:
    """``data`` with an incremental update made by ``change(writer)``."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    # A new object stream joins the writer's objects only as it writes: without this an
    # update that only fills one would not be written at all.
    writer._force_write_when_empty = True
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _compressed(reader: PdfFileReader) -> list[generic.Reference]:
    """The objects the reader now finds in object streams."""
    xrefs = reader.xrefs
    refs = set().union(*map(xrefs.explicit_refs_in_revision, range(xrefs.total_revisions)))
    return sorted(
        (ref for ref in refs if isinstance(xrefs[ref], ObjStreamRef)), key=lambda r: r.idnum
    )


_NAMES = st.text(max_size=6).map(lambda t: generic.NameObject("/" + t))
_PDF_VALUES = st.recursive(
    st.one_of(
        st.integers(-(10**9), 10**9).map(generic.NumberObject),
        st.decimals(-1000, 1000, places=3).map(generic.FloatObject),
        st.booleans().map(generic.BooleanObject),
        st.builds(generic.NullObject),
        st.text(max_size=12).map(generic.TextStringObject),
        st.binary(max_size=40).map(generic.ByteStringObject),
        _NAMES,
        st.builds(generic.IndirectObject, st.integers(1, 40), st.just(0), st.none()),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(generic.ArrayObject),
        st.dictionaries(_NAMES, inner, max_size=4).map(generic.DictionaryObject),
    ),
    max_leaves=8,
)
# A reference cannot stand for an object in a stream.
_STORED = _PDF_VALUES.filter(lambda v: not isinstance(v, generic.IndirectObject))


@st.composite
def histories(draw: st.DrawFn) -> bytes:
    """Objects in two object streams (pyHanko's writer), then one to three updates that
    rewrite some of them: into a new definition of either stream (under its number, so a
    stream may lose objects it still indexes, and objects move between streams), into a
    new stream, or out of streams into the file."""
    count = draw(st.integers(2, 8))
    values = draw(st.lists(_STORED, min_size=count, max_size=count))
    data = _with_streams(values[::2], values[1::2], compress=draw(st.booleans()))
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    objects = _compressed(reader)
    streams = sorted({reader.xrefs[ref].obj_stream_id for ref in objects})
    for _ in range(draw(st.integers(1, 3))):
        moves: dict[object, dict[int, generic.PdfObject]] = {}
        for ref in objects:
            where = draw(st.sampled_from(["stays", "stays", *streams, "a new stream", "the file"]))
            if where != "stays":
                moves.setdefault(where, {})[ref.idnum] = draw(_STORED)

        def change(writer: IncrementalPdfFileWriter, moves: dict[object, Any] = moves) -> None:
            for where, moved in moves.items():
                if where == "the file":
                    for idnum, value in moved.items():
                        writer.objects[(0, idnum)] = value
                else:
                    _in_stream(writer, moved, where if isinstance(where, int) else None)

        data = _updated(data, change)
    return data


@settings(max_examples=60, deadline=None)
@given(data=histories())
def test_object_streams_rewritten_in_updates_read_as_pyhanko_reads_them(data: bytes) -> None:
    """Every object as of every revision, and as it is now."""
    _assert_documents_read_alike(data, *both_readers(data), signatures=0)


def test_a_historical_read_finds_the_object_in_the_streams_newest_definition() -> None:
    """pyHanko 0.38 looks an object up in whatever definition of its stream the reader
    holds now, even when asked for an older revision: after an update that redefines the
    stream, object x as of revision 0 reads as rewritten and y, no longer in the stream, as
    null. The fast reader must do the same (were pyHanko to read the stream as of the
    revision, this test and the property above would say so)."""
    data = _with_streams([generic.pdf_string("x0"), generic.NumberObject(5)])
    x, y = _compressed(PdfFileReader(io.BytesIO(data), strict=False))
    stream = PdfFileReader(io.BytesIO(data), strict=False).xrefs[x].obj_stream_id
    data = _updated(data, lambda w: _in_stream(w, {x.idnum: generic.pdf_string("x1")}, stream))
    fast, plain = both_readers(data)
    for reader in (fast, plain):
        assert reader.get_object(x, revision=0) == "x1"
        assert isinstance(reader.get_object(y, revision=0), generic.NullObject)
    for ref in (x, y):
        assert_read_alike(read_or_error(fast, ref, 0), read_or_error(plain, ref, 0))
        assert_read_alike(read_or_error(fast, ref), read_or_error(plain, ref))


def test_a_stream_replaced_in_the_readers_cache_is_read_afresh() -> None:
    """A header read belongs to the stream object it was read from: once the reader's cache
    holds another object under the stream's number (``cache_indirect_object`` is pyHanko's
    API), pyHanko reads the objects from that one, and so must the fast reader."""
    fast, plain = both_readers(_with_streams([generic.pdf_string("a")]))
    others = both_readers(_with_streams([generic.pdf_string("b")]))
    (ref,) = _compressed(plain)
    number = plain.xrefs[ref].obj_stream_id
    for reader, other in zip((fast, plain), others, strict=True):
        assert reader.get_object(ref, revision=0) == "a"
        reader.cache_indirect_object(0, number, other.get_object(generic.Reference(number)))
    assert_read_alike(read_or_error(fast, ref, 0), read_or_error(plain, ref, 0))
    assert fast.get_object(ref, revision=0) == "b"


def _count(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    """Counts calls of ``owner.name``."""
    calls: list[object] = []
    original = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_the_header_of_a_500_object_stream_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyHanko re-reads the header up to the object's pair for every object; read once,
    and every object read fast, it is read once for all of them."""
    values = [
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
                generic.pdf_name("/T"): generic.pdf_string(f"field {index}"),
                generic.pdf_name("/Rect"): generic.ArrayObject(
                    map(generic.NumberObject, (0, 0, index, 9))
                ),
            }
        )
        for index in range(500)
    ]
    data = _with_streams(values)
    fast, plain = both_readers(data)
    headers = _count(monkeypatch, fastread, "_read_header")
    fallbacks = _count(monkeypatch, FastObjectReader, "_get_object_from_stream")
    refs = _compressed(plain)
    assert len(refs) == 500
    for ref in refs:
        assert_read_alike(read_or_error(fast, ref), read_or_error(plain, ref))
    assert len(headers) == 1
    assert fallbacks == []


@needs_interop
@pytest.mark.parametrize(
    "name", ["belgian_pki_multiple_ocsps_lt.pdf", "modified_after_signature.pdf"]
)
def test_real_world_object_streams_are_read_fast(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files compare equal above; this says it was the fast reading that was compared."""
    fast = FastObjectReader(io.BytesIO((INTEROP / name).read_bytes()), strict=False)
    fallbacks = _count(monkeypatch, FastObjectReader, "_get_object_from_stream")
    compressed = [
        (ref, revision)
        for ref, revision in _every_definition(fast)
        if isinstance(fast.xrefs.get_historical_ref(ref, revision), ObjStreamRef)
    ]
    assert compressed
    for ref, revision in compressed:
        assert isinstance(fast.get_object(ref, revision=revision), generic.PdfObject)
    assert fallbacks == []


def test_each_object_stream_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many of its objects are read, now and as of past revisions."""
    data = _with_streams(
        [generic.NumberObject(n) for n in range(20)], [generic.pdf_string("s")] * 20
    )
    data = _updated(data, lambda w: w.add_object(generic.pdf_string("new")))
    fast = FastObjectReader(io.BytesIO(data), strict=False)
    decodes = _count(monkeypatch, filters.FlateDecode, "decode_bounded")
    for revision in (None, 0, 1, None):
        for ref in _compressed(fast):
            fast.get_object(ref, revision=revision)
    assert len(decodes) == 2


def test_an_object_stream_is_decoded_under_the_readers_object_stream_limit() -> None:
    """The reader's decode limits for object streams apply, as pyHanko applies them."""
    data = _with_streams([generic.pdf_string("x" * 500)])
    limits = DecodeLimits(
        per_purpose={DecodePurpose.OBJECT_STREAM: StreamDecodeLimits(max_output_size=100)}
    )
    fast = FastObjectReader(io.BytesIO(data), strict=False, decode_limits=limits)
    plain = PdfFileReader(io.BytesIO(data), strict=False, decode_limits=limits)
    (ref,) = _compressed(plain)
    mine, theirs = read_or_error(fast, ref), read_or_error(plain, ref)
    assert isinstance(theirs, PdfDecodeLimitError)
    assert_read_alike(mine, theirs)


def test_objects_in_an_encrypted_files_streams_are_left_to_pyhanko(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fast path's /Encrypt rule holds for object streams too."""
    writer = PdfFileWriter(stream_xrefs=True)
    stream = writer.prepare_object_stream()
    ref = writer.add_object(generic.pdf_string("secret"), obj_stream=stream).reference
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    fast, plain = both_readers(out.getvalue())
    for reader in (fast, plain):
        reader.decrypt("user-secret")
    fallbacks = _count(monkeypatch, FastObjectReader, "_get_object_from_stream")
    assert_read_alike(read_or_error(fast, ref), read_or_error(plain, ref))
    assert fast.get_object(ref) == "secret"
    assert fallbacks


@pytest.mark.parametrize(
    "data",
    [
        _xref_stream_pdf({3: _object_stream(b"3 0 ", b"/A")}, {3: (3, 0)}),
        _xref_stream_pdf(
            {4: b"<< /Type /ObjStm /N 1 /First 4 /Length 3 0 R >>\nstream\n3 0 7\nendstream"},
            {3: (4, 0)},
        ),
    ],
    ids=["object 3 is in stream 3", "stream 4's /Length is its object 3"],
)
def test_an_object_stream_that_needs_itself_costs_what_it_costs_pyhanko(data: bytes) -> None:
    """pyHanko recurses to the stack limit; each level must not be tried twice. Which error
    comes out depends on where the stack runs out (pyHanko turns a RecursionError inside a
    dictionary key into a PdfReadError), for pyHanko alone too."""
    for reader in both_readers(data):
        assert isinstance(read_or_error(reader, SIG), RecursionError | PdfError)
    fast, plain = both_readers(data)
    assert _reads_until_recursion_stops(fast) <= 2 * _reads_until_recursion_stops(plain) + 4
