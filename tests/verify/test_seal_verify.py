"""Seals and stamps in the eyes of each jurisdiction: chains, OCSP over HTTP, timestamps.

The Shenzhen SM2 CA answers OCSP from a real authority server on 127.0.0.1; every test
issues its own maker and firm certificates, so revoking one disturbs no other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.errors import MalformedInput
from sealbridge.pki import profiles
from sealbridge.pki.identifiers import uscc_check_character
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.pki.registry import RevocationReason
from sealbridge.seals.status import load_status_list
from sealbridge.service.db.store import Store
from sealbridge.service.seal_registry import SealRegistry
from sealbridge.verify.report.model import Indication, SignatureKind, SignatureReport
from sealbridge.verify.revocation import OcspRevocationSource
from sealbridge.verify.seal import verify_seal_file, verify_stamp_file
from seals.trusted import JURISDICTIONS, SIGNATURE_XML, World, build_world

RECOGNISED_SZ_HK_BJ = {"SZ": True, "HK": True, "BJ": True, "MO": False}
HOUR = timedelta(hours=1)
FIRM = "91440300MA5G0WW01" + uscc_check_character("91440300MA5G0WW01")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with AuthorityServer() as server:
        yield build_world(server)


def _stamp_report(
    world: World, data: bytes, *, document: bytes | None = SIGNATURE_XML, **kwargs: object
) -> SignatureReport:
    report = verify_stamp_file(
        data,
        "SignedValue.dat",
        world.federation,
        JURISDICTIONS,
        document=document,
        revocation=OcspRevocationSource(),
        **kwargs,  # type: ignore[arg-type]
    )
    (signature,) = report.signatures
    return signature


def _seal_report(world: World, data: bytes, **kwargs: object) -> SignatureReport:
    report = verify_seal_file(
        data,
        "seal.esl",
        world.federation,
        JURISDICTIONS,
        revocation=OcspRevocationSource(),
        **kwargs,  # type: ignore[arg-type]
    )
    (signature,) = report.signatures
    return signature


def _line(report: SignatureReport, step: str) -> str:
    return next(d for d in report.details if d.startswith(f"{step}: "))


def _recognised(report: SignatureReport) -> dict[str, bool | None]:
    return {code: r.recognised for code, r in report.recognition.items()}


def test_good_stamp_passes_and_is_recognised_where_agreed(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    report = _stamp_report(world, world.stamp(world.seal(maker, firm), firm))
    assert report.kind is SignatureKind.OFD_SEAL
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert _recognised(report) == RECOGNISED_SZ_HK_BJ
    assert "SZ<->HK" in report.recognition["HK"].rule
    assert "no MO–SZ agreement covering e-seal" in report.recognition["MO"].rule
    assert [d.split(":")[0] for d in report.details] == [
        "parse",
        "signer-signature",
        "signer-in-cert-list",
        "maker-signature",
        "maker-chain",
        "maker-revocation",
        "seal-validity",
        "signer-chain",
        "signer-revocation",
        "timestamp",
        "seal-status",
        "data-hash",
    ]
    assert all(": ok — " in d for d in report.details), report.details
    assert "good per OCSP http://127.0.0.1:" in _line(report, "maker-revocation")
    assert "good per OCSP" in _line(report, "signer-revocation")
    assert "SZ Test SM2 Seal CA" in report.chain[0]


def test_good_seal_passes_and_is_recognised_where_agreed(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    report = _seal_report(world, world.seal(maker, firm))
    assert report.kind is SignatureKind.SEAL
    assert report.indication is Indication.TOTAL_PASSED, report.details
    assert _recognised(report) == RECOGNISED_SZ_HK_BJ


def test_maker_revoked_before_the_stamp_is_revoked(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    stamp = world.stamp(world.seal(maker, firm), firm)
    world.ca.revoke(maker.certificate, RevocationReason.KEY_COMPROMISE, world.now - HOUR)
    report = _stamp_report(world, stamp)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, "REVOKED")
    line = _line(report, "maker-revocation")
    assert "FAILED" in line and "key_compromise" in line and "before the signing time" in line
    assert set(_recognised(report).values()) == {False}
    assert "maker-revocation" in report.recognition["SZ"].rule


def test_maker_revoked_after_the_stamp(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    made = world.now - 2 * HOUR
    stamp = world.stamp(world.seal(maker, firm), firm, at=made)
    world.ca.revoke(maker.certificate, RevocationReason.CESSATION_OF_OPERATION, world.now - HOUR)
    # Only the signer says the stamp is older than the revocation...
    claimed = _stamp_report(world, stamp)
    assert (claimed.indication, claimed.sub_indication) == (
        Indication.INDETERMINATE,
        "REVOKED_NO_POE",
    )
    assert claimed.recognition["SZ"].recognised is None
    assert claimed.recognition["MO"].recognised is False
    # ...until a trusted timestamp proves it.
    proven = _stamp_report(world, world.timestamped(stamp, at=made))
    assert proven.indication is Indication.TOTAL_PASSED, proven.details
    assert "after the timestamp time" in _line(proven, "maker-revocation")
    assert "its TSA is trusted" in _line(proven, "timestamp")
    assert _recognised(proven) == RECOGNISED_SZ_HK_BJ


def test_signer_revoked_before_the_stamp_is_revoked(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    stamp = world.stamp(world.seal(maker, firm), firm)
    world.ca.revoke(firm.certificate, RevocationReason.AFFILIATION_CHANGED, world.now - HOUR)
    report = _stamp_report(world, stamp)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, "REVOKED")
    assert "FAILED" in _line(report, "signer-revocation")
    assert ": ok — " in _line(report, "maker-revocation")


def test_responder_down_leaves_the_stamp_open(world: World) -> None:
    maker, firm = world.maker(ca=world.unreachable_ca), world.firm()
    report = _stamp_report(world, world.stamp(world.seal(maker, firm), firm))
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, "TRY_LATER")
    line = _line(report, "maker-revocation")
    assert "FAILED" in line and "unreachable" in line
    assert report.recognition["SZ"].recognised is None
    assert "but the stamp is INDETERMINATE/TRY_LATER" in report.recognition["SZ"].rule
    assert report.recognition["MO"].recognised is False


def test_without_a_revocation_source_nothing_passes(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    report = verify_seal_file(
        world.seal(maker, firm), "seal.esl", world.federation, ["SZ"]
    ).signatures[0]
    assert (report.indication, report.sub_indication) == (Indication.INDETERMINATE, "TRY_LATER")
    assert "no revocation source" in _line(report, "maker-revocation")


def _expired_maker(world: World) -> tuple[bytes, bytes]:
    maker = world.maker(not_before=world.now - timedelta(days=100), validity=timedelta(days=30))
    firm = world.firm()
    seal = world.seal(maker, firm)
    return seal, world.stamp(seal, firm)


def test_expired_maker_certificate_is_named(world: World) -> None:
    seal, stamp = _expired_maker(world)
    bare = _seal_report(world, seal)
    assert (bare.indication, bare.sub_indication) == (Indication.TOTAL_FAILED, "EXPIRED")
    assert "maker-chain: FAILED — the seal maker certificate had expired at the check time" in (
        _line(bare, "maker-chain")
    )
    # The signer's own word for the time proves nothing, so expiry is not yet a failure...
    claimed = _stamp_report(world, stamp)
    assert (claimed.indication, claimed.sub_indication) == (
        Indication.INDETERMINATE,
        "OUT_OF_BOUNDS_NO_POE",
    )
    assert "had expired at the signing time" in _line(claimed, "maker-chain")
    # ...but a timestamp after the expiry is.
    proven = _stamp_report(world, world.timestamped(stamp))
    assert (proven.indication, proven.sub_indication) == (Indication.TOTAL_FAILED, "EXPIRED")
    assert "had expired at the timestamp time" in _line(proven, "maker-chain")


def test_maker_certificate_expired_since_the_stamp_needs_a_timestamp(world: World) -> None:
    maker = world.maker(not_before=world.now - timedelta(days=40), validity=timedelta(days=30))
    firm = world.firm()
    made = world.now - timedelta(days=20)
    seal = world.seal(maker, firm, valid_from=made - HOUR)
    stamp = world.stamp(seal, firm, at=made)
    claimed = _stamp_report(world, stamp)
    assert (claimed.indication, claimed.sub_indication) == (
        Indication.INDETERMINATE,
        "OUT_OF_BOUNDS_NO_POE",
    )
    assert "before this validation" in _line(claimed, "maker-chain")
    proven = _stamp_report(world, world.timestamped(stamp, at=made))
    assert proven.indication is Indication.TOTAL_PASSED, proven.details


def test_stamp_before_the_maker_certificate_is_not_yet_valid(world: World) -> None:
    maker = world.maker(not_before=world.now + timedelta(days=1))
    firm = world.firm()
    report = _stamp_report(world, world.stamp(world.seal(maker, firm), firm))
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, "NOT_YET_VALID")


def test_maker_under_an_unlisted_ca_has_no_chain(world: World) -> None:
    stranger = CertificateAuthority.create_root(
        ca_name("Unlisted Seal CA", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
    )
    maker, firm = world.maker(ca=stranger), world.firm()
    report = _stamp_report(world, world.stamp(world.seal(maker, firm), firm))
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    assert "no trusted anchor: " in _line(report, "maker-chain")
    assert "Unlisted Seal CA" in _line(report, "maker-chain")
    assert set(_recognised(report).values()) == {False}
    assert report.chain == ()


def test_document_hash_and_signature(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    stamp = world.stamp(world.seal(maker, firm), firm)
    other = _stamp_report(world, stamp, document=SIGNATURE_XML + b" ")
    assert (other.indication, other.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")
    assert "FAILED" in _line(other, "data-hash")
    missing = _stamp_report(world, stamp, document=None)
    assert (missing.indication, missing.sub_indication) == (
        Indication.INDETERMINATE,
        "SIGNED_DATA_NOT_FOUND",
    )
    tampered = stamp[:-1] + bytes([stamp[-1] ^ 1])
    broken = _stamp_report(world, tampered)
    assert (broken.indication, broken.sub_indication) == (
        Indication.TOTAL_FAILED,
        "SIG_CRYPTO_FAILURE",
    )
    assert "FAILED" in _line(broken, "signer-signature")


def test_timestamp_from_an_unlisted_tsa_is_no_proof(world: World) -> None:
    stranger = CertificateAuthority.create_root(
        ca_name("Unlisted TSA CA", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
    )
    tsa_key = generate_key(KeyKind.SM2)
    elsewhere = replace(
        world,
        tsa_key=tsa_key,
        tsa_certificate=stranger.issue(
            ca_name("Unlisted TSA", "SealBridge Test", "CN"), tsa_key.public_key_info, profiles.TSA
        ),
    )
    maker, firm = world.maker(), world.firm()
    made = world.now - 2 * HOUR
    stamp = world.stamp(world.seal(maker, firm), firm, at=made)
    world.ca.revoke(maker.certificate, RevocationReason.SUPERSEDED, world.now - HOUR)
    report = _stamp_report(world, elsewhere.timestamped(stamp, at=made))
    line = _line(report, "timestamp")
    assert line.startswith("timestamp: ok") and "its time proves nothing here" in line
    assert "Unlisted TSA CA" in line
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        "REVOKED_NO_POE",
    )


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01\x07", b"not a seal"])
def test_unreadable_input_is_malformed(world: World, data: bytes) -> None:
    with pytest.raises(MalformedInput):
        verify_seal_file(data, "x.esl", world.federation, ["SZ"])
    with pytest.raises(MalformedInput):
        verify_stamp_file(data, "x.dat", world.federation, ["SZ"])


def test_check_time_is_the_seal_time(world: World) -> None:
    maker, firm = world.maker(), world.firm()
    seal = world.seal(maker, firm)
    report = verify_seal_file(
        seal,
        "seal.esl",
        world.federation,
        ["SZ"],
        at=datetime(2020, 1, 1),
        revocation=OcspRevocationSource(),
    )
    (signature,) = report.signatures
    assert report.validated_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert signature.indication is Indication.TOTAL_FAILED
    assert signature.sub_indication == "NOT_YET_VALID"


def test_stamp_made_while_the_seal_was_suspended(world: World, tmp_path: Path) -> None:
    maker, firm = world.maker(), world.firm()
    seal = world.seal(maker, firm, es_id="4403050000077")
    store = Store.embedded(tmp_path)
    try:
        registry = SealRegistry(store)
        registry.register_firm(
            "registrar", FIRM, name="深圳甲公司", legal_representative="张三", jurisdiction="SZ"
        )
        registry.record_seal("maker", FIRM, seal, at=world.now - timedelta(days=5))
        registry.suspend("maker", "4403050000077", at=world.now - timedelta(days=3))
        registry.resume("maker", "4403050000077", at=world.now - timedelta(days=1))
        signed = registry.status_list(maker.key, maker.certificate, world.now)
    finally:
        store.close()
    listed = load_status_list(signed, maker.certificate, world.now)
    during = _stamp_report(
        world,
        world.stamp(seal, firm, at=world.now - timedelta(days=2)),
        status_lists=[listed],
    )
    assert (during.indication, during.sub_indication) == (Indication.TOTAL_FAILED, "REVOKED")
    line = _line(during, "seal-status")
    assert "FAILED" in line and "was suspended since" in line and "(now active since" in line
    after = _stamp_report(world, world.stamp(seal, firm), status_lists=[listed])
    assert after.indication is Indication.TOTAL_PASSED, after.details
    assert "was active since" in _line(after, "seal-status")
