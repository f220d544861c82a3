"""Verification cost against the number of signatures, in instructions executed.

The documents of ``bench/verify_scaling.py`` (one contract signed 1, 10 and 30 times,
the same shapes), verified by pyHanko's ``validate_pdf_signature`` and by ``verify_pdf``
as there, each under valgrind's callgrind, which counts the instructions a process
executes: the same count whatever else the machine runs, where the seconds of a shared
machine vary by a third between runs. One verification's count is the difference
between a process that verifies the file twice and one that verifies it once (both
after one verification that warms caches and imports), so starting Python costs nothing.

Instructions are not time: a larger working set costs more per instruction (caches),
which a count does not see. Read it beside the timed figures, not instead of them.

Needs valgrind. Runs 12 processes under callgrind, as many at once as there are cores
(a quarter of an hour on 2 cores, most of it pyHanko's 30-signature document).

Run: ``.venv/bin/python bench/verify_instructions.py [--prepared [--parties N]]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from verify_scaling import (
    COUNTS,
    add_shape_arguments,
    federation_for,
    parse_shape,
    signed_contract,
    verify_with_pyhanko,
    verify_with_sealbridge,
)

VERIFIERS = ("pyhanko", "sealbridge")
_COLLECTED = re.compile(rb"Collected : (\d+)")


def _verify(verifier: str, folder: Path, count: int, times: int) -> None:
    """The worker: one warming verification of the file, then ``times`` more."""
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    root = x509.Certificate.load((folder / "root.der").read_bytes())
    data = (folder / f"{count}.pdf").read_bytes()
    if verifier == "pyhanko":
        for _ in range(times + 1):
            verify_with_pyhanko(data, root)
    else:
        federation = federation_for(root)
        for _ in range(times + 1):
            verify_with_sealbridge(data, federation)


def _instructions(valgrind: str, verifier: str, folder: Path, count: int, times: int) -> int:
    command = [
        valgrind,
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--worker",
        verifier,
        str(folder),
        str(count),
        str(times),
    ]
    # A fixed hash seed: set iteration orders, and the work that follows them, repeat.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        tail = done.stderr.decode(errors="replace")[-1500:]
        raise RuntimeError(f"{verifier} on {count} signatures failed under callgrind:\n{tail}")
    return int(found[1])


def _one_verification(valgrind: str, folder: Path, verifier: str, count: int) -> int:
    with ThreadPoolExecutor(2) as pool:
        once, twice = pool.map(
            lambda times: _instructions(valgrind, verifier, folder, count, times), (1, 2)
        )
    return twice - once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shape_arguments(parser)
    args = parse_shape(parser)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        parser.error("valgrind is not installed (Debian: apt-get install valgrind)")
    ca = CertificateAuthority.create_root(
        ca_name("Bench CA", "SealBridge Bench", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "root.der").write_bytes(ca.certificate.dump())
        for count in COUNTS:
            data = signed_contract(count, ca, prepared=args.prepared, parties=args.parties)
            (folder / f"{count}.pdf").write_bytes(data)
        jobs = [(verifier, count) for count in COUNTS for verifier in VERIFIERS]
        with ThreadPoolExecutor(max(1, (os.cpu_count() or 2) // 2)) as pool:
            counted = dict(
                zip(
                    jobs,
                    pool.map(lambda job: _one_verification(valgrind, folder, *job), jobs),
                    strict=True,
                )
            )
    print(f"{'sigs':>5} {'pyHanko Minstr':>15} {'ours Minstr':>12} {'ratio':>6}", end=" ")
    print(f"{'pyH/1':>6} {'ours/1':>7}")
    first = min(COUNTS)
    for count in COUNTS:
        theirs, ours = counted["pyhanko", count], counted["sealbridge", count]
        print(
            f"{count:>5} {theirs / 1e6:>15.1f} {ours / 1e6:>12.1f} {theirs / ours:>5.2f}x "
            f"{theirs / counted['pyhanko', first]:>5.1f}x "
            f"{ours / counted['sealbridge', first]:>6.1f}x"
        )


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        _verify(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
