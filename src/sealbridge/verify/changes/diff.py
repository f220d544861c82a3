"""Judge every object a revision writes against the revision before it, by the role it
plays in the document.

pyHanko's own diff analysis (``pyhanko.sign.diff_analysis``) whitelists the updates that
signing workflows make and rejects everything else. This module answers a different
question for the report: *what* changed, on which page, and whether the certification
permits it while a page still looks different (the "replace" shadow attack hides there,
inside permitted form filling).

Each revision is judged once, whatever the number of signatures before it; what depends
on which signature asks (its signed bytes, its signed revision) is kept apart in
``RevisionFindings`` for ``timeline`` to settle per signature.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from pyhanko.pdf_utils import generic

from sealbridge.verify.changes.history import Key, ObjectHistory, RevisionView, key_of
from sealbridge.verify.changes.model import Change, ChangeKind, Verdict
from sealbridge.verify.changes.structure import (
    Budget,
    Role,
    Structure,
    Unreadable,
    load,
    rect_of,
    resolve,
)

# Catalog entries that signing and archiving workflows legitimately rewrite.
_CATALOG_EXEMPT = {"/AcroForm", "/DSS", "/Metadata", "/Extensions", "/MarkInfo", "/Version"}
_MAX_COMPARE_DEPTH = 64
_SUPPORTING = {
    Role.PAGE_CONTENT: "page content (fonts, images, forms)",
    Role.ANNOTATION: "annotations (appearances, fonts)",
    Role.FIELD: "form fields (appearances, fonts)",
}
_ALLOWED_KINDS = {
    Role.SIGNATURE: (ChangeKind.SIGNATURE_ADDED, "adds or fills signature fields"),
    Role.VALIDATION_DATA: (ChangeKind.VALIDATION_DATA, "adds validation data (DSS)"),
    Role.METADATA: (ChangeKind.METADATA, "updates document metadata"),
    Role.ACROFORM: (ChangeKind.OBJECT_CHANGED, "updates the form dictionary"),
}


# What one object adds to a revision's summary line: its role, and the verdict of the
# "supporting objects" line it is counted in (``None``: the role's allowed line).
Tally = tuple[Role, Verdict | None]


@dataclass(frozen=True)
class Context:
    """Everything needed to judge revision ``revision`` against ``revision - 1``."""

    history: ObjectHistory
    revision: int
    before: Structure
    after: Structure
    docmdp: int | None
    budget: Budget

    @property
    def old(self) -> RevisionView:
        return self.history.view(self.revision - 1)

    @property
    def new(self) -> RevisionView:
        return self.history.view(self.revision)


@dataclass(frozen=True)
class RevisionFindings:
    """One revision judged against its predecessor.

    ``keyed`` holds each finding under the object whose judging produced it, and
    ``tallies`` what each object adds to the summary lines, so that a signature for which
    that object's entry points into its signed bytes can drop both. ``freed`` objects are
    findings only for signatures whose revision used them; ``offsets`` (ascending) say
    where each written object's definition sits, for the signed-bytes check; ``activated``
    objects are used from this revision on but were defined earlier, the staging of a
    hide-and-replace if a signature covered them while unused.
    """

    revision: int
    keyed: tuple[tuple[Key, Change], ...]
    tallies: tuple[tuple[Key, Tally], ...]
    freed: tuple[Key, ...]
    offsets: tuple[tuple[int, Key], ...]
    activated: tuple[Key, ...]

    @cached_property
    def summary(self) -> tuple[Change, ...]:
        return self.summary_without(frozenset())

    def summary_without(self, dropped: frozenset[Key]) -> tuple[Change, ...]:
        allowed: Counter[Role] = Counter()
        supporting: Counter[tuple[Role, Verdict]] = Counter()
        for key, (role, verdict) in self.tallies:
            if key in dropped:
                continue
            if verdict is None:
                allowed[role] += 1
            else:
                supporting[role, verdict] += 1
        rev = self.revision
        found: list[Change] = []
        for role, count in sorted(allowed.items()):
            kind, what = _ALLOWED_KINDS[role]
            sentence = f"revision {rev} {what} ({count} object{'s' if count > 1 else ''})"
            found.append(Change(kind, Verdict.ALLOWED, sentence, revision=rev))
        for (role, verdict), count in sorted(supporting.items()):
            sentence = f"revision {rev} adds {count} object(s) used by {_SUPPORTING[role]}"
            found.append(Change(ChangeKind.OBJECT_CHANGED, verdict, sentence, revision=rev))
        return tuple(found)


def same(a: generic.PdfObject, b: generic.PdfObject, depth: int = 0) -> bool:
    """Structural equality that compares references by number, never by target."""
    if depth > _MAX_COMPARE_DEPTH or isinstance(a, Unreadable) or isinstance(b, Unreadable):
        return False
    if a is b:
        return True
    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        return (
            isinstance(a, generic.IndirectObject)
            and isinstance(b, generic.IndirectObject)
            and key_of(a) == key_of(b)
        )
    if isinstance(a, generic.StreamObject) != isinstance(b, generic.StreamObject):
        return False
    if (
        isinstance(a, generic.StreamObject)
        and isinstance(b, generic.StreamObject)
        and a.encoded_data != b.encoded_data
    ):
        return False
    if isinstance(a, generic.DictionaryObject) and isinstance(b, generic.DictionaryObject):
        return set(a.keys()) == set(b.keys()) and all(
            same(a.raw_get(k), b.raw_get(k), depth + 1) for k in a
        )
    if isinstance(a, generic.ArrayObject) and isinstance(b, generic.ArrayObject):
        return len(a) == len(b) and all(
            same(x, y, depth + 1) for x, y in zip(a.iterate(), b.iterate(), strict=True)
        )
    if isinstance(a, generic.TextStringObject) and isinstance(b, generic.TextStringObject):
        # Their bytes are equal exactly when the text and the encoding it was read in
        # are: pyHanko's original_bytes encodes the text again on every call.
        return str(a) == str(b) and a.autodetected_encoding == b.autodetected_encoding
    if isinstance(a, generic.TextStringObject | generic.ByteStringObject):
        return (
            isinstance(b, generic.TextStringObject | generic.ByteStringObject)
            and a.original_bytes == b.original_bytes
        )
    return type(a) is type(b) and a == b


def _changed_keys(old: generic.PdfObject, new: generic.PdfObject, ignore: set[str]) -> list[str]:
    if not (
        isinstance(old, generic.DictionaryObject) and isinstance(new, generic.DictionaryObject)
    ):
        return ["(object type)"]
    names = {str(k) for k in old} | {str(k) for k in new}
    return sorted(
        n
        for n in names - ignore
        if (n in old) != (n in new) or (n in old and not same(old.raw_get(n), new.raw_get(n)))
    )


def label(key: Key) -> str:
    return f"{key[0]} {key[1]}"


def docmdp_level(resolver: RevisionView) -> int | None:
    """The certification's permission level (1 no changes, 2 forms, 3 annotations)."""
    trailer = resolver.trailer_view
    root = resolve(resolver, trailer.raw_get("/Root")) if "/Root" in trailer else None
    if not isinstance(root, generic.DictionaryObject) or "/Perms" not in root:
        return None
    perms = resolve(resolver, root.raw_get("/Perms"))
    if not isinstance(perms, generic.DictionaryObject) or "/DocMDP" not in perms:
        return None
    sig = resolve(resolver, perms.raw_get("/DocMDP"))
    refs = (
        resolve(resolver, sig.raw_get("/Reference"))
        if isinstance(sig, generic.DictionaryObject) and "/Reference" in sig
        else None
    )
    if not isinstance(refs, generic.ArrayObject):
        return 2
    for item in refs.iterate():
        entry = resolve(resolver, item)
        if not isinstance(entry, generic.DictionaryObject):
            continue
        if _name_of(resolver, entry, "/TransformMethod") != "/DocMDP":
            continue
        params = (
            resolve(resolver, entry.raw_get("/TransformParams"))
            if "/TransformParams" in entry
            else None
        )
        level = (
            resolve(resolver, params.raw_get("/P"))
            if isinstance(params, generic.DictionaryObject) and "/P" in params
            else None
        )
        return int(level) if isinstance(level, generic.NumberObject) and 1 <= level <= 3 else 2
    return 2


