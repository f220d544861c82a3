"""``sealbridge verify`` and ``sealbridge demo`` as a user runs them: exit codes, output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sealbridge.cli.app import app
from sealbridge.demo.scenario import DemoResult, run_demo

runner = CliRunner()


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
