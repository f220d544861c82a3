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
"""

from __future__ import annotations

import binascii
import io
import re
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

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
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|[\r\n]{1,2}|.)", re.DOTALL)
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
# pyHanko peeks this many bytes to tell a reference from a number.
_REFERENCE_PEEK = 20
_MAX_DEPTH = 64


class _NotFast(Exception):
    """The object is not one this reader reads exactly like pyHanko; pyHanko reads it."""


class FastObjectReader(PdfFileReader):
    """A ``PdfFileReader`` that parses uncompressed, unencrypted objects quickly."""

    # Set while an object is being read: what that read needs in turn (a stream's
    # indirect /Length) is left to pyHanko, so a self-referencing length costs what it
    # costs pyHanko instead of a fast attempt and a retry at every level.
    _reading = False
    # The trailer whose /Encrypt entry was looked up, and whether it had none: pyHanko's
    # lookup walks every revision's trailer, which made each read cost the file's length.
    _checked_trailer: object = None
    _unencrypted = False

    def _read_object(
        self,
        ref: generic.Reference,
        marker: Any,
        never_decrypt: bool = False,
        as_metadata_stream: bool = False,
    ) -> Any:
        if (
            not self._reading
            and isinstance(marker, int)
            and isinstance(self.stream, io.BytesIO)
            and self._is_unencrypted()
            and not as_metadata_stream
        ):
            self._reading = True
            try:
                return _Parser(self, self.stream, ref).indirect(marker)
            except _NotFast:
                return super()._read_object(
                    ref, marker, never_decrypt=never_decrypt, as_metadata_stream=False
                )
            finally:
                self._reading = False
        return super()._read_object(
            ref, marker, never_decrypt=never_decrypt, as_metadata_stream=as_metadata_stream
        )

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


class _Parser:
    def __init__(self, reader: PdfFileReader, stream: io.BytesIO, ref: generic.Reference) -> None:
        self.reader = reader
        self.stream = stream
        self.data = stream.getbuffer()
        self.ref = ref
        self.container = generic.Reference(ref.idnum, ref.generation, reader)

    def indirect(self, offset: int) -> generic.PdfObject:
        try:
            return self._indirect(offset)
        except _NotFast:
            raise
        except Exception as exc:
            # Whatever pyHanko makes of these bytes is what the caller gets.
            raise _NotFast from exc
        finally:
            self.data.release()

    def _indirect(self, offset: int) -> generic.PdfObject:
        header = _HEADER.match(self.data, offset)
        if (
            header is None
            or int(header[1]) != self.ref.idnum
            or int(header[2]) != self.ref.generation
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
            value = generic.NumberObject(token["int"].decode("ascii"))
        elif kind == "open":
            return self._dictionary(end, depth + 1)
        elif kind == "array":
            return self._array(end, depth + 1)
        elif kind == "hex":
            digits = token["hex"][1:-1]
            value = generic.pdf_string(
                binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits)
            )
        elif kind == "literal":
            value = generic.pdf_string(_unescape(token["literal"][1:-1]))
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
        items = generic.ArrayObject()
        while True:
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

    def _dictionary(self, at: int, depth: int) -> tuple[generic.PdfObject, int]:
        if depth > _MAX_DEPTH:
            raise _NotFast
        entries: dict[generic.NameObject, generic.PdfObject] = {}
        while True:
            token = _TOKEN.match(self.data, at)
            if token is None or token.lastgroup not in ("name", "close"):
                raise _NotFast
            at = token.end()
            if token.lastgroup == "close":
                break
            name = generic.NameObject(token["name"].decode("ascii"))
            if name in entries:
                raise _NotFast
            entries[name], at = self._value(at, depth)
        dictionary = generic.DictionaryObject(entries)
        dictionary.container_ref = self.container
        return dictionary, at

    def _pyhanko_value(self, at: int) -> tuple[generic.PdfObject, int]:
        self.stream.seek(at)
        value = generic.read_object(self.stream, self.container)
        return value, self.stream.tell()


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
