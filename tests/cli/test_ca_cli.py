"""``sealbridge ca``, driven as an operator would, with OpenSSL on the other side."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from asn1crypto import pem, x509
from typer.testing import Result

from sealbridge.cli.ca import PASSPHRASE_ENV
from sealbridge.crypto.keystore import FileKeyStore
from sealbridge.pki.identifiers import uscc_check_character
from support.cli import invoke, ok, one_error_line

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

PASSPHRASE = "ca-cli test passphrase, not a real one"
ENV: dict[str, str | None] = {PASSPHRASE_ENV: PASSPHRASE}
FIRM = "91440300MA5G0CL11" + uscc_check_character("91440300MA5G0CL11")
WRONG_CHECK = FIRM[:17] + ("0" if FIRM[17] != "0" else "1")


def run(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    return invoke(ENV if env is None else env, *args)


def openssl(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


def openssl_csr(folder: Path, kind: str = "ecdsa", name: str = "req") -> Path:
    """An OpenSSL-made key and PKCS#10 request in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    key, request = f"{name}.key", f"{name}.pem"
    if kind == "sm2":
        keygen = ["ecparam", "-genkey", "-name", "SM2", "-out", key]
        extra = ["-sm3", "-sigopt", "distid:1234567812345678"]
    else:
        keygen, extra = ["ecparam", "-genkey", "-name", "prime256v1", "-out", key], []
    assert openssl(*keygen, cwd=folder).returncode == 0
    done = openssl(
        "req", "-new", "-key", key, "-subj", "/C=CN/O=深圳示例/CN=Demo Signer", "-utf8",
        "-out", request, *extra, cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / request


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ca-cli") / "data"
    ok(
        run("ca", "init", "sz", "--name", "Shenzhen Demo CA", "--org", "SealBridge Demo",
            "--url-base", "http://127.0.0.1:8080/", "--data", folder)
    )  # fmt: skip
    return folder


def _serial(certificate: Path) -> str:
    text = openssl("x509", "-in", certificate, "-noout", "-serial", cwd=certificate.parent).stdout
    return text.strip().removeprefix("serial=")


def test_init_writes_a_root_and_an_encrypted_key(data: Path) -> None:
    root = x509.Certificate.load(pem.unarmor((data / "ca" / "sz" / "ca.pem").read_bytes())[2])
    assert root.ca and root.self_signed == "maybe"
    assert root.subject.native["common_name"] == "Shenzhen Demo CA"
    key_file = data / "keys" / "ca-sz.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    again = run("ca", "init", "sz", "--name", "Other", "--data", data)
    one_error_line(again, "CA 'sz' already exists")


def test_issue_revoke_crl_rejected_by_openssl(data: Path, tmp_path: Path) -> None:
    request = openssl_csr(tmp_path)
    ok(run("ca", "issue", "sz", "--csr", request, "--out", tmp_path / "ee.pem", "--data", data))
    ok(run("ca", "issue", "sz", "--csr", request, "--out", tmp_path / "kept.pem", "--data", data))
    shutil.copy(data / "ca" / "sz" / "ca.pem", tmp_path / "ca.pem")
    assert openssl("verify", "-CAfile", "ca.pem", "ee.pem", cwd=tmp_path).returncode == 0
    issued = x509.Certificate.load(pem.unarmor((tmp_path / "ee.pem").read_bytes())[2])
    assert issued.ocsp_urls == ["http://127.0.0.1:8080/ca/sz/ocsp"]
    assert issued.subject.native["organization_name"] == "深圳示例"

    serial = _serial(tmp_path / "ee.pem")
    revoked = ok(run("ca", "revoke", "sz", "--serial", serial, "--reason", "key-compromise",
                     "--data", data))  # fmt: skip
    assert f"serial {serial.lower()} revoked" in revoked and "(key-compromise)" in revoked
    again = ok(run("ca", "revoke", "sz", "--serial", f"0x{serial}", "--data", data))
    assert "was already revoked" in again and "(key-compromise)" in again

    ok(run("ca", "crl", "sz", "--out", tmp_path / "crl.pem", "--data", data))
    text = openssl("crl", "-in", "crl.pem", "-noout", "-text", cwd=tmp_path).stdout
    assert f"Serial Number: {serial.upper()}" in text and "Key Compromise" in text
    check = ("verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "ca.pem")
    refused = openssl(*check, "ee.pem", cwd=tmp_path)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
    assert openssl(*check, "kept.pem", cwd=tmp_path).returncode == 0

    listing = ok(run("ca", "list", "sz", "--data", data))
    assert serial.lower() in listing and "revoked" in listing
    assert _serial(tmp_path / "kept.pem").lower() in listing and "valid" in listing


def test_crl_numbers_keep_rising(data: Path, tmp_path: Path) -> None:
    numbers = []
    for name in ("one.pem", "two.pem"):
        ok(run("ca", "crl", "sz", "--out", tmp_path / name, "--data", data))
        text = openssl("crl", "-in", name, "-noout", "-text", cwd=tmp_path).stdout
        numbers.append(int(text.split("X509v3 CRL Number:")[1].split()[0]))
    assert numbers[1] > numbers[0]


def test_issue_for_a_key_generated_in_the_store(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "firm.pem"
    result = run(
        "ca", "issue", "sz", "--generate", "ecdsa-p256", "--label", "firm-sign",
        "--subject-cn", "深圳甲公司", "--org", "深圳甲公司", "--uscc", FIRM.lower(),
        "--profile", "enterprise-seal", "--out", out, "--data", data,
    )  # fmt: skip
    assert "(enterprise-seal)" in ok(result)
    certificate = x509.Certificate.load(pem.unarmor(out.read_bytes())[2])
    assert certificate.subject.native["organization_identifier"] == f"NTRCN-{FIRM}"
    key = FileKeyStore(data / "keys", PASSPHRASE).load("firm-sign")
    assert key.public_key_info.dump() == certificate.public_key.dump()
    hk = run(
        "ca", "issue", "sz", "--generate", "ecdsa-p256", "--label", "hk-person",
        "--subject-cn", "Chan Tai Man", "--org", "HK Trading Ltd", "--hk-brn", "12345678",
        "--profile", "individual", "--data", data,
    )  # fmt: skip
    written = Path(ok(hk).strip().rsplit(": ", 1)[1])
    assert written.parent == data / "ca" / "sz" / "issued"
    hk_certificate = x509.Certificate.load(pem.unarmor(written.read_bytes())[2])
    assert hk_certificate.subject.native["country_name"] == "HK"


def test_sm2_ca_issues_from_an_sm2_request(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok(run("ca", "init", "bj-sm2", "--name", "Beijing SM2 CA", "--key", "sm2", "--data", data))
    request = openssl_csr(tmp_path, "sm2")
    ok(run("ca", "issue", "bj-sm2", "--csr", request, "--out", tmp_path / "ee.pem",
           "--data", data))  # fmt: skip
    shutil.copy(data / "ca" / "bj-sm2" / "ca.pem", tmp_path / "ca.pem")
    verified = openssl(
        "verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "ca.pem", "ee.pem",
        cwd=tmp_path,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr


def test_passphrase_from_a_file(data: Path, tmp_path: Path) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    result = run(
        "ca", "crl", "sz", "--out", tmp_path / "crl.pem", "--passphrase-file", secret,
        "--data", data, env={PASSPHRASE_ENV: None},
    )  # fmt: skip
    ok(result)


def test_tampered_request_fails_proof_of_possession(data: Path, tmp_path: Path) -> None:
    der = bytearray(pem.unarmor(openssl_csr(tmp_path).read_bytes())[2])
    der[der.index(b"Demo Signer")] ^= 0x01
    (tmp_path / "bad.der").write_bytes(bytes(der))
    result = run("ca", "issue", "sz", "--csr", tmp_path / "bad.der", "--data", data)
    one_error_line(result, "SignatureInvalid", "proof of possession")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["issue", "sz", "--csr", "missing.pem"], ["FileNotFoundError", "missing.pem"]),
        (["issue", "sz", "--csr", "garbage.pem"], ["MalformedInput", "certificate request"]),
        (["issue", "sz", "--csr", "garbage.pem", "--profile", "root-ca"],
         ["--profile", "'root-ca' is not one of", "enterprise-signature"]),
        (["issue", "sz"], ["exactly one of --csr FILE or --generate KIND"]),
        (["issue", "sz", "--csr", "garbage.pem", "--generate", "sm2"], ["exactly one"]),
        (["issue", "sz", "--generate", "dsa", "--subject-cn", "x", "--label", "x"],
         ["--generate", "'dsa' is not one of"]),
        (["issue", "sz", "--generate", "ecdsa-p256", "--subject-cn", "Firm", "--label", "f2",
          "--uscc", WRONG_CHECK], ["unified social credit code", "check character"]),
        (["issue", "sz", "--generate", "ecdsa-p256", "--subject-cn", "Firm", "--label", "f3",
          "--hk-brn", "1234"], ["business registration number", "8 digits"]),
        (["issue", "sz", "--generate", "ecdsa-p256", "--subject-cn", "Firm"], ["--label"]),
        (["issue", "sz", "--generate", "ecdsa-p256", "--subject-cn", "x", "--label", "../k"],
         ["KeyStoreError", "invalid key label"]),
        (["issue", "nowhere", "--generate", "ecdsa-p256", "--subject-cn", "x", "--label", "y"],
         ["no CA 'nowhere'"]),
        (["issue", "../etc", "--csr", "garbage.pem"], ["CA id", "'../etc'"]),
        (["revoke", "sz", "--serial", "xyz"], ["--serial", "not a positive hexadecimal"]),
        (["revoke", "sz", "--serial", "0"], ["--serial"]),
        (["revoke", "sz", "--serial", "abc123"], ["UnknownCertificate", "abc123 was not issued"]),
        (["revoke", "sz", "--serial", "abc123", "--reason", "bored"], ["--reason", "'bored'"]),
        (["list", "nowhere"], ["no CA 'nowhere'"]),
        (["crl", "sz", "--out", "adir"], ["IsADirectoryError", "adir"]),
        (["init", "x", "--name", "X", "--key", "dsa"], ["--key", "'dsa' is not one of"]),
        (["init", "x", "--name", "X", "--country", "CHN"], ["country", "two-letter"]),
        (["init", "x", "--name", "X", "--url-base", "ftp://h"], ["--url-base", "http(s)"]),
        (["init", "x", "--name", " "], ["--name", "1 to 64"]),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], words: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.pem").write_bytes(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")
    (tmp_path / "adir").mkdir()
    one_error_line(run("ca", *args, "--data", data), *words)
    assert not (data / "ca" / "x").exists()


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({PASSPHRASE_ENV: None}, ["no key store passphrase", "--passphrase-file"]),
        ({PASSPHRASE_ENV: "not the passphrase"}, ["cannot decrypt key 'ca-sz'", "passphrase"]),
    ],
)
def test_passphrase_problems_are_one_line(
    data: Path, tmp_path: Path, env: dict[str, str | None], words: list[str]
) -> None:
    result = run("ca", "crl", "sz", "--out", tmp_path / "crl.pem", "--data", data, env=env)
    one_error_line(result, *words)
    assert not (tmp_path / "crl.pem").exists()


def test_passphrase_file_that_is_missing(data: Path, tmp_path: Path) -> None:
    result = run(
        "ca", "crl", "sz", "--out", tmp_path / "crl.pem", "--passphrase-file",
        tmp_path / "nope", "--data", data,
    )  # fmt: skip
    one_error_line(result, "FileNotFoundError", "nope")
