"""Seals and stamps made by ofdrw, verified in the eyes of a jurisdiction.

Their certificates chain to ofdrw's test roots, which no trust list holds: every
signature must still verify, and the chain must end as "no trusted anchor"
(INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND), never as a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sealbridge.trust.view import Federation
from sealbridge.verify.report.model import Indication, SignatureReport
from sealbridge.verify.seal import verify_seal_file, verify_stamp_file
from support.trust import Operator, agreement

# Within the validity of ofdrw's 2020 test seals (April 2020 to April 2022).
WHILE_VALID = datetime(2021, 6, 1, tzinfo=UTC)
SIGNATURE_STEPS = ("signer-signature", "signer-in-cert-list", "maker-signature")


@pytest.fixture(scope="module")
def federation() -> Federation:
    lists = {code: Operator(code).trust_list() for code in ("SZ", "HK")}
    return Federation(lists, (agreement("SZ", "HK"),))


def _line(report: SignatureReport, step: str) -> str:
    return next(d for d in report.details if d.startswith(f"{step}: "))


def _no_anchor(report: SignatureReport, *steps: str) -> None:
    for step in steps:
        assert _line(report, step).startswith(f"{step}: ok"), report.details
    chain = _line(report, "maker-chain")
    assert "FAILED — no trusted anchor:" in chain
    assert chain.endswith("[INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND]")
    assert report.chain == ()
    assert {j: r.recognised for j, r in report.recognition.items()} == {"SZ": False, "HK": False}


@pytest.mark.parametrize("name", ["UserV4.esl", "UserV1.esl"])
def test_bare_seals(interop_dir: Path, federation: Federation, name: str) -> None:
    data = (interop_dir / name).read_bytes()
    then = verify_seal_file(data, name, federation, ["SZ", "HK"], at=WHILE_VALID).signatures[0]
    _no_anchor(then, "parse", "maker-signature")
    assert (then.indication, then.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    # Today the seals have expired too, which is a failure whatever the chain.
    now = verify_seal_file(data, name, federation, ["SZ", "HK"]).signatures[0]
    _no_anchor(now, "parse", "maker-signature")
    assert (now.indication, now.sub_indication) == (Indication.TOTAL_FAILED, "EXPIRED")
    assert "FAILED" in _line(now, "seal-validity")


def test_bare_stamp(interop_dir: Path, federation: Federation) -> None:
    data = (interop_dir / "SignedValueV4.dat").read_bytes()
    report = verify_stamp_file(data, "SignedValueV4.dat", federation, ["SZ", "HK"])
    signature = report.signatures[0]
    _no_anchor(signature, "parse", *SIGNATURE_STEPS, "seal-validity")
    assert "no trusted anchor" in _line(signature, "signer-chain")
    assert (signature.indication, signature.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


@pytest.mark.parametrize(
    ("name", "seal_valid"), [("v4signed.ofd", True), ("SESV4SignDoc.ofd", False)]
)
def test_stamps_in_ofd_packages(
    interop_dir: Path,
    federation: Federation,
    read_ofd_seal: Callable[[Path], Any],
    name: str,
    seal_valid: bool,
) -> None:
    package = read_ofd_seal(interop_dir / name)
    report = verify_stamp_file(
        package.signed_value, name, federation, ["SZ", "HK"], document=package.signature_xml
    )
    signature = report.signatures[0]
    _no_anchor(signature, "parse", *SIGNATURE_STEPS, "data-hash")
    assert (signature.indication, signature.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    # ofdrw re-stamped SESV4SignDoc.ofd in 2026 with its expired 2020 test seal; only the
    # stamp's own word gives that time, so it is out of bounds rather than failed.
    validity = _line(signature, "seal-validity")
    if seal_valid:
        assert validity.startswith("seal-validity: ok")
    else:
        assert validity.endswith("[INDETERMINATE/OUT_OF_BOUNDS_NO_POE]")
