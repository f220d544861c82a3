"""The end-to-end demo, checked as a user would: its table, its files, outside tools."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from sealbridge.demo.scenario import DemoResult, run_demo
from sealbridge.service import audit
from sealbridge.service.db.models import AuditEvent
from sealbridge.service.db.store import Store
from sealbridge.verify.pades_status import is_national
from sealbridge.verify.report.model import Indication, SignatureKind

Y, N = True, False
EXPECTED = {
    # file: [(kind, indication, {jurisdiction: recognised})] in report order
    "contract-sz-hk.pdf": [
        ("pades", "TOTAL-PASSED", {"SZ": Y, "HK": Y, "BJ": Y, "MO": N}),
        ("seal", "TOTAL-PASSED", {"SZ": Y, "HK": Y, "BJ": Y, "MO": N}),
        ("pades", "TOTAL-PASSED", {"SZ": Y, "HK": Y, "BJ": N, "MO": N}),
        ("doc-timestamp", "TOTAL-PASSED", {}),
    ],
    # Dual-signed: ECDSA for international tools, then SM2 (a CMS signature) for mainland ones.
    "contract-bj.pdf": [
        ("pades", "TOTAL-PASSED", {"SZ": Y, "HK": N, "BJ": Y, "MO": N}),
        ("cms", "TOTAL-PASSED", {"SZ": Y, "HK": N, "BJ": Y, "MO": N}),
    ],
    "contract-mo.pdf": [("pades", "TOTAL-PASSED", {"SZ": N, "HK": N, "BJ": N, "MO": Y})],
    "contract-revoked.pdf": [("pades", "TOTAL-FAILED", {"SZ": N, "HK": N, "BJ": N, "MO": N})],
    "contract-sz.ofd": [("ofd-seal", "TOTAL-PASSED", {"SZ": Y, "HK": Y, "BJ": Y, "MO": N})],
}
MAGIC = {".pdf": b"%PDF", ".ofd": b"PK\x03\x04"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo") / "out")


def _roots(out: Path) -> list[x509.Certificate]:
    return [
        x509.Certificate.load(pem.unarmor(p.read_bytes())[2])
        for p in sorted((out / "certs").glob("*.pem"))
        if "-tsa" not in p.name and "operator" not in p.name and "maker" not in p.name
    ]


def test_recognition_matrix(demo: DemoResult) -> None:
    seen = {
        name: [
            (s.kind.value, s.indication.value, {j: r.recognised for j, r in s.recognition.items()})
            for s in report.signatures
        ]
        for name, report in demo.reports.items()
    }
    assert seen == EXPECTED


def test_rules_name_the_agreement_or_its_absence(demo: DemoResult) -> None:
    hk_sig = demo.reports["contract-sz-hk.pdf"].signatures[2]
    assert "agreement SZ<->HK" in hk_sig.recognition["SZ"].rule
    assert "no BJ–HK agreement" in hk_sig.recognition["BJ"].rule
    revoked = demo.reports["contract-revoked.pdf"].signatures[0]
    assert revoked.sub_indication == "REVOKED"
    assert "key_compromise" in revoked.recognition["HK"].rule
    seal = demo.reports["contract-sz-hk.pdf"].signatures[1]
    assert seal.kind is SignatureKind.SEAL
    assert any(d.startswith("seal-status: ok") for d in seal.details)
    assert "seal maker is granted on TL(SZ)" in seal.recognition["HK"].rule


def test_levels(demo: DemoResult) -> None:
    sigs = demo.reports["contract-sz-hk.pdf"].signatures
    assert [s.level for s in sigs if s.kind is SignatureKind.PADES] == ["B-LTA", "B-LTA"]
    assert demo.reports["contract-bj.pdf"].signatures[0].level == "B-T"


def test_outputs(demo: DemoResult) -> None:
    out = demo.out_dir
    for name in EXPECTED:
        stem, suffix = Path(name).stem, Path(name).suffix
        assert (out / "signed" / name).read_bytes().startswith(MAGIC[suffix])
        doc = json.loads((out / "reports" / f"{stem}.json").read_text(encoding="utf-8"))
        assert doc["schema"] == "sealbridge.report/1" and doc["file"] == name
        assert "验证报告" in (out / "reports" / f"{stem}.html").read_text(encoding="utf-8")
    trust = out / "trust"
    assert {p.name for p in (trust / "lists").iterdir()} == {
        "SZ.json",
        "HK.json",
        "BJ.json",
        "MO.json",
    }
    assert {p.name for p in (trust / "pinned").iterdir()} == {
        "SZ.pem",
        "HK.pem",
        "BJ.pem",
        "MO.pem",
    }
    assert {p.name for p in (trust / "agreements").iterdir()} == {"SZ-HK.json", "SZ-BJ.json"}
    assert len(list((out / "seals").glob("*.esl"))) == 1
    store = Store.embedded(out / "state")
    try:
        with store.sessions() as session:
            chain = audit.verify_chain(session)
            actions = session.execute(select(AuditEvent.action)).scalars().all()
    finally:
        store.close()
    assert chain.intact
    assert actions.count("certificate.revoked") == 1 and "seal.issued" in actions
    # The clerk's grant was used for the PDF and the OFD contract; the intern was refused.
    assert actions.count("seal.used") == 2 and actions.count("seal.use.refused") == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_pyhanko_validates_with_the_demo_roots(demo: DemoResult) -> None:
    roots = _roots(demo.out_dir)
    for name in ("contract-sz-hk.pdf", "contract-bj.pdf", "contract-mo.pdf"):
        reader = PdfFileReader(io.BytesIO((demo.out_dir / "signed" / name).read_bytes()))
        # pyHanko has no SM2: the dual-signed file's SM2 half is for mainland tools (and
        # our verifier, in the matrix above).
        for sig in (s for s in reader.embedded_regular_signatures if not is_national(s)):
            status = validate_pdf_signature(sig, ValidationContext(trust_roots=roots))
            assert status.bottom_line, (name, status.summary())


def test_b_lta_validates_offline_from_embedded_data(demo: DemoResult) -> None:
    """The LTA file carries its own revocation data: no responder is running any more."""
    roots = _roots(demo.out_dir)
    data = (demo.out_dir / "signed" / "contract-sz-hk.pdf").read_bytes()
    reader = PdfFileReader(io.BytesIO(data))
    dss = DocumentSecurityStore.read_dss(reader)
    assert dss.ocsps, "the DSS holds no OCSP responses"
    for sig in reader.embedded_regular_signatures:
        context = dss.as_validation_context(
            {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
        )
        status = validate_pdf_signature(sig, context)
        assert status.bottom_line, status.summary()


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
def test_pdfsig_accepts_every_signature(demo: DemoResult) -> None:
    for name, rows in EXPECTED.items():
        if not name.endswith(".pdf"):
            continue
        out = subprocess.run(
            ["pdfsig", str(demo.out_dir / "signed" / name)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        pades = sum(1 for kind, _, _ in rows if kind == "pades")
        assert out.count("Signature Validation: Signature is Valid.") == pades, out


def test_second_run_replaces_output(demo: DemoResult) -> None:
    before = {p.name for p in (demo.out_dir / "signed").iterdir()}
    again = run_demo(demo.out_dir)
    assert {p.name for p in (again.out_dir / "signed").iterdir()} == before
    assert all(
        s.indication is Indication.TOTAL_PASSED for s in again.reports["contract-bj.pdf"].signatures
    )
    assert not [p for p in demo.out_dir.iterdir() if p.name.startswith(".")]
