"""``sealbridge serve authority`` in its own process, queried by openssl and the loader."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import pem, x509
from typer.testing import CliRunner, Result

from sealbridge.cli.app import app
from sealbridge.cli.ca import PASSPHRASE_ENV
from sealbridge.trust.loader import PublishedList, RefreshStatus, TrustListCache
from support.cli import invoke, ok, one_error_line

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

PASSPHRASE = "serve-cli test passphrase"
ENV: dict[str, str | None] = {PASSPHRASE_ENV: PASSPHRASE}


def run(*args: str | Path) -> Result:
    return invoke(ENV, *args)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_env() -> dict[str, str]:
    """No proxies: openssl and urllib would send loopback requests through one."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["no_proxy"] = "127.0.0.1"
    env[PASSPHRASE_ENV] = PASSPHRASE
    return env


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def openssl(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        ["openssl", *map(str, args)],
        cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def services(folder: Path, ca_pem: Path) -> Path:
    path = folder / "services.json"
    service = {
        "name": "Shenzhen Demo CA",
        "type": "ca-esig",
        "certificate": str(ca_pem),
        "history": [{"status": "granted", "since": "2026-01-01T00:00:00+08:00"}],
    }
    path.write_text(json.dumps({"providers": [{"name": "Demo", "services": [service]}]}))
    return path


@pytest.fixture(params=[1, 2], ids=["one process", "two workers"])
def site(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Path, int, subprocess.Popen[str]]]:
    """A data directory with CA sz, an issued certificate and a trust list, being served."""
    data, port = tmp_path / "data", free_port()
    ok(run("ca", "init", "sz", "--name", "Shenzhen Demo CA", "--data", data,
           "--url-base", f"http://127.0.0.1:{port}"))  # fmt: skip
    openssl("ecparam", "-genkey", "-name", "prime256v1", "-out", "ee.key", cwd=tmp_path)
    openssl("req", "-new", "-key", "ee.key", "-subj", "/CN=Served Signer", "-out", "ee.csr",
            cwd=tmp_path)  # fmt: skip
    ok(run("ca", "issue", "sz", "--csr", tmp_path / "ee.csr", "--out", tmp_path / "ee.pem",
           "--data", data))  # fmt: skip
    ok(run("trust", "init-operator", "sz-op", "--name", "SZ Operator", "--data", data))
    ok(run("trust", "build", "--territory", "SZ", "--operator-label", "sz-op", "--services",
           services(tmp_path, data / "ca" / "sz" / "ca.pem"), "--sequence", "1",
           "--out", data / "trust" / "lists" / "SZ.xml", "--data", data))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-c", "from sealbridge.cli.app import main; main()",
         "serve", "authority", "--data", str(data), "--port", str(port),
         "--workers", str(request.param)],
        env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if get(port, "/ca/sz/cert")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        yield data, port, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def test_serves_ocsp_crl_and_trust_lists(
    site: tuple[Path, int, subprocess.Popen[str]], tmp_path: Path
) -> None:
    data, port, process = site
    base = f"http://127.0.0.1:{port}"
    shutil.copy(data / "ca" / "sz" / "ca.pem", tmp_path / "ca.pem")
    query = ("ocsp", "-issuer", "ca.pem", "-cert", "ee.pem", "-url", f"{base}/ca/sz/ocsp",
             "-CAfile", "ca.pem")  # fmt: skip
    good = openssl(*query, cwd=tmp_path)
    assert "Response verify OK" in good and "ee.pem: good" in good

    certificate = x509.Certificate.load(pem.unarmor((tmp_path / "ee.pem").read_bytes())[2])
    serial = f"{certificate.serial_number:X}"
    ok(run("ca", "revoke", "sz", "--serial", serial, "--reason", "key-compromise", "--data", data))
    deadline = time.monotonic() + 10  # each process polls the database every half second
    while "ee.pem: revoked" not in (revoked := openssl(*query, cwd=tmp_path)):
        assert time.monotonic() < deadline, revoked
        time.sleep(0.2)
    assert "ee.pem: revoked" in revoked and "Reason: keyCompromise" in revoked

    while True:  # the other worker may poll a moment later
        status, crl = get(port, "/ca/sz/crl")
        assert status == 200
        (tmp_path / "crl.der").write_bytes(crl)
        text = openssl("crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text", cwd=tmp_path)
        if f"Serial Number: {serial}" in text:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.2)

    operator = data / "operators" / "sz-op.pem"
    pinned = x509.Certificate.load(pem.unarmor(operator.read_bytes())[2])
    cache = TrustListCache({"SZ": PublishedList(f"{base}/trust/SZ.xml", pinned)})
    assert cache.refresh().status is RefreshStatus.UPDATED
    assert cache.refresh().status is RefreshStatus.UNCHANGED
    ok(run("trust", "build", "--territory", "SZ", "--operator-label", "sz-op", "--services",
           tmp_path / "services.json", "--sequence", "2",
           "--out", data / "trust" / "lists" / "SZ.xml", "--data", data))  # fmt: skip
    # Every worker reads the file when asked: the next request sees the new list.
    assert cache.refresh().status is RefreshStatus.UPDATED
    federation = cache.federation
    assert federation is not None and federation.trust_lists["SZ"].sequence_number == 2
    (data / "trust" / "lists" / "SZ.xml").unlink()
    assert get(port, "/trust/SZ.xml")[0] == 404
    assert get(port, "/trust/..%2Fkeys")[0] == 404

    process.terminate()
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    for line in (f"OCSP  {base}/ca/sz/ocsp", f"CRL   {base}/ca/sz/crl",
                 f"published {base}/trust/SZ.xml", f"serving on {base}", "stopped"):  # fmt: skip
        assert line in output
    assert "Traceback" not in output


def test_refuses_an_address_it_cannot_bind(tmp_path: Path) -> None:
    (tmp_path / "trust" / "lists").mkdir(parents=True)
    (tmp_path / "trust" / "lists" / "SZ.json").write_text("{}")
    result = run("serve", "authority", "--data", tmp_path, "--host", "192.0.2.1", "--port", "0")
    one_error_line(result, "cannot listen on 192.0.2.1")


def test_nothing_to_serve(tmp_path: Path) -> None:
    one_error_line(run("serve", "authority", "--data", tmp_path / "empty"), "no CA in")
    assert not (tmp_path / "empty").exists()


def test_port_in_use(tmp_path: Path) -> None:
    (tmp_path / "trust" / "lists").mkdir(parents=True)
    (tmp_path / "trust" / "lists" / "SZ.json").write_text("{}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "authority", "--data", tmp_path, "--port", str(port))
    one_error_line(result, f"cannot listen on 127.0.0.1:{port}", "in use")


def test_wrong_passphrase(tmp_path: Path) -> None:
    ok(run("ca", "init", "sz", "--name", "Shenzhen Demo CA", "--data", tmp_path))
    result = CliRunner().invoke(
        app,
        ["serve", "authority", "--data", str(tmp_path), "--port", "0"],
        env={PASSPHRASE_ENV: "wrong"},
    )
    one_error_line(result, "cannot decrypt key 'ca-sz'")
