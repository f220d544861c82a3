"""What each object *is for* in one revision, found by walking from that revision's trailer.

A change is judged by the role of the object it touches, not by the object's own type:
a stream drawn as page content is page content even if a later update claims it is an
annotation appearance. An object can have several roles; the worst one counts. Walking the
whole graph is also how staged (unreachable) objects are told apart from live ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import NamedTuple

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfReadError

from sealbridge.errors import MalformedInput
from sealbridge.verify.changes.history import Key, RevisionView, key_of

Rect = tuple[float, float, float, float]

# Annotations drawn with their own appearance; /Popup and /Link are not painted over content.
_INVISIBLE_FLAGS = 0b10_0010  # Hidden (2) and NoView (6)
_MAX_PARENT_DEPTH = 32
_MAX_INDIRECTION = 8


class Role(IntEnum):
    """Ordered from harmless to sensitive, so the worst role of an object is its ``max``."""

    METADATA = 0
    VALIDATION_DATA = 1
    SIGNATURE = 2
    ACROFORM = 3
    ANNOTS_LIST = 4
    FIELD = 5
    ANNOTATION = 6
    OTHER = 7
    CATALOG = 8
    PAGE_TREE = 9
    PAGE_CONTENT = 10


class Widget(NamedTuple):
    """A signature widget: where it is painted, and whether a signature fills it.

    ``overlay``: drawn with no signature filling it, what a "Sneaky Signature" places
    over signed content. A tuple, as the structure's other many-made values are: a
    frozen dataclass costs an attribute assignment per field to make.
    """

    key: Key | None
    page: int
    rect: Rect
    signed: bool
    overlay: bool


@dataclass
class Structure:
    roles: dict[Key, set[Role]] = field(default_factory=dict)
    pages: list[Key] = field(default_factory=list)
    page_boxes: list[Rect] = field(default_factory=list)
    signature_widgets: list[Widget] = field(default_factory=list)
    page_of: dict[Key, int] = field(default_factory=dict)

    def worst(self, key: Key) -> Role | None:
        found = self.roles.get(key)
        return max(found) if found else None


class Budget:
    """Object and time limits shared by every walk of one analysis."""

    def __init__(self, max_objects: int, time_limit: float) -> None:
        self.left = max_objects
        self.max_objects = max_objects
        self.deadline = time.monotonic() + time_limit
        self.time_limit = time_limit

    def spend(self, count: int = 1) -> None:
        self.left -= count
        if self.left < 0:
            raise MalformedInput(
                "PDF", f"change analysis stopped after visiting {self.max_objects} objects"
            )
        if self.left % 256 == 0:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise MalformedInput(
                "PDF", f"change analysis stopped after its {self.time_limit:g} s time limit"
            )


class Unreadable(generic.NullObject):
    """Stands in for an object pyHanko cannot parse (real files hold floats like
    ``-1.#INF``); lenient viewers may still show it, so it is judged by its role."""


def resolve(resolver: RevisionView, obj: generic.PdfObject) -> generic.PdfObject:
    """Dereference without recursion, so a chain of references cannot exhaust the stack."""
    if not isinstance(obj, generic.IndirectObject):
        return obj
    return load(resolver, key_of(obj))


def _name(value: generic.PdfObject | None) -> str | None:
    return str(value) if isinstance(value, generic.NameObject) else None


def _get(resolver: RevisionView, d: generic.DictionaryObject, key: str) -> generic.PdfObject | None:
    return resolve(resolver, d.raw_get(key)) if key in d else None


def field_type(resolver: RevisionView, d: generic.DictionaryObject) -> str | None:
    """A field's /FT, inherited through /Parent as ISO 32000 allows."""
    current: generic.PdfObject | None = d
    for _ in range(_MAX_PARENT_DEPTH):
        if not isinstance(current, generic.DictionaryObject):
            return None
        found = _name(_get(resolver, current, "/FT"))
        if found is not None:
            return found
        current = _get(resolver, current, "/Parent")
    return None


def rect_of(resolver: RevisionView, d: generic.DictionaryObject, key: str) -> Rect | None:
    value = _get(resolver, d, key)
    if not isinstance(value, generic.ArrayObject) or len(value) != 4:
        return None
    numbers = [resolve(resolver, v) for v in resolver.items(value)]
    if not all(isinstance(n, generic.NumberObject | generic.FloatObject) for n in numbers):
        return None
    x1, y1, x2, y2 = (float(n) for n in numbers)  # type: ignore[arg-type]
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def annotation_role(
    resolver: RevisionView, d: generic.DictionaryObject, default: Role = Role.ANNOTATION
) -> Role:
    """Widgets and fields are form content (signature or not); anything else in a page's
    /Annots is an annotation, anything else in /Fields a non-terminal field."""
    if _name(_get(resolver, d, "/Subtype")) == "/Widget" or "/FT" in d:
        return Role.SIGNATURE if field_type(resolver, d) == "/Sig" else Role.FIELD
    return default


def is_visible(resolver: RevisionView, d: generic.DictionaryObject) -> bool:
    flags = _get(resolver, d, "/F")
    hidden = isinstance(flags, generic.NumberObject) and int(flags) & _INVISIBLE_FLAGS
    rect = rect_of(resolver, d, "/Rect")
    has_area = rect is not None and rect[2] > rect[0] and rect[3] > rect[1]
    return not hidden and has_area and "/AP" in d


_CATALOG_CHILDREN = {
    "/Pages": Role.PAGE_TREE,
    "/AcroForm": Role.ACROFORM,
    "/DSS": Role.VALIDATION_DATA,
    "/Metadata": Role.METADATA,
    "/Perms": Role.SIGNATURE,
    "/Extensions": Role.METADATA,
    "/MarkInfo": Role.METADATA,
}
_TRAILER_CHILDREN = {"/Root": Role.CATALOG, "/Info": Role.METADATA, "/Encrypt": Role.OTHER}
# Back-references lead to objects that have a role of their own; following them would
# give, say, a page the role of the annotation that names it.
_SKIPPED = {"/Parent", "/P", "/Data", "/Prev", "/XRefStm", "/Size", "/ID"}
# A field's /Parent is the field it belongs to, whose role it shares.
_SKIPPED_IN_FIELDS = _SKIPPED - {"/Parent"}
# The roles whose entries are not all alike.
_LISTING_ROLES = frozenset({Role.PAGE_TREE, Role.ACROFORM, Role.ANNOTATION, Role.FIELD})


class ListEntry(Enum):
    """An entry of a page's /Annots or of the form's /Fields, reached before its own role
    is read (the value: its role unless it is a widget or a field). The entry's expansion
    reads the object and leads on to it in that role, so a list's expansion reads the list
    alone: a signing revision rewrites one entry of n, or appends one, and reading every
    entry's role again made each such revision cost n. A step of the walk, never a role
    of the structure.
    """

    ANNOTATION = Role.ANNOTATION
    FIELD = Role.FIELD


# An object as the walk reaches it: in a role, or as an entry of a list.
State = tuple[Key, Role | ListEntry]
# An object that only gains a role (an annotation or field list).
Mark = tuple[Key, Role]


class Expansion(NamedTuple):
    """What one object in one role makes reachable: ``edges`` are objects to walk on in
    their roles, ``marks`` only gain a role (annotation and field lists, whose items are
    judged by their own roles instead)."""

    edges: frozenset[State]
    marks: frozenset[Mark]


class Annotation(NamedTuple):
    """One entry of a page's /Annots: the object, the page's index, and the object as a
    signature widget on that page (``None``: it is none)."""

    key: Key
    page: int
    widget: Widget | None


def placed(key: Key, page: int, widget: Widget | None) -> Annotation:
    """The annotation ``key`` of page ``page``, its widget (read with no page) put there."""
    if widget is None:
        return Annotation(key, page, None)
    moved = Widget(widget.key, page, widget.rect, widget.signed, widget.overlay)
    return Annotation(key, page, moved)


class PageSection(NamedTuple):
    """Pages in reading order with their boxes, the page of each drawn object, and every
    page's annotations: what a revision's page tree says, apart from roles."""

    pages: tuple[Key, ...]
    page_boxes: tuple[Rect, ...]
    page_of: dict[Key, int]
    annotations: tuple[Annotation, ...]

    @property
    def widgets(self) -> list[Widget]:
        """The signature widgets, in reading order."""
        return [found.widget for found in self.annotations if found.widget is not None]


def entry_role(resolver: RevisionView, target: generic.PdfObject, default: Role) -> Role | None:
    """The role of one entry of a page's /Annots or of /Fields, resolved to ``target``
    (``None``: no dictionary)."""
    if not isinstance(target, generic.DictionaryObject):
        return None
    return annotation_role(resolver, target, default)


_TYPED_ROLES = {
    "/Page": Role.PAGE_TREE,
    "/Pages": Role.PAGE_TREE,
    "/Catalog": Role.CATALOG,
    "/Sig": Role.SIGNATURE,
    "/DocTimeStamp": Role.SIGNATURE,
}


def own_role(obj: generic.PdfObject, role: Role) -> Role:
    """The role ``obj`` is expanded in when reached in ``role``: pages, catalogs and
    signature values are what their /Type says, wherever they are reached from."""
    if isinstance(obj, generic.DictionaryObject) and "/Type" in obj:
        kind = _name(obj.raw_get("/Type"))
        if kind is not None:
            return _TYPED_ROLES.get(kind, role)
    return role


class _Expander:
    """Follows direct objects inline and stops at every reference: a reference is another
    object, expanded on its own, so that an expansion depends only on what it reads."""

    def __init__(self, resolver: RevisionView) -> None:
        self.resolver = resolver
        self.edges: set[State] = set()
        self.marks: set[Mark] = set()

    def run(self, stack: list[tuple[generic.PdfObject, Role]]) -> Expansion:
        while stack:
            obj, role = stack.pop()
            if isinstance(obj, generic.IndirectObject):
                self.edges.add((key_of(obj), role))
            elif isinstance(obj, generic.ArrayObject):
                stack.extend((item, role) for item in self.resolver.items(obj))
            elif isinstance(obj, generic.DictionaryObject):
                self._children(obj, role, stack)
        return Expansion(frozenset(self.edges), frozenset(self.marks))

    def _children(
        self,
        d: generic.DictionaryObject,
        role: Role,
        stack: list[tuple[generic.PdfObject, Role]],
    ) -> None:
        """Pushes each entry of ``d`` with the role it has there. This runs for every
        entry of every object a revision rewrites: the roles whose entries all go the
        same way are pushed in one call, and only page-tree, form, annotation and field
        entries are looked at one by one."""
        role = own_role(d, role)
        entries = self.resolver.entries(d)
        skipped = _SKIPPED_IN_FIELDS if role is Role.FIELD or role is Role.SIGNATURE else _SKIPPED
        if role is Role.CATALOG:
            stack.extend(
                (value, _CATALOG_CHILDREN.get(name, Role.OTHER))
                for name, value in entries
                if name not in skipped
            )
        elif role in _LISTING_ROLES:
            for name, value in entries:
                if name in skipped:
                    continue
                if role is Role.PAGE_TREE and name in ("/Contents", "/Resources"):
                    stack.append((value, Role.PAGE_CONTENT))
                elif role is Role.PAGE_TREE and name == "/Annots":
                    self._annotations(value, Role.ANNOTS_LIST, stack)
                elif role is Role.ACROFORM and name == "/Fields":
                    self._annotations(value, Role.ACROFORM, stack)
                elif (role is Role.ANNOTATION or role is Role.FIELD) and name in (
                    "/Popup",
                    "/IRT",
                ):
                    stack.append((value, Role.ANNOTATION))
                else:
                    stack.append((value, role))
        else:
            stack.extend((value, role) for name, value in entries if name not in skipped)

    def _annotations(
        self,
        value: generic.PdfObject,
        list_role: Role,
        stack: list[tuple[generic.PdfObject, Role]],
    ) -> None:
        if isinstance(value, generic.IndirectObject):
            self.marks.add((key_of(value), list_role))
        items = resolve(self.resolver, value)
        if not isinstance(items, generic.ArrayObject):
            return
        entry = ListEntry.FIELD if list_role is Role.ACROFORM else ListEntry.ANNOTATION
        for item in self.resolver.items(items):
            if isinstance(item, generic.IndirectObject):
                self.edges.add((key_of(item), entry))
                continue
            role = entry_role(self.resolver, item, entry.value)
            if role is not None:
                stack.append((item, role))


def expand(resolver: RevisionView, state: State) -> Expansion:
    """What ``state``'s object, as ``resolver``'s revision defines it, makes reachable:
    a list entry leads to the object in its role (if it is a dictionary)."""
    key, role = state
    if isinstance(role, ListEntry):
        found = entry_role(resolver, load(resolver, key), role.value)
        edges = frozenset({(key, found)}) if found is not None else frozenset()
        return Expansion(edges, frozenset())
    return _Expander(resolver).run([(load(resolver, key), role)])


def roots(resolver: RevisionView) -> frozenset[State]:
    """Where every walk of a revision starts: its trailer's catalog, info and encryption."""
    trailer = resolver.trailer_view
    root = trailer.raw_get("/Root") if "/Root" in trailer else None
    if not isinstance(root, generic.IndirectObject):
        raise MalformedInput("PDF", "the trailer has no indirect /Root catalog")
    start = [
        (trailer.raw_get(name), role) for name, role in _TRAILER_CHILDREN.items() if name in trailer
    ]
    return _Expander(resolver).run(start).edges


# Reads one annotation as a signature widget (``None``: it is none); page_section's caller
# may answer from what it kept of an earlier revision.
WidgetReader = Callable[[RevisionView, Key], "Widget | None"]


class PagePart(NamedTuple):
    """What one page gives its revision's section: its box, the objects drawn on it (the
    page first) and its annotations, read as widgets by the section. The page's part does
    not depend on what its annotations hold: a signing revision rewrites one widget, and
    reading the page again for it cost every revision a page."""

    box: Rect
    drawn: tuple[Key, ...]
    annotations: tuple[Key, ...]


# Reads one page; page_section's caller may answer from an earlier revision's reading.
PageReader = Callable[[RevisionView, Key], PagePart]


class _Pages:
    def __init__(
        self,
        resolver: RevisionView,
        budget: Budget,
        page_reader: PageReader,
        widget_reader: WidgetReader,
    ) -> None:
        self.resolver = resolver
        self.budget = budget
        self.page_reader = page_reader
        self.widget_reader = widget_reader
        self.pages: list[Key] = []
        self.page_boxes: list[Rect] = []
        self.page_of: dict[Key, int] = {}
        self.annotations: list[Annotation] = []

    def run(self) -> PageSection:
        """Pages in reading order, with their annotations and signature widgets."""
        trailer = self.resolver.trailer_view
        root = trailer.raw_get("/Root") if "/Root" in trailer else None
        catalog = resolve(self.resolver, root) if root is not None else None
        if not isinstance(catalog, generic.DictionaryObject) or "/Pages" not in catalog:
            raise MalformedInput("PDF", "the catalog has no /Pages tree")
        pending: list[generic.PdfObject] = [catalog.raw_get("/Pages")]
        seen: set[Key] = set()
        while pending:
            node_ref = pending.pop()
            self.budget.spend()
            if isinstance(node_ref, generic.IndirectObject):
                if key_of(node_ref) in seen:
                    raise MalformedInput("PDF", "the page tree contains a cycle")
                seen.add(key_of(node_ref))
            node = resolve(self.resolver, node_ref)
            if not isinstance(node, generic.DictionaryObject):
                continue
            kids = _get(self.resolver, node, "/Kids")
            if isinstance(kids, generic.ArrayObject):
                pending.extend(reversed(list(self.resolver.items(kids))))
            elif isinstance(node_ref, generic.IndirectObject):
                self._page(key_of(node_ref))
        return PageSection(
            tuple(self.pages), tuple(self.page_boxes), self.page_of, tuple(self.annotations)
        )

    def _page(self, key: Key) -> None:
        part = self.page_reader(self.resolver, key)
        index = len(self.pages)
        self.pages.append(key)
        self.page_boxes.append(part.box)
        self.page_of[key] = index
        for drawn in part.drawn[1:]:
            self.page_of.setdefault(drawn, index)
        self.annotations.extend(
            placed(key, index, self.widget_reader(self.resolver, key)) for key in part.annotations
        )


def page_part(resolver: RevisionView, key: Key) -> PagePart:
    """The page ``key`` as ``resolver``'s revision defines it."""
    page = load(resolver, key)
    if not isinstance(page, generic.DictionaryObject):
        return PagePart(_inherited_box(resolver, generic.DictionaryObject()), (key,), ())
    box = rect_of(resolver, page, "/CropBox") or rect_of(resolver, page, "/MediaBox")
    contents = _contents(resolver, page)
    annots = _get(resolver, page, "/Annots")
    items = resolver.items(annots) if isinstance(annots, generic.ArrayObject) else ()
    annotations = [key_of(item) for item in items if isinstance(item, generic.IndirectObject)]
    return PagePart(
        box or _inherited_box(resolver, page),
        (key, *contents, *annotations),
        tuple(annotations),
    )


def _contents(resolver: RevisionView, page: generic.DictionaryObject) -> list[Key]:
    raw = page.raw_get("/Contents") if "/Contents" in page else None
    drawn = [key_of(raw)] if isinstance(raw, generic.IndirectObject) else []
    contents = resolve(resolver, raw) if raw is not None else None
    if isinstance(contents, generic.ArrayObject):
        drawn += [
            key_of(i) for i in resolver.items(contents) if isinstance(i, generic.IndirectObject)
        ]
    return drawn


def signature_widget(resolver: RevisionView, key: Key) -> Widget | None:
    """The annotation ``key`` as a signature widget (its page left for the caller)."""
    d = load(resolver, key)
    if not isinstance(d, generic.DictionaryObject):
        return None
    if annotation_role(resolver, d) is not Role.SIGNATURE:
        return None
    rect = rect_of(resolver, d, "/Rect") or (0.0, 0.0, 0.0, 0.0)
    value = _get(resolver, d, "/V")
    parent = _get(resolver, d, "/Parent")
    if value is None and isinstance(parent, generic.DictionaryObject):
        value = _get(resolver, parent, "/V")
    signed = isinstance(value, generic.DictionaryObject) and "/Contents" in value
    # Whether a signed widget paints anything matters to nobody: decoding its
    # appearance was a tenth of reading a page again after each signature.
    overlay = not signed and is_visible(resolver, d) and _paints(resolver, d)
    return Widget(key, -1, rect, signed, overlay)


def page_section(
    resolver: RevisionView,
    budget: Budget,
    page_reader: PageReader = page_part,
    widget_reader: WidgetReader = signature_widget,
) -> PageSection:
    return _Pages(resolver, budget, page_reader, widget_reader).run()


def _paints(resolver: RevisionView, d: generic.DictionaryObject) -> bool:
    """Whether the normal appearance draws anything: an empty field prepared for a later
    signer is legitimate, a painted one without a signature is an overlay."""
    appearances = _get(resolver, d, "/AP")
    normal = (
        _get(resolver, appearances, "/N")
        if isinstance(appearances, generic.DictionaryObject)
        else None
    )
    if not isinstance(normal, generic.StreamObject):
        return normal is not None
    try:
        return bool(normal.data.strip())
    except (PdfReadError, ValueError, NotImplementedError):
        return True


def _inherited_box(resolver: RevisionView, page: generic.DictionaryObject) -> Rect:
    current: generic.PdfObject | None = _get(resolver, page, "/Parent")
    for _ in range(_MAX_PARENT_DEPTH):
        if not isinstance(current, generic.DictionaryObject):
            break
        box = rect_of(resolver, current, "/CropBox") or rect_of(resolver, current, "/MediaBox")
        if box is not None:
            return box
        current = _get(resolver, current, "/Parent")
    return 0.0, 0.0, 612.0, 792.0


def load(resolver: RevisionView, key: Key) -> generic.PdfObject:
    """``key``'s value as ``resolver``'s revision defines it, references followed."""
    for _ in range(_MAX_INDIRECTION):
        try:
            found = resolver.by_key(key)
        except PdfReadError:
            return Unreadable()
        if not isinstance(found, generic.IndirectObject):
            return found
        key = key_of(found)
    raise MalformedInput("PDF", "a reference chain is longer than any real document has")
