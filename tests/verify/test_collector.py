"""verify_pdf holds off Python's cycle collector while it works, and leaves it as it
found it: on after a report or an error if it was on, off if the caller had it off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sealbridge.errors import MalformedInput
from sealbridge.trust.view import Federation
from sealbridge.verify import pdf as verify_module
from sealbridge.verify.pdf import verify_pdf
from support.contracts import one_party_signed


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
