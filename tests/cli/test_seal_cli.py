"""``sealbridge seal``, driven as a user would: files in, lines and exit statuses out."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import pem, x509
from typer.testing import CliRunner, Result

from sealbridge.authority.server import AuthorityServer
from sealbridge.cli.app import app
from sealbridge.cli.ca import PASSPHRASE_ENV
from sealbridge.crypto.keystore import FileKeyStore
from sealbridge.errors import KeyStoreError
from sealbridge.pki.identifiers import uscc_check_character
from sealbridge.pki.registry import RevocationReason
from sealbridge.seals import decode_seal
from seals.trusted import World, build_world

FIRM = "91440300MA5G0CL11" + uscc_check_character("91440300MA5G0CL11")
ES_ID = "4403000001"


PASSPHRASE = "seal-cli test passphrase"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={PASSPHRASE_ENV: PASSPHRASE})


def _one_error_line(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a maker, a firm with custodian carol and user bob, one seal."""
    folder = tmp_path_factory.mktemp("cli") / "data"
    assert (
        run("seal", "init-maker", "--name", "CLI Demo Seal Maker", "--data", folder).exit_code == 0
    )
    steps = [
        ("register-firm", FIRM, "--name", "深圳甲公司", "--legal-representative", "张三",
         "--jurisdiction", "SZ"),
        ("add-user", "carol", "--firm", FIRM, "--display-name", "Carol"),
        ("add-user", "bob", "--firm", FIRM),
        ("issue", "--firm", FIRM, "--es-id", ES_ID, "--type", "contract",
         "--signer-cert", folder / "seal-maker" / "maker.pem", "--custodian", "carol"),
    ]  # fmt: skip
    for step in steps:
        result = run("seal", *step, "--data", folder)
        assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def seal_file(data: Path) -> Path:
    return data / "seals" / f"{ES_ID}.esl"


def test_init_maker_keeps_its_key_encrypted_for_its_owner(data: Path) -> None:
    folder = data / "seal-maker"
    key_file = data / "keys" / "seal-maker.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert pem.unarmor(key_file.read_bytes())[0] == "SEALBRIDGE ENCRYPTED PRIVATE KEY"
    key = FileKeyStore(data / "keys", PASSPHRASE).load("seal-maker")
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        FileKeyStore(data / "keys", "not the passphrase").load("seal-maker")
    certificate = x509.Certificate.load(pem.unarmor((folder / "maker.pem").read_bytes())[2])
    root = x509.Certificate.load(pem.unarmor((folder / "root.pem").read_bytes())[2])
    assert key.public_key_info.dump() == certificate.public_key.dump()
    assert certificate.issuer == root.subject and root.self_signed == "maybe"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporaries
    _one_error_line(run("seal", "init-maker", "--name", "Again", "--data", data), "already")


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [("--name", "n" * 65, "1 to 64"), ("--country", "CHN", "two-letter"), ("--name", " ", "1 to")],
)
def test_init_maker_refuses_bad_names(tmp_path: Path, option: str, value: str, words: str) -> None:
    result = run("seal", "init-maker", "--name", "Maker", option, value, "--data", tmp_path)
    _one_error_line(result, "MalformedInput", words)
    assert not (tmp_path / "seal-maker").exists()


def test_issue_wrote_the_seal(seal_file: Path) -> None:
    seal = decode_seal(seal_file.read_bytes())
    assert seal.es_id == ES_ID and seal.name == "深圳甲公司合同专用章"
    assert seal.maker_certificate.subject.native["common_name"] == "CLI Demo Seal Maker"


def test_show_prints_fields_and_saves_the_picture(seal_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "chop.png"
    result = run("seal", "show", seal_file, "--picture", out)
    assert result.exit_code == 0, result.output
    assert ES_ID in result.stdout and "Contract seal" in result.stdout
    assert "GB/T 38540-2020" in result.stdout
    assert out.read_bytes().startswith(b"\x89PNG")


def test_verify_valid_seal(seal_file: Path) -> None:
    result = run("seal", "verify", seal_file)
    assert result.exit_code == 0, result.output
    assert "ok     maker-signature" in result.stdout
    assert result.stdout.strip().endswith("is valid")


def test_verify_outside_the_validity_is_invalid(seal_file: Path) -> None:
    result = run("seal", "verify", seal_file, "--at", "2020-01-01T00:00:00+08:00")
    assert result.exit_code == 1
    assert "FAILED seal-validity" in result.stdout and "INVALID" in result.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "FileNotFoundError"),
        (b"", "empty input"),
        (b"\x30\x03\x02\x01\x07", "no version number"),
        (b'{"not": "a seal"}', "not a DER SEQUENCE"),
    ],
)
def test_verify_unreadable_seal(tmp_path: Path, content: bytes | None, words: str) -> None:
    path = tmp_path / "bad.esl"
    if content is not None:
        path.write_bytes(content)
    _one_error_line(run("seal", "verify", path), words)