def _name_of(resolver: RevisionView, d: generic.DictionaryObject, key: str) -> str | None:
    value = resolve(resolver, d.raw_get(key)) if key in d else None
    return str(value) if isinstance(value, generic.NameObject) else None


@dataclass
class _Found:
    keyed: list[tuple[Key, Change]] = field(default_factory=list)
    tallies: list[tuple[Key, Tally]] = field(default_factory=list)
    freed: list[Key] = field(default_factory=list)
    offsets: list[tuple[int, Key]] = field(default_factory=list)


class RevisionJudge:
    """Judges one revision against its predecessor."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.old = ctx.old
        self.new = ctx.new
        self.found = _Found()
        self.current: Key = (0, 0)

    def run(self) -> RevisionFindings:
        history = self.ctx.history
        xrefs = history.reader.xrefs
        rev = self.ctx.revision
        container = xrefs.get_xref_container_info(rev).stream_ref
        plumbing = {key_of(r) for r in xrefs.object_streams_used_in(rev)}
        if container is not None:
            plumbing.add(key_of(container))
        for key in sorted(history.explicit[rev] - plumbing):
            self.ctx.budget.spend()
            self.current = key
            self._judge(key)
        new_users = self.ctx.after.roles.keys() - self.ctx.before.roles.keys()
        activated = tuple(sorted(k for k in new_users if _defined_before(history, k, rev)))
        return RevisionFindings(
            rev,
            tuple(self.found.keyed),
            tuple(self.found.tallies),
            tuple(self.found.freed),
            tuple(sorted(self.found.offsets)),
            activated,
        )

    def _add(self, kind: ChangeKind, verdict: Verdict, sentence: str, key: Key | None) -> None:
        ctx = self.ctx
        change = finding(kind, verdict, sentence, ctx.revision, key, ctx.after, ctx.before)
        self.found.keyed.append((self.current, change))

    def _judge(self, key: Key) -> None:
        history = self.ctx.history
        rev = self.ctx.revision
        location = history.location(key, rev)
        if key in history.freed[rev] or location is None:
            self.found.freed.append(key)
            return
        offset = history.offset(location)
        if offset is not None:
            self.found.offsets.append((offset, key))
        old_roles = self.ctx.before.roles.get(key, set())
        new_roles = self.ctx.after.roles.get(key, set())
        old_obj = load(self.old, key) if history.location(key, rev - 1) is not None else None
        new_obj = load(self.new, key)
        if old_obj is not None and old_roles and same(old_obj, new_obj):
            return
        roles = old_roles | new_roles
        if not roles:
            return  # an orphan: nothing displays it
        self._classify(key, max(roles), old_obj, new_obj)

    def _supporting(self, key: Key, role: Role, new: generic.PdfObject) -> bool:
        """New fonts, images and appearance streams are counted, not listed one by one:
        the page, annotation or field that uses them is the finding."""
        if role is Role.PAGE_CONTENT:
            primary = key in self.ctx.after.page_of
            verdict = Verdict.NOT_ALLOWED
        elif role is Role.ANNOTATION:
            primary = isinstance(new, generic.DictionaryObject) and "/Rect" in new
            verdict = self._annotation_verdict()
        elif role is Role.FIELD:
            primary = isinstance(new, generic.DictionaryObject) and any(
                k in new for k in ("/T", "/Rect", "/V", "/FT")
            )
            verdict = self._form_verdict()
        else:
            return False
        if not primary:
            self.found.tallies.append((key, (role, verdict)))
        return not primary

    def _classify(
        self, key: Key, role: Role, old: generic.PdfObject | None, new: generic.PdfObject
    ) -> None:
        if old is None and self._supporting(key, role, new):
            return
        if role in (Role.PAGE_CONTENT, Role.PAGE_TREE, Role.ANNOTS_LIST):
            self._page_change(key, role, old, new)
        elif role is Role.CATALOG:
            keys = _changed_keys(old, new, _CATALOG_EXEMPT) if old is not None else ["(new)"]
            if keys:
                self._add(
                    ChangeKind.CATALOG,
                    Verdict.NOT_ALLOWED,
                    f"the document catalog was changed after signing ({', '.join(keys)})",
                    key,
                )
        elif role is Role.OTHER:
            verdict = Verdict.NOT_ALLOWED if old is not None else Verdict.SUSPICIOUS
            self._add(
                ChangeKind.OBJECT_CHANGED,
                verdict,
                f"object {label(key)} ({describe(new)}) was "
                f"{'changed' if old is not None else 'added'} outside pages, forms and "
                "signatures",
                key,
            )
        elif role is Role.ANNOTATION:
            self._annotation(key, old, new)
        elif role is Role.FIELD:
            self._field(key, old, new)
        elif role is Role.SIGNATURE:
            self._signature(key, old, new)
        else:
            self.found.tallies.append((key, (role, None)))

    def _page_change(
        self, key: Key, role: Role, old: generic.PdfObject | None, new: generic.PdfObject
    ) -> None:
        page = self.ctx.after.page_of.get(key, self.ctx.before.page_of.get(key))
        where = f"page {page + 1}" if page is not None else "a page"
        if role is Role.PAGE_CONTENT:
            self._add(
                ChangeKind.PAGE_CONTENT,
                Verdict.NOT_ALLOWED,
                f"content drawn on {where} (object {label(key)}, {describe(new)}) was "
                f"{'replaced' if old is not None else 'added'} after signing",
                key,
            )
            return
        if old is None:
            self._add(
                ChangeKind.PAGE_TREE,
                Verdict.NOT_ALLOWED,
                f"the page tree gained object {label(key)} after signing (a page added or "
                "replaced)",
                key,
            )
            return
        ignore = {"/Annots"} if role is Role.PAGE_TREE else set()
        keys = _changed_keys(old, new, ignore) if role is Role.PAGE_TREE else []
        is_page = (
            isinstance(new, generic.DictionaryObject)
            and _name_of(self.new, new, "/Type") == "/Page"
        )
        if keys:
            kind = ChangeKind.PAGE_CHANGED if is_page else ChangeKind.PAGE_TREE
            self._add(
                kind,
                Verdict.NOT_ALLOWED,
                f"{where if is_page else 'the page tree'} was changed after signing "
                f"({', '.join(keys)})",
                key,
            )
            return
        self._removed_annotations(key, old, new)

    def _removed_annotations(
        self, key: Key, old: generic.PdfObject, new: generic.PdfObject
    ) -> None:
        before = _annot_keys(self.old, old)
        after = _annot_keys(self.new, new)
        for gone in sorted(before - after):
            self._add(
                ChangeKind.ANNOTATION_REMOVED,
                self._annotation_verdict(),
                f"annotation {label(gone)} was removed after signing: content it covered "
                f"becomes visible{self._permission_note(annotations=True)}",
                gone,
            )

    def _annotation_verdict(self) -> Verdict:
        mdp = self.ctx.docmdp
        return Verdict.SUSPICIOUS if mdp is None or mdp >= 3 else Verdict.NOT_ALLOWED

    def _form_verdict(self) -> Verdict:
        mdp = self.ctx.docmdp
        return Verdict.SUSPICIOUS if mdp is None or mdp >= 2 else Verdict.NOT_ALLOWED

    def _permission_note(self, *, annotations: bool) -> str:
        verdict = self._annotation_verdict() if annotations else self._form_verdict()
        if self.ctx.docmdp is None:
            return " (approval signatures permit it, but the page may now look different)"
        if verdict is Verdict.SUSPICIOUS:
            return " (the certification permits it, but the page may now look different)"
        return f" (the certification, level {self.ctx.docmdp}, does not permit it)"

    def _annotation(self, key: Key, old: generic.PdfObject | None, new: generic.PdfObject) -> None:
        subtype = describe(new)
        rect = (
            rect_of(self.new, new, "/Rect") if isinstance(new, generic.DictionaryObject) else None
        )
        where = f" at {_rect_text(rect)}" if rect else ""
        kind = ChangeKind.ANNOTATION_ADDED if old is None else ChangeKind.ANNOTATION_CHANGED
        verb = "added" if old is None else "changed"
        self._add(
            kind,
            self._annotation_verdict(),
            f"an annotation ({subtype}) was {verb}{where} after signing: it can cover signed "
            f"content{self._permission_note(annotations=True)}",
            key,
        )

    def _field(self, key: Key, old: generic.PdfObject | None, new: generic.PdfObject) -> None:
        name = _field_name(self.new, new)
        note = self._permission_note(annotations=False)
        if isinstance(new, generic.StreamObject) or not isinstance(new, generic.DictionaryObject):
            self._add(
                ChangeKind.FORM_FIELD_APPEARANCE,
                self._form_verdict(),
                f"an appearance of a form field (object {label(key)}) was "
                f"{'added' if old is None else 'replaced'} after signing{note}",
                key,
            )
            return
        if old is None and "/T" in new:
            mdp = self.ctx.docmdp
            verdict = Verdict.SUSPICIOUS if mdp is None else Verdict.NOT_ALLOWED
            self._add(
                ChangeKind.FORM_FIELD_ADDED,
                verdict,
                f"form field {name} was added after signing",
                key,
            )
            return
        keys = _changed_keys(old, new, set()) if old is not None else ["/AP"]
        if "/V" in keys:
            before = _value_text(self.old, old) if old is not None else "none"
            after = _value_text(self.new, new)
            self._add(
                ChangeKind.FORM_FIELD_VALUE,
                self._form_verdict(),
                f"form field {name} changed value after signing ({before} -> {after}){note}",
                key,
            )
        elif keys:
            self._add(
                ChangeKind.FORM_FIELD_APPEARANCE,
                self._form_verdict(),
                f"form field {name} changed its {', '.join(keys)} after signing{note}",
                key,
            )

    def _signature(self, key: Key, old: generic.PdfObject | None, new: generic.PdfObject) -> None:
        if old is None or not isinstance(old, generic.DictionaryObject):
            self.found.tallies.append((key, (Role.SIGNATURE, None)))
            return
        if "/ByteRange" in old:
            self._add(
                ChangeKind.SIGNATURE_CHANGED,
                Verdict.NOT_ALLOWED,
                f"an existing signature value (object {label(key)}) was rewritten",
                key,
            )
            return
        old_value = _signature_value(self.old, old)
        if old_value is not None and not same(
            old_value,
            new.raw_get("/V")
            if isinstance(new, generic.DictionaryObject) and "/V" in new
            else generic.NullObject(),
        ):
            self._add(
                ChangeKind.SIGNATURE_CHANGED,
                Verdict.NOT_ALLOWED,
                f"signature field {_field_name(self.new, new)} was already signed and was "
                "given another value",
                key,
            )
            return
        self.found.tallies.append((key, (Role.SIGNATURE, None)))


def _defined_before(history: ObjectHistory, key: Key, revision: int) -> bool:
    first = history.first_defined(key)
    return first is not None and first < revision


def finding(
    kind: ChangeKind,
    verdict: Verdict,
    sentence: str,
    revision: int,
    key: Key | None,
    after: Structure,
    before: Structure,
) -> Change:
    """A finding about ``key``, on the page that shows it now, or showed it before."""
    page = after.page_of.get(key) if key else None
    if page is None and key is not None:
        page = before.page_of.get(key)
    return Change(
        kind,
        verdict,
        sentence,
        revision=revision,
        obj=label(key) if key else None,
        page=None if page is None else page + 1,
    )


def _annot_keys(resolver: RevisionView, obj: generic.PdfObject) -> set[Key]:
    if isinstance(obj, generic.DictionaryObject):
        obj = (
            resolve(resolver, obj.raw_get("/Annots")) if "/Annots" in obj else generic.ArrayObject()
        )
    if not isinstance(obj, generic.ArrayObject):
        return set()
    return {key_of(i) for i in resolver.items(obj) if isinstance(i, generic.IndirectObject)}


def describe(obj: generic.PdfObject) -> str:
    if isinstance(obj, Unreadable):
        return "unreadable object"
    if isinstance(obj, generic.DictionaryObject):
        for name in ("/Subtype", "/Type", "/FT"):
            value = obj.get(name) if name in obj else None
            if isinstance(value, generic.NameObject):
                return (
                    f"{'stream' if isinstance(obj, generic.StreamObject) else 'dictionary'} {value}"
                )
        return "stream" if isinstance(obj, generic.StreamObject) else "dictionary"
    return type(obj).__name__.replace("Object", "").lower()


def _field_name(resolver: RevisionView, obj: generic.PdfObject) -> str:
    current: generic.PdfObject | None = obj
    for _ in range(32):
        if not isinstance(current, generic.DictionaryObject):
            break
        if "/T" in current:
            return f"'{resolve(resolver, current.raw_get('/T'))}'"
        current = resolve(resolver, current.raw_get("/Parent")) if "/Parent" in current else None
    return "(unnamed)"


def _value_text(resolver: RevisionView, obj: generic.PdfObject) -> str:
    if not isinstance(obj, generic.DictionaryObject) or "/V" not in obj:
        return "none"
    value = resolve(resolver, obj.raw_get("/V"))
    text = str(value)
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def _signature_value(
    resolver: RevisionView, field: generic.DictionaryObject
) -> generic.PdfObject | None:
    if "/V" not in field:
        return None
    value = resolve(resolver, field.raw_get("/V"))
    if isinstance(value, generic.DictionaryObject) and "/Contents" in value:
        return field.raw_get("/V")
    return None


def _rect_text(rect: tuple[float, float, float, float]) -> str:
    return "[" + " ".join(f"{v:g}" for v in rect) + "]"
