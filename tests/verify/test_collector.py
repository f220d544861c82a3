"""verify_pdf holds off Python's cycle collector while it works, and leaves it as it
found it: on after a report or an error if it was on, off if the caller had it off; the
objects it parsed do not wait for the collector afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from asn1crypto import cms, x509
from pyhanko.pdf_utils import generic
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.errors import MalformedInput
from sealbridge.trust.view import Federation
from sealbridge.verify import collector
from sealbridge.verify import pdf as verify_module
from sealbridge.verify.pdf import verify_pdf
from support.contracts import one_party_signed, signed_once


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_while_a_file_is_verified_and_on_again_after(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf, federation = one_party_signed("SB-GC-1", "Signer1")
    seen: list[bool] = []
    real = verify_module._verify_all

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(verify_module, "_verify_all", watched)
    report = verify_pdf(pdf, "gc.pdf", federation, ["SZ"])
    assert len(report.signatures) == 1
    assert seen == [False]
    assert gc.isenabled()


def test_an_error_turns_the_collector_back_on(collector_on: None) -> None:
    with pytest.raises(MalformedInput):
        verify_pdf(b"%PDF-1.7\nnot a pdf", "bad.pdf", Federation({}, ()), ["SZ"])
    assert gc.isenabled()


def test_a_caller_who_turned_the_collector_off_keeps_it_off(collector_on: None) -> None:
    pdf, federation = one_party_signed("SB-GC-2", "Signer1")
    gc.disable()
    verify_pdf(pdf, "gc.pdf", federation, ["SZ"])
    assert not gc.isenabled()
    gc.enable()


def test_the_objects_of_a_verified_file_die_with_it(collector_on: None) -> None:
    """Held in a cycle through the reader, every object of the file (and, behind a failed
    path, the whole verification) waited for the next collection, which traverses them
    all. What the collector may still meet is the reader's own bookkeeping: its
    cross-reference sections and trailers."""
    first, _ = one_party_signed("SB-GC-3", "Signer1")
    # The second signer's CA is the only one trusted: the first signature's path fails.
    pdf, federation = signed_once(first, "Signer2")
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        report = verify_pdf(pdf, "gc.pdf", federation, ["SZ"])
        gc.collect()
        left = [obj for obj in gc.garbage if _of_the_file(obj)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert [s.sub_indication for s in report.signatures] == ["NO_CERTIFICATE_CHAIN_FOUND", None]
    assert left == []


def test_the_file_is_let_go_before_the_collector_resumes(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever is still held when the collector resumes costs it a traversal: the
    opened file's signatures, and all they hold, must be gone by then."""
    pdf, federation = one_party_signed("SB-GC-4", "Signer1")
    gc.collect()
    held: list[int] = []
    paused = collector.collection_paused

    @contextmanager
    def watched() -> Iterator[None]:
        with paused():
            yield
            held.append(sum(isinstance(obj, EmbeddedPdfSignature) for obj in gc.get_objects()))

    monkeypatch.setattr(verify_module, "collection_paused", watched)
    report = verify_pdf(pdf, "gc.pdf", federation, ["SZ"])
    assert len(report.signatures) == 1
    assert held == [0]


def _of_the_file(obj: object) -> bool:
    """A page, annotation, field, signature dictionary or catalog, a stream, a signed
    data structure or a certificate."""
    if isinstance(obj, generic.DictionaryObject):
        return "/Type" in obj
    return isinstance(obj, generic.StreamObject | cms.ContentInfo | x509.Certificate)
