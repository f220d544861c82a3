"""Where every object of a PDF lives in each revision, each definition read only once.

pyHanko's ``HistoricalResolver`` re-reads, for its revision, every object that a later
revision overwrote, and copies every object it hands out; a lookup of an object's
history scans all cross-reference sections. Analysing n signatures over n revisions that
way costs n^2 reads and copies. Here the cross-reference sections are indexed once, per
object, by the revisions that wrote it, so a lookup is a bisection; and a definition at
one place in the file is the same object in every revision that uses it, so it is read
once and shared by all of them.

An object inside an object stream is at a place only together with the stream's own
definition: a revision that redefines the stream under its number redefines every object
in it, whether or not its cross-reference section lists them, and an older revision's
object is read from the stream as that revision defined it (pyHanko reads it from the
stream's current definition, which would let a later update rewrite what an earlier,
signed revision seems to hold).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import NamedTuple

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import ObjStreamRef

from sealbridge.documents.pdf.fastread import FastObjectReader, object_in_stream

Key = tuple[int, int]
# What a cross-reference entry says: a file offset, or a place in an object stream.
Entry = int | ObjStreamRef


class Packed(NamedTuple):
    """A place in an object stream, with where that stream is defined in the revision."""

    entry: ObjStreamRef
    container: int | None


Location = int | Packed


def key_of(ref: generic.IndirectObject | generic.Reference) -> Key:
    if isinstance(ref, generic.IndirectObject):
        ref = ref.reference
    return int(ref.idnum), int(ref.generation)


class ObjectHistory:
    """Every cross-reference entry of a file, by object, in revision order."""

    def __init__(self, reader: PdfFileReader) -> None:
        self.reader = reader
        xrefs = reader.xrefs
        self.total = int(xrefs.total_revisions)
        self._revisions: dict[Key, list[int]] = {}
        self._entries: dict[Key, list[Entry | None]] = {}
        self._written: dict[Key, list[int]] = {}
        self.explicit: list[frozenset[Key]] = []
        self.freed: list[frozenset[Key]] = []
        self._objects: dict[tuple[Key, Location], generic.PdfObject] = {}
        # Each object's definition read last, to spot one written again unchanged.
        self._last: dict[Key, tuple[Location, generic.PdfObject]] = {}
        # Without encryption an array holds its items as they are: read directly, not
        # through pyHanko's per-item decryption look-up.
        self.plain = not reader.encrypted
        self._trailers: dict[int, generic.DictionaryObject] = {}
        # The objects each object stream holds, as of the revision being indexed.
        members: dict[int, set[Key]] = {}
        for revision in range(self.total):
            freed = frozenset(key_of(r) for r in xrefs.refs_freed_in_revision(revision))
            listed = frozenset(key_of(r) for r in xrefs.explicit_refs_in_revision(revision))
            for key in sorted(freed):
                self._record(key, revision, None, members)
            for key in sorted(listed):
                where = xrefs.get_historical_ref(generic.Reference(*key), revision)
                self._record(key, revision, where, members)
            # A redefined object stream redefines what it holds: those objects are
            # written in this revision as much as the ones its section lists.
            rewritten = [number for number, generation in listed | freed if generation == 0]
            held: set[Key] = set().union(*(members.get(number, ()) for number in rewritten))
            explicit = listed | (held - freed)
            for key in sorted(explicit):
                self._written.setdefault(key, []).append(revision)
            self.freed.append(freed)
            self.explicit.append(frozenset(explicit))

    def _record(
        self, key: Key, revision: int, where: Entry | None, members: dict[int, set[Key]]
    ) -> None:
        entries = self._entries.setdefault(key, [])
        if entries and isinstance(entries[-1], ObjStreamRef):
            members.get(entries[-1].obj_stream_id, set()).discard(key)
        if isinstance(where, ObjStreamRef):
            members.setdefault(where.obj_stream_id, set()).add(key)
        self._revisions.setdefault(key, []).append(revision)
        entries.append(where)

    def _entry(self, key: Key, revision: int) -> Entry | None:
        revisions = self._revisions.get(key)
        if revisions is None:
            return None
        at = bisect_right(revisions, revision)
        return self._entries[key][at - 1] if at else None

    def location(self, key: Key, revision: int) -> Location | None:
        """Where ``revision``'s cross-reference data puts ``key`` (``None``: nowhere)."""
        entry = self._entry(key, revision)
        if not isinstance(entry, ObjStreamRef):
            return entry
        container = self._entry((entry.obj_stream_id, 0), revision)
        return Packed(entry, container if isinstance(container, int) else None)

    def first_defined(self, key: Key) -> int | None:
        """The earliest revision whose cross-reference data lists ``key``."""
        written = self._written.get(key)
        return written[0] if written else None

    def written_between(self, key: Key, after: int, upto: int) -> bool:
        """Whether a revision in ``(after, upto]`` lists ``key`` as written."""
        written = self._written.get(key, [])
        return bisect_right(written, upto) > bisect_right(written, after)

    def rewritten_as_before(self, key: Key, revision: int) -> bool:
        """Whether ``revision`` writes ``key`` again byte for byte as its predecessor had
        it (a signing revision rewrites the catalog unchanged): what was read from it
        holds. Only a definition already read is compared; any other counts as changed."""
        now, before = self.location(key, revision), self.location(key, revision - 1)
        return (
            isinstance(now, int)
            and isinstance(before, int)
            and isinstance(self.reader, FastObjectReader)
            and self.reader.same_definition(before, now)
        )

    def offset(self, where: Location) -> int | None:
        """The file offset of a definition; for one inside an object stream, that
        stream's offset in the same revision."""
        return where if isinstance(where, int) else where.container

    def load(self, key: Key, revision: int) -> generic.PdfObject:
        """``key``'s value in ``revision``, decrypted, resolved within nothing: callers
        resolve references through the ``RevisionView`` of the revision they judge."""
        return self.load_from(key, revision, self.location(key, revision))

    def load_from(self, key: Key, revision: int, where: Location | None) -> generic.PdfObject:
        """``load`` for a caller that has looked up ``where`` (``location``) already."""
        found = self._objects.get((key, where)) if where is not None else None
        if found is not None:
            return found
        ref = generic.Reference(key[0], key[1], self.reader)
        if where is None:
            # pyHanko decides what a dangling reference is (null, or an error if strict).
            return self.reader.get_object(ref, revision=revision)
        latest = self.location(key, self.total - 1) == where
        kept = self._last.get(key)
        if (
            kept is not None
            and isinstance(where, int)
            and isinstance(kept[0], int)
            and isinstance(self.reader, FastObjectReader)
            and self.reader.same_definition(kept[0], where)
        ):
            # Written again byte for byte (a signing revision rewrites the catalog as it
            # was): the object read before is this one.
            found = kept[1]
        elif latest:
            found = self.reader.get_object(ref)
        elif isinstance(where, Packed) and where.container is not None:
            stream = self.load((where.entry.obj_stream_id, 0), revision)
            found = object_in_stream(self.reader, key[0], stream, where.entry.ix_in_stream)
        else:
            found = self.reader.get_object(ref, revision)
        self._objects[key, where] = found
        self._last[key] = (where, found)
        return found

    def trailer(self, revision: int) -> generic.DictionaryObject:
        found = self._trailers.get(revision)
        if found is None:
            found = self.reader.trailer.flatten(revision)
            self._trailers[revision] = found
        return found

    def view(self, revision: int) -> RevisionView:
        return RevisionView(self, revision)


