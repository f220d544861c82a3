"""Each revision's structure, carried over from its predecessor, equals a walk of that
revision from nothing: over random histories of a form and its pages' annotations, where
a revision adds, drops, moves, shares and retypes widgets and fields, gives them parents
and appearances, and writes widgets and the catalog again, changed or as they were. These
are the updates whose role an annotation list's entry gets from the entry itself
(``ListEntry``), and whose cut edges leave an object reachable another way or not at all."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from sealbridge.documents.pdf.fastread import FastObjectReader
from sealbridge.verify.changes import ChangePolicy
from sealbridge.verify.changes.history import ObjectHistory
from sealbridge.verify.changes.incremental import Walks, walk
from sealbridge.verify.changes.structure import Budget, Role, Structure

PAGES = 2
# (operation, page, index, kind, flag): each operation reads what it needs.
Operation = tuple[str, int, int, str, bool]
_OPERATIONS = (
    "add",
    "drop",
    "unfield",
    "retype",
    "share",
    "parent",
    "appearance",
    "array",
    "touch",
    "catalog",
)
_KINDS = ("/Sig", "/Tx", "square")


def _name(value: str) -> generic.NameObject:
    return generic.NameObject(value)


def _base(password: str | None = None) -> bytes:
    writer = PdfFileWriter()
    for _ in range(PAGES):
        content = writer.add_object(generic.StreamObject(stream_data=b"0 0 m 10 10 l S"))
        writer.insert_page(PageObject(contents=content, media_box=(0, 0, 200, 200)))
    form = generic.DictionaryObject({_name("/Fields"): generic.ArrayObject()})
    writer.root[_name("/AcroForm")] = writer.add_object(form)
    if password is not None:
        writer.encrypt("owner-secret", password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page(writer: IncrementalPdfFileWriter, number: int) -> generic.DictionaryObject:
    page = writer.root["/Pages"]["/Kids"][number % PAGES]
    assert isinstance(page, generic.DictionaryObject)
    return page


def _annots(
    writer: IncrementalPdfFileWriter, page: generic.DictionaryObject
) -> generic.ArrayObject:
    """The page's /Annots, created if missing; marked for writing wherever it lives."""
    if "/Annots" not in page:
        page[_name("/Annots")] = generic.ArrayObject()
    raw = page.raw_get("/Annots")
    if isinstance(raw, generic.IndirectObject):
        writer.mark_update(raw)
    else:
        writer.update_container(page)
    annots = page["/Annots"]
    assert isinstance(annots, generic.ArrayObject)
    return annots


def _fields(writer: IncrementalPdfFileWriter) -> generic.ArrayObject:
    form = writer.root["/AcroForm"]
    writer.update_container(form)
    fields = form["/Fields"]
    assert isinstance(fields, generic.ArrayObject)
    return fields


def _all_annotations(writer: IncrementalPdfFileWriter) -> list[generic.IndirectObject]:
    found: list[generic.IndirectObject] = []
    for number in range(PAGES):
        page = _page(writer, number)
        if "/Annots" in page:
            found += [a for a in page["/Annots"] if isinstance(a, generic.IndirectObject)]
    return found


def _widget(kind: str, number: int) -> generic.DictionaryObject:
    widget = generic.DictionaryObject(
        {
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/Square" if kind == "square" else "/Widget"),
            _name("/Rect"): generic.ArrayObject(
                [generic.NumberObject(v) for v in (10, 10 + number, 60, 40 + number)]
            ),
        }
    )
    if kind != "square":
        widget[_name("/FT")] = _name(kind)
        widget[_name("/T")] = generic.TextStringObject(f"F{number}")
    return widget


def _apply(writer: IncrementalPdfFileWriter, op: Operation, serial: int) -> None:
    name, page_number, index, kind, flag = op
    annotations = _all_annotations(writer)
    if name == "add":
        ref = writer.add_object(_widget(kind, serial))
        _annots(writer, _page(writer, page_number)).append(ref)
        if flag and kind != "square":
            _fields(writer).append(ref)
    elif name == "drop":
        annots = _annots(writer, _page(writer, page_number))
        if annots:
            del annots[index % len(annots)]
    elif name == "unfield":
        fields = _fields(writer)
        if fields:
            del fields[index % len(fields)]
    elif name == "catalog":
        # Written again as it was (what every signing revision does), or with a new entry.
        if flag:
            writer.root[_name("/Lang")] = generic.TextStringObject(f"x-{serial}")
        writer.update_root()
    elif not annotations:
        return
    else:
        ref = annotations[index % len(annotations)]
        target = ref.get_object()
        assert isinstance(target, generic.DictionaryObject)
        _change(writer, name, ref, target, (page_number, kind, flag, serial))


