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

_WS = rb"[\x00\t\n\f\r ]*"
_SKIP = re.compile(_WS)
# A name pyHanko decodes to itself: regular ASCII characters, no '#' escape.
_REGULAR = bytes(c for c in range(0x21, 0x7F) if c not in b"()<>[]{}/%#")
_NAME = re.compile(rb"/([" + re.escape(_REGULAR) + rb"]*)")
# pyHanko's reference test: digits, whitespace, digits, whitespace, R and no letter.
_REFERENCE = re.compile(rb"(\d+)\s+(\d+)\s+R(?=[^a-zA-Z])")
_INTEGER = re.compile(rb"[+-]?\d+")
_REAL = re.compile(rb"[+-]?(?:\d+\.\d*|\.\d+)")
# What pyHanko reads as part of a number: a number ends before anything else.
_NUMBER_CHAR = frozenset(b"+,-.0123456789")
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")
# A literal string without unescaped parentheses inside; escapes decoded as pyHanko does.
_LITERAL = re.compile(rb"\(((?:[^()\\]|\\.)*)\)", re.DOTALL)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|[\r\n]{1,2}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {c: bytes((c,)) for c in b"() /%<>[]#_&$\\"} | {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
}
_HEADER = re.compile(rb"(\d+)[\x00\t\n\f\r ]+(\d+)[\x00\t\n\f\r ]+obj")
_DELIMITING = frozenset(b"\x00\t\n\f\r ()<>[]{}/%")
_KEYWORDS = {b"true": True, b"false": False, b"null": None}
_KEYWORD = re.compile(rb"true|false|null")
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
            and "/Encrypt" not in getattr(self, "trailer", {"/Encrypt": None})
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

    def _ends_token(self, at: int) -> bool:
        return at >= len(self.data) or self.data[at] in _DELIMITING

    def _value(self, at: int, depth: int) -> tuple[generic.PdfObject, int]:
        if depth > _MAX_DEPTH:
            raise _NotFast
        first = self._peek(at, 1)
        value: generic.PdfObject | None = None
        if first == b"/":
            name = _NAME.match(self.data, at)
            if name is not None and self._ends_token(name.end()):
                value, at = generic.NameObject("/" + name[1].decode("ascii")), name.end()
        elif first == b"<":
            if self._peek(at + 1, 1) == b"<":
                return self._dictionary(at, depth)
            hexed = _HEX.match(self.data, at)
            if hexed is not None:
                digits = hexed[1]
                value = generic.pdf_string(
                    binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits)
                )
                at = hexed.end()
        elif first == b"[":
            return self._array(at, depth)
        elif first == b"(":
            literal = _LITERAL.match(self.data, at)
            if literal is not None:
                value, at = generic.pdf_string(_unescape(literal[1])), literal.end()
        elif first.isdigit() or first in (b"+", b"-", b"."):
            value, at = self._number_or_reference(at)
        elif first in (b"t", b"f", b"n"):
            keyword = _KEYWORD.match(self.data, at)
            if keyword is not None and self._ends_token(keyword.end()):
                flag = _KEYWORDS[keyword[0]]
                value = generic.NullObject() if flag is None else generic.BooleanObject(flag)
                at = keyword.end()
        if value is None:
            return self._pyhanko_value(at)
        value.container_ref = self.container
        return value, at

    def _number_or_reference(self, at: int) -> tuple[generic.PdfObject | None, int]:
        if self._peek(at, 1).isdigit():
            ref = _REFERENCE.match(self.data, at, at + _REFERENCE_PEEK)
            if ref is not None:
                idnum = int(ref[1])
                if idnum <= 0:
                    return None, at
                return generic.IndirectObject(idnum, int(ref[2]), self.reader), ref.end()
        real = _REAL.match(self.data, at)
        if real is not None and self._number_ends(real.end()):
            return generic.FloatObject(real[0].decode("ascii")), real.end()
        integer = _INTEGER.match(self.data, at)
        if integer is not None and self._number_ends(integer.end()):
            return generic.NumberObject(integer[0].decode("ascii")), integer.end()
        return None, at

    def _number_ends(self, at: int) -> bool:
        return at >= len(self.data) or self.data[at] not in _NUMBER_CHAR

    def _array(self, at: int, depth: int) -> tuple[generic.PdfObject, int]:
        items = generic.ArrayObject()
        at = self._skip(at + 1)
        while self._peek(at, 1) != b"]":
            if at >= len(self.data):
                raise _NotFast
            item, at = self._value(at, depth + 1)
            items.append(item)
            at = self._skip(at)
        items.container_ref = self.container
        return items, at + 1

    def _dictionary(self, at: int, depth: int) -> tuple[generic.PdfObject, int]:
        entries: dict[generic.NameObject, generic.PdfObject] = {}
        at = self._skip(at + 2)
        while self._peek(at, 1) != b">":
            key = _NAME.match(self.data, at)
            if key is None or not self._ends_token(key.end()):
                raise _NotFast
            name = generic.NameObject("/" + key[1].decode("ascii"))
            if name in entries:
                raise _NotFast
            entries[name], at = self._value(self._skip(key.end()), depth + 1)
            at = self._skip(at)
        if self._peek(at, 2) != b">>":
            raise _NotFast
        dictionary = generic.DictionaryObject(entries)
        dictionary.container_ref = self.container
        return dictionary, at + 2

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
