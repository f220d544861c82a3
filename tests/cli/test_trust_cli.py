"""``sealbridge trust``: lists and agreements built, shown and verified as a user would."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import pem
from typer.testing import Result

from sealbridge.cli.ca import PASSPHRASE_ENV
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.trust.directory import load_trust_directory
from support.cli import invoke, ok, one_error_line

ENV: dict[str, str | None] = {PASSPHRASE_ENV: "trust-cli test passphrase"}
SERVICES = {
    "operator": "Shenzhen Demo Trust List Operator",
    "providers": [
        {
            "name": "SealBridge Demo Shenzhen",
            "services": [
                {
                    "name": "Shenzhen Demo CA",
                    "type": "ca-esig",
                    "certificate": "certs/sz-ca.pem",
                    "history": [{"status": "granted", "since": "2026-01-01T00:00:00+08:00"}],
                    "policy_prefixes": [profiles.MUTUAL_RECOGNITION_POLICY_PREFIX],
                    "supply_points": ["http://127.0.0.1:8080/ca/sz/ocsp"],
                },
                {
                    "name": "Shenzhen Demo CA (seals)",
                    "type": "ca-eseal",
                    "certificate": "certs/sz-ca.pem",
                    "history": [
                        {"status": "granted", "since": "2025-01-01T00:00:00"},
                        {"status": "withdrawn", "since": "2026-06-01T00:00:00Z"},
                    ],
                },
            ],
        }
    ],
}


def run(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    return invoke(ENV if env is None else env, *args)


def rejected(result: Result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("REJECTED ")
    for word in words:
        assert word in result.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with operators sz-op (ECDSA) and hk-op (RSA), and services.json."""
    folder = tmp_path_factory.mktemp("trust-cli")
    ca = CertificateAuthority.create_root(
        ca_name("Shenzhen Demo CA", "SealBridge Demo", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    (folder / "certs").mkdir()
    (folder / "certs" / "sz-ca.pem").write_bytes(pem.armor("CERTIFICATE", ca.certificate.dump()))
    (folder / "services.json").write_text(json.dumps(SERVICES))
    data = folder / "data"
    ok(run("trust", "init-operator", "sz-op", "--name", "Shenzhen Trust List Operator",
           "--data", data))  # fmt: skip
    ok(run("trust", "init-operator", "hk-op", "--name", "Hong Kong Trust List Operator",
           "--country", "HK", "--key", "rsa2048", "--data", data))  # fmt: skip
    return data


def _build(data: Path, out: Path, territory: str = "SZ", label: str = "sz-op", seq: int = 3) -> str:
    return ok(
        run("trust", "build", "--territory", territory, "--operator-label", label,
            "--services", data.parent / "services.json", "--sequence", str(seq),
            "--out", out, "--data", data)
    )  # fmt: skip


def _pin(data: Path, label: str) -> Path:
    return data / "operators" / f"{label}.pem"


@pytest.mark.parametrize("suffix", [".xml", ".json"])
def test_build_show_verify_round_trip(data: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"SZ{suffix}"
    assert "trust list of SZ, sequence 3, 2 service(s)" in _build(data, out)
    if suffix == ".xml":
        assert out.read_bytes().startswith(b"<?xml") and b"ds:Signature" in out.read_bytes()
    shown = ok(run("trust", "show", out))
    assert "Trust list of SZ, sequence 3" in shown
    assert "Shenzhen Demo CA (seals)" in shown and "withdrawn" in shown
    assert "not checked against a pin" in shown
    as_json = json.loads(ok(run("trust", "show", out, "--json")))
    assert as_json["operator"] == "Shenzhen Demo Trust List Operator"
    services = as_json["providers"][0]["services"]
    assert [s["status"] for s in services] == ["granted", "withdrawn"]
    assert services[0]["policy_prefixes"] == [profiles.MUTUAL_RECOGNITION_POLICY_PREFIX]
    for pin in (str(_pin(data, "sz-op")), f"SZ={_pin(data, 'sz-op')}"):
        verified = ok(run("trust", "verify", out, "--pinned", pin, "--last-sequence", "3"))
        assert verified.startswith(f"VALID {out}: trust list of SZ, sequence 3")


@pytest.mark.parametrize("suffix", [".xml", ".json"])
def test_rejections_exit_1_with_the_reason(data: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"SZ{suffix}"
    _build(data, out)
    sz, hk = _pin(data, "sz-op"), _pin(data, "hk-op")
    rejected(run("trust", "verify", out, "--pinned", hk), "not", "Hong Kong Trust List Operator")
    rejected(
        run("trust", "verify", out, "--pinned", sz, "--last-sequence", "4"),
        "rolled back: sequence 3 < 4",
    )
    rejected(run("trust", "verify", out, "--pinned", f"HK={sz}"), "list of SZ, not of HK")
    tampered = tmp_path / f"tampered{suffix}"
    tampered.write_bytes(out.read_bytes().replace(b"Shenzhen Demo CA (seals)", b"Shenzhen Fake CA"))
    rejected(run("trust", "verify", tampered, "--pinned", sz), "does not verify")
    rejected(run("trust", "show", tampered), "does not verify")


def test_xml_and_json_lists_form_a_trust_directory(data: Path, tmp_path: Path) -> None:
    root = tmp_path / "trust"
    _build(data, root / "lists" / "SZ.xml")
    _build(data, root / "lists" / "HK.json", territory="HK", label="hk-op", seq=1)
    ok(
        run("trust", "agreement", "--parties", "SZ", "HK", "--scope", "e-signature",
            "--scope", "e-seal", "--from", "2026-01-01", "--sign-with", "sz-op",
            "--sign-with", "hk-op", "--out", root / "agreements" / "SZ-HK.json", "--data", data)
    )  # fmt: skip
    (root / "pinned").mkdir()
    shutil.copy(_pin(data, "sz-op"), root / "pinned" / "SZ.pem")
    shutil.copy(_pin(data, "hk-op"), root / "pinned" / "HK.pem")
    federation = load_trust_directory(root, now=datetime.now(UTC))
    assert {c: tl.sequence_number for c, tl in federation.trust_lists.items()} == {"HK": 1, "SZ": 3}
    assert [a.label for a in federation.agreements] == ["SZ<->HK"]


def test_agreement_needs_both_signatures(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "SZ-HK.json"
    written = ok(
        run("trust", "agreement", "--parties", "sz", "hk", "--scope", "e-signature",
            "--from", "2026-01-01T00:00:00+08:00", "--until", "2031-01-01",
            "--policy-prefix", profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,
            "--title", "SZ-HK e-signatures", "--sign-with", "sz-op", "--out", out, "--data", data)
    )  # fmt: skip
    assert "signed by 1 operator(s)" in written and "countersign" in written
    pins = ["--pinned", f"SZ={_pin(data, 'sz-op')}", "--pinned", f"HK={_pin(data, 'hk-op')}"]
    rejected(run("trust", "verify", out, *pins), "not signed by", "Hong Kong Trust List Operator")

    ok(run("trust", "countersign", out, "--sign-with", "hk-op", "--data", data))
    verified = ok(run("trust", "verify", out, *pins))
    assert verified.startswith(f"VALID {out}: agreement SZ<->HK, signed by both parties")
    shown = ok(run("trust", "show", out))
    assert "Recognition agreement SZ <-> HK: SZ-HK e-signatures" in shown
    assert "Shenzhen Trust List Operator" in shown and "Hong Kong Trust List Operator" in shown
    assert "until 2031-01-01T00:00:00+00:00" in shown
    payload = json.loads(ok(run("trust", "show", out, "--json")))
    assert payload["scopes"] == ["e-signature"] and payload["parties"] == ["SZ", "HK"]

    # Countersigning twice keeps one signature per operator.
    ok(run("trust", "countersign", out, "--sign-with", "hk-op", "--data", data))
    assert len(json.loads(out.read_bytes())["signatures"]) == 2

    envelope = json.loads(out.read_bytes())
    envelope["payload"]["scopes"] = ["e-seal", "e-signature"]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(envelope))
    rejected(run("trust", "verify", tampered, *pins), "does not verify")

    one_error_line(
        run("trust", "verify", out, "--pinned", f"SZ={_pin(data, 'sz-op')}"),
        "--pinned",
        "no certificate pinned for HK",
    )


def test_sm2_operator_signs_json_but_not_xml(data: Path, tmp_path: Path) -> None:
    ok(run("trust", "init-operator", "bj-op", "--name", "Beijing Trust List Operator",
           "--key", "sm2", "--data", data))  # fmt: skip
    _build(data, tmp_path / "BJ.json", territory="BJ", label="bj-op")
    ok(run("trust", "verify", tmp_path / "BJ.json", "--pinned", f"BJ={_pin(data, 'bj-op')}"))
    result = run(
        "trust", "build", "--territory", "BJ", "--operator-label", "bj-op", "--services",
        data.parent / "services.json", "--sequence", "1", "--out", tmp_path / "BJ.xml",
        "--data", data,
    )  # fmt: skip
    one_error_line(result, "UnsupportedAlgorithm", "cannot sign XML trust lists")
    assert not (tmp_path / "BJ.xml").exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"type": "qualified"}, ["providers[0].services[0].type", "'qualified' is not one of"]),
        ({"name": ""}, ["providers[0].services[0].name", "non-empty str"]),
        ({"history": []}, ["history: needs at least one status change"]),
        ({"history": [{"status": "granted", "since": "soon"}]}, ["since: 'soon' is not"]),
        ({"history": [{"status": "maybe", "since": "2026-01-01"}]}, ["status", "'maybe'"]),
        ({"policy_prefixes": ["not.an.oid"]}, ["'not.an.oid' is not a dotted OID"]),
        ({"supply_points": "http://x"}, ["supply_points: expected a list of strings"]),
        ({"certificate": "nowhere.pem"}, ["FileNotFoundError", "nowhere.pem"]),
    ],
)
def test_bad_services_file(
    data: Path, tmp_path: Path, change: dict[str, object], words: list[str]
) -> None:
    result = run(
        "trust", "build", "--territory", "SZ", "--operator-label", "sz-op",
        "--services", _services_in(tmp_path, data, change),
        "--sequence", "1", "--out", tmp_path / "SZ.xml", "--data", data,
    )  # fmt: skip
    one_error_line(result, *words)


