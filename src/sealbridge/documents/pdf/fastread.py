"""Reading a PDF's indirect objects at regular-expression speed, as pyHanko reads them.

pyHanko's tokenizer reads one byte per call; reading the objects of a file was a third
of a verification, and most of the cost of judging each later revision. The reader mixin
here parses an uncompressed indirect object with a handful of regular expressions for
the tokens that make up nearly every object — names without escapes, integers and reals,
references, pure hex strings (a signature's /Contents is 8 to 40 thousand digits),
booleans, null, arrays and dictionaries — and hands every other value (literal strings,
escaped names, anything odd) to pyHanko's ``read_object`` at that position. Stream
payloads are read by pyHanko's own routine. A comment, a duplicate key or a token the
fast grammar does not match exactly sends the whole object to pyHanko, so the objects
returned are the ones pyHanko would return (tests/documents/test_pdf_fastread.py checks
this against pyHanko on real files and on generated ones).

Objects in object streams (PDF 32000 7.5.7, what Acrobat, Word, LibreOffice and DSS write)
cost pyHanko more still: for each one it re-reads the stream's header of (number, offset)
pairs with its tokenizer up to the object's pair, so the N objects of a stream cost O(N²)
tokens. Here the header of each definition of a stream is read once, by a regular
expression that stops where pyHanko's tokenizer would read anything but plain digits, and
the object at its offset is read as above. Whatever the fast reading does not cover (a
header read only in part, strict mode, an index out of range, a stream as the object) is
pyHanko's own ``_get_object_from_stream``'s to read.
"""

from __future__ import annotations

import binascii
import io
import re
from collections.abc import Callable
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.misc import PdfReadError, read_non_whitespace
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import ObjStreamRef, XRefCache

from sealbridge.documents.pdf.xref_index import IndexedXRefCache

_SKIP = re.compile(rb"[\x00\t\n\f\r ]*")
_HEADER = re.compile(rb"(\d+)[\x00\t\n\f\r ]+(\d+)[\x00\t\n\f\r ]+obj")
# A name pyHanko decodes to itself: regular ASCII characters, no '#' escape.
_REGULAR = bytes(c for c in range(0x21, 0x7F) if c not in b"()<>[]{}/%#")
# A token ends where pyHanko's tokenizer ends it: at whitespace, a delimiter or the end.
_ENDS = rb"(?=[\x00\t\n\f\r ()<>\[\]{}/%]|\Z)"
# One token after optional whitespace, one regular-expression call per token:
# - a reference as pyHanko tells it from a number (digits, whitespace, digits,
#   whitespace, R and no letter next);
# - a number ends before anything pyHanko would read as part of it ("+,-.0-9");
# - a hex string of hex digits only, a literal string without unescaped parentheses.
_TOKEN = re.compile(
    rb"[\x00\t\n\f\r ]*(?:"
    rb"(?P<name>/[" + re.escape(_REGULAR) + rb"]*)" + _ENDS + rb"|"
    rb"(?P<ref>\d+\s+\d+\s+R)(?=[^a-zA-Z])|"
    rb"(?P<real>[+-]?(?:\d+\.\d*|\.\d+))(?![+,\-.0-9])|"
    rb"(?P<int>[+-]?\d+)(?![+,\-.0-9])|"
    rb"(?P<open><<)|(?P<close>>>)|(?P<array>\[)|(?P<end>\])|"
    rb"(?P<hex><[0-9A-Fa-f]*>)|"
    rb"(?P<literal>\((?:[^()\\]|\\.)*\))|"
    rb"(?P<keyword>true|false|null)" + _ENDS + rb")",
    re.DOTALL,
)
# What a dictionary holds where a key belongs: a plain name, or the end.
_KEY = re.compile(
    rb"[\x00\t\n\f\r ]*(?:(/[" + re.escape(_REGULAR) + rb"]*)" + _ENDS + rb"|>>)", re.DOTALL
)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|[\r\n]{1,2}|.)", re.DOTALL)
# The rest of an array that holds only references, written plainly (one space inside
# each, a space or line break after): a page's /Annots, the form's /Fields, a /Kids list.
# Each reference is under pyHanko's 20-byte peek and numbers a real object (not 0), so
# the token loop would read it the same way; anything else takes the token loop.
_REFERENCES = re.compile(rb"[ \n\r]?((?:[1-9][0-9]{0,9} [0-9]{1,5} R(?:[ \n\r]|(?=\])))*)\]")
# A run of plain integers in an array (a font's /W, a /Rect, a /BBox), each followed by
# a space or line break, or by the bracket that ends or opens an array; none of them the
# first number of a reference (any whitespace, digits, any whitespace, R), which only the
# token loop reads as pyHanko does.
_INTEGERS = re.compile(
    rb"[ \n\r]*(?:-?[0-9]{1,18}(?![\s\x00]+[0-9]+[\s\x00]+R)(?:[ \n\r]|(?=[\]\[])))+"
)
_SIMPLE_ESCAPES = {c: bytes((c,)) for c in b"() /%<>[]#_&$\\"} | {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
}
# What writers emit nearly always, read without a look at what follows: a three-digit
# octal escape cannot run on into the next character, and a simple one never does.
_COMMON_ESCAPES = {b"\\%03o" % value: bytes((value,)) for value in range(256)} | {
    b"\\" + bytes((c,)): value for c, value in _SIMPLE_ESCAPES.items()
}
_KEYWORDS = {b"true": True, b"false": False, b"null": None}
_PRINTABLE = re.compile(rb"[\x20-\x7e]*")
# pyHanko peeks this many bytes to tell a reference from a number.
_REFERENCE_PEEK = 20
_MAX_DEPTH = 64
# One (object number, offset) pair of an object stream's header, as pyHanko's tokenizer
# reads it when both are plain digits: whitespace, a number ending at whitespace, one
# ending before anything its number reader would take ("+,-.0-9"), then the whitespace it
# skips before the next pair, which must neither end the data (pyHanko raises there) nor
# start a comment. Longer numbers than any writer needs are left to pyHanko (int() refuses
# 4300 digits).
_PAIR = re.compile(
    rb"[\x00\t\n\f\r ]*(\d{1,18})[\x00\t\n\f\r ]+(\d{1,18})(?![+,\-.0-9])"
    rb"[\x00\t\n\f\r ]*(?=[^%\x00\t\n\f\r ])"
)
# pyHanko reads an object in an object stream exactly at its offset: whitespace or a
# comment there (an error, or a comment skipped) or the end of the data is its business.
_NOT_AT_AN_OBJECT = b"\x00\t\n\f\r %"


