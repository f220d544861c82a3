"""A CRL of a million revoked certificates: build time and peak memory, in one run, of
``openssl ca -gencrl`` (anchor), ``cryptography``'s CertificateRevocationListBuilder
(anchor) and SealBridge's ``build_crl``, all from the same openssl ``index.txt``.

Each builder runs in a fresh process, so its peak resident memory (ru_maxrss) is its
own; for the two Python builders the resident size just before building is printed too.
Time and memory include reading the index, as they do for openssl. The three CRLs must
list the same serials, and openssl must verify SealBridge's signature.

Run: ``.venv/bin/python bench/crl.py [--entries 1000000]``. Needs ``openssl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import pem, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization

from ocsp import load_key, machine, new_key
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.pki import names
from sealbridge.pki.crl import build_crl
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.registry import InMemoryRegistry, Revocation, RevocationReason

# openssl's index.txt reason names ("" for none), as SealBridge and cryptography name them.
REASONS = {
    "": (RevocationReason.UNSPECIFIED, None),
    "keyCompromise": (RevocationReason.KEY_COMPROMISE, cx509.ReasonFlags.key_compromise),
    "CACompromise": (RevocationReason.CA_COMPROMISE, cx509.ReasonFlags.ca_compromise),
    "affiliationChanged": (
        RevocationReason.AFFILIATION_CHANGED,
        cx509.ReasonFlags.affiliation_changed,
    ),
    "superseded": (RevocationReason.SUPERSEDED, cx509.ReasonFlags.superseded),
    "cessationOfOperation": (
        RevocationReason.CESSATION_OF_OPERATION,
        cx509.ReasonFlags.cessation_of_operation,
    ),
}
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def read_index(path: Path) -> Iterator[tuple[int, datetime, str]]:
    """(serial, revocation time, openssl reason name) of each revoked line, streamed."""
    with path.open() as index:
        for line in index:
            flag, _expiry, revoked, serial, _ = line.split("\t", 4)
            if flag != "R":
                continue
            when, _, reason = revoked.partition(",")
            yield (
                int(serial, 16),
                datetime(
                    2000 + int(when[0:2]), int(when[2:4]), int(when[4:6]),
                    int(when[6:8]), int(when[8:10]), int(when[10:12]), tzinfo=UTC,
                ),
                reason,
            )  # fmt: skip


class IndexRegistry(InMemoryRegistry):
    """A registry whose revocations stream from an index file, as from a database cursor."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    def revocations(self) -> Iterator[Revocation]:
        for serial, when, reason in read_index(self._path):
            yield Revocation(serial, when, REASONS[reason][0])


def _write_index(workdir: Path, entries: int) -> None:
    rng = random.Random(entries)
    names_ = list(REASONS)
    with (workdir / "index.txt").open("w") as index:
        for number in range(entries):
            when = NOW - timedelta(seconds=rng.randrange(3 * 365 * 86400))
            reason = names_[number % len(names_)]
            revoked = when.strftime("%y%m%d%H%M%SZ") + (f",{reason}" if reason else "")
            serial = f"{rng.getrandbits(126) | 1 << 126:X}"
            index.write(f"R\t301231235959Z\t{revoked}\t{serial}\tunknown\t/CN=ee{number}\n")
    (workdir / "crlnumber").write_text("01\n")
    (workdir / "ca.cnf").write_text(
        "[ ca ]\ndefault_ca = bench\n[ bench ]\n"
        f"database = {workdir / 'index.txt'}\ncrlnumber = {workdir / 'crlnumber'}\n"
        f"certificate = {workdir / 'ca.pem'}\nprivate_key = {workdir / 'ca.key'}\n"
        "default_md = sha256\ndefault_crl_days = 1\nunique_subject = no\n"
    )


def _child_report(started_rss: int, seconds: float, output: bytes, path: Path) -> None:
    path.write_bytes(output)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "start_kib": started_rss, "peak_kib": peak}))


def _measure_sealbridge(workdir: Path) -> None:
    certificate = x509.Certificate.load(pem.unarmor((workdir / "ca.pem").read_bytes())[2])
    key = load_key((workdir / "ca.key").read_bytes())
    ca = CertificateAuthority(certificate, key, registry=IndexRegistry(workdir / "index.txt"))
    started_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    der = build_crl(ca, this_update=NOW, next_update=NOW + timedelta(days=1), crl_number=1)
    _child_report(started_rss, time.perf_counter() - started, der, workdir / "sealbridge.der")


