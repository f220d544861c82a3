"""PAdES signing time: pyHanko's default ``PdfSigner.sign_pdf`` (the anchor) against ours.

Same document, key, certificate, picture and TSA, same machine, same run. Prints
milliseconds per signature for each and the ratio, for a one-page contract and a ~5 MB
PDF, ECDSA P-256 and RSA-2048, B-B and B-T (B-T against our TSA on 127.0.0.1, so both
pay the same round trip); then SM2 PDF signatures per second (no anchor: pyHanko
cannot sign SM2), and the peak memory of signing a 200 MB PDF in a fresh process.
Run: ``.venv/bin/python bench/sign_pdf.py`` (``--quick`` for fewer rounds, no 200 MB).
"""

from __future__ import annotations

import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from asn1crypto import keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from PIL import Image
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import SoftwareKey, generate_key
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.documents.pdf.timestamper import HttpTimeStamper
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.pki.tsa import TimeStampAuthority

QUICK = "--quick" in sys.argv
ROUNDS = {"1 page": 5 if QUICK else 30, "5 MB": 3 if QUICK else 10}
BIG_MB = 200


def _median_ms(work: Callable[[], bytes], rounds: int) -> float:
    work()  # warm caches
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _contract() -> ContractDocument:
    return build_contract(
        "合同",
        "Contract",
        [ContractParty("甲方", "Party A", "深圳甲公司", "SZ A", "X", "深圳")],
        [("条款", "Clause")],
        contract_no="B-1",
        on=date(2026, 1, 1),
    )


