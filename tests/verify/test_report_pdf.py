"""The PDF report as a person gets it: a valid PDF whose text says the verdict in both
languages. Checked with poppler's ``pdfinfo`` and ``pdftotext``, which we did not write."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealbridge.trust.view import Federation
from sealbridge.verify.policy import DEFAULT_POLICY, apply_policy
from sealbridge.verify.report.pdf import render_pdf
from sealbridge.verify.seal import verify_seal_file
from support.trust import Operator, agreement

OFDRW = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "ofdrw"
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")

pytestmark = [
    pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfinfo) not installed"),
    pytest.mark.skipif(not OFDRW.is_dir(), reason=f"interop vectors not found at {OFDRW}"),
]


@pytest.fixture(scope="module")
def report_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    federation = Federation(
        {code: Operator(code).trust_list() for code in ("SZ", "HK")}, (agreement("SZ", "HK"),)
    )
    data = (OFDRW / "UserV4.esl").read_bytes()
    at = datetime(2021, 6, 1, tzinfo=UTC)
    report = apply_policy(
        verify_seal_file(data, "UserV4.esl", federation, ["SZ", "HK"], at=at), DEFAULT_POLICY
    )
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(render_pdf([report], [("broken.pdf", "malformed PDF: no header")]))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=False)
    assert info.returncode == 0, info.stderr
    assert "Pages:" in info.stdout
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return text.stdout.decode("utf-8")


def test_states_the_file_and_its_hash(report_text: str) -> None:
    assert "UserV4.esl" in report_text
    assert "SHA-256" in report_text


def test_states_the_indication_in_both_languages(report_text: str) -> None:
    assert "INDETERMINATE" in report_text and "待定" in report_text
    assert "NO_CERTIFICATE_CHAIN_FOUND" in report_text
    assert "验证报告" in report_text and "Validation report" in report_text
    assert "结论 Indication" in report_text


def test_states_recognition_per_jurisdiction_with_its_rule(report_text: str) -> None:
    assert "不认可 not recognised" in report_text
    assert "chains to no service on a federation trust list" in report_text
    for code in ("SZ", "HK"):
        assert code in report_text


def test_lists_the_checks_and_the_files_not_verified(report_text: str) -> None:
    assert "maker-signature: ok" in report_text
    assert "broken.pdf" in report_text and "无法验证 Not verified" in report_text
