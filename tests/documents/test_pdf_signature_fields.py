"""Which signature fields ``open_pdf`` lists, and that hostile form trees cannot break it.

The reader walks /AcroForm's fields itself (pyHanko's listing drops signatures in
formats it does not know and fails the whole file over one bad dictionary): the fields
pyHanko's ``enumerate_sig_fields`` counts, named and typed as it does, in signing order.
A cycle, a shared kid, entries that are not fields or /Kids that is not an array must
neither fail the document nor repeat a signature; nesting and entry counts are bounded.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter, PageObject, PdfFileWriter
from pyhanko.sign.fields import enumerate_sig_fields

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.limits import PdfLimitExceeded, ReadLimits
from sealbridge.documents.pdf.reader import open_pdf
from sealbridge.documents.pdf.sign import PadesLevel, PadesProfile, PdfSignerIdentity, sign_pdf
from sealbridge.documents.pdf.signature_fields import UnlistedSignature
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication
from support.contracts import two_party_contract
from support.pki import enterprise
from support.trust import Operator

Build = Callable[[BasePdfFileWriter], list[generic.PdfObject]]
CONTRACT = two_party_contract("C-FIELDS").pdf


def _name(value: str) -> generic.NameObject:
    return generic.NameObject(value)


ACME = _name("/Acme.Seal")


def _revision(pdf: bytes, fields: Build) -> bytes:
    """``pdf`` and one revision whose /AcroForm /Fields is what ``fields`` makes."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    form = generic.DictionaryObject({_name("/Fields"): generic.ArrayObject(fields(writer))})
    writer.root[_name("/AcroForm")] = form
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _signature(
    writer: BasePdfFileWriter,
    subfilter: generic.PdfObject | None = ACME,
    byte_range: Sequence[int] | None = (0, 10, 20, 30),
    contents: bool = True,
    sig_type: str = "/Sig",
) -> generic.IndirectObject:
    """A signature dictionary pyHanko leaves out (its /SubFilter is no format it knows)."""
    entries: dict[generic.NameObject, generic.PdfObject] = {
        _name("/Type"): _name(sig_type),
        _name("/Filter"): _name("/Adobe.PPKLite"),
    }
    if contents:
        entries[_name("/Contents")] = generic.ByteStringObject(b"\x00" * 8)
    if subfilter is not None:
        entries[_name("/SubFilter")] = subfilter
    if byte_range is not None:
        entries[_name("/ByteRange")] = generic.ArrayObject(
            [generic.NumberObject(n) for n in byte_range]
        )
    return writer.add_object(generic.DictionaryObject(entries))


def _field(
    writer: BasePdfFileWriter, name: str | None, **entries: generic.PdfObject
) -> generic.IndirectObject:
    values = {_name(f"/{key}"): value for key, value in entries.items()}
    if name is not None:
        values[_name("/T")] = generic.TextStringObject(name)
    return writer.add_object(generic.DictionaryObject(values))


def _sig_field(writer: BasePdfFileWriter, name: str = "Seal") -> generic.IndirectObject:
    return _field(writer, name, FT=_name("/Sig"), V=_signature(writer))


def _kids(parent: generic.IndirectObject, *kids: generic.PdfObject) -> None:
    parent.get_object()[_name("/Kids")] = generic.ArrayObject(kids)


def _entries(data: bytes, limits: ReadLimits | None = None) -> list[object]:
    return list(open_pdf(data, limits=limits).entries)


def _names(data: bytes, limits: ReadLimits | None = None) -> list[str]:
    return [str(getattr(e, "field_name", "")) for e in _entries(data, limits)]


# --- which fields count ------------------------------------------------------------------


