"""``sealbridge verify`` and ``sealbridge demo`` as a user runs them: exit codes, output."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealbridge.cli.app import app
from sealbridge.demo.scenario import DemoResult, run_demo
from support.cli import one_error_line

runner = CliRunner()
OFDRW = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "ofdrw"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("cli") / "out")


def _verify(demo: DemoResult, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", *args, "--trust", str(demo.out_dir / "trust")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_recognised_everywhere_asked_exits_0(demo: DemoResult) -> None:
    pdf = demo.out_dir / "signed" / "contract-sz-hk.pdf"
    code, out = _verify(demo, str(pdf), "--as", "SZ", "--as", "HK", "--offline", "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["schema"] == "sealbridge.report/1"
    assert {s["kind"] for s in doc["signatures"]} == {"pades", "seal", "doc-timestamp"}


def test_not_recognised_somewhere_exits_1(demo: DemoResult) -> None:
    pdf = demo.out_dir / "signed" / "contract-sz-hk.pdf"
    code, out = _verify(demo, str(pdf), "--as", "BJ", "--offline", "--format", "json")
    assert code == 1
    hk = json.loads(out)["signatures"][2]
    assert hk["recognition"]["BJ"] == {
        "recognised": False,
        "rule": "no BJ–HK agreement covering e-signature in force",
    }


def test_offline_without_revocation_data_is_indeterminate(demo: DemoResult) -> None:
    pdf = demo.out_dir / "signed" / "contract-revoked.pdf"
    code, out = _verify(demo, str(pdf), "--as", "SZ", "--offline", "--format", "json")
    assert code == 1
    (sig,) = json.loads(out)["signatures"]
    assert sig["indication"] == "INDETERMINATE"
    assert sig["recognition"]["SZ"]["recognised"] is None


def test_text_and_html_formats(demo: DemoResult) -> None:
    pdf = demo.out_dir / "signed" / "contract-mo.pdf"
    code, text = _verify(demo, str(pdf), "--as", "MO", "--as", "HK", "--offline")
    assert code == 1 and "contract-mo.pdf" in text and "no HK–MO agreement" in text
    _, html = _verify(demo, str(pdf), "--as", "MO", "--offline", "--format", "html")
    assert html.lstrip().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d, tmp: [str(tmp / "junk.pdf")], "malformed PDF"),
        (lambda d, tmp: [str(tmp / "missing.pdf")], "missing.pdf"),
        (
            lambda d, tmp: [str(d.out_dir / "signed" / "contract-bj.pdf"), "--as", "XX"],
            "unknown jurisdiction XX",
        ),
    ],
)
def test_bad_input_is_a_clear_error(
    demo: DemoResult, tmp_path: Path, make_args: object, message: str
) -> None:
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7 this is not a PDF")
    args = make_args(demo, tmp_path)  # type: ignore[operator]
    code, out = _verify(demo, *args)
    assert code == 2
    assert message in out and "Traceback" not in out


def test_trust_directory_must_exist(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", "x.pdf", "--trust", str(tmp_path)])
    assert result.exit_code == 2
    assert "no pinned operator certificates" in result.output


def test_demo_refuses_an_output_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("keep me")
    result = runner.invoke(app, ["demo", "--out", str(target)])
    assert result.exit_code == 2
    assert "demo failed" in result.output and "Traceback" not in result.output
    assert target.read_text() == "keep me"


def _run(demo: DemoResult, *args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify", *map(str, args), "--trust", str(demo.out_dir / "trust")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def _seal(demo: DemoResult) -> Path:
    return next((demo.out_dir / "seals").glob("*.esl"))


def test_policy_file_changes_the_outcome(demo: DemoResult, tmp_path: Path) -> None:
    """Offline, the seal maker's revocation is unknown: INDETERMINATE unless the policy
    only wants a warning about it."""
    code, out, _ = _run(demo, _seal(demo), "--as", "SZ", "--offline", "--format", "json")
    (strict,) = json.loads(out)["signatures"]
    assert code == 1
    assert (strict["indication"], strict["sub_indication"]) == ("INDETERMINATE", "TRY_LATER")
    policy = tmp_path / "lenient.toml"
    policy.write_text('[constraints]\nrevocation-data-missing = "WARN"\n')
    code, out, _ = _run(
        demo, _seal(demo), "--as", "SZ", "--offline", "--format", "json", "--policy", policy
    )
    doc = json.loads(out)
    (lenient,) = doc["signatures"]
    assert code == 0, out
    assert (doc["policy"], doc["accepted"]) == ("lenient", True)
    assert lenient["indication"] == "TOTAL-PASSED"
    assert lenient["recognition"]["SZ"]["recognised"] is True
    assert any(w.startswith("revocation-data-missing: ") for w in lenient["warnings"])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[constraints]\nno-such-thing = "WARN"\n', ["unknown constraint 'no-such-thing'"]),
        ('[constraints]\nweak-algorithm = "SOMETIMES"\n', ["weak-algorithm", "SOMETIMES"]),
    ],
)
def test_bad_policy_file_is_one_clear_line(
    demo: DemoResult, tmp_path: Path, text: str, words: list[str]
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    pdf = demo.out_dir / "signed" / "contract-bj.pdf"
    result = runner.invoke(
        app,
        ["verify", str(pdf), "--trust", str(demo.out_dir / "trust"), "--policy", str(policy)],
    )
    one_error_line(result, "policy.toml", *words)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--at", "yesterday"], ["--at", "ISO 8601"]),
        (["--format", "pdf"], ["--format pdf needs --out"]),
        (["--out", "x.txt"], ["--out needs --format"]),
    ],
)
def test_usage_errors_are_one_line(demo: DemoResult, args: list[str], words: list[str]) -> None:
    result = runner.invoke(
        app,
        ["verify", str(_seal(demo)), "--trust", str(demo.out_dir / "trust"), *args],
    )
    one_error_line(result, *words)


def _folder(demo: DemoResult, root: Path) -> Path:
    folder = root / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(demo.out_dir / "signed" / "contract-sz-hk.pdf", folder / "good.pdf")
    shutil.copy(demo.out_dir / "signed" / "contract-mo.pdf", folder / "sub" / "macao.pdf")
    (folder / "sub" / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    return folder


def test_a_folder_gives_one_result_per_file(demo: DemoResult, tmp_path: Path) -> None:
    folder = _folder(demo, tmp_path)
    args = [folder, "--as", "SZ", "--as", "HK", "--offline", "--format", "json"]
    code, out, err = _run(demo, *args, "--workers", "1")
    docs = json.loads(out)
    assert code == 1  # the broken file was found in a folder: a result, not a usage error
    assert [Path(d["file"]).name for d in docs] == ["good.pdf", "broken.pdf", "macao.pdf"]
    assert all(d["schema"] == "sealbridge.report/1" for d in docs)
    assert [d.get("accepted") for d in docs] == [True, None, False]
    assert "malformed PDF" in docs[1]["error"]
    assert f"{folder / 'sub' / 'broken.pdf'}: malformed PDF" in err
    code2, out2, _ = _run(demo, *args, "--workers", "2")

    def outcome(docs: list[dict[str, object]]) -> list[object]:
        return [(d["file"], d.get("error"), d.get("accepted")) for d in docs]

    assert (code2, outcome(json.loads(out2))) == (code, outcome(docs))


def test_a_broken_file_named_by_hand_exits_2_after_the_rest(
    demo: DemoResult, tmp_path: Path
) -> None:
    folder = _folder(demo, tmp_path)
    code, out, err = _run(
        demo, folder / "good.pdf", folder / "sub" / "broken.pdf", "--as", "SZ", "--offline"
    )
    assert code == 2
    assert "good.pdf: accepted under policy default" in out
    assert "broken.pdf: malformed PDF" in err and "Traceback" not in out + err


def test_pdf_report_is_written_atomically_where_asked(demo: DemoResult, tmp_path: Path) -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("poppler's pdftotext is not installed")
    target = tmp_path / "reports" / "verify.pdf"
    pdf = demo.out_dir / "signed" / "contract-sz-hk.pdf"
    code, out, _ = _run(demo, pdf, "--as", "SZ", "--offline", "--format", "pdf", "--out", target)
    assert code == 0 and out == ""
    assert [p.name for p in target.parent.iterdir()] == ["verify.pdf"]
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(target), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "contract-sz-hk.pdf" in text and "TOTAL-PASSED" in text and "通过" in text


def test_html_for_several_files_goes_to_one_page(demo: DemoResult, tmp_path: Path) -> None:
    folder = _folder(demo, tmp_path)
    code, _, err = _run(demo, folder, "--offline", "--format", "html")
    assert code == 2 and "--out" in err
    page = tmp_path / "report.html"
    _run(demo, folder, "--offline", "--format", "html", "--out", page)
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<h2>") == 3
    assert "无法验证 Not verified" in html and "broken.pdf" in html


@pytest.mark.skipif(not OFDRW.is_dir(), reason=f"interop vectors not found at {OFDRW}")
def test_interop_seal_maker_signature_valid_but_no_trusted_anchor(demo: DemoResult) -> None:
    """MANIFEST: UserV4.esl's maker signature over DER(SES_SealInfo) is valid; its root is
    in no trust list, so the chain ends as "no trusted anchor"."""
    code, out, _ = _run(
        demo, OFDRW / "UserV4.esl", "--at", "2021-06-01T00:00:00Z", "--format", "json"
    )
    (sig,) = json.loads(out)["signatures"]
    assert code == 1
    assert sig["kind"] == "seal"
    assert any(d.startswith("maker-signature: ok") for d in sig["details"])
    assert any("maker-chain: FAILED — no trusted anchor" in d for d in sig["details"])
    assert (sig["indication"], sig["sub_indication"]) == (
        "INDETERMINATE",
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


@pytest.mark.skipif(not OFDRW.is_dir(), reason=f"interop vectors not found at {OFDRW}")
def test_interop_bare_stamp_verifies_its_signatures(demo: DemoResult) -> None:
    code, out, _ = _run(demo, OFDRW / "SignedValueV4.dat", "--format", "json")
    (sig,) = json.loads(out)["signatures"]
    assert code == 1 and sig["kind"] == "ofd-seal"
    for step in ("signer-signature", "signer-in-cert-list", "maker-signature"):
        assert any(d.startswith(f"{step}: ok") for d in sig["details"]), sig["details"]


def test_the_demo_ofd_contract_is_verified_as_an_ofd_seal(demo: DemoResult, tmp_path: Path) -> None:
    """The demo's responders are gone, and an OFD stamp carries no revocation data: the
    stamp stays INDETERMINATE unless the policy lets missing revocation data pass."""
    ofd = demo.out_dir / "signed" / "contract-sz.ofd"
    code, out, _ = _run(demo, ofd, "--as", "SZ", "--as", "MO", "--format", "json")
    (sig,) = json.loads(out)["signatures"]
    assert (sig["kind"], sig["indication"], sig["sub_indication"]) == (
        "ofd-seal",
        "INDETERMINATE",
        "TRY_LATER",
    )
    assert any(d.startswith("references: ok") for d in sig["details"]), sig["details"]
    assert code == 1
    policy = tmp_path / "policy.toml"
    policy.write_text('[constraints]\n"revocation-data-missing" = "WARN"\n')
    code, out, _ = _run(
        demo, ofd, "--as", "SZ", "--as", "MO", "--policy", policy, "--format", "json"
    )
    (sig,) = json.loads(out)["signatures"]
    assert sig["indication"] == "TOTAL-PASSED", sig
    assert sig["recognition"]["SZ"]["recognised"] is True
    assert sig["recognition"]["MO"]["recognised"] is False
    assert code == 1  # not recognised in Macao


@pytest.mark.skipif(not OFDRW.is_dir(), reason=f"interop vectors not found at {OFDRW}")
def test_interop_ofd_has_one_seal_with_valid_signatures_and_no_anchor(demo: DemoResult) -> None:
    code, out, _ = _run(demo, OFDRW / "v4signed.ofd", "--format", "json")
    (sig,) = json.loads(out)["signatures"]
    assert code == 1 and sig["kind"] == "ofd-seal"
    for step in ("signer-signature", "maker-signature", "data-hash"):
        assert any(d.startswith(f"{step}: ok") for d in sig["details"]), sig["details"]
    assert sig["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"


def test_long_term_data_holds_when_the_responders_are_gone(demo: DemoResult) -> None:
    """The demo's responders stopped with it; fetching is on, and the B-LTA signatures
    still validate from the document's own validation data."""
    pdf = demo.out_dir / "signed" / "contract-sz-hk.pdf"
    code, out, _ = _run(demo, pdf, "--as", "SZ", "--as", "HK", "--format", "json")
    signatures = json.loads(out)["signatures"]
    pades = [s for s in signatures if s["kind"] == "pades"]
    assert [(s["level"], s["indication"]) for s in pades] == [("B-LTA", "TOTAL-PASSED")] * 2
    # The seal maker's status travels in the DSS too, so the seal holds as well.
    (seal,) = [s for s in signatures if s["kind"] == "seal"]
    assert seal["indication"] == "TOTAL-PASSED", seal["details"]
    assert any("embedded OCSP response" in d for d in seal["details"])
    assert code == 0