class _NotFast(Exception):
    """The object is not one this reader reads exactly like pyHanko; pyHanko reads it."""


class FastObjectReader(PdfFileReader):
    """A ``PdfFileReader`` that parses unencrypted objects quickly: uncompressed ones,
    and those in object streams when it does not read strictly."""

    # Set while an object is being read: what that read needs in turn (a stream's
    # indirect /Length) is left to pyHanko, so a self-referencing length costs what it
    # costs pyHanko instead of a fast attempt and a retry at every level.
    _reading = False
    # The trailer whose /Encrypt entry was looked up, and whether it had none: pyHanko's
    # lookup walks every revision's trailer, which made each read cost the file's length.
    _checked_trailer: object = None
    _unencrypted = False
    # The object streams read so far, by object number (made on first use: the repairing
    # reader does not run this class's __init__).
    _object_streams: dict[int, _ObjectStream] | None = None
    # Where each definition read here ends, by where it starts (not streams: an indirect
    # /Length could make the same bytes read differently).
    _ends: dict[int, int] | None = None
    _xrefs: IndexedXRefCache

    @property
    def xrefs(self) -> IndexedXRefCache:
        return self._xrefs

    @xrefs.setter
    def xrefs(self, cache: XRefCache) -> None:
        # Whoever builds the reader (pyHanko's __init__ or the repairing reader) sets
        # the plain cache; every lookup then goes through the index.
        self._xrefs = cache if isinstance(cache, IndexedXRefCache) else IndexedXRefCache(cache)

    def _read_object(
        self,
        ref: generic.Reference,
        marker: Any,
        never_decrypt: bool = False,
        as_metadata_stream: bool = False,
    ) -> Any:
        try:
            return self._read_marked(ref, marker, never_decrypt, as_metadata_stream)
        except ArithmeticError as exc:
            # pyHanko reads a malformed number ("1.2.") with decimal.Decimal, whose
            # InvalidOperation none of its callers expect: it is an unreadable object.
            raise PdfReadError(
                f"object {ref.idnum} {ref.generation} holds a number that cannot be read"
            ) from exc

    def _read_marked(
        self,
        ref: generic.Reference,
        marker: Any,
        never_decrypt: bool,
        as_metadata_stream: bool,
    ) -> Any:
        if isinstance(marker, ObjStreamRef):
            # pyHanko neither decrypts nor reads as metadata an object in a stream; read
            # strictly, it checks each pair's index too, which is left to it.
            if not self.strict and self._is_unencrypted():
                return self._read_compressed(ref.idnum, marker)
        elif (
            not self._reading
            and isinstance(marker, int)
            and isinstance(self.stream, io.BytesIO)
            and self._is_unencrypted()
            and not as_metadata_stream
        ):
            self._reading = True
            container = generic.Reference(ref.idnum, ref.generation, self)
            try:
                with self.stream.getbuffer() as data:
                    found = _Parser(self, self.stream, data, container).indirect(marker)
                if not isinstance(found, generic.StreamObject):
                    if self._ends is None:
                        self._ends = {}
                    self._ends[marker] = self.stream.tell()
                return found
            except _NotFast:
                return super()._read_object(
                    ref, marker, never_decrypt=never_decrypt, as_metadata_stream=False
                )
            finally:
                self._reading = False
        return super()._read_object(
            ref, marker, never_decrypt=never_decrypt, as_metadata_stream=as_metadata_stream
        )

    def _read_compressed(self, idnum: int, marker: ObjStreamRef) -> Any:
        """Object ``idnum`` of an object stream, read from the stream's definition that
        pyHanko reads it from: the one the reader resolves the stream's number to now,
        even for a historical read (pyHanko 0.38 does not look up the stream's definition
        in the revision asked for). Nothing here is tried and then retried: an error
        fetching or decoding the stream is the one pyHanko raises for the same call."""
        number, index = marker.obj_stream_id, marker.ix_in_stream
        stream = generic.Reference(number, 0, self).get_object()
        streams = self._object_streams
        if streams is None:
            streams = self._object_streams = {}
        entry = streams.get(number)
        if entry is None or entry.stream is not stream:
            entry = _ObjectStream.of(stream)
            if entry is None:
                return self._get_object_from_stream(idnum, number, index)
            streams[number] = entry
        if 0 <= index < entry.count:
            at = entry.locate(idnum)
            if at is not None:
                container = generic.Reference(idnum, 0, self)
                try:
                    return _Parser(self, entry.buffer, entry.data, container).compressed(at)
                except _NotFast:
                    pass
        return self._get_object_from_stream(idnum, number, index)

    def same_definition(self, read: int, other: int) -> bool:
        """Whether the bytes at offset ``other`` begin with the whole definition read
        here from offset ``read``: the same bytes parse to the same object, so a revision
        that writes an object again unchanged need not be parsed again.

        A match makes ``other`` a definition known to end where its copy does, so the
        next revision writing it again is compared with this one (otherwise every other
        rewrite of an unchanged catalog was parsed anew)."""
        end = (self._ends or {}).get(read)
        if end is None or other == read:
            return False
        with self.stream.getbuffer() as data:
            if data[read:end] != data[other : other + end - read]:
                return False
        if self._ends is not None:
            self._ends[other] = other + end - read
        return True

    def _is_unencrypted(self) -> bool:
        """No /Encrypt in the trailer; until the trailer is read (cross-reference
        streams are read first), the answer is no."""
        trailer = getattr(self, "trailer", None)
        if trailer is None:
            return False
        if trailer is not self._checked_trailer:
            self._unencrypted = "/Encrypt" not in trailer
            self._checked_trailer = trailer
        return self._unencrypted


