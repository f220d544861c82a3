"""Changes made after signing: shadow attacks (hide, replace, hide-and-replace), incremental
saving attacks, and the benign updates that must not be flagged.

Every attack is built with pyHanko's incremental writer (or raw bytes where pyHanko will
not write something so broken) against a contract signed in the test; poppler's renderer
confirms that each attack really changes what a reader sees.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from pyhanko.pdf_utils.generic import Reference
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.fastread import FastObjectReader
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.documents.pdf.signer import KeyHandleSigner
from sealbridge.errors import MalformedInput
from sealbridge.verify import render
from sealbridge.verify.changes import (
    ChangeAnalysis,
    ChangeKind,
    ChangePolicy,
    Verdict,
    analyse_after,
    analyse_changes,
    incremental,
    structure,
)
from sealbridge.verify.changes.analyse import StructureCache
from sealbridge.verify.changes.history import Key, ObjectHistory, RevisionView, key_of
from sealbridge.verify.changes.incremental import Walks, walk
from sealbridge.verify.changes.structure import (
    Budget,
    Expansion,
    ListEntry,
    PagePart,
    Role,
    State,
    Structure,
    Widget,
)
from support.pki import Signer, demo_ca, enterprise
from verify import attacks

INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "dss-pades"
POPPLER = render.pdftoppm_available()
VISUAL = ChangePolicy(visual=True)
AMOUNT_BOX = (300.0, 400.0, 540.0, 424.0)
TITLE_BOX = (40.0, 700.0, 555.0, 820.0)


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    parties = [
        ContractParty("甲方", "Party A", "深圳甲公司", "SZ A Co", "X", "深圳"),
        ContractParty("乙方", "Party B", "香港乙公司", "HK B Co", "Y", "香港"),
    ]
    return build_contract(
        "采购合同",
        "Purchase Contract",
        parties,
        [("甲方供货。", "Party A supplies goods.")],
        contract_no="S-1",
        on=date(2026, 11, 25),
    )


@pytest.fixture(scope="module")
def parties() -> tuple[Signer, Signer]:
    ca = demo_ca("SZ", KeyKind.ECDSA_P256)
    return (
        enterprise(ca, "深圳甲公司", KeyKind.ECDSA_P256),
        enterprise(ca, "HK B Co", KeyKind.ECDSA_P256),
    )


@pytest.fixture(scope="module")
def base(contract: ContractDocument) -> bytes:
    return attacks.add_text_field(contract.pdf, "Amount", "100 EUR", AMOUNT_BOX)


def _sign(
    pdf: bytes, doc: ContractDocument, index: int, signer: Signer, *, certify: bool = False
) -> bytes:
    box = doc.places[index].box
    picture = render_signature_block(["Signed"], box[2] - box[0], box[3] - box[1])
    return sign_pdf(
        pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        VisibleStamp(doc.places[index], picture),
        PadesProfile(PadesLevel.B_B, certify=certify),
    )


def _certify_no_changes(pdf: bytes, signer: Signer) -> bytes:
    """DocMDP level 1, which sign_pdf does not offer: straight through pyHanko."""
    meta = signers.PdfSignatureMetadata(
        field_name="Party1", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES
    )
    pdf_signer = signers.PdfSigner(
        meta, KeyHandleSigner(signer.key, signer.certificate, (signer.ca.certificate,))
    )
    out = io.BytesIO()
    pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def certified(base: bytes, contract: ContractDocument, parties: tuple[Signer, Signer]) -> bytes:
    return _sign(base, contract, 0, parties[0], certify=True)


@pytest.fixture(scope="module")
def approved(base: bytes, contract: ContractDocument, parties: tuple[Signer, Signer]) -> bytes:
    return _sign(base, contract, 0, parties[0])


def _analyse(data: bytes, index: int = 0, policy: ChangePolicy | None = None) -> ChangeAnalysis:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    return analyse_after(data, reader.embedded_signatures[index], policy=policy, reader=reader)


def _kinds(analysis: ChangeAnalysis, verdict: Verdict) -> set[ChangeKind]:
    return {c.kind for c in analysis.changes if c.verdict is verdict}


def _needs_poppler() -> None:
    if not POPPLER:
        pytest.skip("poppler-utils (pdftoppm) not installed: cannot compare rendered pages")


def _blue_pixels(pdf: bytes) -> int:
    (page, *_) = render.render_pages(pdf, dpi=20, timeout=30, max_pages=1)
    return sum(1 for r, g, b in page.get_flattened_data() if b > 200 and r < 60 and g < 60)


def test_untouched_signature_reports_nothing(certified: bytes) -> None:
    analysis = _analyse(certified, policy=VISUAL)
    assert analysis.later_revisions == 0
    assert analysis.changes == ()
    assert analysis.verdict is Verdict.ALLOWED
    assert analysis.docmdp == 2
    assert analysis.summary == "nothing was added to the file after this signature"


def test_later_signature_is_allowed(
    certified: bytes, contract: ContractDocument, parties: tuple[Signer, Signer]
) -> None:
    both = _sign(certified, contract, 1, parties[1])
    analysis = _analyse(both, policy=VISUAL)
    assert analysis.verdict is Verdict.ALLOWED, analysis.lines
    assert ChangeKind.SIGNATURE_ADDED in _kinds(analysis, Verdict.ALLOWED)
    assert analysis.visual_checked is POPPLER


def test_dss_and_document_timestamp_are_allowed(
    certified: bytes, contract: ContractDocument, parties: tuple[Signer, Signer]
) -> None:
    both = _sign(certified, contract, 1, parties[1])
    archived = attacks.document_timestamp(attacks.add_dss(both), parties[0].ca)
    for index in (0, 1):
        analysis = _analyse(archived, index, VISUAL)
        assert analysis.verdict is Verdict.ALLOWED, analysis.lines
        assert ChangeKind.VALIDATION_DATA in _kinds(analysis, Verdict.ALLOWED)


def test_hide_after_approval_signature_is_suspicious(approved: bytes) -> None:
    attacked = attacks.hide(approved, TITLE_BOX)
    analysis = _analyse(attacked, policy=VISUAL)
    (added,) = analysis.of_kind(ChangeKind.ANNOTATION_ADDED)
    assert added.verdict is Verdict.SUSPICIOUS and added.page == 1
    assert "cover signed content" in added.sentence
    assert analysis.verdict is Verdict.SUSPICIOUS
    if POPPLER:
        (visual,) = analysis.of_kind(ChangeKind.VISUAL)
        assert visual.page == 1


def test_hide_after_certification_is_not_allowed(certified: bytes) -> None:
    analysis = _analyse(attacks.hide(certified, TITLE_BOX))
    (added,) = analysis.of_kind(ChangeKind.ANNOTATION_ADDED)
    assert added.verdict is Verdict.NOT_ALLOWED
    assert "level 2" in added.sentence
    assert analysis.modified_after_signing


def test_unsigned_signature_field_overlay_is_suspicious(certified: bytes) -> None:
    analysis = _analyse(attacks.sneaky_signature_field(certified, TITLE_BOX))
    (overlay,) = analysis.of_kind(ChangeKind.UNSIGNED_SIGNATURE_FIELD)
    assert overlay.verdict is Verdict.SUSPICIOUS and overlay.page == 1


def test_replace_form_value_warns_when_form_filling_is_permitted(certified: bytes) -> None:
    attacked = attacks.replace_field(certified, "Amount", "1000000 EUR")
    analysis = _analyse(attacked, policy=VISUAL)
    (value,) = analysis.of_kind(ChangeKind.FORM_FIELD_VALUE)
    assert value.verdict is Verdict.SUSPICIOUS
    assert "'100 EUR' -> '1000000 EUR'" in value.sentence
    assert "certification permits it" in value.sentence
    assert not analysis.modified_after_signing
    if POPPLER:
        assert [c.page for c in analysis.of_kind(ChangeKind.VISUAL)] == [1]


def test_a_certification_forbidding_changes_reads_as_such_with_nothing_after_it(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    """With no revision after it, the level is read from the reader's newest objects
    instead of the indexed history: the same level."""
    analysis = _analyse(_certify_no_changes(base, parties[0]))
    assert analysis.later_revisions == 0
    assert analysis.docmdp == 1
    assert analysis.verdict is Verdict.ALLOWED


def test_replace_form_value_fails_when_certification_forbids_changes(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    locked = _certify_no_changes(base, parties[0])
    analysis = _analyse(attacks.replace_field(locked, "Amount", "1000000 EUR"))
    assert analysis.docmdp == 1
    (value,) = analysis.of_kind(ChangeKind.FORM_FIELD_VALUE)
    assert value.verdict is Verdict.NOT_ALLOWED
    assert analysis.modified_after_signing


def test_hide_and_replace_by_xref_entry_is_not_allowed(
    base: bytes, contract: ContractDocument, parties: tuple[Signer, Signer]
) -> None:
    staged = attacks.stage_shadow_content(base)
    signed = _sign(staged.pdf, contract, 0, parties[0], certify=True)
    attacked = attacks.activate_shadow_content(signed, staged)
    if POPPLER:
        assert _blue_pixels(signed) == 0 < _blue_pixels(attacked), "the attack must show"
    analysis = _analyse(attacked, policy=VISUAL)
    (override,) = analysis.of_kind(ChangeKind.XREF_OVERRIDE)
    assert override.verdict is Verdict.NOT_ALLOWED
    assert override.obj == f"{staged.obj} {staged.generation}"
    assert analysis.modified_after_signing


def test_hide_and_replace_of_page_tree_is_not_allowed(
    base: bytes, contract: ContractDocument, parties: tuple[Signer, Signer]
) -> None:
    staged = attacks.stage_shadow_pages(base)
    signed = _sign(staged.pdf, contract, 0, parties[0], certify=True)
    attacked = attacks.swap_pages(signed, staged)
    analysis = _analyse(attacked, policy=VISUAL)
    assert analysis.of_kind(ChangeKind.CATALOG)
    staged_objects = analysis.of_kind(ChangeKind.STAGED_OBJECT)
    assert f"{staged.pages.idnum} {staged.pages.generation}" in {c.obj for c in staged_objects}
    assert all(c.verdict is Verdict.NOT_ALLOWED for c in staged_objects)
    assert analysis.modified_after_signing


def test_objects_appended_without_xref_are_not_allowed(certified: bytes) -> None:
    analysis = _analyse(attacks.append_objects_without_xref(certified))
    (tail,) = analysis.of_kind(ChangeKind.TRAILING_BYTES)
    assert tail.verdict is Verdict.NOT_ALLOWED and "object definitions" in tail.sentence
    assert analysis.modified_after_signing


def test_update_that_drops_prev_chain_is_not_allowed(
    base: bytes, contract: ContractDocument, parties: tuple[Signer, Signer]
) -> None:
    staged = attacks.stage_shadow_content(base)
    signed = _sign(staged.pdf, contract, 0, parties[0])
    analysis = _analyse(attacks.append_update_without_prev(signed, staged))
    assert analysis.of_kind(ChangeKind.BROKEN_REVISION_CHAIN)
    assert analysis.modified_after_signing


def test_byte_range_that_stops_short_of_eof_is_not_allowed(certified: bytes) -> None:
    end = len(certified) - 40
    analysis = analyse_changes(certified, end)
    assert analysis.of_kind(ChangeKind.BYTE_RANGE_NOT_AT_EOF)
    assert analysis.modified_after_signing


@pytest.mark.parametrize(
    "data", [b"", b"%PDF-1.7\n%%EOF", b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"]
)
def test_garbage_is_malformed_input(data: bytes) -> None:
    with pytest.raises(MalformedInput, match="malformed PDF"):
        analyse_changes(data, len(data))


def test_object_limit_is_enforced(certified: bytes, contract: ContractDocument) -> None:
    both = attacks.hide(certified, TITLE_BOX)
    with pytest.raises(MalformedInput, match="objects"):
        _analyse(both, policy=ChangePolicy(max_objects=5))


@pytest.mark.skipif(not INTEROP.is_dir(), reason=f"interop vectors not found at {INTEROP}")
def test_dss_modified_after_signature_reports_page_content() -> None:
    analysis = _analyse((INTEROP / "modified_after_signature.pdf").read_bytes())
    bad = _kinds(analysis, Verdict.NOT_ALLOWED)
    assert ChangeKind.PAGE_CONTENT in bad and ChangeKind.PAGE_CHANGED in bad
    assert analysis.modified_after_signing


@pytest.mark.skipif(not INTEROP.is_dir(), reason=f"interop vectors not found at {INTEROP}")
@pytest.mark.parametrize("name", ["belgian_pki_multiple_ocsps_lt.pdf", "doc-firmado-LT.pdf"])
def test_dss_lt_vectors_add_only_validation_data(name: str) -> None:
    analysis = _analyse((INTEROP / name).read_bytes(), policy=VISUAL)
    assert analysis.later_revisions >= 1
    assert analysis.verdict is Verdict.ALLOWED, analysis.lines
    assert {c.kind for c in analysis.changes} == {ChangeKind.VALIDATION_DATA}


def _sign_invisible(pdf: bytes, signer: Signer, field: str, *, certify: bool = False) -> bytes:
    return sign_pdf(
        pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        None,
        PadesProfile(PadesLevel.B_B, certify=certify),
        field_name=field,
    )


def _signed_by_turns(pdf: bytes, parties: tuple[Signer, Signer], count: int) -> bytes:
    """``count`` signatures, one revision each, the first certifying (form filling)."""
    for number in range(count):
        pdf = _sign_invisible(pdf, parties[number % 2], f"Signer{number + 1}", certify=not number)
    return pdf


def _every_signature(data: bytes) -> list[ChangeAnalysis]:
    """As ``verify_pdf`` asks: one reader and one shared cache for all signatures."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    cache: StructureCache = {}
    return [
        analyse_after(data, sig, reader=reader, structures=cache)
        for sig in reader.embedded_signatures
    ]