def _nested(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
    """/FT /Sig on the parent only; one kid filled, one not."""
    parent = _field(writer, "Parties", FT=_name("/Sig"))
    _kids(parent, _field(writer, "A", V=_signature(writer)), _field(writer, "B"))
    return [parent]


def _untyped(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
    """The same tree without /FT: text fields, whatever their value."""
    parent = _field(writer, "Parties")
    _kids(parent, _field(writer, "A", V=_signature(writer)), _field(writer, "B"))
    return [parent]


def _nameless(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
    """A bare widget without /T in /Fields: pyHanko skips it and all below it."""
    widget = _field(writer, None, FT=_name("/Sig"))
    _kids(widget, _field(writer, "A", V=_signature(writer)))
    return [widget]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (_nested, [UnlistedSignature("Parties.A", False, "Acme.Seal", signed_end=50)]),
        (_untyped, []),
        (_nameless, []),
    ],
    ids=["/FT inherited, full name", "not a signature field", "no /T"],
)
def test_fields_counted_as_pyhanko_counts_them(fields: Build, expected: list[object]) -> None:
    """Named and typed down the tree as ISO 32000 (and pyHanko) has it; an unfilled
    signature field is no signature."""
    data = _revision(CONTRACT, fields)
    assert _entries(data) == expected
    pyhanko_sees = [str(name) for name, _, _ in _pyhanko_fields(data)]
    assert pyhanko_sees == [e.field_name for e in expected if isinstance(e, UnlistedSignature)]


def _pyhanko_fields(data: bytes) -> list[tuple[str, object, object]]:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    return list(enumerate_sig_fields(reader, filled_status=True))


def _value(value: Callable[[BasePdfFileWriter], generic.PdfObject]) -> Build:
    return lambda writer: [_field(writer, "Seal", FT=_name("/Sig"), V=value(writer))]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            _value(lambda w: generic.TextStringObject("signed")),
            UnlistedSignature(
                "Seal", False, None, "the field's value is not a signature dictionary"
            ),
        ),
        (
            _value(lambda w: _signature(w, generic.TextStringObject("adbe.pkcs7.detached"))),
            UnlistedSignature(
                "Seal",
                False,
                None,
                "the signature dictionary's /SubFilter is not a name object",
                signed_end=50,
            ),
        ),
        (
            _value(lambda w: _signature(w).get_object()),
            UnlistedSignature("Seal", False, "Acme.Seal", None, signed_end=50),
        ),
        (
            _value(lambda w: _signature(w, _name("/adbe.pkcs7.detached")).get_object()),
            UnlistedSignature(
                "Seal",
                False,
                "adbe.pkcs7.detached",
                "the signature dictionary is not an indirect object, as ISO 32000 requires",
                signed_end=50,
            ),
        ),
        (
            _value(lambda w: _signature(w, _name("/adbe.pkcs7.detached"), byte_range=None)),
            UnlistedSignature(
                "Seal",
                False,
                "adbe.pkcs7.detached",
                "the signature dictionary has no /ByteRange, so what it signs is unknown",
            ),
        ),
        (
            _value(lambda w: _signature(w, _name("/adbe.pkcs7.detached"), byte_range=(0, 10, 20))),
            UnlistedSignature(
                "Seal",
                False,
                "adbe.pkcs7.detached",
                "the signature's /ByteRange is not pairs of numbers, so what it signs is unknown",
            ),
        ),
        (
            _value(lambda w: _signature(w, _name("/ETSI.RFC3161"), contents=False)),
            UnlistedSignature(
                "Seal",
                False,
                "ETSI.RFC3161",
                "the signature dictionary has no /Contents, so there is no signature to check",
                signed_end=50,
            ),
        ),
        (
            _value(lambda w: _signature(w, sig_type="/DocTimeStamp")),
            UnlistedSignature("Seal", True, "Acme.Seal", None, signed_end=50),
        ),
    ],
    ids=[
        "a string",
        "/SubFilter a string",
        "direct, unknown format",
        "direct",
        "no /ByteRange",
        "odd /ByteRange",
        "no /Contents",
        "document timestamp",
    ],
)
def test_values_pyhanko_cannot_list_say_why(fields: Build, expected: UnlistedSignature) -> None:
    """Each of these made pyHanko's listing fail the whole document or drop the field;
    each is listed with what is wrong with it."""
    assert _entries(_revision(CONTRACT, fields)) == [expected]


def test_an_empty_value_is_an_unfilled_field() -> None:
    """The twin: /V an empty dictionary is no signature, for pyHanko as for us."""
    data = _revision(CONTRACT, _value(lambda w: generic.DictionaryObject()))
    assert _entries(data) == [] and _pyhanko_fields(data) == []


# --- hostile trees -----------------------------------------------------------------------