class _ObjectStream:
    """One definition of an object stream, its header read once and in full."""

    def __init__(self, stream: generic.StreamObject, count: int, first: int) -> None:
        self.stream = stream
        self.count = count
        self.first = first
        # Set as the first object is located: the decoded data, a stream over it for the
        # values pyHanko's tokenizer reads, and the header's offsets.
        self.data = b""
        self.buffer = io.BytesIO()
        self.offsets: dict[int, int] | None = None

    @classmethod
    def of(cls, stream: generic.PdfObject) -> _ObjectStream | None:
        """``stream`` if pyHanko reads it as an object stream and its /N and /First are
        numbers in its dictionary, /First not negative (pyHanko's seek before the data
        fails). Anything else is pyHanko's: an indirect /N, say, would be read here (and
        could recurse) before pyHanko's own attempt read it again."""
        if not isinstance(stream, generic.StreamObject):
            return None
        kind, count, first = (dict.get(stream, key) for key in ("/Type", "/N", "/First"))
        if not (
            isinstance(kind, generic.NameObject)
            and kind == "/ObjStm"
            and type(count) is generic.NumberObject
            and type(first) is generic.NumberObject
            and first >= 0
        ):
            return None
        return cls(stream, int(count), int(first))

    def locate(self, idnum: int) -> int | None:
        """Where object ``idnum`` starts in the decoded data, if pyHanko finds its pair in
        the part of the header read here. The stream is decoded as pyHanko decodes it,
        under the reader's decode limits, when the first object is asked for."""
        if self.offsets is None:
            data = self.stream.read_data(DecodePurpose.OBJECT_STREAM)
            self.offsets = _read_header(data, self.count)
            self.data, self.buffer = data, io.BytesIO(data)
        offset = self.offsets.get(idnum)
        return None if offset is None else self.first + offset


