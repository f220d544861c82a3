"""One file's revisions, each walked and judged once, and what they mean to each signature.

Judging every later revision against every signed one costs n(n-1)/2 judgements for n
signatures. Each revision is judged once against its predecessor instead (``diff``), and a
signature's findings are those of the revisions after it, settled for what depends on the
signature itself:

- an entry that points into bytes the signature covers, at a definition its signed
  revision did not use, is the replace step of a hide-and-replace: the object's findings
  give way to that verdict (the definition can sit before the first signature and be
  switched on after the last, so every signature covering it is told);
- a deleted object matters if the signed revision used it;
- an object the signed revision defined but did not use, used from a later revision on,
  was staged before signing (whichever revision in between switched it on).
"""

from __future__ import annotations

from bisect import bisect_left
from functools import cached_property

from pyhanko.pdf_utils.reader import PdfFileReader

from sealbridge.verify.changes.diff import (
    Context,
    RevisionFindings,
    RevisionJudge,
    describe,
    docmdp_level,
    finding,
    label,
    same,
)
from sealbridge.verify.changes.history import CurrentView, Key, ObjectHistory
from sealbridge.verify.changes.incremental import Walks
from sealbridge.verify.changes.model import Change, ChangeKind, Verdict
from sealbridge.verify.changes.structure import Budget, Role, Structure, load


class Timeline:
    """Structures and judgements of one file's revisions, shared by all its signatures.

    The history of every object is indexed when a structure is first asked for: a file
    whose last signature covers it whole (most files) needs none.
    """

    def __init__(self, reader: PdfFileReader) -> None:
        self.reader = reader
        self._findings: dict[tuple[int, int | None], RevisionFindings] = {}

    @cached_property
    def history(self) -> ObjectHistory:
        return ObjectHistory(self.reader)

    @cached_property
    def _walks(self) -> Walks:
        return Walks(self.history)

    def docmdp_level(self, revision: int) -> int | None:
        """The certification level ``revision`` declares; the last revision's is read
        through the reader alone."""
        if revision == self.reader.xrefs.total_revisions - 1:
            return docmdp_level(CurrentView(self.reader))
        return docmdp_level(self.history.view(revision))

    def structure(self, revision: int, budget: Budget) -> Structure:
        return self._walks.structure(revision, budget)

    def findings(self, revision: int, docmdp: int | None, budget: Budget) -> RevisionFindings:
        """``revision`` judged against its predecessor; the certification level decides
        some verdicts, so judgements are kept per level (one file has one in practice)."""
        found = self._findings.get((revision, docmdp))
        if found is None:
            before = self.structure(revision - 1, budget)
            after = self.structure(revision, budget)
            ctx = Context(self.history, revision, before, after, docmdp, budget)
            found = RevisionJudge(ctx).run()
            self._findings[revision, docmdp] = found
        return found

    def changes_after(
        self, signed: int, signed_end: int, docmdp: int | None, budget: Budget
    ) -> tuple[list[Change], Structure, Structure]:
        """Every later revision's findings for the signature whose revision is ``signed``
        and whose bytes end at ``signed_end``; with the signed and the final structure."""
        before = self.structure(signed, budget)
        after = before
        staged: set[Key] = set()
        changes: list[Change] = []
        for revision in range(signed + 1, self.history.total):
            budget.check_time()
            after = self.structure(revision, budget)
            found = self.findings(revision, docmdp, budget)
            changes += _Settled(self.history, found, signed, before, after).changes(
                signed_end, staged
            )
        return changes, before, after


class _Settled:
    """One revision's findings as one signature sees them."""

    def __init__(
        self,
        history: ObjectHistory,
        found: RevisionFindings,
        signed: int,
        before: Structure,
        after: Structure,
    ) -> None:
        self.history = history
        self.found = found
        self.signed = signed
        self.before = before
        self.after = after

    def changes(self, signed_end: int, seen: set[Key]) -> list[Change]:
        """Findings by object, then staged objects, then the revision's summary lines, in
        the order a single judgement of the pair would give them."""
        own = self._own(signed_end)
        if not own:
            keyed = [change for _, change in self.found.keyed]
            return keyed + self._staged(seen) + list(self.found.summary)
        dropped = frozenset(key for key, change in own if change.kind is ChangeKind.XREF_OVERRIDE)
        kept = [(key, change) for key, change in self.found.keyed if key not in dropped]
        keyed = [change for _, change in sorted(own + kept, key=lambda item: item[0])]
        return keyed + self._staged(seen) + list(self.found.summary_without(dropped))

    def _change(self, kind: ChangeKind, sentence: str, key: Key) -> Change:
        rev = self.found.revision
        return finding(kind, Verdict.NOT_ALLOWED, sentence, rev, key, self.after, self.before)

    def _own(self, signed_end: int) -> list[tuple[Key, Change]]:
        """What only this signature's signed bytes and signed revision make a finding."""
        own: list[tuple[Key, Change]] = []
        rev = self.found.revision
        covered = bisect_left(self.found.offsets, (signed_end,))
        for _, key in self.found.offsets[:covered]:
            if self.history.location(key, rev) != self.history.location(key, self.signed):
                sentence = (
                    f"the cross-reference entry of object {label(key)} now points at a hidden "
                    "definition inside the signed bytes that the signed revision did not use"
                )
                own.append((key, self._change(ChangeKind.XREF_OVERRIDE, sentence, key)))
        for key in self.found.freed:
            if key in self.before.roles:
                sentence = f"object {label(key)}, used by the signed revision, was deleted"
                own.append((key, self._change(ChangeKind.OBJECT_FREED, sentence, key)))
        return own

    def _staged(self, seen: set[Key]) -> list[Change]:
        """Objects the signed revision held but did not use, displayed from now on: the
        hide-and-replace staging of the shadow attacks (``seen`` keeps one per object)."""
        found: list[Change] = []
        history, rev = self.history, self.found.revision
        for key in self.found.activated:
            if key in self.before.roles or key in seen:
                continue
            if history.location(key, self.signed) is None:
                continue
            now = load(history.view(rev), key)
            if history.written_between(key, self.signed, rev) and not same(
                load(history.view(self.signed), key), now
            ):
                continue
            seen.add(key)
            role = max(self.after.roles[key])
            verdict = Verdict.NOT_ALLOWED if role > Role.SIGNATURE else Verdict.SUSPICIOUS
            sentence = (
                f"object {label(key)} ({describe(now)}) sat unused in the signed revision "
                f"and is used as {role.name.lower().replace('_', ' ')} from revision {rev} "
                "on: content staged before signing was swapped in"
            )
            rev_change = finding(
                ChangeKind.STAGED_OBJECT, verdict, sentence, rev, key, self.after, self.before
            )
            found.append(rev_change)
        return found
