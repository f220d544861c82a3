"""Reading objects in object streams: pyHanko's reader against ``FastObjectReader``.

A document of small objects (link annotations, page-like dictionaries, arrays, numbers
and strings) packed into Flate-compressed object streams by pyHanko's writer, as Acrobat,
Word or LibreOffice pack a document's objects. Each figure opens the document and reads
every object in its object streams, once through pyHanko's ``PdfFileReader`` and once
through ``FastObjectReader``, in the same run on the same machine. pyHanko re-reads a
stream's header up to the object's pair for every object, so its cost grows with the
square of the objects per stream: rows differ in that number.

Run: ``.venv/bin/python bench/read_objstm.py [--objects 3000] [--repeat 5] [--seconds 2]``.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
from functools import partial

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.pdf_utils.xref import ObjStreamRef

from sealbridge.documents.pdf.fastread import FastObjectReader
from timing import best

PER_STREAM = (100, 500, 1000)


def _object(index: int) -> generic.PdfObject:
    """One of a few shapes of small object, in turn."""
    name = generic.pdf_name
    kind = index % 4
    if kind == 0:
        return generic.DictionaryObject(
            {
                name("/Type"): name("/Annot"),
                name("/Subtype"): name("/Link"),
                name("/Rect"): generic.ArrayObject(
                    generic.NumberObject(n) for n in (72, 700 - index % 600, 200, 712)
                ),
                name("/Border"): generic.ArrayObject([generic.NumberObject(0)] * 3),
                name("/A"): generic.DictionaryObject(
                    {
                        name("/S"): name("/URI"),
                        name("/URI"): generic.pdf_string(f"https://example.com/{index}"),
                    }
                ),
            }
        )
    if kind == 1:
        return generic.DictionaryObject(
            {
                name("/Type"): name("/Page"),
                name("/Parent"): generic.IndirectObject(1, 0, None),
                name("/MediaBox"): generic.ArrayObject(
                    generic.FloatObject(v) for v in ("0", "0", "595.28", "841.89")
                ),
                name("/Contents"): generic.IndirectObject(index + 2, 0, None),
            }
        )
    if kind == 2:
        return generic.ArrayObject(generic.NumberObject(index + n) for n in range(8))
    return generic.pdf_string(f"Clause {index}: the parties agree")


def _document(objects: int, per_stream: int) -> bytes:
    writer = PdfFileWriter(stream_xrefs=True)
    stream = writer.prepare_object_stream()
    for index in range(objects):
        if index and index % per_stream == 0:
            stream = writer.prepare_object_stream()
        writer.add_object(_object(index), obj_stream=stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _read_all(reader_class: type[PdfFileReader], data: bytes) -> int:
    reader = reader_class(io.BytesIO(data), strict=False)
    xrefs = reader.xrefs
    refs = [
        ref for ref in xrefs.explicit_refs_in_revision(0) if isinstance(xrefs[ref], ObjStreamRef)
    ]
    for ref in refs:
        reader.get_object(ref)
    return len(refs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=3000, help="objects in object streams")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best kept)")
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="least time spent per figure (best kept)"
    )
    args = parser.parse_args()
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{args.objects} objects, open and read each one")
    print(f"{'per stream':>10} {'KiB':>6} {'pyHanko ms':>11} {'ours ms':>8} {'ratio':>7}")
    for per_stream in PER_STREAM:
        data = _document(args.objects, per_stream)
        for reader_class in (PdfFileReader, FastObjectReader):
            assert _read_all(reader_class, data) == args.objects
        seconds = best(
            {
                PdfFileReader: partial(_read_all, PdfFileReader, data),
                FastObjectReader: partial(_read_all, FastObjectReader, data),
            },
            args.repeat,
            args.seconds,
        )
        theirs, ours = seconds[PdfFileReader], seconds[FastObjectReader]
        print(
            f"{per_stream:>10} {len(data) / 1024:>6.0f} {theirs * 1000:>11.1f} "
            f"{ours * 1000:>8.1f} {theirs / ours:>6.1f}x"
        )


if __name__ == "__main__":
    main()
