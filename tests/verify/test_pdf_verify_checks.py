"""verify_pdf end to end: every check named, attacks caught, policy and time honoured, and
the interop file pyHanko cannot open read in full."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.contract import ContractDocument
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    sign_pdf,
)
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.policy import DEFAULT_POLICY, apply_policy, parse_policy
from sealbridge.verify.report.model import (
    Constraint,
    Indication,
    SignatureKind,
    SignatureReport,
)
from support.contracts import block_stamp, two_party_contract
from support.pki import Signer, enterprise
from support.trust import Operator, agreement
from verify import attacks

INTEROP = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "dss-pades"
AMOUNT_BOX = (300.0, 400.0, 540.0, 424.0)
TITLE_BOX = (40.0, 700.0, 555.0, 820.0)


@pytest.fixture(scope="module")
def operators() -> dict[str, Operator]:
    return {code: Operator(code) for code in ("SZ", "HK")}


@pytest.fixture(scope="module")
def federation(operators: dict[str, Operator]) -> Federation:
    return Federation(
        {code: op.trust_list() for code, op in operators.items()}, (agreement("SZ", "HK"),)
    )


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return two_party_contract("C-1")


@pytest.fixture(scope="module")
def signer(operators: dict[str, Operator]) -> Signer:
    """Its certificate names an OCSP responder, so revocation data is required of it."""
    ca = operators["SZ"].ca
    with_responder = CertificateAuthority(
        ca.certificate, ca.key, AuthorityUrls(ocsp="http://127.0.0.1:9/ocsp")
    )
    return enterprise(with_responder, "深圳甲公司", KeyKind.ECDSA_P256)


def _sign(pdf: bytes, doc: ContractDocument, signer: Signer, *, certify: bool) -> bytes:
    return sign_pdf(
        pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        block_stamp(doc, 0),
        PadesProfile(PadesLevel.B_B, certify=certify),
    )


def _offline(
    federation: Federation, data: bytes, at: datetime | None = None
) -> list[SignatureReport]:
    context = federation_context(federation, fetch=False, at=at)
    return list(verify_pdf(data, "x.pdf", federation, ["SZ", "HK"], context=context).signatures)


def test_every_check_is_named_and_missing_revocation_is_its_own_constraint(
    federation: Federation, contract: ContractDocument, signer: Signer
) -> None:
    (sig,) = _offline(federation, _sign(contract.pdf, contract, signer, certify=False))
    names = [c.name for c in sig.checks]
    assert names[:3] == ["integrity", "signature-value", "coverage"]
    revocation = next(c for c in sig.checks if c.name == "revocation")
    assert revocation.constraint is Constraint.REVOCATION_DATA_MISSING
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "TRY_LATER")
    assert sig.digest_algorithm == "sha256" and sig.public_key == "ec-secp256r1"
    assert any(d.startswith("integrity: ok") for d in sig.details)


def test_a_policy_can_accept_missing_revocation_data_for_a_pdf(
    federation: Federation, contract: ContractDocument, signer: Signer
) -> None:
    data = _sign(contract.pdf, contract, signer, certify=False)
    report = verify_pdf(
        data, "x.pdf", federation, ["SZ", "HK"], context=federation_context(federation, fetch=False)
    )
    assert apply_policy(report, DEFAULT_POLICY).accepted is False
    lenient = parse_policy(
        {"constraints": {"revocation-data-missing": "WARN"}}, default_name="lenient", source="t"
    )
    relaxed = apply_policy(report, lenient)
    (sig,) = relaxed.signatures
    assert sig.indication is Indication.TOTAL_PASSED and relaxed.accepted is True
    assert sig.recognition["SZ"].recognised is True and sig.recognition["HK"].recognised is True
    assert any(w.startswith("revocation-data-missing") for w in sig.warnings)


def test_validation_time_before_the_certificate_is_not_yet_valid(
    federation: Federation, contract: ContractDocument, signer: Signer
) -> None:
    data = _sign(contract.pdf, contract, signer, certify=False)
    before = signer.certificate.not_valid_before - timedelta(days=1)
    (sig,) = _offline(federation, data, at=before)
    assert sig.indication is not Indication.TOTAL_PASSED
    assert (
        next(c for c in sig.checks if c.name == "chain").indication is not Indication.TOTAL_PASSED
    )


@pytest.mark.parametrize(
    ("attack", "modified"),
    [
        ("hide-and-replace", True),
        ("appended objects without xref", True),
        ("form value replaced (permitted)", False),
    ],
)
def test_attacks_through_the_verifier(
    federation: Federation,
    contract: ContractDocument,
    signer: Signer,
    attack: str,
    modified: bool,
) -> None:
    base = attacks.add_text_field(contract.pdf, "Amount", "100 EUR", AMOUNT_BOX)
    if attack == "hide-and-replace":
        staged = attacks.stage_shadow_content(base)
        data = attacks.activate_shadow_content(
            _sign(staged.pdf, contract, signer, certify=True), staged
        )
    elif attack == "appended objects without xref":
        data = attacks.append_objects_without_xref(_sign(base, contract, signer, certify=True))
    else:
        data = attacks.replace_field(
            _sign(base, contract, signer, certify=True), "Amount", "1000000 EUR"
        )
    (sig,) = _offline(federation, data)
    assert sig.modified_after_signing is modified
    modification = next(c for c in sig.checks if c.name == "modification")
    if modified:
        assert (sig.indication, sig.sub_indication) == (
            Indication.TOTAL_FAILED,
            "SIG_CONSTRAINTS_FAILURE",
        )
        assert modification.constraint is Constraint.MODIFIED_AFTER_SIGNING
        assert all(r.recognised is False for r in sig.recognition.values())
    else:
        # Permitted by the certification, but a page now shows something else: a warning.
        assert modification.constraint is Constraint.SUSPICIOUS_CHANGES
        lenient = parse_policy(
            {"constraints": {"revocation-data-missing": "IGNORE"}}, default_name="p", source="t"
        )
        context = federation_context(federation, fetch=False)
        report = apply_policy(
            verify_pdf(data, "x.pdf", federation, ["SZ"], context=context), lenient
        )
        assert any(w.startswith("suspicious-changes") for w in report.signatures[0].warnings)


@pytest.mark.skipif(not INTEROP.is_dir(), reason=f"interop vectors not found at {INTEROP}")
def test_the_file_pyhanko_cannot_open_gives_all_six(federation: Federation) -> None:
    """MANIFEST: 5 signatures plus 1 document timestamp; a robust reader reports all 6."""
    name = "pades-5-signatures-and-1-document-timestamp.pdf"
    data = (INTEROP / name).read_bytes()
    report = verify_pdf(
        data, name, federation, ["SZ"], context=federation_context(federation, fetch=False)
    )
    kinds = [s.kind for s in report.signatures]
    assert kinds.count(SignatureKind.PADES) == 5 and kinds.count(SignatureKind.DOC_TIMESTAMP) == 1
    for sig in report.signatures:
        integrity = next(c for c in sig.checks if c.name == "integrity")
        assert integrity.indication is Indication.TOTAL_PASSED, sig.details
        assert sig.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report.notes and all(n.startswith("repaired: ") for n in report.notes)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert datetime.now(UTC) - report.validated_at < timedelta(minutes=5)