def padded(pdf: bytes, megabytes: int) -> bytes:
    """``pdf`` with an incompressible attachment, so it weighs about ``megabytes``."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    embed.embed_file(
        writer,
        embed.FileSpec(
            file_spec_string="annex.bin",
            embedded_data=embed.EmbeddedFileObject.from_file_data(
                writer, os.urandom(megabytes * 1024 * 1024), mime_type="application/octet-stream"
            ),
        ),
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def main() -> None:
    doc = _contract()
    place = doc.places[0]
    box = place.box
    picture = render_signature_block(["Signed 签署"], box[2] - box[0], box[3] - box[1])
    documents = {"1 page": doc.pdf, "5 MB": padded(doc.pdf, 5)}
    ca = CertificateAuthority.create_root(
        ca_name("Bench Demo CA", "SealBridge Demo", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; median of {ROUNDS['1 page']} (1 page) "
        f"and {ROUNDS['5 MB']} (5 MB) signatures"
    )
    with AuthorityServer() as server:
        tsa_key = generate_key(KeyKind.ECDSA_P256)
        tsa_cert = ca.issue(
            ca_name("Bench TSA", "SealBridge Demo", "CN"), tsa_key.public_key_info, profiles.TSA
        )
        server.mount_tsa(
            "bench",
            TimeStampAuthority(
                tsa_key,
                tsa_cert,
                policy_oid="1.3.6.1.4.1.61234.1.1",
                clock=lambda: datetime.now(UTC),
            ),
        )
        timestamper = HttpTimeStamper(server.tsa_url("bench"))
        header = (
            f"{'document':<9}{'key':<13}{'level':<6}{'pyHanko':>12}{'SealBridge':>13}{'ratio':>8}"
        )
        print(header)
        for label, private in (
            ("ECDSA P-256", ec.generate_private_key(ec.SECP256R1())),
            ("RSA-2048", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ):
            kind = KeyKind.ECDSA_P256 if label.startswith("ECDSA") else KeyKind.RSA_2048
            key = SoftwareKey(private, kind)
            cert = ca.issue(
                ca_name("Bench signer", "o", "CN"),
                key.public_key_info,
                profiles.ENTERPRISE_SIGNATURE,
            )
            pkcs8 = keys.PrivateKeyInfo.load(
                private.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            anchor_signer = signers.SimpleSigner(
                signing_cert=cert,
                signing_key=pkcs8,
                cert_registry=SimpleCertificateStore.from_certs([ca.certificate]),
            )
            identity = PdfSignerIdentity(key, cert, (ca.certificate,))
            for name, pdf in documents.items():
                for level in (PadesLevel.B_B, PadesLevel.B_T):
                    stamper = timestamper if level is PadesLevel.B_T else None
                    a = _median_ms(
                        lambda pdf=pdf, t=stamper, signer=anchor_signer: _anchor(
                            pdf, signer, place.field_name, picture, t
                        ),
                        ROUNDS[name],
                    )
                    o = _median_ms(
                        lambda pdf=pdf, t=stamper, level=level, identity=identity: sign_pdf(
                            pdf,
                            identity,
                            VisibleStamp(place, picture),
                            PadesProfile(level),
                            timestamper=t,
                        ),
                        ROUNDS[name],
                    )
                    print(
                        f"{name:<9}{label:<13}{level.value:<6}{a:>9.1f} ms{o:>10.1f} ms"
                        f"{a / o:>7.2f}x"
                    )
    _sm2_rate(doc.pdf, place, picture)
    if not QUICK:
        _big_memory(doc.pdf)


def _anchor(
    pdf: bytes,
    signer: signers.SimpleSigner,
    field_name: str,
    picture: bytes,
    timestamper: TimeStamper | None,
) -> bytes:
    out = io.BytesIO()
    signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES
        ),
        signer=signer,
        timestamper=timestamper,
        stamp_style=StaticStampStyle(
            background=PdfImage(Image.open(io.BytesIO(picture))),
            background_opacity=1.0,
            border_width=0,
        ),
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out)
    return out.getvalue()


def _sm2_rate(pdf: bytes, place: object, picture: bytes) -> None:
    ca = CertificateAuthority.create_root(
        ca_name("Bench SM2 CA", "SealBridge Demo", "CN"), generate_key(KeyKind.SM2)
    )
    key = generate_key(KeyKind.SM2)
    cert = ca.issue(
        ca_name("Bench SM2 signer", "o", "CN"), key.public_key_info, profiles.ENTERPRISE_SIGNATURE
    )
    identity = PdfSignerIdentity(key, cert, (ca.certificate,))
    stamp = VisibleStamp(place, picture)  # type: ignore[arg-type]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < (2 if QUICK else 5):
        sign_pdf(pdf, identity, stamp, PadesProfile(PadesLevel.B_B))
        count += 1
    rate = count / (time.perf_counter() - start)
    print(f"SM2-with-SM3 PAdES B-B, 1 page, one process: {rate:.0f} signatures/s")


def _big_memory(pdf: bytes) -> None:
    """Sign a 200 MB PDF in a fresh process; report its peak RSS against the file size."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.pdf"
        path.write_bytes(padded(pdf, BIG_MB))
        size = path.stat().st_size
        done = subprocess.run(
            [sys.executable, __file__, "--sign-big", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        before, after, seconds = (float(x) for x in done.stdout.split())
        print(
            f"{size / 2**20:.0f} MiB PDF, B-B ECDSA: {seconds:.2f} s; peak RSS "
            f"{after / 2**20:.0f} MiB, {before / 2**20:.0f} MiB before reading it: "
            f"growth {(after - before) / size:.2f}x the file size (input and output included)"
        )


def _memory(field: str) -> int:
    """Bytes of ``field`` (VmRSS, VmHWM) in /proc: unlike ru_maxrss, VmHWM starts afresh
    at exec, so the parent's 200 MB that were forked along do not count."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(f"{field} not in /proc/self/status")


def _sign_big(path: str) -> None:
    doc = _contract()
    place = doc.places[0]
    box = place.box
    picture = render_signature_block(["Signed"], box[2] - box[0], box[3] - box[1])
    ca = CertificateAuthority.create_root(
        ca_name("Big CA", "o", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    key = generate_key(KeyKind.ECDSA_P256)
    cert = ca.issue(ca_name("Big", "o", "CN"), key.public_key_info, profiles.ENTERPRISE_SIGNATURE)
    sign_pdf(  # warm up on the small document, so the baseline holds every import
        doc.pdf,
        PdfSignerIdentity(key, cert, (ca.certificate,)),
        VisibleStamp(place, picture),
        PadesProfile(PadesLevel.B_B),
    )
    before = _memory("VmHWM")
    start = time.perf_counter()
    data = Path(path).read_bytes()
    signed = sign_pdf(
        data,
        PdfSignerIdentity(key, cert, (ca.certificate,)),
        VisibleStamp(place, picture),
        PadesProfile(PadesLevel.B_B),
    )
    seconds = time.perf_counter() - start
    after = _memory("VmHWM")
    assert len(signed) > len(data)
    print(before, after, seconds)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sign-big":
        _sign_big(sys.argv[2])
    else:
        main()
