"""RFC 3161 time-stamp tokens per second on two cores, anchors and SealBridge in one run.

The anchor is pyHanko's ``DummyTimeStamper`` mounted behind the very same server (an
``AuthorityPool`` of 2 workers), so the HTTP layer is shared and the ratio compares
token making alone. pyHanko's stamper signs with RSA only, so for ECDSA the only anchor
is ``openssl ts -reply``, one process per token, two at a time: a weak anchor (process
start-up dominates it), printed for scale. SealBridge is also timed with one worker.

wrk posts one TimeStampReq (SHA-256 imprint, nonce, certReq) for ``--duration``
seconds. Afterwards a sample of tokens for distinct documents is fetched and each must
pass ``openssl ts -verify`` against the root.

Run: ``.venv/bin/python bench/tsa.py [--duration 10]``. Needs ``wrk`` and ``openssl``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import secrets
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import keys, pem, tsp, x509
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from ocsp import load_key, machine, new_key, post, wrk
from sealbridge.authority.pool import AuthorityPool
from sealbridge.authority.routes import Routes
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.pki import names, profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.tsa import TimeStampAuthority, TimeStampResponse

POLICY = "1.3.6.1.4.1.61234.1.3161"
QUERY = "application/timestamp-query"
PATH = "/tsa/bench"
SAMPLE = 20
OPENSSL_TOKENS = 100


class PyHankoTimeStamper:
    """pyHanko's DummyTimeStamper behind the ``respond(bytes) -> bytes`` the server mounts."""

    def __init__(self, certificate: x509.Certificate, key: keys.PrivateKeyInfo) -> None:
        self._stamper = DummyTimeStamper(certificate, key)

    def respond(self, request_der: bytes) -> bytes:
        request = tsp.TimeStampReq.load(request_der)
        response: bytes = self._stamper.request_tsa_response(request).dump()
        return response


def build_routes(stamper: str, certificate_der: bytes, key_pem: bytes) -> Routes:
    """What each worker builds: the stamper under test at ``/tsa/bench``."""
    certificate = x509.Certificate.load(certificate_der)
    routes = Routes()
    if stamper == "pyHanko":
        key_info = keys.PrivateKeyInfo.load(pem.unarmor(key_pem)[2])
        routes.mount_tsa("bench", PyHankoTimeStamper(certificate, key_info))
    else:
        tsa = TimeStampAuthority(
            load_key(key_pem), certificate, policy_oid=POLICY, clock=lambda: datetime.now(UTC)
        )
        routes.mount_tsa("bench", tsa)
    return routes


def _query(data: bytes, nonce: int) -> bytes:
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(data).digest(),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


def _set_up(kind: KeyKind, workdir: Path) -> tuple[bytes, bytes]:
    """A root and a TSA certificate; files for openssl; the TSA's DER and key PEM."""
    ca_key, _ = new_key(kind)
    ca = CertificateAuthority.create_root(
        names.ca_name(f"Bench TSA root {kind.value}", "SealBridge Bench", "CN"), ca_key
    )
    tsa_key, tsa_pem = new_key(kind)
    tsa_certificate = ca.issue(
        names.ca_name("Bench TSA", "SealBridge Bench", "CN"), tsa_key.public_key_info, profiles.TSA
    )
    (workdir / "root.pem").write_bytes(pem.armor("CERTIFICATE", ca.certificate.dump()))
    (workdir / "tsa.pem").write_bytes(pem.armor("CERTIFICATE", tsa_certificate.dump()))
    (workdir / "tsa.key").write_bytes(tsa_pem)
    return tsa_certificate.dump(), tsa_pem


