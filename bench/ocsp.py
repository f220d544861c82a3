"""OCSP answers per second on loopback: ``openssl ocsp -multi 2`` (the anchor) against
SealBridge's ``AuthorityPool`` of 2 workers, in the same run.

Both serve the same CA through a delegated responder certificate with the same key
type, both are driven by the same wrk command posting the same DER request, and both
run on the same two cores as wrk. Two requests are timed: one without a nonce (what
browsers and RFC 5019 clients send; SealBridge answers it from its cache, openssl signs
every time) and one with a nonce (both sign every answer).

Run: ``.venv/bin/python bench/ocsp.py [--duration 10]``. Needs ``wrk`` and ``openssl``.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import os
import platform
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import pem, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp as cocsp

from sealbridge.authority.pool import AuthorityPool
from sealbridge.authority.routes import Routes
from sealbridge.authority.shared import PolledRegistry
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, SoftwareKey
from sealbridge.pki import names, profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.ocsp import ResponderCertificate
from sealbridge.pki.registry import RevocationReason
from sealbridge.service.ca_registry import DatabaseRegistry
from sealbridge.service.db.store import EMBEDDED_FILE, Store

CA_ID = "bench"
OCSP_REQUEST = "application/ocsp-request"
_NONCE = bytes(range(16))


def machine() -> str:
    """Cores, CPU, memory, OS, Python and OpenSSL: what a figure depends on."""
    cpu = platform.processor() or platform.machine()
    with Path("/proc/cpuinfo").open() as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), cpu)
    with Path("/proc/meminfo").open() as info:
        kib = next(int(line.split()[1]) for line in info if line.startswith("MemTotal"))
    system = platform.platform(terse=True)
    with Path("/etc/os-release").open() as release:
        for line in release:
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip().strip('"')
    openssl = subprocess.run(
        ["openssl", "version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    return (
        f"{os.cpu_count()} cores {cpu} {platform.machine()}, {kib / 2**20:.0f} GiB, {system}, "
        f"CPython {platform.python_version()}, OpenSSL {openssl}"
    )


@dataclass(frozen=True)
class WrkResult:
    rate: float
    requests: int
    failures: int  # non-2xx answers and socket errors


def wrk(
    url: str,
    body: bytes,
    content_type: str,
    duration: int,
    workdir: Path,
    *,
    close: bool = False,
) -> WrkResult:
    """``wrk -t2 -c16`` posting ``body`` to ``url`` for ``duration`` seconds.

    With ``close`` every request asks for its connection to be closed, so each one
    pays for a new TCP connection, as it does with a server that never keeps one alive.
    """
    (workdir / "body.der").write_bytes(body)
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'local f = assert(io.open("{workdir / "body.der"}", "rb"))\n'
        'wrk.body = f:read("*a")\nf:close()\n'
        f'wrk.headers["Content-Type"] = "{content_type}"\n'
        + ('wrk.headers["Connection"] = "close"\n' if close else "")
    )
    command = ["wrk", "-t2", "-c16", f"-d{duration}s", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    failures = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    for errors in re.findall(r"Socket errors: (.*)", output):
        failures += sum(int(n) for n in re.findall(r"\d+", errors))
    return WrkResult(float(rate.group(1)), int(total.group(1)), failures)


def post(port: int, path: str, body: bytes, content_type: str, timeout: float = 5) -> bytes:
    """One real request: the only way to probe openssl's responder without wedging it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from port {port}")
        return response.read()
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def process_group(command: list[str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in a process group of its own and kill the whole group afterwards.

    openssl's -multi children are in that group too; killing only the parent would
    leave them holding the port. A new group rather than a new session: openssl -multi
    calls setpgid() on itself, which a session leader is refused, and then exits.
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    try:
        yield process
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(2)
                break
            except subprocess.TimeoutExpired:
                continue


def wait_until_answering(port: int, path: str, body: bytes, content_type: str) -> bytes:
    """Sleep, then post real requests until one is answered: never a bare connect."""
    deadline = time.monotonic() + 20
    while True:
        time.sleep(0.5)
        try:
            return post(port, path, body, content_type, timeout=2)
        except (OSError, RuntimeError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise


def load_key(pem_bytes: bytes) -> KeyHandle:
    """An unencrypted PKCS#8 PEM key, RSA-2048 or ECDSA P-256, as a KeyHandle."""
    private = serialization.load_pem_private_key(pem_bytes, None)
    if isinstance(private, rsa.RSAPrivateKey):
        return SoftwareKey(private, KeyKind.RSA_2048)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return SoftwareKey(private, KeyKind.ECDSA_P256)


def new_key(kind: KeyKind) -> tuple[KeyHandle, bytes]:
    """A fresh key and its unencrypted PKCS#8 PEM, which openssl and workers load."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind is KeyKind.RSA_2048:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SoftwareKey(private, kind), pkcs8


def build_routes(
    store_url: str, ca_der: bytes, ca_key: bytes, responder_der: bytes, responder_key: bytes
) -> Routes:
    """What each worker builds: the CA over the shared store, the delegated responder."""
    ca = CertificateAuthority(
        x509.Certificate.load(ca_der),
        load_key(ca_key),
        registry=PolledRegistry(Store.open(store_url), CA_ID),
    )
    routes = Routes()
    delegate = ResponderCertificate(load_key(responder_key), x509.Certificate.load(responder_der))
    routes.mount_ca(CA_ID, ca, ocsp_delegate=delegate)
    return routes


@dataclass(frozen=True)
class _Setup:
    workdir: Path
    ca: CertificateAuthority
    ee: x509.Certificate
    build: functools.partial[Routes]


def _set_up(kind: KeyKind, workdir: Path) -> _Setup:
    """A CA with one good and some revoked certificates, in a store and in index.txt."""
    store = Store.embedded(workdir)
    ca_key, ca_pem = new_key(kind)
    ca = CertificateAuthority.create_root(
        names.ca_name(f"Bench OCSP CA {kind.value}", "SealBridge Bench", "CN"), ca_key
    )
    ca.registry = DatabaseRegistry(store, CA_ID)
    responder_key, responder_pem = new_key(kind)
    responder = ca.issue(
        names.ca_name("Bench OCSP responder", "SealBridge Bench", "CN"),
        responder_key.public_key_info,
        profiles.OCSP_SIGNER,
    )
    ee_key, _ = new_key(KeyKind.ECDSA_P256)
    issued = [
        ca.issue(
            names.ca_name(f"Bench subscriber {number}", "SealBridge Bench", "CN"),
            ee_key.public_key_info,
            profiles.ENTERPRISE_SIGNATURE,
        )
        for number in range(20)
    ]
    lines = []
    for number, certificate in enumerate(issued):
        expiry = certificate["tbs_certificate"]["validity"]["not_after"].native
        revoked = ""
        if number % 2:
            revocation = ca.revoke(certificate, RevocationReason.KEY_COMPROMISE)
            revoked = f"{_index_time(revocation.revoked_at)},keyCompromise"
        serial = f"{certificate.serial_number:X}"
        serial = serial.zfill(len(serial) + len(serial) % 2)
        flag = "R" if revoked else "V"
        lines.append(f"{flag}\t{_index_time(expiry)}\t{revoked}\t{serial}\tunknown\t/CN={number}")
    (workdir / "index.txt").write_text("\n".join(lines) + "\n")
    (workdir / "index.txt.attr").write_text("unique_subject = no\n")
    (workdir / "ca.pem").write_bytes(pem.armor("CERTIFICATE", ca.certificate.dump()))
    (workdir / "rsigner.pem").write_bytes(pem.armor("CERTIFICATE", responder.dump()))
    (workdir / "rkey.pem").write_bytes(responder_pem)
    build = functools.partial(
        build_routes,
        f"sqlite+pysqlite:///{workdir / EMBEDDED_FILE}",
        ca.certificate.dump(),
        ca_pem,
        responder.dump(),
        responder_pem,
    )
    return _Setup(workdir, ca, issued[0], build)


def _index_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%y%m%d%H%M%SZ")


def _request(setup: _Setup, nonce: bytes | None) -> bytes:
    builder = cocsp.OCSPRequestBuilder().add_certificate(
        cx509.load_der_x509_certificate(setup.ee.dump()),
        cx509.load_der_x509_certificate(setup.ca.certificate.dump()),
        hashes.SHA1(),
    )
    if nonce is not None:
        builder = builder.add_extension(cx509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _check(answer: bytes, nonce: bytes | None) -> None:
    response = cocsp.load_der_ocsp_response(answer)
    if response.certificate_status is not cocsp.OCSPCertStatus.GOOD:
        raise RuntimeError(f"expected good, got {response.certificate_status}")
    if nonce is not None:
        echoed = response.extensions.get_extension_for_class(cx509.OCSPNonce).value.nonce
        if echoed != nonce:
            raise RuntimeError("nonce not echoed")
    if response.next_update_utc is None or response.next_update_utc < datetime.now(UTC) + timedelta(
        minutes=5
    ):
        raise RuntimeError("nextUpdate missing or too close")


# label -> (DER request, the nonce in it)
@dataclass(frozen=True)
class _Load:
    request: bytes
    nonce: bytes | None
    close: bool = False


_Requests = dict[str, _Load]


def _run_openssl(setup: _Setup, requests: _Requests, duration: int) -> dict[str, WrkResult]:
    """A fresh responder for each request: wrk's last connections, opened as time runs
    out and never written to, leave openssl's children spinning, unable to answer."""
    results = {}
    for label, load in requests.items():
        port = free_port()
        command = [
            "openssl", "ocsp", "-index", "index.txt", "-CA", "ca.pem",
            "-rsigner", "rsigner.pem", "-rkey", "rkey.pem",
            "-port", str(port), "-multi", "2", "-nmin", "10", "-ignore_err",
        ]  # fmt: skip
        with process_group(command, setup.workdir, setup.workdir / "openssl.log"):
            _check(wait_until_answering(port, "/", load.request, OCSP_REQUEST), load.nonce)
            # openssl binds [::]; the bench reaches it over IPv4 loopback like ours.
            url = f"http://127.0.0.1:{port}/"
            results[label] = wrk(
                url, load.request, OCSP_REQUEST, duration, setup.workdir, close=load.close
            )
    return results


def _run_pool(setup: _Setup, requests: _Requests, duration: int) -> dict[str, WrkResult]:
    results = {}
    with AuthorityPool(setup.build, workers=2) as pool:
        path = f"/ca/{CA_ID}/ocsp"
        for label, load in requests.items():
            _check(post(pool.port, path, load.request, OCSP_REQUEST), load.nonce)
            results[label] = wrk(
                pool.base_url + path,
                load.request,
                OCSP_REQUEST,
                duration,
                setup.workdir,
                close=load.close,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    duration = parser.parse_args().duration
    print(f"machine: {machine()}")
    print(f"load: wrk -t2 -c16 -d{duration}s posting one DER request; both servers on 2 cores")
    print(
        f"{'key':<12}{'request':<14}{'openssl ocsp -multi 2':>22}{'SealBridge x2':>16}{'ratio':>8}"
    )
    for kind, label in ((KeyKind.RSA_2048, "RSA-2048"), (KeyKind.ECDSA_P256, "ECDSA P-256")):
        with tempfile.TemporaryDirectory(prefix="sealbridge-bench-ocsp-") as tmp:
            setup = _set_up(kind, Path(tmp))
            requests = {
                "no nonce": _Load(_request(setup, None), None),
                "nonce": _Load(_request(setup, _NONCE), _NONCE),
                # openssl closes every connection anyway; this asks the same of ours.
                "nonce, close": _Load(_request(setup, _NONCE), _NONCE, close=True),
            }
            anchor = _run_openssl(setup, requests, duration)
            ours = _run_pool(setup, requests, duration)
        for request in requests:
            a, o = anchor[request], ours[request]
            failures = (
                f"  (failures: openssl {a.failures}, ours {o.failures})"
                if a.failures or o.failures
                else ""
            )
            print(
                f"{label:<12}{request:<14}{a.rate:>18,.0f}/s{o.rate:>12,.0f}/s"
                f"{o.rate / a.rate:>7.2f}x{failures}"
            )


if __name__ == "__main__":
    main()
