"""Validation policies as data: a TOML file changes the outcome, never the facts.

Reports come from the real verifiers (a PAdES B-B contract signed here, ofdrw's seal
from the interop set); one test feeds structured checks the way the PDF verifier is
to feed revocation findings, to pin that contract down.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import PadesLevel, PadesProfile, PdfSignerIdentity, VisibleStamp
from sealbridge.documents.pdf.sign import sign_pdf as sign
from sealbridge.errors import MalformedInput
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import verify_pdf
from sealbridge.verify.policy import (
    DEFAULT_POLICY,
    Level,
    ValidationPolicy,
    apply_policy,
    load_policy,
)
from sealbridge.verify.report.model import (
    Check,
    Constraint,
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
    ValidationReport,
)
from sealbridge.verify.seal import verify_seal_file
from support.pki import enterprise
from support.trust import Operator, agreement

OFDRW = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "ofdrw"
WHILE_VALID = datetime(2021, 6, 1, tzinfo=UTC)


def _policy(tmp_path: Path, text: str, name: str = "p.toml") -> ValidationPolicy:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@pytest.fixture(scope="module")
def operators() -> dict[str, Operator]:
    return {code: Operator(code) for code in ("SZ", "HK")}


@pytest.fixture(scope="module")
def federation(operators: dict[str, Operator]) -> Federation:
    lists = {code: op.trust_list() for code, op in operators.items()}
    return Federation(lists, (agreement("SZ", "HK"),))


@pytest.fixture(scope="module")
def b_b_contract(operators: dict[str, Operator]) -> bytes:
    doc = build_contract(
        "合同",
        "Contract",
        [ContractParty("甲方", "Party A", "深圳甲公司", "SZ A Co", "X", "深圳")],
        [("条款", "Clause")],
        contract_no="P-1",
        on=date(2026, 1, 1),
    )
    signer = enterprise(operators["SZ"].ca, "深圳甲公司", KeyKind.ECDSA_P256)
    box = doc.places[0].box
    return sign(
        doc.pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        VisibleStamp(doc.places[0], render_signature_block(["Signed"], box[2] - box[0], 80)),
        PadesProfile(PadesLevel.B_B),
    )


def test_default_policy_names_every_constraint() -> None:
    assert set(DEFAULT_POLICY.levels) == set(Constraint)
    assert DEFAULT_POLICY.level(Constraint.REVOCATION_DATA_MISSING) is Level.FAIL
    assert DEFAULT_POLICY.level(Constraint.TIMESTAMP_MISSING) is Level.INFO


def test_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'name = "bank"\n[constraints]\nrevocation-data-missing = "warn"\n')
    assert policy.name == "bank"
    assert policy.level(Constraint.REVOCATION_DATA_MISSING) is Level.WARN
    assert policy.level(Constraint.MODIFIED_AFTER_SIGNING) is Level.FAIL
    assert _policy(tmp_path, "", "court-2026.toml").name == "court-2026"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            '[constraints]\nrevocation-missing = "WARN"\n',
            ["unknown constraint", "revocation-missing"],
        ),
        ('[constraints]\nweak-algorithm = "MAYBE"\n', ["weak-algorithm", "MAYBE", "FAIL, WARN"]),
        ("[constraints]\nweak-algorithm = 3\n", ["weak-algorithm", "level 3"]),
        ('levels = "x"\n', ["unknown key", "levels"]),
        ("[constraints\n", ["not TOML"]),
        ('name = ""\n', ["'name'"]),
    ],
)
def test_bad_policy_file_names_the_problem(tmp_path: Path, text: str, words: list[str]) -> None:
    with pytest.raises(MalformedInput) as caught:
        _policy(tmp_path, text)
    message = str(caught.value)
    assert message.startswith("malformed validation policy: ")
    assert "p.toml" in message
    for word in words:
        assert word in message


def test_missing_policy_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput, match=r"nope\.toml"):
        load_policy(tmp_path / "nope.toml")


def test_b_b_signature_passes_with_a_note_by_default(
    b_b_contract: bytes, federation: Federation
) -> None:
    report = apply_policy(verify_pdf(b_b_contract, "c.pdf", federation, ["SZ"]), DEFAULT_POLICY)
    (sig,) = report.signatures
    assert sig.level == "B-B"
    assert sig.indication is Indication.TOTAL_PASSED
    assert any(i.startswith("timestamp-missing: ") for i in sig.infos)
    assert report.accepted is True and report.policy == "default"


def test_policy_requiring_a_timestamp_holds_b_b_back(
    tmp_path: Path, b_b_contract: bytes, federation: Federation
) -> None:
    policy = _policy(tmp_path, '[constraints]\ntimestamp-missing = "FAIL"\n', "needs-t.toml")
    report = apply_policy(verify_pdf(b_b_contract, "c.pdf", federation, ["SZ", "HK"]), policy)
    (sig,) = report.signatures
    assert (sig.indication, sig.sub_indication) == (
        Indication.INDETERMINATE,
        "SIG_CONSTRAINTS_FAILURE",
    )
    assert {j: r.recognised for j, r in sig.recognition.items()} == {"SZ": None, "HK": None}
    assert "under policy needs-t" in sig.recognition["SZ"].rule
    assert report.accepted is False


@pytest.mark.skipif(not OFDRW.is_dir(), reason=f"interop vectors not found at {OFDRW}")
def test_no_policy_excuses_a_missing_chain(tmp_path: Path, federation: Federation) -> None:
    """ofdrw's seal: the maker's signature holds, but no federation anchor vouches for it."""
    lenient = _policy(
        tmp_path,
        "[constraints]\n"
        + "".join(f'{c} = "IGNORE"\n' for c in Constraint if c is not Constraint.NOT_RECOGNISED),
    )
    data = (OFDRW / "UserV4.esl").read_bytes()
    report = verify_seal_file(data, "UserV4.esl", federation, ["SZ"], at=WHILE_VALID)
    (sig,) = apply_policy(report, lenient).signatures
    assert (sig.indication, sig.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


@pytest.mark.skipif(not OFDRW.is_dir(), reason=f"interop vectors not found at {OFDRW}")
def test_expired_seal_fails_by_default_and_warns_when_allowed(
    tmp_path: Path, federation: Federation
) -> None:
    data = (OFDRW / "UserV4.esl").read_bytes()
    today = verify_seal_file(data, "UserV4.esl", federation, ["SZ"])
    (strict,) = apply_policy(today, DEFAULT_POLICY).signatures
    assert (strict.indication, strict.sub_indication) == (Indication.TOTAL_FAILED, "EXPIRED")
    allow = _policy(tmp_path, '[constraints]\nseal-expired = "WARN"\n')
    (lenient,) = apply_policy(today, allow).signatures
    # The expiry becomes a warning; the missing anchor is still there to be seen.
    assert (lenient.indication, lenient.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    assert any(w.startswith("seal-expired: ") for w in lenient.warnings)


def _pdf_signature_with_checks() -> ValidationReport:
    """A PAdES signature as the PDF verifier is to report missing revocation data."""
    rule = "Shenzhen Demo CA is granted on TL(SZ)"
    signature = SignatureReport(
        id="Party1",
        kind=SignatureKind.PADES,
        signer="深圳甲公司",
        signing_time=WHILE_VALID,
        indication=Indication.INDETERMINATE,
        sub_indication="TRY_LATER",
        modified_after_signing=False,
        level="B-B",
        recognition={"SZ": Recognition(None, f"{rule}, but signature is INDETERMINATE/TRY_LATER")},
        checks=(
            Check("signature-value", Indication.TOTAL_PASSED, None, "valid"),
            Check(
                "signer-revocation",
                Indication.INDETERMINATE,
                "TRY_LATER",
                "no CRL or OCSP response for the signer certificate",
                Constraint.REVOCATION_DATA_MISSING,
            ),
        ),
        digest_algorithm="sha256",
        public_key="rsa-1024",
    )
    return ValidationReport("c.pdf", "00" * 32, WHILE_VALID, (signature,))


def test_fed_checks_let_a_policy_accept_missing_revocation(tmp_path: Path) -> None:
    report = _pdf_signature_with_checks()
    (default,) = apply_policy(report, DEFAULT_POLICY).signatures
    # Both findings are INDETERMINATE under the default policy; the first one names it.
    assert (default.indication, default.sub_indication) == (Indication.INDETERMINATE, "TRY_LATER")
    policy = _policy(
        tmp_path,
        '[constraints]\nrevocation-data-missing = "WARN"\nweak-algorithm = "INFO"\n',
        "lenient.toml",
    )
    applied = apply_policy(report, policy)
    (sig,) = applied.signatures
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert sig.warnings == (
        "revocation-data-missing: no CRL or OCSP response for the signer certificate",
    )
    assert "weak-algorithm: rsa-1024 key (under 2048 bits)" in sig.infos
    assert sig.recognition["SZ"] == Recognition(
        True, "Shenzhen Demo CA is granted on TL(SZ) (under policy lenient)"
    )
    assert applied.accepted is True


def test_not_recognised_as_a_warning_accepts_the_file(
    tmp_path: Path, b_b_contract: bytes, operators: dict[str, Operator]
) -> None:
    lists = {code: op.trust_list() for code, op in operators.items()}
    macao = Federation({**lists, "MO": Operator("MO").trust_list()}, (agreement("SZ", "HK"),))
    report = verify_pdf(b_b_contract, "c.pdf", macao, ["SZ", "MO"])
    assert apply_policy(report, DEFAULT_POLICY).accepted is False
    policy = _policy(tmp_path, '[constraints]\nnot-recognised = "WARN"\n')
    applied = apply_policy(report, policy)
    (sig,) = applied.signatures
    assert applied.accepted is True
    assert sig.recognition["MO"].recognised is False
    assert sig.warnings == (
        "not-recognised: MO: not recognised: no MO–SZ agreement covering e-signature in force",
    )