def _measure_cryptography(workdir: Path) -> None:
    ca = cx509.load_pem_x509_certificate((workdir / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((workdir / "ca.key").read_bytes(), None)
    started_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    revoked = []
    for serial, when, reason in read_index(workdir / "index.txt"):
        entry = cx509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        flag = REASONS[reason][1]
        if flag is not None:
            entry = entry.add_extension(cx509.CRLReason(flag), critical=False)
        revoked.append(entry.build())
    # Built around the whole list at once: add_revoked_certificate copies it every time.
    builder = (
        cx509.CertificateRevocationListBuilder(
            ca.subject, NOW, NOW + timedelta(days=1), [], revoked
        )
        .add_extension(
            cx509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False
        )
        .add_extension(cx509.CRLNumber(1), critical=False)
    )
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]
    _child_report(started_rss, time.perf_counter() - started, der, workdir / "cryptography.der")


def _run_child(which: str, workdir: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", which, str(workdir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report: dict[str, float] = json.loads(done.stdout)
    return report


def _run_openssl(workdir: Path) -> dict[str, float]:
    """``openssl ca -gencrl``, its peak memory taken from wait4's resource usage."""
    command = ["openssl", "ca", "-gencrl", "-config", "ca.cnf", "-out", "openssl.pem"]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(
            f"openssl ca -gencrl failed: {process.stderr.read() if process.stderr else ''}"
        )
    return {"seconds": seconds, "peak_kib": usage.ru_maxrss}


def _serials_digest(crl: cx509.CertificateRevocationList) -> str:
    return hashlib.sha256(
        b"".join(
            r.serial_number.to_bytes(20, "big") for r in sorted(crl, key=lambda r: r.serial_number)
        )
    ).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--measure", nargs=2, metavar=("BUILDER", "WORKDIR"), help=argparse.SUPPRESS
    )
    arguments = parser.parse_args()
    if arguments.measure:
        which, workdir = arguments.measure
        {"sealbridge": _measure_sealbridge, "cryptography": _measure_cryptography}[which](
            Path(workdir)
        )
        return
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="sealbridge-bench-crl-") as tmp:
        workdir = Path(tmp)
        key, key_pem = new_key(KeyKind.ECDSA_P256)
        ca = CertificateAuthority.create_root(
            names.ca_name("Bench CRL CA", "SealBridge Bench", "CN"), key
        )
        (workdir / "ca.pem").write_bytes(pem.armor("CERTIFICATE", ca.certificate.dump()))
        (workdir / "ca.key").write_bytes(key_pem)
        _write_index(workdir, arguments.entries)
        print(f"index: {arguments.entries:,} revoked entries, ECDSA P-256 CA key")
        results = {
            "openssl ca -gencrl": _run_openssl(workdir),
            "cryptography builder": _run_child("cryptography", workdir),
            "SealBridge build_crl": _run_child("sealbridge", workdir),
        }
        crls = {
            "openssl ca -gencrl": cx509.load_pem_x509_crl((workdir / "openssl.pem").read_bytes()),
            "cryptography builder": cx509.load_der_x509_crl(
                (workdir / "cryptography.der").read_bytes()
            ),
            "SealBridge build_crl": cx509.load_der_x509_crl(
                (workdir / "sealbridge.der").read_bytes()
            ),
        }
        verified = subprocess.run(
            ["openssl", "crl", "-inform", "DER", "-in", "sealbridge.der", "-CAfile", "ca.pem",
             "-noout"],
            cwd=workdir, capture_output=True, text=True, check=False,
        )  # fmt: skip
        _print(results, crls)
        size = (workdir / "sealbridge.der").stat().st_size
        verdict = (verified.stdout + verified.stderr).strip()
        print(f"SealBridge's CRL: {size / 2**20:.1f} MiB of DER; openssl crl says: {verdict}")


def _print(
    results: dict[str, dict[str, float]], crls: dict[str, cx509.CertificateRevocationList]
) -> None:
    print(f"{'builder':<22}{'time':>9}{'peak RSS':>11}{'growth':>11}{'entries':>11}  serials")
    for name, result in results.items():
        growth = (
            f"{(result['peak_kib'] - result['start_kib']) / 1024:>7.0f} MiB"
            if "start_kib" in result
            else f"{'-':>11}"
        )
        print(
            f"{name:<22}{result['seconds']:>8.2f}s{result['peak_kib'] / 1024:>7.0f} MiB{growth}"
            f"{len(crls[name]):>11,}  {_serials_digest(crls[name])}"
        )
    ours = results["SealBridge build_crl"]
    for anchor in ("openssl ca -gencrl", "cryptography builder"):
        print(
            f"{anchor} / SealBridge: time {results[anchor]['seconds'] / ours['seconds']:.2f}x, "
            f"peak RSS {results[anchor]['peak_kib'] / ours['peak_kib']:.2f}x"
        )
    print("growth: peak RSS minus RSS just before building (the interpreter's own excluded)")


if __name__ == "__main__":
    main()
