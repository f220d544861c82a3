"""A number pyHanko cannot read ("1.2.", "1..2") raises decimal.InvalidOperation inside
pyHanko, an error none of its callers expect. Anywhere in a file, such a number must end
in a verdict or a typed error, like any other unreadable object."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from sealbridge.errors import SealBridgeError
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication
from support.contracts import one_party_signed

GOOD = b"/Mark 1.25"


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, Federation]:
    return one_party_signed("N-1", "Signer")


def _with_update(data: bytes) -> bytes:
    """A later revision that rewrites the document information (metadata, which any
    later revision may change) with one more entry, a number."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    info_ref = writer.trailer.raw_get("/Info")
    info = info_ref.get_object()
    info[generic.NameObject("/Mark")] = generic.FloatObject("1.25")
    writer.mark_update(info_ref)
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated[len(data) :].count(GOOD) == 1
    return updated


def _verify(data: bytes, federation: Federation) -> Indication:
    report = verify_pdf(
        data, "n.pdf", federation, ["SZ"], context=federation_context(federation, fetch=False)
    )
    (sig,) = report.signatures
    return sig.indication


@pytest.mark.parametrize("bad", [b"/Mark 1.2.", b"/Mark 1..2", b"/Mark +.-."])
def test_an_unreadable_number_after_signing_is_judged_by_its_role(
    signed: tuple[bytes, Federation], bad: bytes
) -> None:
    """The document information a later revision rewrote cannot be read: like any
    unreadable object it is judged by what it is for, metadata, which a later revision
    may change; the verdict is its honest twin's, not a crash."""
    data, federation = signed
    honest = _with_update(data)
    assert _verify(honest, federation) is Indication.TOTAL_PASSED
    broken = honest[: len(data)] + honest[len(data) :].replace(GOOD, bad)
    assert len(broken) == len(honest)
    assert _verify(broken, federation) is Indication.TOTAL_PASSED


@pytest.mark.parametrize("bad", [b"5.9.28", b"59..28"])
def test_an_unreadable_number_in_the_signed_bytes_ends_in_a_verdict(
    signed: tuple[bytes, Federation], bad: bytes
) -> None:
    """The page tree's /MediaBox, read while the signatures are listed and the pages
    walked: the signature no longer covers its bytes, so it fails, but it is reported."""
    data, federation = signed
    assert data.count(b"595.28") == 1
    broken = data.replace(b"595.28", bad)
    try:
        indication = _verify(broken, federation)
    except SealBridgeError:
        return
    assert indication is Indication.TOTAL_FAILED
