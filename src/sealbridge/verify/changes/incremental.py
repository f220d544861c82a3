"""Each revision's ``Structure`` built from its predecessor's, not by walking the file again.

A signing revision writes a handful of objects; walking the whole graph again for each of
n revisions costs n times the document. Here every object's expansion (what it makes
reachable, in one role) and the page tree's reading are kept with the places, in the
file, of every definition they read: they hold in any revision that defines those objects
at the same places. Revision r then re-expands only the objects whose expansion read an
object that r rewrote or freed, and walks on from what they newly reach.

A revision that only adds edges keeps every object its predecessor reached (each old
path still exists), so adding what the new edges reach gives exactly the full walk.
When an edge disappears, what lost it may or may not still be reachable another way;
that revision is walked whole instead, from the kept expansions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import NamedTuple, TypeVar

from pyhanko.pdf_utils import generic

from sealbridge.verify.changes.history import Key, Location, ObjectHistory, RevisionView, key_of
from sealbridge.verify.changes.structure import (
    Budget,
    Expansion,
    Mark,
    PagePart,
    PageSection,
    Role,
    State,
    Structure,
    Widget,
    expand,
    load,
    own_role,
    page_part,
    page_section,
    placed,
    roots,
    signature_widget,
)

_T = TypeVar("_T")


class Reads:
    """The definitions one reading used, and the last revision they are known to hold
    in (moved forward each time they are found to hold, so the next revision's question
    costs one revision's changes)."""

    __slots__ = ("entries", "keys", "through")

    def __init__(self, entries: dict[Key, Location | None], revision: int) -> None:
        self.entries = entries
        self.keys = frozenset(entries)
        self.through = revision


class _Recorder(RevisionView):
    """A revision's view that notes where every definition it hands out sits."""

    def __init__(self, history: ObjectHistory, revision: int) -> None:
        super().__init__(history, revision)
        self.read: dict[Key, Location | None] = {}

    def by_key(self, key: Key) -> generic.PdfObject:
        where = self.read[key] = self.history.location(key, self.revision)
        return self.history.load_from(key, self.revision, where)

    @property
    def reads(self) -> Reads:
        """What was read, taken once the reading is done (the record is not copied)."""
        return Reads(self.read, self.revision)


class _SectionReading(NamedTuple):
    """The page section last read, with what its page tree read (the catalog, the tree's
    nodes and its pages; each widget's reading is kept on its own)."""

    revision: int
    root: Key
    tree: Reads
    section: PageSection


@dataclass(frozen=True)
class _Walked:
    """A revision's structure with the walk that produced it, for its successor to extend."""

    structure: Structure
    states: frozenset[State]
    marks: frozenset[Mark]
    roots: frozenset[State]
    # Each reached state's parents among the reached states: what tells, when a revision
    # cuts an edge, whether its target is still reachable another way.
    parents: dict[State, frozenset[State]]


class Walks:
    """The structures of one file's revisions, sharing every expansion that still holds."""

    def __init__(self, history: ObjectHistory) -> None:
        self.history = history
        self._walked: dict[int, _Walked] = {}
        self._expansions: dict[State, list[tuple[Reads, Expansion]]] = {}
        self._section_read: _SectionReading | None = None
        self._widgets: dict[Key, list[tuple[Reads, Widget | None]]] = {}
        self._pages: dict[Key, list[tuple[Reads, PagePart]]] = {}
        # Which states' kept expansions read an object: those a rewrite of it may change.
        self._readers: dict[Key, set[State]] = {}
        # Which annotations' kept widget readings read an object, likewise.
        self._widget_readers: dict[Key, set[Key]] = {}
        # What each revision changed, found when first asked (see ``_changed_in``).
        self._changed: list[frozenset[Key] | None] = [None] * history.total

    def structure(self, revision: int, budget: Budget) -> Structure:
        walked = self._walked.get(revision)
        if walked is None:
            before = self._walked.get(revision - 1)
            if before is None:
                walked = self._whole(revision, budget)
            else:
                walked = self._extend(before, revision, budget)
            self._walked[revision] = walked
        return walked.structure

    def _changed_in(self, revision: int) -> frozenset[Key]:
        """The objects ``revision`` rewrote or freed, less those it wrote again as they
        were: an unchanged catalog rewritten by every signing revision made every
        revision expand it, and read the page tree, again."""
        changed = self._changed[revision]
        if changed is None:
            history = self.history
            changed = frozenset(
                key
                for key in history.explicit[revision] | history.freed[revision]
                if not history.rewritten_as_before(key, revision)
            )
            self._changed[revision] = changed
        return changed

    def _holding(self, versions: list[tuple[Reads, _T]], revision: int) -> tuple[Reads, _T] | None:
        """The newest of the last two readings that still holds in ``revision``.

        A reading is made only when none held, and going forward a reading holds up to
        the first change of what it read, then never again: the readings before the
        last two have failed for good, except for a look back, which the one before the
        newest serves (a step back to the revision before). Asking every reading cost
        each revision the number of revisions before it. Anything else is read anew,
        which is always right.
        """
        if versions:
            if self._holds(versions[-1][0], revision):
                return versions[-1]
            if len(versions) > 1 and self._holds(versions[-2][0], revision):
                return versions[-2]
        return None

    def _holds(self, reads: Reads, revision: int) -> bool:
        """Whether every definition ``reads`` used is still the one ``revision`` uses.

        Going forward that is: none was rewritten or freed since, which costs what the
        revisions in between changed, not what was read.
        """
        if revision == reads.through:
            return True
        if revision > reads.through:
            for later in range(reads.through + 1, revision + 1):
                if not self._changed_in(later).isdisjoint(reads.keys):
                    return False
                reads.through = later
            return True
        location = self.history.location
        return all(location(key, revision) == where for key, where in reads.entries.items())

    def _expansion(self, state: State, revision: int, budget: Budget) -> Expansion:
        return self._kept(state, revision, budget)[1]

    def _kept(self, state: State, revision: int, budget: Budget) -> tuple[Reads, Expansion]:
        """``state``'s expansion in ``revision``, with the reads it holds by."""
        versions = self._expansions.setdefault(state, [])
        kept = self._holding(versions, revision)
        if kept is not None:
            return kept
        key, role = state
        typed: State = state
        if isinstance(role, Role):
            typed = (key, own_role(load(self.history.view(revision), key), role))
        if typed != state:
            # A page reached as a link target is expanded as the page it is: one
            # expansion serves both states, each keeping it under the same reads.
            reads, found = self._kept(typed, revision, budget)
        else:
            budget.spend()
            recorder = _Recorder(self.history, revision)
            found = expand(recorder, state)
            reads = recorder.reads
        versions.append((reads, found))
        for read in reads.keys:
            self._readers.setdefault(read, set()).add(state)
        return reads, found

    def _section(self, revision: int, budget: Budget) -> PageSection:
        """The page section of ``revision``: the last one read, its widgets brought up to
        date, while the page tree it read (catalog, nodes, pages) holds; else read anew."""
        trailer = self.history.trailer(revision)
        root = key_of(trailer.raw_get("/Root"))
        last = self._section_read
        if last is not None and last.root == root and last.revision < revision:
            since = last.revision
            if self._holds(last.tree, revision):
                section = self._rewidgeted(last.section, since, revision)
                self._section_read = last._replace(revision=revision, section=section)
                return section
        recorder = _Recorder(self.history, revision)
        section = page_section(
            recorder,
            budget,
            lambda _, key: self._page(recorder, key),
            lambda _, key: self._widget(revision, key),
        )
        self._section_read = _SectionReading(revision, root, recorder.reads, section)
        return section

    def _rewidgeted(self, section: PageSection, since: int, revision: int) -> PageSection:
        """``section`` with the widgets read again whose definitions a revision after
        ``since`` changed: a signing revision rewrites one widget of n, and reading
        every page's widgets again made n revisions cost n^2."""
        changed: set[Key] = set()
        for later in range(since + 1, revision + 1):
            changed |= self._changed_in(later)
        dirty = {key for read in changed for key in self._widget_readers.get(read, ())}
        if not dirty:
            return section
        return section._replace(
            annotations=tuple(
                placed(found.key, found.page, self._widget(revision, found.key))
                if found.key in dirty
                else found
                for found in section.annotations
            )
        )

    def _page(self, section: _Recorder, key: Key) -> PagePart:
        """A page's part of the section as kept while its definitions hold: a signing
        revision changes one page of many, and re-reading them all cost n^2."""
        versions = self._pages.setdefault(key, [])
        kept = self._holding(versions, section.revision)
        if kept is not None:
            section.read.update(kept[0].entries)
            return kept[1]
        recorder = _Recorder(self.history, section.revision)
        found = page_part(recorder, key)
        versions.append((recorder.reads, found))
        section.read.update(recorder.read)
        return found

    def _widget(self, revision: int, key: Key) -> Widget | None:
        """An annotation as a signature widget, kept while its definitions hold."""
        versions = self._widgets.setdefault(key, [])
        kept = self._holding(versions, revision)
        if kept is not None:
            return kept[1]
        recorder = _Recorder(self.history, revision)
        found = signature_widget(recorder, key)
        reads = recorder.reads
        versions.append((reads, found))
        for read in reads.keys:
            self._widget_readers.setdefault(read, set()).add(key)
        return found

    def _whole(self, revision: int, budget: Budget) -> _Walked:
        start = roots(self.history.view(revision))
        states: set[State] = set()
        marks: set[Mark] = set()
        parents: dict[State, set[State]] = {}
        pending = list(start)
        while pending:
            state = pending.pop()
            if state in states:
                continue
            states.add(state)
            found = self._expansion(state, revision, budget)
            marks |= found.marks
            for edge in found.edges:
                parents.setdefault(edge, set()).add(state)
            pending.extend(found.edges - states)
        roles: dict[Key, set[Role]] = {}
        for key, role in (*states, *marks):
            if isinstance(role, Role):
                roles.setdefault(key, set()).add(role)
        frozen = {state: frozenset(found) for state, found in parents.items()}
        return self._walked_from(revision, budget, roles, states, marks, start, frozen)

    def _extend(self, before: _Walked, revision: int, budget: Budget) -> _Walked:
        """``before`` carried to ``revision``: new edges walked on from; cut edges
        followed by a reachability check of what hangs below them only, not of the
        document (signing a prepared field replaces its empty appearance: one cut edge
        per revision, which made every revision a whole walk)."""
        start = roots(self.history.view(revision))
        if before.roots - start:
            return self._whole(revision, budget)
        stale = {
            state
            for key in self._changed_in(revision)
            for state in self._readers.get(key, ())
            if state in before.states
        }
        parents = dict(before.parents)
        edges = set(start - before.roots)
        cut: set[State] = set()
        marks: set[Mark] = set()
        for state in stale:
            old = self._expansion(state, revision - 1, budget)
            new = self._expansion(state, revision, budget)
            if old.marks - new.marks:
                return self._whole(revision, budget)
            for edge in old.edges - new.edges:
                parents[edge] = parents[edge] - {state}
                cut.add(edge)
            for edge in new.edges - old.edges:
                parents[edge] = parents.get(edge, frozenset()) | {state}
                edges.add(edge)
            marks |= new.marks - old.marks
        states = set(before.states)
        pending = list(edges - states)
        while pending:
            state = pending.pop()
            if state in states:
                continue
            states.add(state)
            found = self._expansion(state, revision, budget)
            marks |= found.marks
            for edge in found.edges:
                parents[edge] = parents.get(edge, frozenset()) | {state}
            pending.extend(found.edges - states)
        gone = self._unreachable(cut, states, start, parents, revision, budget)
        if any(self._expansion(state, revision, budget).marks for state in gone):
            return self._whole(revision, budget)
        roles = dict(before.structure.roles)
        for key, role in chain(states - before.states, marks - before.marks):
            if isinstance(role, Role):
                roles[key] = roles.get(key, set()) | {role}
        for state in gone:
            states.discard(state)
            for edge in self._expansion(state, revision, budget).edges:
                if edge in parents:
                    parents[edge] = parents[edge] - {state}
            parents.pop(state, None)
        all_marks = before.marks | marks
        for key, role in gone:
            if isinstance(role, Role) and (key, role) not in all_marks:
                remaining = roles[key] - {role}
                if remaining:
                    roles[key] = remaining
                else:
                    del roles[key]
        return self._walked_from(revision, budget, roles, states, all_marks, start, parents)

    def _unreachable(
        self,
        cut: set[State],
        states: set[State],
        start: frozenset[State],
        parents: dict[State, frozenset[State]],
        revision: int,
        budget: Budget,
    ) -> set[State]:
        """The states only the cut edges led to. Everything below a cut edge is
        suspect; a suspect stays if a parent outside the suspects (reached without any
        cut edge) or a root leads to it, directly or through other suspects."""
        suspects: set[State] = set()
        pending = [state for state in cut if state in states]
        while pending:
            state = pending.pop()
            if state in suspects:
                continue
            suspects.add(state)
            edges = self._expansion(state, revision, budget).edges
            pending.extend(edge for edge in edges if edge in states)
        kept = {
            state
            for state in suspects
            if state in start or any(p not in suspects for p in parents.get(state, ()))
        }
        pending = list(kept)
        while pending:
            state = pending.pop()
            for edge in self._expansion(state, revision, budget).edges:
                if edge in suspects and edge not in kept:
                    kept.add(edge)
                    pending.append(edge)
        return suspects - kept

    def _walked_from(
        self,
        revision: int,
        budget: Budget,
        roles: dict[Key, set[Role]],
        states: Iterable[State],
        marks: Iterable[Mark],
        start: frozenset[State],
        parents: dict[State, frozenset[State]],
    ) -> _Walked:
        section = self._section(revision, budget)
        structure = Structure(
            roles,
            list(section.pages),
            list(section.page_boxes),
            section.widgets,
            dict(section.page_of),
        )
        return _Walked(structure, frozenset(states), frozenset(marks), start, parents)


def walk(resolver: RevisionView, budget: Budget) -> Structure:
    """One revision's structure from nothing kept: what the incremental one must equal."""
    return Walks(resolver.history).structure(resolver.revision, budget)