def _pyhanko_flags_every_signature(data: bytes, signer: Signer) -> None:
    """pyHanko's own difference analysis must agree that each signature's document was
    modified in a way no signing workflow produces."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    context = ValidationContext(trust_roots=[signer.ca.certificate])
    for sig in reader.embedded_signatures:
        status = validate_pdf_signature(sig, context)
        assert status.modification_level is ModificationLevel.OTHER
        assert not status.docmdp_ok


def test_hide_and_replace_staged_before_first_of_three_signatures_is_not_allowed_for_all(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    staged = attacks.stage_shadow_content(base)
    signed = _signed_by_turns(staged.pdf, parties, 3)
    attacked = attacks.activate_shadow_content(signed, staged)
    if POPPLER:
        assert _blue_pixels(signed) == 0 < _blue_pixels(attacked), "the attack must show"
    _pyhanko_flags_every_signature(attacked, parties[0])
    analyses = _every_signature(attacked)
    assert [a.later_revisions for a in analyses] == [3, 2, 1]
    for analysis in analyses:
        (override,) = analysis.of_kind(ChangeKind.XREF_OVERRIDE)
        assert override.verdict is Verdict.NOT_ALLOWED
        assert override.obj == f"{staged.obj} {staged.generation}"
        assert override.revision == analysis.signed_revision + analysis.later_revisions
        assert analysis.modified_after_signing
        assert not analysis.of_kind(ChangeKind.PAGE_CONTENT), "the override says it all"


def test_page_tree_staged_before_first_of_three_signatures_is_not_allowed_for_all(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    staged = attacks.stage_shadow_pages(base)
    attacked = attacks.swap_pages(_signed_by_turns(staged.pdf, parties, 3), staged)
    _pyhanko_flags_every_signature(attacked, parties[0])
    tree = f"{staged.pages.idnum} {staged.pages.generation}"
    for analysis in _every_signature(attacked):
        staged_objects = analysis.of_kind(ChangeKind.STAGED_OBJECT)
        assert tree in {c.obj for c in staged_objects}
        assert all(c.verdict is Verdict.NOT_ALLOWED for c in staged_objects)
        assert analysis.of_kind(ChangeKind.CATALOG)
        assert analysis.modified_after_signing


def test_form_value_replaced_between_signatures_is_reported_to_earlier_signers_only(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    """Signer 3 signs the new value: only signers 1 and 2 are told it changed."""
    two = _signed_by_turns(base, parties, 2)
    replaced = attacks.replace_field(two, "Amount", "1000000 EUR")
    three = _sign_invisible(replaced, parties[0], "Signer3")
    first, second, third = _every_signature(three)
    for analysis in (first, second):
        (value,) = analysis.of_kind(ChangeKind.FORM_FIELD_VALUE)
        assert value.verdict is Verdict.SUSPICIOUS
        assert "'100 EUR' -> '1000000 EUR'" in value.sentence
    assert third.verdict is Verdict.ALLOWED, third.lines


def test_benign_ten_signature_document_reports_only_allowed_changes_for_all(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    archived = attacks.add_dss(_signed_by_turns(base, parties, 10))
    reader = PdfFileReader(io.BytesIO(archived), strict=False)
    context = ValidationContext(trust_roots=[parties[0].ca.certificate])
    for sig in reader.embedded_signatures:
        status = validate_pdf_signature(sig, context)
        assert status.bottom_line and status.docmdp_ok, status.summary()
    analyses = _every_signature(archived)
    assert [a.later_revisions for a in analyses] == list(range(10, 0, -1))
    for analysis in analyses:
        assert analysis.verdict is Verdict.ALLOWED, analysis.lines
        assert all(c.verdict is Verdict.ALLOWED for c in analysis.changes)
        assert ChangeKind.VALIDATION_DATA in _kinds(analysis, Verdict.ALLOWED)
        assert analysis.docmdp == 2
    assert len(analyses[0].of_kind(ChangeKind.SIGNATURE_ADDED)) == 9


def test_shared_cache_gives_each_signature_what_a_fresh_analysis_gives(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    """Sharing one file's judged revisions between signatures changes no finding."""
    attacked = attacks.hide(_signed_by_turns(base, parties, 3), TITLE_BOX)
    shared = _every_signature(attacked)
    alone = [_analyse(attacked, index) for index in range(3)]
    assert shared == alone
    assert all(a.of_kind(ChangeKind.ANNOTATION_ADDED) for a in shared)