def object_in_stream(
    reader: PdfFileReader, idnum: int, stream: generic.PdfObject, index: int
) -> generic.PdfObject:
    """Object ``idnum``, pair ``index`` of ``stream``: one given definition of an object
    stream, as a revision before the last defined it. pyHanko reads an object of an
    older revision from the stream's current definition, so a later update that
    redefines the stream under its number would change what the older revision seems to
    hold. Read leniently, as pyHanko reads an object from the stream it finds: an object
    the definition does not hold, or cannot give, is null; ``PdfReadError`` when
    ``stream`` is no object stream at all."""
    entry = _ObjectStream.of(stream)
    if entry is None:
        raise PdfReadError(f"object {idnum} is in an object stream that is no object stream")
    if not 0 <= index < entry.count:
        return generic.NullObject()
    at = entry.locate(idnum)
    container = generic.Reference(idnum, 0, reader)
    if at is not None:
        try:
            return _Parser(reader, entry.buffer, entry.data, container).compressed(at)
        except _NotFast:
            pass
    return _slowly_in_stream(entry, idnum, container)


def _slowly_in_stream(
    entry: _ObjectStream, idnum: int, container: generic.Reference
) -> generic.PdfObject:
    """The object by pyHanko's tokenizer, pair by pair, for what the fast path does not
    read: a header with comments or signs, an object it does not parse."""
    data = io.BytesIO(entry.data)
    for _ in range(entry.count):
        try:
            number = _number_at(data)
            offset = _number_at(data)
        except (ValueError, PdfReadError):
            return generic.NullObject()
        if number != idnum:
            continue
        data.seek(entry.first + offset)
        try:
            return generic.read_object(data, container)
        except PdfReadError:
            return generic.NullObject()
    return generic.NullObject()


def _number_at(data: io.BytesIO) -> int:
    read_non_whitespace(data, seek_back=True)
    return int(generic.NumberObject.read_from_stream(data))


def _read_header(data: bytes, count: int) -> dict[int, int]:
    """The offset of each object number's first pair among the ``count`` pairs that start
    ``data``, as far as the pairs are plain digits (pyHanko also reads on past the header
    when /N says so, and stops at its object's first pair)."""
    offsets: dict[int, int] = {}
    at = 0
    for _ in range(count):
        pair = _PAIR.match(data, at)
        if pair is None:
            break
        offsets.setdefault(int(pair[1]), int(pair[2]))
        at = pair.end()
    return offsets