def _openssl_reply_rate(workdir: Path) -> float:
    """Tokens per second from ``openssl ts -reply``, one process per token, two at once."""
    (workdir / "req.tsq").write_bytes(_query(b"openssl", 42))
    for loop in (0, 1):
        (workdir / f"serial{loop}").write_text("01\n")
        (workdir / f"ts{loop}.cnf").write_text(
            "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\n"
            f"serial = {workdir / f'serial{loop}'}\n"
            f"signer_cert = {workdir / 'tsa.pem'}\nsigner_key = {workdir / 'tsa.key'}\n"
            f"signer_digest = sha256\ndefault_policy = {POLICY}\n"
            "digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\n"
            "tsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
        )

    def reply(number: int) -> None:
        loop = number % 2
        subprocess.run(
            ["openssl", "ts", "-reply", "-config", f"ts{loop}.cnf", "-queryfile", "req.tsq",
             "-out", f"reply{loop}.tsr"],
            cwd=workdir, check=True, capture_output=True,
        )  # fmt: skip

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(reply, range(OPENSSL_TOKENS)))
    return OPENSSL_TOKENS / (time.perf_counter() - started)


def _verify_sample(port: int, workdir: Path) -> int:
    """Fetch tokens for distinct documents; count those ``openssl ts -verify`` accepts."""
    accepted = 0
    for number in range(SAMPLE):
        data = workdir / f"document{number}"
        data.write_bytes(f"contract {number} {secrets.token_hex(8)}".encode())
        reply = post(port, PATH, _query(data.read_bytes(), secrets.randbits(64)), QUERY)
        status = TimeStampResponse.load(reply)["status"]["status"].native
        (workdir / "sample.tsr").write_bytes(reply)
        verified = subprocess.run(
            ["openssl", "ts", "-verify", "-data", str(data), "-in", "sample.tsr",
             "-CAfile", "root.pem"],
            cwd=workdir, capture_output=True, text=True, check=False,
        )  # fmt: skip
        accepted += status == "granted" and "Verification: OK" in verified.stdout
    return accepted


def _pool_rate(
    stamper: str, workers: int, setup: tuple[bytes, bytes], duration: int, workdir: Path
) -> tuple[float, int]:
    build = functools.partial(build_routes, stamper, *setup)
    with AuthorityPool(build, workers=workers) as pool:
        query = _query(b"wrk", 1234567890123)
        post(pool.port, PATH, query, QUERY)
        result = wrk(pool.base_url + PATH, query, QUERY, duration, workdir)
        return result.rate, _verify_sample(pool.port, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    duration = parser.parse_args().duration
    print(f"machine: {machine()}")
    print(f"load: wrk -t2 -c16 -d{duration}s posting one TimeStampReq; servers on 2 cores")
    print(
        f"{'key':<12}{'openssl ts -reply':>18}{'pyHanko x2':>13}{'SealBridge x1':>15}"
        f"{'SealBridge x2':>15}{'ratio':>8}  verified"
    )
    for kind, label in ((KeyKind.RSA_2048, "RSA-2048"), (KeyKind.ECDSA_P256, "ECDSA P-256")):
        with tempfile.TemporaryDirectory(prefix="sealbridge-bench-tsa-") as tmp:
            workdir = Path(tmp)
            setup = _set_up(kind, workdir)
            openssl = _openssl_reply_rate(workdir)
            anchor = (
                _pool_rate("pyHanko", 2, setup, duration, workdir)
                if kind is KeyKind.RSA_2048
                else None
            )
            single, _ = _pool_rate("SealBridge", 1, setup, duration, workdir)
            ours, verified = _pool_rate("SealBridge", 2, setup, duration, workdir)
        pyhanko = f"{anchor[0]:>11,.0f}/s" if anchor else f"{'n/a':>13}"
        ratio = f"{ours / anchor[0]:>7.2f}x" if anchor else f"{ours / openssl:>7.1f}x*"
        print(
            f"{label:<12}{openssl:>16,.0f}/s{pyhanko}{single:>13,.0f}/s{ours:>13,.0f}/s{ratio}"
            f"  {verified}/{SAMPLE}" + (f" (pyHanko {anchor[1]}/{SAMPLE})" if anchor else "")
        )
    print("n/a: pyHanko's DummyTimeStamper signs with RSA only")
    print("* ECDSA: ratio against openssl ts -reply, the only anchor that signs with ECDSA")


if __name__ == "__main__":
    main()
