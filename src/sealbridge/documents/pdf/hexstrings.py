"""Reading objects that hold long hex strings (signature /Contents) at C speed.

pyHanko reads a hex string one character at a time through its tokenizer. A signature
dictionary's /Contents is 8 to 40 thousand hex digits, so opening the signatures of a
PDF cost half of a one-signature verification. The reader mixin here parses a plain
(non-stream) indirect dictionary the way pyHanko's ``DictionaryObject.read_from_stream``
does, value by value through pyHanko's own ``read_object``, except that a hex string made
only of hex digits is decoded with ``binascii`` in one call. Anything else — a comment
or whitespace inside the string, a stream, an encrypted file, a duplicate key — goes to
pyHanko's reader unchanged, so the objects returned are the ones pyHanko would return.
"""

from __future__ import annotations

import binascii
import io
import re
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import read_non_whitespace
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import read_object_header

# Below this many digits pyHanko's tokenizer is as quick as anything else.
_HEX_STRING = re.compile(rb"<([0-9A-Fa-f]{256,})>")
_LONG_HEX_AHEAD = re.compile(rb"<[0-9A-Fa-f]{256}")
# How far into a dictionary the long string is looked for before pyHanko reads it as usual.
_LOOKAHEAD = 8192


class _NotFast(Exception):
    """The object is not one this fast path reads exactly like pyHanko; use pyHanko's."""


class FastHexStrings(PdfFileReader):
    """A ``PdfFileReader`` whose plain dictionaries decode long hex strings in one call."""

    def _read_object(
        self,
        ref: generic.Reference,
        marker: Any,
        never_decrypt: bool = False,
        as_metadata_stream: bool = False,
    ) -> Any:
        if (
            isinstance(marker, int)
            and isinstance(self.stream, io.BytesIO)
            and "/Encrypt" not in getattr(self, "trailer", {"/Encrypt": None})
            and not as_metadata_stream
        ):
            try:
                return _read_plain_dictionary(self, self.stream, ref, marker)
            except _NotFast:
                pass
        return super()._read_object(
            ref, marker, never_decrypt=never_decrypt, as_metadata_stream=as_metadata_stream
        )


def _read_plain_dictionary(
    reader: PdfFileReader, stream: io.BytesIO, ref: generic.Reference, offset: int
) -> generic.DictionaryObject:
    data = stream.getbuffer()
    try:
        stream.seek(offset)
        idnum, generation = read_object_header(stream, strict=False)
        if idnum != ref.idnum or generation != ref.generation:
            raise _NotFast
        read_non_whitespace(stream, seek_back=True)
        start = stream.tell()
        if bytes(data[start : start + 2]) != b"<<" or not _LONG_HEX_AHEAD.search(
            data, start + 2, start + _LOOKAHEAD
        ):
            raise _NotFast
        stream.seek(start + 2)
        container = generic.Reference(idnum, generation, reader)
        entries: dict[generic.NameObject, generic.PdfObject] = {}
        while True:
            token = read_non_whitespace(stream)
            if token == b">":
                if stream.read(1) != b">":
                    raise _NotFast
                break
            stream.seek(-1, io.SEEK_CUR)
            key = generic.NameObject.read_from_stream(stream)
            read_non_whitespace(stream, seek_back=True)
            value = _read_value(stream, data, container)
            if key in entries:
                raise _NotFast
            entries[key] = value
        read_non_whitespace(stream, seek_back=True)
        if stream.read(6) != b"endobj":
            raise _NotFast
        dictionary = generic.DictionaryObject(entries)
        dictionary.container_ref = container
        return dictionary
    except _NotFast:
        raise
    except Exception as exc:
        # Whatever pyHanko's own path makes of bad bytes is what the caller gets.
        raise _NotFast from exc
    finally:
        data.release()


def _read_value(
    stream: io.BytesIO, data: memoryview, container: generic.Reference
) -> generic.PdfObject:
    string = _HEX_STRING.match(data, stream.tell())
    if string is None:
        return generic.read_object(stream, container)
    digits = string.group(1)
    stream.seek(string.end())
    value: generic.PdfObject = generic.pdf_string(
        binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits)
    )
    value.container_ref = container
    return value