def _cycle(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
    parent = _field(writer, "Parties")
    child = _field(writer, "Child")
    _kids(parent, child, _sig_field(writer))
    _kids(child, parent, child)
    return [parent]


def _shared(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
    seal = _sig_field(writer)
    first, second = _field(writer, "First"), _field(writer, "Second")
    _kids(first, seal)
    _kids(second, seal)
    return [first, second, seal]


def _junk(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
    odd = _field(writer, "Odd", Kids=_name("/NotAnArray"))
    return [
        generic.NumberObject(7),
        generic.DictionaryObject({_name("/T"): generic.TextStringObject("Direct")}),
        writer.add_object(generic.NumberObject(8)),
        generic.IndirectObject(9999, 0, writer),
        odd,
        _sig_field(writer),
    ]


@pytest.mark.parametrize(
    ("fields", "name"),
    [(_cycle, "Parties.Seal"), (_shared, "First.Seal"), (_junk, "Seal")],
    ids=["cycle", "shared kid", "junk"],
)
def test_hostile_trees_list_the_signature_once(fields: Build, name: str) -> None:
    """A /Kids cycle (pyHanko fails the document), a kid under two parents (pyHanko lists
    it twice), entries that are no field dictionaries and /Kids that is no array: the one
    signature is listed once, and the report shows it once, undecided."""
    data = _revision(CONTRACT, fields)
    assert _entries(data) == [UnlistedSignature(name, False, "Acme.Seal", signed_end=50)]
    federation = Federation({"SZ": Operator("SZ").trust_list()}, ())
    context = federation_context(federation, fetch=False)
    (sig,) = verify_pdf(data, "x.pdf", federation, ["SZ"], context=context).signatures
    assert sig.id == name
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "FORMAT_FAILURE")


def test_pyhanko_fails_a_cycle() -> None:
    """Why the cycle case matters: pyHanko's own listing refuses the document."""
    with pytest.raises(PdfReadError, match="Circular"):
        _pyhanko_fields(_revision(CONTRACT, _cycle))


def _chain(levels: int) -> Build:
    def build(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
        fields = [_field(writer, f"F{i}") for i in range(levels - 1)]
        fields.append(_sig_field(writer))
        for parent, kid in itertools.pairwise(fields):
            _kids(parent, kid)
        return [fields[0]]

    return build


def test_fields_nested_deeper_than_the_limit_are_refused() -> None:
    limits = ReadLimits(max_depth=10)
    assert _names(_revision(CONTRACT, _chain(10)), limits) == [
        ".".join([*(f"F{i}" for i in range(9)), "Seal"])
    ]
    with pytest.raises(PdfLimitExceeded, match="nest deeper than 10"):
        _entries(_revision(CONTRACT, _chain(11)), limits)


def test_more_field_entries_than_the_limit_are_refused() -> None:
    def many(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
        return [generic.NumberObject(n) for n in range(3000)]

    data = _revision(CONTRACT, many)
    assert _entries(data, ReadLimits(max_objects=5000)) == []
    with pytest.raises(PdfLimitExceeded, match="form field entries"):
        _entries(data, ReadLimits(max_objects=2000))


# --- order -------------------------------------------------------------------------------


def test_signing_order_not_form_order_and_no_byte_range_last() -> None:
    """Listed as pyHanko sorts: by the revision that made the signature dictionary,
    whatever /Fields says; one without a usable /ByteRange signed nothing we can place,
    so it goes last."""
    first = _revision(CONTRACT, lambda w: [_sig_field(w, "Early")])

    def later(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
        assert isinstance(writer, IncrementalPdfFileWriter)
        early = writer.prev.root["/AcroForm"]["/Fields"].raw_get(0)
        no_range = _field(
            writer, "Unplaced", FT=_name("/Sig"), V=_signature(writer, byte_range=None)
        )
        return [no_range, _sig_field(writer, "Late"), early]

    assert _names(_revision(first, later)) == ["Early", "Late", "Unplaced"]


def test_an_encrypted_document_is_read_through_its_encryption() -> None:
    """Strings and arrays of an encrypted file are read decrypted: the names, the
    /SubFilter and the /ByteRange that places each signature."""
    writer = PdfFileWriter(stream_xrefs=False)
    box = generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842))
    writer.insert_page(
        PageObject(contents=writer.add_object(generic.StreamObject(stream_data=b"")), media_box=box)
    )
    unplaced = _field(writer, "Unplaced", FT=_name("/Sig"), V=_signature(writer, byte_range=None))
    form = generic.ArrayObject([unplaced, _sig_field(writer)])
    writer.root[_name("/AcroForm")] = generic.DictionaryObject({_name("/Fields"): form})
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    assert list(open_pdf(out.getvalue(), password="user-secret").entries) == [
        UnlistedSignature("Seal", False, "Acme.Seal", signed_end=50),
        UnlistedSignature("Unplaced", False, "Acme.Seal"),
    ]


def test_pyhanko_sees_the_signatures_the_reader_listed() -> None:
    """pyHanko's signer asks the reader for its signatures (the last document timestamp):
    it gets the ones the reader listed, not a second listing that would fail on a
    cycle next to them."""
    operator = Operator("SZ")
    signer = enterprise(operator.ca, "深圳甲公司", KeyKind.ECDSA_P256)
    identity = PdfSignerIdentity(signer.key, signer.certificate, (operator.ca.certificate,))
    signed = sign_pdf(CONTRACT, identity, None, PadesProfile(PadesLevel.B_B), field_name="Party1")

    def add_cycle(writer: BasePdfFileWriter) -> list[generic.PdfObject]:
        assert isinstance(writer, IncrementalPdfFileWriter)
        party = writer.prev.root["/AcroForm"]["/Fields"].raw_get(0)
        return [party, *_cycle(writer)]

    opened = open_pdf(_revision(signed, add_cycle))
    (sig,) = opened.signatures
    assert sig.field_name == "Party1"
    assert opened.reader.embedded_signatures == [sig]
    assert [str(getattr(e, "field_name", "")) for e in opened.entries] == [
        "Party1",
        "Parties.Seal",
    ]
