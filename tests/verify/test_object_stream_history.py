"""An update that redefines an object stream under its number rewrites every object in it,
listed in its cross-reference section or not.

The attack: the signed revision keeps its page's resources inside an object stream; a
later update writes only a new definition of that stream, holding altered resources (a
font or image swapped changes what the page shows), and lists nothing else. pyHanko reads
an older revision's objects from a stream's current definition, so the signed revision
itself seems to hold the altered resources and nothing looks changed. The verifier must
read the signed revision's resources from the stream as the signed revision defined
them, and judge them as rewritten by the update.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from documents.test_pdf_fastread import histories
from sealbridge.documents.pdf.fastread import FastObjectReader
from sealbridge.trust.view import Federation
from sealbridge.verify.changes.history import Key, ObjectHistory
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication, SignatureReport
from support.contracts import signed_once, two_party_contract
from support.pdf_oracle import assert_read_alike, read_or_error


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _resources_in_a_stream(pdf: bytes) -> tuple[bytes, int, int]:
    """``pdf`` with an update that moves its first page's resources into a new object
    stream (signing rewrites the page itself, not its resources); the resources' and
    the stream's object numbers."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    writer._force_write_when_empty = True  # an update that only fills a stream
    writer.stream_xrefs = True  # object streams need a cross-reference stream
    page = writer.root["/Pages"]["/Kids"][0]
    resources_ref = page.raw_get("/Resources")
    resources = resources_ref.get_object()
    stream = writer.prepare_object_stream()
    stream.add_object(resources_ref.idnum, resources)
    writer.objs_in_streams[resources_ref.idnum] = resources
    data = _write(writer)
    return data, resources_ref.idnum, stream.ref.idnum


def _restream(data: bytes, resources_number: int, stream_number: int, rotate: int | None) -> bytes:
    """An update, written byte by byte (pyHanko's writer cannot redefine an object stream
    under its number), that defines the stream anew, holding the resources (with an
    extra entry if ``rotate``), and whose cross-reference section lists the stream
    alone."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    resources = generic.DictionaryObject(reader.get_object(generic.Reference(resources_number, 0)))
    if rotate is not None:
        resources[generic.NameObject("/Rotate")] = generic.NumberObject(rotate)
    body = io.BytesIO()
    resources.write_to_stream(body)
    header = f"{resources_number} 0 ".encode()
    content = header + body.getvalue()
    at = len(data) + 1
    definition = (
        (
            f"{stream_number} 0 obj\n<< /Type /ObjStm /N 1 /First {len(header)} "
            f"/Length {len(content)} >>\nstream\n"
        ).encode()
        + content
        + b"\nendstream\nendobj\n"
    )
    xref_at = at + len(definition)
    trailer = reader.trailer
    section = (
        f"xref\n0 1\n0000000000 65535 f\r\n{stream_number} 1\n{at:010d} 00000 n\r\n"
        f"trailer\n<< /Size {int(trailer['/Size'])} /Root {trailer.raw_get('/Root').idnum} 0 R "
        f"/Prev {reader.last_startxref} >>\nstartxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return data + b"\n" + definition + section


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, int, int, Federation]:
    contract = two_party_contract("O-1").pdf
    packed, resources_number, stream_number = _resources_in_a_stream(contract)
    data, federation = signed_once(packed, "Signer")
    return data, resources_number, stream_number, federation


def _verify(data: bytes, federation: Federation) -> SignatureReport:
    report = verify_pdf(
        data, "o.pdf", federation, ["SZ"], context=federation_context(federation, fetch=False)
    )
    (sig,) = report.signatures
    return sig


def test_the_update_lists_only_the_stream(signed: tuple[bytes, int, int, Federation]) -> None:
    """The shape of the attack, checked on the file itself: the resources' own entry
    still dates from before the signature, and pyHanko reads the altered resources as
    the signed revision's (what the verifier must not rely on)."""
    data, resources_number, stream_number, _ = signed
    attacked = _restream(data, resources_number, stream_number, rotate=90)
    reader = PdfFileReader(io.BytesIO(attacked), strict=False)
    last = reader.xrefs.total_revisions - 1
    listed = {ref.idnum for ref in reader.xrefs.explicit_refs_in_revision(last)}
    assert stream_number in listed and resources_number not in listed
    old = reader.get_object(generic.Reference(resources_number, 0), revision=last - 1)
    assert old["/Rotate"] == 90


def test_restreamed_resources_are_a_change_after_signing(
    signed: tuple[bytes, int, int, Federation],
) -> None:
    data, resources_number, stream_number, federation = signed
    assert _verify(data, federation).indication is Indication.TOTAL_PASSED
    attacked = _verify(_restream(data, resources_number, stream_number, rotate=90), federation)
    assert attacked.indication is Indication.TOTAL_FAILED
    assert attacked.modified_after_signing
    replaced = f"content drawn on a page (object {resources_number} 0, dictionary) was replaced"
    assert any(replaced in change for change in attacked.changes), attacked.changes


def test_restreaming_the_same_resources_changes_nothing(
    signed: tuple[bytes, int, int, Federation],
) -> None:
    """The honest twin: the stream redefined with the resources as they were."""
    data, resources_number, stream_number, federation = signed
    same = _verify(_restream(data, resources_number, stream_number, rotate=None), federation)
    assert same.indication is Indication.TOTAL_PASSED


@settings(max_examples=40, deadline=None)
@given(data=histories())
def test_every_revision_reads_as_the_file_cut_after_it(data: bytes) -> None:
    """The oracle for history: cut the file after revision r and its newest revision is
    r, whose objects pyHanko reads right. Every object the history gives for r must be
    that one, whatever later updates did to the object streams."""
    reader = FastObjectReader(io.BytesIO(data), strict=False)
    history = ObjectHistory(reader)
    for revision in range(history.total):
        end = reader.xrefs.get_xref_container_info(revision).end_location
        cut = data[: data.index(b"%%EOF", end) + 5]
        truth = PdfFileReader(io.BytesIO(cut), strict=False)
        assert truth.xrefs.total_revisions == revision + 1
        keys = {key for r in range(revision + 1) for key in history.explicit[r]}
        for key in sorted(keys - set().union(*history.freed[: revision + 1])):
            if history.location(key, revision) is None:
                continue
            ours, theirs = (
                _read_key(history, key, revision),
                read_or_error(truth, generic.Reference(*key)),
            )
            if isinstance(theirs, Exception):
                # pyHanko's own failures (an assert on a stream that is none) are its
                # exception types; an unreadable object is what both say.
                assert isinstance(ours, Exception), (key, revision, ours, theirs)
            else:
                assert_read_alike(ours, theirs)


def _read_key(history: ObjectHistory, key: Key, revision: int) -> object:
    try:
        return history.load(key, revision)
    except Exception as exc:
        return exc