class RevisionView:
    """The file as one revision saw it: a resolver for ``structure.resolve``."""

    def __init__(self, history: ObjectHistory, revision: int) -> None:
        self.history = history
        self.revision = revision

    def __call__(self, ref: generic.Reference) -> generic.PdfObject:
        return self.by_key(key_of(ref))

    def by_key(self, key: Key) -> generic.PdfObject:
        return self.history.load(key, self.revision)

    def items(self, array: generic.ArrayObject) -> Iterable[generic.PdfObject]:
        """``array``'s items, decrypted."""
        return array if self.history.plain else array.iterate()

    def entries(
        self, d: generic.DictionaryObject
    ) -> Iterable[tuple[generic.NameObject, generic.PdfObject]]:
        """``d``'s entries, decrypted, references not followed."""
        return dict.items(d) if self.history.plain else _decrypted_entries(d)

    @property
    def trailer_view(self) -> generic.DictionaryObject:
        return self.history.trailer(self.revision)


class CurrentView(RevisionView):
    """The file as its last revision has it, read through the reader alone: the same
    objects as ``ObjectHistory.view`` of that revision (the history reads the newest
    definitions through the reader too), without indexing every object's history first.
    """

    def __init__(self, reader: PdfFileReader) -> None:
        self.reader = reader
        self.revision = int(reader.xrefs.total_revisions) - 1

    def by_key(self, key: Key) -> generic.PdfObject:
        return self.reader.get_object(generic.Reference(*key))

    def items(self, array: generic.ArrayObject) -> Iterable[generic.PdfObject]:
        return array.iterate() if self.reader.encrypted else array

    def entries(
        self, d: generic.DictionaryObject
    ) -> Iterable[tuple[generic.NameObject, generic.PdfObject]]:
        return _decrypted_entries(d) if self.reader.encrypted else dict.items(d)

    @property
    def trailer_view(self) -> generic.DictionaryObject:
        return self.reader.trailer.flatten(self.revision)


def _decrypted_entries(
    d: generic.DictionaryObject,
) -> list[tuple[generic.NameObject, generic.PdfObject]]:
    return [(name, d.raw_get(name)) for name in d]