def _services_in(tmp: Path, data: Path, change: dict[str, object]) -> Path:
    """services.json with one service changed; its certificate path made absolute."""
    service = dict(SERVICES["providers"][0]["services"][0])  # type: ignore[index]
    service["certificate"] = str(data.parent / "certs" / "sz-ca.pem")
    service.update(change)
    path = tmp / "bad-services.json"
    path.write_text(json.dumps({"providers": [{"name": "P", "services": [service]}]}))
    return path


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["build", "--territory", "SZ", "--operator-label", "nobody", "--services", "{services}",
          "--sequence", "1", "--out", "x.xml"], ["no operator 'nobody'", "init-operator"]),
        (["build", "--territory", "SZ", "--operator-label", "sz-op", "--services", "{services}",
          "--sequence", "1", "--out", "x.txt"], ["--out", ".xml"]),
        (["build", "--territory", "Shenzhen", "--operator-label", "sz-op", "--services",
          "{services}", "--sequence", "1", "--out", "x.xml"], ["territory", "two-letter"]),
        (["build", "--territory", "SZ", "--operator-label", "sz-op", "--services", "junk.txt",
          "--sequence", "1", "--out", "x.xml"], ["services file", "junk.txt"]),
        (["agreement", "--parties", "SZ", "SZ", "--scope", "e-seal", "--from", "2026-01-01",
          "--sign-with", "sz-op", "--out", "a.json"], ["--parties", "two jurisdictions"]),
        (["agreement", "--parties", "SZ", "HK", "--scope", "e-mail", "--from", "2026-01-01",
          "--sign-with", "sz-op", "--out", "a.json"], ["--scope", "'e-mail'"]),
        (["agreement", "--parties", "SZ", "HK", "--scope", "e-seal", "--from", "someday",
          "--sign-with", "sz-op", "--out", "a.json"], ["--from", "'someday'"]),
        (["agreement", "--parties", "SZ", "HK", "--scope", "e-seal", "--from", "2026-01-01",
          "--until", "2025-01-01", "--sign-with", "sz-op", "--out", "a.json"],
         ["--until", "after --from"]),
        (["init-operator", "sz-op", "--name", "Again"], ["already"]),
        (["init-operator", "x", "--name", "X", "--key", "dsa"], ["--key", "'dsa'"]),
        (["countersign", "junk.txt", "--sign-with", "hk-op"], ["junk.txt"]),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], words: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.txt").write_text("neither XML nor JSON")
    services = str(data.parent / "services.json")
    result = run("trust", *[a.replace("{services}", services) for a in args], "--data", data)
    one_error_line(result, *words)
    assert not any(tmp_path.glob("x.*")) and not (tmp_path / "a.json").exists()