def test_verify_bad_time(seal_file: Path) -> None:
    _one_error_line(run("seal", "verify", seal_file, "--at", "next tuesday"), "--at", "ISO 8601")


def test_grant_and_refusals(data: Path) -> None:
    granted = run(
        "seal", "grant", ES_ID, "--by", "carol", "--to", "bob", "--max-uses", "3",
        "--until", "2099-01-01", "--data", data,
    )  # fmt: skip
    assert granted.exit_code == 0, granted.output
    assert "bob is user of seal" in granted.stdout and "at most 3 uses" in granted.stdout
    _one_error_line(
        run("seal", "grant", ES_ID, "--by", "bob", "--to", "carol", "--data", data),
        "NotAuthorised",
        "not a custodian",
    )
    _one_error_line(
        run("seal", "grant", "nope", "--by", "carol", "--to", "bob", "--data", data),
        "UnknownRecord",
        "no seal nope",
    )
    _one_error_line(
        run("seal", "grant", ES_ID, "--by", "carol", "--to", "bob", "--until", "soon",
            "--data", data),
        "--until",
    )  # fmt: skip


def test_bad_registrations_are_named(data: Path) -> None:
    _one_error_line(
        run("seal", "register-firm", "91440300MA5G0CL110", "--name", "x",
            "--legal-representative", "y", "--jurisdiction", "SZ", "--data", data),
        "MalformedInput",
        "check character",
    )  # fmt: skip
    _one_error_line(
        run("seal", "register-firm", FIRM, "--name", "x", "--legal-representative", "y",
            "--jurisdiction", "SZ", "--data", data),
        "AlreadyRegistered",
    )  # fmt: skip
    _one_error_line(
        run("seal", "issue", "--firm", FIRM, "--es-id", ES_ID, "--signer-cert",
            data / "seal-maker" / "root.pem", "--data", data),
        "AlreadyRegistered",
        f"seal {ES_ID}",
    )  # fmt: skip


