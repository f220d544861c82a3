"""What the authority serves, checked over HTTP by a client we did not write: openssl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import ocsp, pem, tsp, x509

from authority.harness import LAYOUT, Site, fetch, openssl_env
from pki.builders import TSA_POLICY, cached_key
from sealbridge.pki import names, profiles
from sealbridge.pki.ocsp import ResponderCertificate
from sealbridge.pki.registry import RevocationReason
from sealbridge.pki.tsa import TimeStampResponse

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None,
    reason="openssl is not on PATH; it is the independent verifier these tests rely on",
)

CA_IDS = list(LAYOUT)
TSA_IDS = [tsa_id for _, tsa_id in LAYOUT.values()]
TSA_ISSUER = {tsa_id: ca_id for ca_id, (_, tsa_id) in LAYOUT.items()}


def _openssl(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        ["openssl", *map(str, args)],
        cwd=cwd,
        env=openssl_env(),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def _write_pem(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(pem.armor("CERTIFICATE", certificate.dump()))
    return path


@pytest.mark.parametrize("ca_id", CA_IDS)
def test_ocsp_good_then_revoked(site: Site, ca_id: str, tmp_path: Path) -> None:
    ca = site.cas[ca_id]
    ee = site.issue(ca_id, "openssl-ocsp")
    ca_pem = _write_pem(tmp_path / "ca.pem", ca.certificate)
    ee_pem = _write_pem(tmp_path / "ee.pem", ee)
    [url] = ee.ocsp_urls
    query = ("-issuer", ca_pem, "-cert", ee_pem, "-url", url, "-CAfile", ca_pem, "-resp_text")

    good = _openssl("ocsp", *query, cwd=tmp_path)
    assert "Response verify OK" in good
    assert f"{ee_pem}: good" in good
    assert "WARNING" not in good  # openssl sent a nonce and found it echoed

    ca.revoke(ee, RevocationReason.KEY_COMPROMISE)
    revoked = _openssl("ocsp", *query, cwd=tmp_path)
    assert "Response verify OK" in revoked
    assert f"{ee_pem}: revoked" in revoked
    assert "Reason: keyCompromise" in revoked


@pytest.mark.parametrize("ca_id", CA_IDS)
def test_ocsp_nonce_is_echoed_for_sha256_cert_ids(site: Site, ca_id: str, tmp_path: Path) -> None:
    ca_pem = _write_pem(tmp_path / "ca.pem", site.cas[ca_id].certificate)
    ee_pem = _write_pem(tmp_path / "ee.pem", site.issue(ca_id, "openssl-nonce"))
    output = _openssl(
        "ocsp",
        "-sha256",
        "-issuer", ca_pem,
        "-cert", ee_pem,
        "-url", site.server.ca_urls(ca_id).ocsp or "",
        "-CAfile", ca_pem,
        "-nonce",
        "-reqout", "req.der",
        "-respout", "resp.der",
        "-resp_text",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Response verify OK" in output
    assert f"{ee_pem}: good" in output
    assert "OCSP Nonce" in output
    request = ocsp.OCSPRequest.load((tmp_path / "req.der").read_bytes())
    response = ocsp.OCSPResponse.load((tmp_path / "resp.der").read_bytes())
    sent = request["tbs_request"]["request_extensions"][0]["extn_value"].native
    echoed = response.basic_ocsp_response["tbs_response_data"]["response_extensions"][0]
    assert echoed["extn_value"].native == sent
    assert len(sent) == 16


@pytest.mark.parametrize("ca_id", CA_IDS)
def test_crl_verifies_and_lists_the_revoked_serial(site: Site, ca_id: str, tmp_path: Path) -> None:
    ca = site.cas[ca_id]
    ee = site.issue(ca_id, "openssl-crl")
    kept = site.issue(ca_id, "openssl-crl-kept")
    ca.revoke(ee, RevocationReason.SUPERSEDED)
    ca_pem = _write_pem(tmp_path / "ca.pem", ca.certificate)

    [url] = [point.url for point in ee.crl_distribution_points]
    assert url == site.server.ca_urls(ca_id).crl
    reply = fetch(site.server, "GET", url.removeprefix(site.server.base_url))
    (tmp_path / "crl.der").write_bytes(reply.body)

    text = _openssl(
        "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", ca_pem, "-noout", "-text",
        cwd=tmp_path,
    )  # fmt: skip
    assert "verify OK" in text
    assert f"Serial Number: {ee.serial_number:X}" in text
    assert "Superseded" in text
    assert f"{kept.serial_number:X}" not in text

    # And path validation with the CRL rejects the revoked certificate, not the other.
    _openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem", cwd=tmp_path)
    _write_pem(tmp_path / "ee.pem", ee)
    _write_pem(tmp_path / "kept.pem", kept)
    check = ("verify", "-crl_check", "-CAfile", ca_pem, "-CRLfile", "crl.pem")
    assert "kept.pem: OK" in _openssl(*check, "kept.pem", cwd=tmp_path)
    done = subprocess.run(
        ["openssl", *map(str, check), "ee.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode != 0
    assert "certificate revoked" in done.stdout + done.stderr


@pytest.mark.parametrize("tsa_id", TSA_IDS)
def test_timestamp_query_reply_verify(site: Site, tsa_id: str, tmp_path: Path) -> None:
    root_pem = _write_pem(tmp_path / "root.pem", site.cas[TSA_ISSUER[tsa_id]].certificate)
    tsa_pem = _write_pem(tmp_path / "tsa.pem", site.tsa_certs[tsa_id])
    (tmp_path / "contract.pdf").write_bytes("%PDF-1.7 深港 contract".encode() * 100)

    _openssl(
        "ts", "-query", "-data", "contract.pdf", "-sha256", "-cert", "-out", "req.tsq",
        cwd=tmp_path,
    )  # fmt: skip
    query = (tmp_path / "req.tsq").read_bytes()
    url = site.server.tsa_url(tsa_id)
    reply = fetch(
        site.server, "POST", url.removeprefix(site.server.base_url), query,
        "application/timestamp-query",
    )  # fmt: skip
    assert (reply.status, reply.content_type) == (200, "application/timestamp-reply")
    (tmp_path / "reply.tsr").write_bytes(reply.body)

    trust = ("-in", "reply.tsr", "-CAfile", root_pem, "-untrusted", tsa_pem)
    by_data = _openssl("ts", "-verify", "-data", "contract.pdf", *trust, cwd=tmp_path)
    assert "Verification: OK" in by_data
    # Against the query itself, openssl also checks the nonce and the imprint.
    by_query = _openssl("ts", "-verify", "-queryfile", "req.tsq", *trust, cwd=tmp_path)
    assert "Verification: OK" in by_query
    printed = _openssl("ts", "-reply", "-in", "reply.tsr", "-text", cwd=tmp_path)
    assert "Status: Granted." in printed
    assert "Accuracy: 0x01 seconds" in printed

    sent = tsp.TimeStampReq.load(query)
    token = TimeStampResponse.load(reply.body)["time_stamp_token"]
    info = token["content"]["encap_content_info"]["content"].parsed
    assert sent["nonce"].native is not None
    assert info["nonce"].native == sent["nonce"].native
    assert info["message_imprint"].dump() == sent["message_imprint"].dump()
    assert info["policy"].native == TSA_POLICY
    assert len(token["content"]["certificates"]) == 1  # TSA only: the chain was not mounted


def test_timestamp_without_certificates_verifies_with_untrusted(site: Site, tmp_path: Path) -> None:
    root_pem = _write_pem(tmp_path / "root.pem", site.cas["sz-ecdsa"].certificate)
    tsa_pem = _write_pem(tmp_path / "tsa.pem", site.tsa_certs["sz-tsa"])
    (tmp_path / "data").write_bytes(b"no certs please")
    _openssl(
        "ts", "-query", "-data", "data", "-sha512", "-no_nonce", "-out", "req.tsq", cwd=tmp_path
    )
    reply = fetch(
        site.server, "POST", "/tsa/sz-tsa", (tmp_path / "req.tsq").read_bytes(),
        "application/timestamp-query",
    )  # fmt: skip
    (tmp_path / "reply.tsr").write_bytes(reply.body)
    token = TimeStampResponse.load(reply.body)["time_stamp_token"]["content"]
    assert token["certificates"].native is None
    output = _openssl(
        "ts", "-verify", "-data", "data", "-in", "reply.tsr",
        "-CAfile", root_pem, "-untrusted", tsa_pem,
        cwd=tmp_path,
    )  # fmt: skip
    assert "Verification: OK" in output


@pytest.mark.parametrize("ca_id", CA_IDS)
def test_ocsp_from_a_delegated_responder(site: Site, ca_id: str, tmp_path: Path) -> None:
    """openssl checks the delegate it finds in the response: issued by the CA, for OCSP."""
    ca = site.cas[ca_id]
    kind = LAYOUT[ca_id][0]
    key = cached_key(kind, f"{ca_id}-ocsp")
    name = names.ca_name(f"SealBridge Test OCSP {ca_id}", "SealBridge Test", "CN")
    delegate = ResponderCertificate(key, ca.issue(name, key.public_key_info, profiles.OCSP_SIGNER))
    site.server.mount_ca(f"{ca_id}-delegated", ca, ocsp_delegate=delegate)
    ca_pem = _write_pem(tmp_path / "ca.pem", ca.certificate)
    ee_pem = _write_pem(tmp_path / "ee.pem", site.issue(ca_id, "openssl-delegated"))
    output = _openssl(
        "ocsp",
        "-issuer", ca_pem,
        "-cert", ee_pem,
        "-url", site.server.ca_urls(f"{ca_id}-delegated").ocsp or "",
        "-CAfile", ca_pem,
        "-resp_text",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Response verify OK" in output
    assert f"{ee_pem}: good" in output
    assert "OCSP Signing" in output  # the delegate certificate, printed from the response