def test_object_history_agrees_with_pyhanko_on_every_revision(
    base: bytes, parties: tuple[Signer, Signer]
) -> None:
    """The per-object index of cross-reference entries answers as pyHanko's own lookup,
    for a hide-and-replace file whose entries point back into signed bytes."""
    staged = attacks.stage_shadow_content(base)
    attacked = attacks.activate_shadow_content(_signed_by_turns(staged.pdf, parties, 2), staged)
    reader = PdfFileReader(io.BytesIO(attacked), strict=False)
    history = ObjectHistory(reader)
    xrefs = reader.xrefs
    keys = {(n, 0) for n in range(1, int(reader.trailer["/Size"]) + 1)}
    for revision in range(xrefs.total_revisions):
        for key in sorted(keys):
            expected = xrefs.get_historical_ref(Reference(*key), revision)
            assert history.location(key, revision) == expected, (key, revision)


def _revision_structures(data: bytes, order: range) -> dict[int, Structure]:
    """Every revision's structure as one file's timeline builds it, in ``order``."""
    walks = Walks(ObjectHistory(PdfFileReader(io.BytesIO(data), strict=False)))
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    return {revision: walks.structure(revision, budget) for revision in order}


def test_incremental_structure_equals_a_full_walk_of_every_revision(
    base: bytes, parties: tuple[Signer, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revisions that add (signatures, a covering annotation, a sneaky field, a new form
    value, validation data) and ones that cut edges (the page tree swapped for a staged
    one) give, built from their predecessor, what a walk from nothing gives."""
    staged = attacks.stage_shadow_pages(base)
    pdf = _signed_by_turns(staged.pdf, parties, 2)
    pdf = attacks.hide(pdf, TITLE_BOX)
    pdf = attacks.replace_field(pdf, "Amount", "1000000 EUR")
    pdf = attacks.sneaky_signature_field(pdf, AMOUNT_BOX)
    pdf = attacks.swap_pages(pdf, staged)
    pdf = attacks.add_dss(_sign_invisible(pdf, parties[0], "Signer3", certify=False))
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    history = ObjectHistory(reader)
    total = history.total
    assert total >= 9

    expanded: list[object] = []

    def counting(resolver: RevisionView, state: State) -> Expansion:
        expanded.append(state)
        return structure.expand(resolver, state)

    monkeypatch.setattr(incremental, "expand", counting)
    forward = _revision_structures(pdf, range(total))
    incremental_cost = len(expanded)
    backward = _revision_structures(pdf, range(total - 1, -1, -1))
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    expanded.clear()
    fresh = {revision: walk(history.view(revision), budget) for revision in range(total)}
    assert forward == fresh
    assert backward == fresh
    assert any(fresh[r].roles != fresh[r - 1].roles for r in range(1, total))
    # Built from its predecessor, a revision re-expands what it touched, not the document.
    assert incremental_cost < len(expanded) / 2


def test_signing_prepared_fields_cuts_edges_without_walking_the_whole_file(
    base: bytes,
    contract: ContractDocument,
    parties: tuple[Signer, Signer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Signing a field prepared with the contract replaces its empty appearance: an edge
    cut in every revision. Only the first revision is walked whole; the others are
    carried over, and still equal a walk from nothing (a whole walk per revision made
    many-party contracts cost n^2)."""
    pdf = _sign(_sign(base, contract, 0, parties[0]), contract, 1, parties[1])
    history = ObjectHistory(PdfFileReader(io.BytesIO(pdf), strict=False))
    whole: list[int] = []
    walk_whole = Walks._whole

    def counting(self: Walks, revision: int, budget: Budget) -> object:
        whole.append(revision)
        return walk_whole(self, revision, budget)

    monkeypatch.setattr(Walks, "_whole", counting)
    forward = _revision_structures(pdf, range(history.total))
    assert whole == [0]
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    monkeypatch.undo()
    fresh = {revision: walk(history.view(revision), budget) for revision in range(history.total)}
    assert forward == fresh
    cut = [
        r
        for r in range(1, history.total)
        if set(fresh[r - 1].roles) - set(fresh[r].roles)
        or any(fresh[r - 1].roles[k] - fresh[r].roles.get(k, set()) for k in fresh[r - 1].roles)
    ]
    assert cut, "no revision removed anything: the test would not exercise cut edges"


def test_signing_a_prepared_field_reads_neither_its_page_nor_the_form_again(
    base: bytes,
    contract: ContractDocument,
    parties: tuple[Signer, Signer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A signing revision rewrites one field of a page's /Annots and the form's /Fields:
    the field is read again as an entry of each, and the page and the form are not (when
    their expansions read every entry's role, each signature cost the number before it)."""
    pdf = _sign(_sign(base, contract, 0, parties[0]), contract, 1, parties[1])
    history = ObjectHistory(PdfFileReader(io.BytesIO(pdf), strict=False))
    walks = Walks(history)
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    last = history.total - 1
    walks.structure(last - 1, budget)
    expanded: list[State] = []

    def counting(resolver: RevisionView, state: State) -> Expansion:
        expanded.append(state)
        return structure.expand(resolver, state)

    monkeypatch.setattr(incremental, "expand", counting)
    after = walks.structure(last, budget)
    field = next(w.key for w in after.signature_widgets if w.key in history.explicit[last])
    assert {(field, ListEntry.ANNOTATION), (field, ListEntry.FIELD)} <= set(expanded)
    assert not {Role.PAGE_TREE, Role.ACROFORM} & {role for _, role in expanded}
    monkeypatch.undo()
    assert after == walk(history.view(last), budget)


def test_signing_a_prepared_field_reads_that_widget_again_and_no_page(
    base: bytes,
    contract: ContractDocument,
    parties: tuple[Signer, Signer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A signing revision rewrites one widget and writes the catalog again as it was: the
    section reads that widget again, and neither the other widgets, nor a page, nor the
    catalog (reading every widget of every page for each revision made a many-party
    contract cost n^2)."""
    pdf = _sign(_sign(base, contract, 0, parties[0]), contract, 1, parties[1])
    history = ObjectHistory(FastObjectReader(io.BytesIO(pdf), strict=False))
    last = history.total - 1
    catalog = key_of(history.trailer(last).raw_get("/Root"))
    assert catalog in history.explicit[last], "the catalog is not written again"
    walks = Walks(history)
    budget = Budget(ChangePolicy().max_objects, ChangePolicy().time_limit)
    before = walks.structure(last - 1, budget)
    assert len(before.signature_widgets) == 2
    read: list[tuple[str, object]] = []
    expanded: list[State] = []

    def widget(resolver: RevisionView, key: Key) -> Widget | None:
        read.append(("widget", key))
        return structure.signature_widget(resolver, key)

    def page(resolver: RevisionView, key: Key) -> PagePart:
        read.append(("page", key))
        return structure.page_part(resolver, key)

    def counting(resolver: RevisionView, state: State) -> Expansion:
        expanded.append(state)
        return structure.expand(resolver, state)

    monkeypatch.setattr(incremental, "signature_widget", widget)
    monkeypatch.setattr(incremental, "page_part", page)
    monkeypatch.setattr(incremental, "expand", counting)
    after = walks.structure(last, budget)
    signed = [w.key for w in after.signature_widgets if w.key in history.explicit[last]]
    assert read == [("widget", signed[0])]
    assert catalog not in {key for key, _ in expanded}
    monkeypatch.undo()
    assert after == walk(history.view(last), budget)
