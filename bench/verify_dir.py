"""Verifying a folder of signed contracts: signatures per second, 1 and 2 workers.

Makes N copies of a bilingual contract, each signed PAdES B-B by a firm whose CA is on
a signed Shenzhen trust list, writes the trust directory next to them, and verifies the
folder the way ``sealbridge verify DIR --offline`` does (policy applied, results sorted)
with one worker and with two. The anchor is pyHanko's ``validate_pdf_signature`` over
the same files in one plain loop, same trust root, same machine, same run.

Run: ``.venv/bin/python bench/verify_dir.py [N]`` (default 1000).
"""

from __future__ import annotations

import io
import logging
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from asn1crypto import pem
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.trust.model import (
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)
from sealbridge.trust.signed import sign_document, trust_list_payload
from sealbridge.verify.batch import Options, collect, verify_all
from sealbridge.verify.policy import DEFAULT_POLICY


def _trust_directory(root: Path, ca: CertificateAuthority, now: datetime) -> None:
    operator_key = generate_key(KeyKind.ECDSA_P256)
    operator = CertificateAuthority.create_root(
        ca_name("SZ Bench Trust List Operator", "SealBridge Bench", "CN"), operator_key
    ).certificate
    service = TrustService(
        name="SZ Bench CA",
        service_type=ServiceType.CA_E_SIGNATURE,
        certificate=ca.certificate,
        history=(StatusChange(ServiceStatus.GRANTED, now - timedelta(days=30)),),
        policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,),
    )
    trust_list = TrustList(
        territory="SZ",
        operator="SZ bench operator",
        sequence_number=1,
        issued=now - timedelta(hours=1),
        next_update=now + timedelta(days=30),
        providers=(TrustServiceProvider("SZ bench provider", (service,)),),
    )
    for folder in ("pinned", "lists", "agreements"):
        (root / folder).mkdir(parents=True)
    (root / "pinned" / "SZ.pem").write_bytes(pem.armor("CERTIFICATE", operator.dump()))
    body = sign_document(trust_list_payload(trust_list), [(operator_key, operator)])
    (root / "lists" / "SZ.json").write_bytes(body)


def _corpus(folder: Path, ca: CertificateAuthority, count: int) -> None:
    doc = build_contract(
        "采购合同",
        "Purchase Contract",
        [ContractParty("甲方", "Party A", "深圳甲公司", "SZ A Co", "X", "深圳")],
        [("甲方向乙方供应电子元器件一批。", "Party A supplies a lot of components.")],
        contract_no="BENCH",
        on=date(2026, 1, 1),
    )
    key = generate_key(KeyKind.ECDSA_P256)
    certificate = ca.issue(
        enterprise_name("深圳甲公司", "NTRCN-91350100M000100Y43", "CN"),
        key.public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    place = doc.places[0]
    box = place.box
    picture = render_signature_block(["Signed 签署"], box[2] - box[0], box[3] - box[1])
    identity = PdfSignerIdentity(key, certificate, (ca.certificate,))
    folder.mkdir()
    for n in range(count):
        signed = sign_pdf(
            doc.pdf, identity, VisibleStamp(place, picture), PadesProfile(PadesLevel.B_B)
        )
        (folder / f"contract-{n:05d}.pdf").write_bytes(signed)


def _ours(trust: Path, folder: Path, workers: int) -> tuple[float, int]:
    options = Options(trust, ("SZ",), DEFAULT_POLICY, offline=True)
    started = time.perf_counter()
    results = verify_all(collect([folder]), options, workers=workers)
    elapsed = time.perf_counter() - started
    assert all(r.report is not None for r in results), "a file failed to verify"
    return elapsed, sum(len(r.report.signatures) for r in results if r.report is not None)


def _pyhanko(folder: Path, ca: CertificateAuthority) -> tuple[float, int]:
    started = time.perf_counter()
    count = 0
    for path in sorted(folder.glob("*.pdf")):
        reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
        for sig in reader.embedded_signatures:
            context = ValidationContext(
                trust_roots=[ca.certificate],
                allow_fetching=False,
                revocation_mode="hard-fail",
                ocsps=[],
                crls=[],
            )
            validate_pdf_signature(sig, signer_validation_context=context)
            count += 1
    return time.perf_counter() - started, count


def main() -> None:
    # As in ``sealbridge.cli.app.main``: findings are results, not log lines.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    now = datetime.now(UTC)
    ca = CertificateAuthority.create_root(
        ca_name("SZ Bench CA", "SealBridge Bench", "CN"),
        generate_key(KeyKind.ECDSA_P256),
        not_before=now - timedelta(days=60),
    )
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        root = Path(tmp)
        _trust_directory(root / "trust", ca, now)
        started = time.perf_counter()
        _corpus(root / "signed", ca, count)
        print(
            f"machine: {platform.machine()}, Python {platform.python_version()}; "
            f"{count} PAdES B-B contracts signed in {time.perf_counter() - started:.1f} s"
        )
        anchor_s, anchor_n = _pyhanko(root / "signed", ca)
        print(f"{'verifier':<34}{'seconds':>9}{'sig/s':>9}{'vs pyHanko':>12}")
        anchor_rate = anchor_n / anchor_s
        print(
            f"{'pyHanko validate_pdf_signature':<34}{anchor_s:>9.2f}{anchor_rate:>9.1f}{1:>11.2f}x"
        )
        for workers in (1, 2):
            seconds, signatures = _ours(root / "trust", root / "signed", workers)
            rate = signatures / seconds
            label = f"sealbridge verify, {workers} worker{'s' if workers > 1 else ''}"
            print(f"{label:<34}{seconds:>9.2f}{rate:>9.1f}{rate / anchor_rate:>11.2f}x")


if __name__ == "__main__":
    main()
