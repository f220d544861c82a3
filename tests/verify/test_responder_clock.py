"""Revocation answers fetched during a verification are judged with the platform's clock
allowance (``verify.revocation.CLOCK_SKEW``), not pyhanko-certvalidator's default second.

certvalidator fixes "now" when a validation context is made; an OCSP response produced
more than a second later was "too recent", so a responder whose clock ran a little
ahead, or a file whose signatures took more than a second to check online, came out
INDETERMINATE/TRY_LATER for a certificate that was good (the demo's dual-signed contract
did, on a busy machine).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.sign import PadesLevel, PadesProfile, PdfSignerIdentity, sign_pdf
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication, SignatureReport
from sealbridge.verify.revocation import CLOCK_SKEW
from support.cms_world import build_world
from support.contracts import two_party_contract


def _verified_with_responder_ahead(by: timedelta) -> SignatureReport:
    clock: Callable[[], datetime] = lambda: datetime.now(UTC) + by  # noqa: E731
    with AuthorityServer(clock=clock) as server:
        world = build_world(server)
        signer = world.firm(KeyKind.ECDSA_P256)
        pdf = sign_pdf(
            two_party_contract("SB-CLOCK-1").pdf,
            PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
            None,
            PadesProfile(PadesLevel.B_B),
            field_name="Signer1",
        )
        federation = world.federation
        report = verify_pdf(
            pdf, "clock.pdf", federation, ["SZ"], context=federation_context(federation)
        )
    return report.signatures[0]


def test_a_responder_whose_clock_runs_a_little_ahead_is_believed() -> None:
    signature = _verified_with_responder_ahead(timedelta(seconds=30))
    assert signature.indication is Indication.TOTAL_PASSED, signature.details
    assert signature.recognition["SZ"].recognised is True


def test_an_answer_from_beyond_the_allowance_is_still_doubted() -> None:
    signature = _verified_with_responder_ahead(CLOCK_SKEW + timedelta(minutes=5))
    assert signature.indication is Indication.INDETERMINATE
    assert signature.sub_indication == "TRY_LATER"