def _change(
    writer: IncrementalPdfFileWriter,
    name: str,
    ref: generic.IndirectObject,
    target: generic.DictionaryObject,
    args: tuple[int, str, bool, int],
) -> None:
    page_number, kind, flag, serial = args
    if name == "retype":
        target.pop("/FT", None)
        target[_name("/Subtype")] = _name("/Square" if kind == "square" else "/Widget")
        if kind != "square":
            target[_name("/FT")] = _name(kind)
        writer.mark_update(ref)
    elif name == "share":
        _annots(writer, _page(writer, page_number)).append(ref)
    elif name == "parent":
        parent = generic.DictionaryObject(
            {
                _name("/FT"): _name("/Tx" if kind == "/Tx" else "/Sig"),
                _name("/T"): generic.TextStringObject(f"P{serial}"),
                _name("/Kids"): generic.ArrayObject([ref]),
            }
        )
        parent_ref = writer.add_object(parent)
        target.pop("/FT", None)
        target[_name("/Parent")] = parent_ref
        writer.mark_update(ref)
        if flag:
            _fields(writer).append(parent_ref)
    elif name == "appearance":
        stream = generic.StreamObject(stream_data=b"0 0 10 10 re f" if flag else b"")
        normal = generic.DictionaryObject({_name("/N"): writer.add_object(stream)})
        target[_name("/AP")] = normal
        writer.mark_update(ref)
    elif name == "touch":
        writer.mark_update(ref)
    elif name == "array":
        # The page's /Annots moved out into an object of its own (or back in).
        page = _page(writer, page_number)
        annots = _annots(writer, page)
        items = generic.ArrayObject(list(annots))
        page[_name("/Annots")] = writer.add_object(items) if flag else items
        writer.update_container(page)


def _history(revisions: list[list[Operation]], password: str | None = None) -> bytes:
    data = _base(password)
    serial = 0
    for operations in revisions:
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        if password is not None:
            writer.encrypt(password)
        for op in operations:
            serial += 1
            _apply(writer, op, serial)
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    return data


operations = st.tuples(
    st.sampled_from(_OPERATIONS),
    st.integers(0, PAGES - 1),
    st.integers(0, 7),
    st.sampled_from(_KINDS),
    st.booleans(),
)


# pyHanko's reader, and ours, which also tells a definition written again unchanged.
READERS = (PdfFileReader, FastObjectReader)


def _structures(data: bytes, order: range, reader: type[PdfFileReader]) -> dict[int, Structure]:
    history = ObjectHistory(reader(io.BytesIO(data), strict=False))
    walks = Walks(history)
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    return {revision: walks.structure(revision, budget) for revision in order}


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
@settings(max_examples=60, deadline=None)
@given(revisions=st.lists(st.lists(operations, min_size=1, max_size=3), min_size=1, max_size=6))
def test_carried_structures_equal_fresh_walks(
    reader: type[PdfFileReader], revisions: list[list[Operation]]
) -> None:
    data = _history(revisions)
    history = ObjectHistory(PdfFileReader(io.BytesIO(data), strict=False))
    total = history.total
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    fresh = {revision: walk(history.view(revision), budget) for revision in range(total)}
    assert _structures(data, range(total), reader) == fresh
    assert _structures(data, range(total - 1, -1, -1), reader) == fresh


def test_a_widget_retyped_in_its_lists_changes_role() -> None:
    """A field rewritten from text to signature is a signature from then on, though the
    page's and the form's lists that hold it are not rewritten."""
    data = _history([[("add", 0, 0, "/Tx", True)], [("retype", 0, 0, "/Sig", False)]])
    structures = _structures(data, range(3), PdfFileReader)
    (widget,) = [key for key, roles in structures[1].roles.items() if Role.FIELD in roles]
    assert structures[1].roles[widget] == {Role.FIELD}
    assert structures[2].roles[widget] == {Role.SIGNATURE}


def _role_counts(found: Structure) -> Counter[frozenset[Role]]:
    return Counter(frozenset(roles) for roles in found.roles.values())


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
def test_an_encrypted_history_is_walked_through_its_encryption(
    reader: type[PdfFileReader],
) -> None:
    """The same updates to an encrypted file give the structures they give a plain one
    (apart from the /Encrypt dictionary): widgets, fields, parents and appearances are
    found through their decrypted entries, carried over as walked from nothing."""
    revisions: list[list[Operation]] = [
        [("add", 0, 0, "/Sig", True), ("add", 1, 0, "/Tx", True)],
        [("appearance", 0, 0, "/Sig", True), ("parent", 1, 1, "/Sig", True)],
        [("add", 1, 0, "square", False), ("share", 0, 1, "/Tx", False)],
    ]
    plain = _structures(_history(revisions), range(len(revisions) + 1), reader)
    locked = reader(io.BytesIO(_history(revisions, "user-secret")), strict=False)
    locked.decrypt("user-secret")
    history = ObjectHistory(locked)
    walks = Walks(history)
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    for revision in range(history.total):
        carried = walks.structure(revision, budget)
        assert carried == walk(history.view(revision), budget)
        counts = _role_counts(carried)
        counts[frozenset({Role.OTHER})] -= 1
        assert +counts == _role_counts(plain[revision])
    assert Role.SIGNATURE in {role for roles in carried.roles.values() for role in roles}