@pytest.mark.parametrize(
    ("content", "pins", "words"),
    [
        (None, ["{sz}"], ["FileNotFoundError"]),
        (b"neither", ["{sz}"], ["neither a trust list nor an agreement"]),
        (b"<TrustServiceStatusList", ["{sz}"], ["not well-formed XML"]),
        (b'{"payload": {"format": "x"}, "signatures": []}', ["{sz}"], ["unknown document format"]),
        (b"list", ["{sz}", "{hk}"], ["--pinned", "one operator"]),
        (b"list", ["{data}/services.json"], ["neither PEM nor DER"]),
        (b"list", ["nowhere.pem"], ["FileNotFoundError", "nowhere.pem"]),
    ],
)
def test_unreadable_input_exits_2(
    data: Path, tmp_path: Path, content: bytes | None, pins: list[str], words: list[str]
) -> None:
    target = tmp_path / "doc"
    if content == b"list":
        _build(data, target.with_suffix(".json"))
        target = target.with_suffix(".json")
    elif content is not None:
        target.write_bytes(content)
    names = {"{sz}": str(_pin(data, "sz-op")), "{hk}": str(_pin(data, "hk-op"))}
    options = []
    for pin in pins:
        options += ["--pinned", names.get(pin, pin.replace("{data}", str(data.parent)))]
    one_error_line(run("trust", "verify", target, *options), *words)
