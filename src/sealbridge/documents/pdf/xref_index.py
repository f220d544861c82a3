"""pyHanko's cross-reference cache with each object's history indexed once.

pyHanko answers "where is this object as of revision r" and "which revision last changed
it" by asking every cross-reference section from r backwards, each miss a raised
KeyError: every read of an object the first revision wrote costs one question per
revision, so reading a file of n signatures cost n^2 questions (2,564 for 30, and the
count quadruples when the signatures double). Here every section is asked once about
each object its tables name, with pyHanko's own ``try_resolve``, and the answers are
kept by object: every question after that is a bisection.
"""

from __future__ import annotations

from bisect import bisect_right

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.xref import ObjStreamRef, XRefCache, XRefSectionData

Found = int | ObjStreamRef | None


class IndexedXRefCache(XRefCache):
    """The same answers as the ``XRefCache`` it is made from (the same sections, asked
    with their own ``try_resolve``), found for every object at once on first use."""

    def __init__(self, cache: XRefCache) -> None:
        super().__init__(cache.reader, cache._xref_sections)
        self._history: dict[tuple[int, int], tuple[list[int], list[Found]]] | None = None

    def _of(self, ref: generic.Reference | generic.IndirectObject) -> tuple[list[int], list[Found]]:
        if self._history is None:
            self._history = self._index()
        if isinstance(ref, generic.IndirectObject):
            ref = ref.reference
        return self._history.get((ref.idnum, ref.generation), _NOWHERE)

    def _index(self) -> dict[tuple[int, int], tuple[list[int], list[Found]]]:
        """Per (number, generation): the revisions whose section resolves it, in order,
        and what each said (None where a section frees it). A section resolves only
        what its tables name, so each section is asked about those alone."""
        history: dict[tuple[int, int], tuple[list[int], list[Found]]] = {}
        for revision, section in enumerate(self._xref_sections):
            for idnum, generation in sorted(_named(section.xref_data)):
                try:
                    answer = section.xref_data.try_resolve(generic.Reference(idnum, generation))
                except KeyError:
                    continue
                revisions, found = history.setdefault((idnum, generation), ([], []))
                revisions.append(revision)
                found.append(answer)
        return history

    def get_historical_ref(
        self, ref: generic.Reference | generic.IndirectObject, revision: int
    ) -> Found:
        revisions, found = self._of(ref)
        at = bisect_right(revisions, revision)
        return found[at - 1] if at else None

    def get_last_change(self, ref: generic.Reference) -> int:
        revisions, _ = self._of(ref)
        if not revisions:
            raise KeyError(ref)
        return revisions[-1]

    def __getitem__(self, ref: generic.Reference | generic.IndirectObject) -> Found:
        return self.get_historical_ref(ref, self.total_revisions - 1)


_NOWHERE: tuple[list[int], list[Found]] = ([], [])


def _named(data: XRefSectionData) -> set[tuple[int, int]]:
    """Every (number, generation) a section's tables (and its hybrid stream's) name: in
    an object stream (generation 0), in the table, or freed (the generation before the
    next one it gives)."""
    named = {(idnum, 0) for idnum in data.xrefs_in_objstm}
    named |= {(idnum, generation) for idnum, (generation, _) in data.standard_xrefs.items()}
    named |= {(idnum, following - 1) for idnum, following in data.freed.items()}
    if data.hybrid is not None:
        named |= _named(data.hybrid.xref_data)
    return named