def test_issue_needs_a_maker_and_certificates(data: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    _one_error_line(
        run("seal", "issue", "--firm", FIRM, "--es-id", "X1", "--signer-cert",
            data / "seal-maker" / "maker.pem", "--data", empty),
        "KeyStoreError",
        "init-maker",
    )  # fmt: skip
    assert not empty.exists()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    _one_error_line(
        run("seal", "issue", "--firm", FIRM, "--es-id", "X1", "--signer-cert", garbage,
            "--data", data),
        "certificate",
    )  # fmt: skip


def test_revoke_shows_in_the_status_list_and_verification(data: Path, tmp_path: Path) -> None:
    es_id = "4403000009"
    issued = run(
        "seal", "issue", "--firm", FIRM, "--es-id", es_id, "--type", "legal-representative",
        "--signer-cert", data / "seal-maker" / "maker.pem", "--data", data,
    )  # fmt: skip
    assert issued.exit_code == 0, issued.output
    seal = data / "seals" / f"{es_id}.esl"
    listing = tmp_path / "status.json"
    assert run("seal", "status-list", "--out", listing, "--data", data).exit_code == 0
    before = run("seal", "verify", seal, "--status-list", listing)
    assert before.exit_code == 0 and "ok     seal-status" in before.stdout

    revoked = run("seal", "revoke", es_id, "--reason", "lost token", "--data", data)
    assert revoked.exit_code == 0 and "revoked at" in revoked.stdout
    _one_error_line(run("seal", "revoke", es_id, "--data", data), "IllegalTransition", "final")
    assert run("seal", "status-list", "--out", listing, "--data", data).exit_code == 0
    entries = json.loads(listing.read_bytes())["payload"]["entries"]
    assert {e["es_id"]: e["state"] for e in entries} == {ES_ID: "active", es_id: "revoked"}

    after = run("seal", "verify", seal, "--status-list", listing)
    assert after.exit_code == 1
    assert "FAILED seal-status" in after.stdout and "revoked since" in after.stdout

    other = tmp_path / "tampered.json"
    other.write_bytes(listing.read_bytes().replace(b'"revoked"', b'"active"'))
    _one_error_line(run("seal", "verify", seal, "--status-list", other), "StatusListError")


# -- verify --trust: chain, revocation (OCSP over HTTP) and recognition ---------------


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with AuthorityServer() as server:
        yield build_world(server)


@pytest.fixture(scope="module")
def trust_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trust")
    world.write_trust_directory(root)
    return root


def _trusted_seal(world: World, folder: Path, *, revoked: bool = False) -> Path:
    maker, firm = world.maker(), world.firm()
    if revoked:
        world.ca.revoke(maker.certificate, RevocationReason.KEY_COMPROMISE)
    path = folder / "trusted.esl"
    path.write_bytes(world.seal(maker, firm))
    return path


def test_verify_with_trust_recognised_where_agreed(
    world: World, trust_dir: Path, tmp_path: Path
) -> None:
    seal = _trusted_seal(world, tmp_path)
    agreed = run("seal", "verify", seal, "--trust", trust_dir, "--as", "sz", "--as", "HK")
    assert agreed.exit_code == 0, agreed.output
    assert "maker-revocation: ok — the seal maker certificate" in agreed.stdout
    assert "seal 4403050000001: TOTAL-PASSED" in agreed.stdout
    assert "HK: recognised — SZ seal CA (test) is granted on TL(SZ); agreement" in agreed.stdout
    everywhere = run("seal", "verify", seal, "--trust", trust_dir)
    assert everywhere.exit_code == 1, everywhere.output
    assert "MO: not recognised — no MO–SZ agreement" in everywhere.stdout
    assert "Traceback" not in everywhere.output


def test_verify_with_trust_as_json(world: World, trust_dir: Path, tmp_path: Path) -> None:
    seal = _trusted_seal(world, tmp_path)
    result = run("seal", "verify", seal, "--trust", trust_dir, "--as", "BJ", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "sealbridge.report/1"
    (signature,) = document["signatures"]
    assert signature["kind"] == "seal" and signature["indication"] == "TOTAL-PASSED"
    assert signature["recognition"]["BJ"]["recognised"] is True


def test_verify_with_trust_names_the_failing_step(
    world: World, trust_dir: Path, tmp_path: Path, seal_file: Path
) -> None:
    revoked = run(
        "seal", "verify", _trusted_seal(world, tmp_path, revoked=True), "--trust", trust_dir
    )
    assert revoked.exit_code == 1, revoked.output
    assert "maker-revocation: FAILED" in revoked.stdout
    assert ": TOTAL-FAILED/REVOKED" in revoked.stdout
    # The CLI's own demo maker chains to a root that no trust list holds.
    unlisted = run("seal", "verify", seal_file, "--trust", trust_dir, "--as", "SZ")
    assert unlisted.exit_code == 1, unlisted.output
    assert "maker-chain: FAILED — no trusted anchor" in unlisted.stdout
    assert ": INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND" in unlisted.stdout
    assert "SZ: not recognised" in unlisted.stdout


def test_verify_with_trust_refuses_bad_input(
    trust_dir: Path, tmp_path: Path, seal_file: Path
) -> None:
    _one_error_line(
        run("seal", "verify", seal_file, "--trust", trust_dir, "--as", "XX"), "--as", "XX"
    )
    _one_error_line(run("seal", "verify", seal_file, "--as", "SZ"), "--trust")
    _one_error_line(run("seal", "verify", seal_file, "--trust", tmp_path / "nowhere"), "TrustError")
    garbage = tmp_path / "garbage.esl"
    garbage.write_bytes(b"\x30\x03\x02\x01\x07")
    _one_error_line(
        run("seal", "verify", garbage, "--trust", trust_dir), "garbage.esl", "no version number"
    )


def test_verify_integrity_only_as_json(seal_file: Path) -> None:
    result = run("seal", "verify", seal_file, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["valid"] is True and document["failed_step"] is None
    assert [c["step"] for c in document["checks"]] == [
        "parse",
        "maker-signature",
        "seal-validity",
        "timestamp",
    ]
    late = run("seal", "verify", seal_file, "--format", "json", "--at", "2099-01-01")
    assert late.exit_code == 1
    assert json.loads(late.stdout)["failed_step"] == "seal-validity"