class _Parser:
    """Reads values from ``data``, the contents of ``stream`` (the file or an object
    stream's decoded data), where pyHanko's tokenizer would read them from ``stream``."""

    def __init__(
        self,
        reader: PdfFileReader,
        stream: io.BytesIO,
        data: bytes | memoryview,
        container: generic.Reference,
    ) -> None:
        self.reader = reader
        self.stream = stream
        self.data = data
        self.container = container

    def indirect(self, offset: int) -> generic.PdfObject:
        """The indirect object at ``offset`` in the file, header to ``endobj``."""
        return self._exactly(self._indirect, offset)

    def compressed(self, offset: int) -> generic.PdfObject:
        """The object at ``offset`` in an object stream: a bare value."""
        return self._exactly(self._compressed, offset)

    @staticmethod
    def _exactly(read: Callable[[int], generic.PdfObject], offset: int) -> generic.PdfObject:
        try:
            return read(offset)
        except _NotFast:
            raise
        except Exception as exc:
            # Whatever pyHanko makes of these bytes is what the caller gets.
            raise _NotFast from exc

    def _indirect(self, offset: int) -> generic.PdfObject:
        header = _HEADER.match(self.data, offset)
        if (
            header is None
            or int(header[1]) != self.container.idnum
            or int(header[2]) != self.container.generation
        ):
            raise _NotFast
        value, at = self._value(self._skip(header.end()), 0)
        at = self._skip(at)
        if isinstance(value, generic.DictionaryObject):
            self.stream.seek(at)
            # A plain dict, as pyHanko passes it: an indirect /Length is then resolved
            # with the stream position kept, not through DictionaryObject's lookup.
            payload = generic._maybe_read_stream_payload(self.stream, dict(value), self.reader)
            if payload is not None:
                stream_object = generic.StreamObject(dict(value), encoded_data=payload)
                stream_object.container_ref = self.container
                value = stream_object
                at = self._skip(self.stream.tell())
        if self._peek(at, 6) != b"endobj":
            raise _NotFast
        self.stream.seek(at + 6)
        return value

    def _compressed(self, offset: int) -> generic.PdfObject:
        if self._peek(offset, 1) in _NOT_AT_AN_OBJECT:
            raise _NotFast
        value, at = self._value(offset, 0)
        # pyHanko skips the whitespace after the value, a comment in it may run to the end
        # of the data (an error), and a dictionary followed by ``stream`` is a stream.
        at = self._skip(at)
        if isinstance(value, generic.DictionaryObject) and self._peek(at, 6) == b"stream":
            raise _NotFast
        return value

    def _skip(self, at: int) -> int:
        end = _SKIP.match(self.data, at)
        assert end is not None  # the pattern matches the empty string
        at = end.end()
        if self._peek(at, 1) == b"%":
            raise _NotFast
        return at

    def _peek(self, at: int, count: int) -> bytes:
        return bytes(self.data[at : at + count])

    def _value(self, at: int, depth: int) -> tuple[generic.PdfObject, int]:
        token = _TOKEN.match(self.data, at)
        if token is None:
            return self._pyhanko_value(self._skip(at))
        return self._from_token(token, depth)

    def _from_token(self, token: re.Match[bytes], depth: int) -> tuple[generic.PdfObject, int]:
        kind, end = token.lastgroup, token.end()
        value: generic.PdfObject
        if kind == "name":
            value = generic.NameObject(token["name"].decode("ascii"))
        elif kind == "ref":
            start = token.start("ref")
            idnum, generation, _ = token["ref"].split()
            # pyHanko tells a reference from a number within a 20-byte peek.
            if end - start >= _REFERENCE_PEEK or int(idnum) <= 0:
                raise _NotFast
            value = generic.IndirectObject(int(idnum), int(generation), self.reader)
        elif kind == "real":
            value = generic.FloatObject(token["real"].decode("ascii"))
        elif kind == "int":
            value = int.__new__(generic.NumberObject, token["int"])
        elif kind == "open":
            return self._dictionary(end, depth + 1)
        elif kind == "array":
            return self._array(end, depth + 1)
        elif kind == "hex":
            digits = token["hex"][1:-1]
            value = _string(binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits))
        elif kind == "literal":
            value = _string(_unescape(token["literal"][1:-1]))
        elif kind == "keyword":
            flag = _KEYWORDS[token["keyword"]]
            value = generic.NullObject() if flag is None else generic.BooleanObject(flag)
        else:
            # ">>" or "]" where a value belongs: pyHanko says what that is.
            raise _NotFast
        value.container_ref = self.container
        return value, end

    def _array(self, at: int, depth: int) -> tuple[generic.PdfObject, int]:
        if depth > _MAX_DEPTH:
            raise _NotFast
        references = _REFERENCES.match(self.data, at)
        if references is not None:
            return self._references(references[1].split()), references.end()
        items = generic.ArrayObject()
        while True:
            integers = _INTEGERS.match(self.data, at)
            if integers is not None:
                # One match for the run instead of one per number: a CJK font's widths
                # are hundreds of them, and the first revision's walk reads them all.
                for word in integers[0].split():
                    # NumberObject's own __new__ only calls int() first; bytes of digits
                    # make the same int.
                    number = int.__new__(generic.NumberObject, word)
                    number.container_ref = self.container
                    items.append(number)
                at = integers.end()
            token = _TOKEN.match(self.data, at)
            if token is None:
                at = self._skip(at)
                if at >= len(self.data):
                    raise _NotFast
                item, at = self._pyhanko_value(at)
            elif token.lastgroup == "end":
                at = token.end()
                break
            else:
                item, at = self._from_token(token, depth)
            items.append(item)
        items.container_ref = self.container
        return items, at

    def _references(self, words: list[bytes]) -> generic.ArrayObject:
        """An array of references from its words (number, generation, R, ...): one
        regular-expression match for the array instead of one per token; a page's
        annotations grow by one with every signature, and so did the cost of reading them."""
        reader, container = self.reader, self.container
        items = generic.ArrayObject()
        for index in range(0, len(words), 3):
            item = generic.IndirectObject(int(words[index]), int(words[index + 1]), reader)
            item.container_ref = container
            items.append(item)
        items.container_ref = container
        return items

    def _dictionary(self, at: int, depth: int) -> tuple[generic.PdfObject, int]:
        if depth > _MAX_DEPTH:
            raise _NotFast
        entries: dict[generic.NameObject, generic.PdfObject] = {}
        data = self.data
        while True:
            key = _KEY.match(data, at)
            if key is None:
                raise _NotFast
            at = key.end()
            raw = key[1]
            if raw is None:
                break
            name = generic.NameObject(raw.decode("ascii"))
            if name in entries:
                raise _NotFast
            token = _TOKEN.match(data, at)
            if token is None:
                entries[name], at = self._pyhanko_value(self._skip(at))
            else:
                entries[name], at = self._from_token(token, depth)
        # The keys are names already: DictionaryObject's constructor would check each.
        dictionary = generic.DictionaryObject()
        dict.update(dictionary, entries)
        dictionary.container_ref = self.container
        return dictionary, at

    def _pyhanko_value(self, at: int) -> tuple[generic.PdfObject, int]:
        self.stream.seek(at)
        value = generic.read_object(self.stream, self.container)
        return value, self.stream.tell()


