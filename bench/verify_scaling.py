"""Verification cost against the number of signatures: 1, 10 and 30 in one document.

One bilingual contract is signed N times (PAdES B-B, one incremental revision each, by
firms of one CA on the trust list). Each document is verified whole, as a relying party
would: by pyHanko's ``validate_pdf_signature`` for every signature (its default, with
its difference analysis) and by ``sealbridge.verify.pdf.verify_pdf`` (offline, the same
root), in the same run on the same machine, all six taking turns (``bench/timing.py``).
Printed: seconds per document, the ratio to pyHanko, and each one's cost relative to
its own 1-signature document (linear growth means 10x for 10 signatures, 30x for 30).
``bench/verify_instructions.py`` counts the instructions of the same work, which no
neighbour on a shared machine changes.

With ``--prepared`` the signatures fill the fields a contract was made with; by default
that contract has one party per signature, so it also grows (a page of signing places per
eight parties); ``--parties 30`` signs the first 1, 10 and 30 fields of one 30-party
contract instead, which measures the signatures alone.

Run: ``.venv/bin/python bench/verify_scaling.py [--repeat 3] [--seconds 2] [--prepared
[--parties N]]``.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import PadesLevel, PadesProfile, PdfSignerIdentity, sign_pdf
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
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication
from timing import best

COUNTS = (1, 10, 30)


def federation_for(root: x509.Certificate) -> Federation:
    now = datetime.now(UTC)
    service = TrustService(
        name="Bench CA",
        service_type=ServiceType.CA_E_SIGNATURE,
        # As a relying party has it: parsed from a trust list, so re-encoding is free.
        certificate=x509.Certificate.load(root.dump()),
        history=(StatusChange(ServiceStatus.GRANTED, now - timedelta(days=1)),),
        policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,),
    )
    trust_list = TrustList(
        territory="SZ",
        operator="Bench operator",
        sequence_number=1,
        issued=now,
        next_update=now + timedelta(days=1),
        providers=(TrustServiceProvider("Bench", (service,)),),
    )
    return Federation({"SZ": trust_list}, ())


def signed_contract(
    count: int, ca: CertificateAuthority, *, prepared: bool = False, parties: int | None = None
) -> bytes:
    """``count`` signatures on one contract: each in a field of its own made as it signs
    (the default), or, with ``prepared``, in the fields the contract was made with, one
    per party (signing replaces each field's empty appearance) of a contract for
    ``parties`` (default: ``count``)."""
    parties = (parties or count) if prepared else 1
    doc = build_contract(
        "合同",
        "Contract",
        [ContractParty("甲方", "Party A", "深圳甲公司", "SZ A Co", "X", "深圳")] * parties,
        [("条款", "Clause")],
        contract_no="S-1",
        on=date(2026, 11, 25),
    )
    pdf = doc.pdf
    for number in range(count):
        key = generate_key(KeyKind.ECDSA_P256)
        cert = ca.issue(
            enterprise_name(f"Firm {number}", f"NTRCN-FIRM{number:04d}", "CN"),
            key.public_key_info,
            profiles.ENTERPRISE_SIGNATURE,
        )
        _next_second()
        pdf = sign_pdf(
            pdf,
            PdfSignerIdentity(key, cert, (ca.certificate,)),
            None,
            PadesProfile(PadesLevel.B_B),
            field_name=doc.places[number].field_name if prepared else f"Signer{number + 1}",
        )
    return pdf


def _next_second() -> None:
    """Waits for the clock's next second. pyHanko stamps each revision's /ModDate (the
    info dictionary and the XMP metadata) to the second: signings made within one
    second would leave those byte for byte the same in every revision, where parties
    who sign apart leave each revision its own (a little more for a verifier to read)."""
    time.sleep(1 - time.time() % 1)


def verify_with_pyhanko(data: bytes, root: x509.Certificate) -> None:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    for sig in reader.embedded_signatures:
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root]))
        assert status.bottom_line, status.summary()


def verify_with_sealbridge(data: bytes, federation: Federation) -> None:
    context = federation_context(federation, fetch=False)
    report = verify_pdf(data, "bench.pdf", federation, ["SZ"], context=context)
    assert all(s.indication is Indication.TOTAL_PASSED for s in report.signatures)


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    """``--prepared`` and ``--parties``: which documents are signed 1, 10 and 30 times."""
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="sign fields the contract was made with (one per party) instead of new ones",
    )
    parser.add_argument(
        "--parties",
        type=int,
        default=None,
        help="with --prepared: one contract for this many parties, whatever the signatures",
    )


def parse_shape(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if args.parties is not None and (not args.prepared or args.parties < max(COUNTS)):
        parser.error(f"--parties goes with --prepared and is at least {max(COUNTS)}")
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="batches per figure (best kept)")
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="least time spent per figure (best kept)"
    )
    add_shape_arguments(parser)
    args = parse_shape(parser)
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    ca = CertificateAuthority.create_root(
        ca_name("Bench CA", "SealBridge Bench", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    root = ca.certificate
    federation = federation_for(root)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{'sigs':>5} {'pyHanko ms':>11} {'ours ms':>8} {'ratio':>6} {'pyH/1':>6} {'ours/1':>7}")
    works: dict[tuple[str, int], Callable[[], object]] = {}
    for count in COUNTS:
        data = signed_contract(count, ca, prepared=args.prepared, parties=args.parties)
        works["pyhanko", count] = partial(verify_with_pyhanko, data, root)
        works["sealbridge", count] = partial(verify_with_sealbridge, data, federation)
    seconds = best(works, args.repeat, args.seconds)
    base = (seconds["pyhanko", COUNTS[0]], seconds["sealbridge", COUNTS[0]])
    for count in COUNTS:
        theirs, ours = seconds["pyhanko", count], seconds["sealbridge", count]
        print(
            f"{count:>5} {theirs * 1000:>11.2f} {ours * 1000:>8.2f} {theirs / ours:>5.2f}x "
            f"{theirs / base[0]:>5.1f}x {ours / base[1]:>6.1f}x"
        )


if __name__ == "__main__":
    main()