def _string(raw: bytes) -> generic.PdfObject:
    """``generic.pdf_string(raw)``, without its character-by-character decoding for the
    printable ASCII most strings are (where PDFDocEncoding is ASCII)."""
    if _PRINTABLE.fullmatch(raw) is None:
        return generic.pdf_string(raw)
    text = generic.TextStringObject(raw.decode("ascii"))
    text.autodetected_encoding = generic.TextStringEncoding.PDF_DOC
    return text


def _unescape(raw: bytes) -> bytes:
    """A literal string's bytes, escapes read as pyHanko reads them; an escape pyHanko
    rejects (or reads differently: an octal run followed by 8 or 9, a value over 255)
    sends the object to pyHanko."""
    if b"\\" not in raw:
        return raw

    def one(match: re.Match[bytes]) -> bytes:
        found = _COMMON_ESCAPES.get(match[0])
        if found is not None:
            return found
        escape = match[1]
        if escape[0] in b"\r\n":
            return b""
        if escape.isdigit():
            follows = raw[match.end() : match.end() + 1]
            if (len(escape) < 3 and follows.isdigit()) or int(escape, 8) > 255:
                raise _NotFast
            return bytes((int(escape, 8),))
        if escape[0] not in _SIMPLE_ESCAPES:
            raise _NotFast
        return _SIMPLE_ESCAPES[escape[0]]

    return _ESCAPE.sub(one, raw)
