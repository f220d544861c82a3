"""CA state in the database: two responders over one store agree."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from asn1crypto import ocsp, x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.pki import profiles
from sealbridge.pki.crl import build_crl
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.pki.ocsp import OCSPResponder
from sealbridge.pki.registry import RevocationReason, UnknownCertificate
from sealbridge.service import audit
from sealbridge.service.ca_registry import DatabaseRegistry
from sealbridge.service.db.store import Store, StoreError

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _ca(store: Store) -> CertificateAuthority:
    ca = CertificateAuthority.create_root(
        ca_name("DB Demo CA", "SealBridge Demo", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    ca.registry = DatabaseRegistry(store, "db-demo")
    return ca


def _status(responder: OCSPResponder, ca: CertificateAuthority, cert: x509.Certificate) -> str:
    request = ocsp.OCSPRequest(
        {
            "tbs_request": {
                "request_list": [
                    {
                        "req_cert": {
                            "hash_algorithm": {"algorithm": "sha256"},
                            "issuer_name_hash": hashlib.sha256(ca.name.dump()).digest(),
                            "issuer_key_hash": hashlib.sha256(
                                bytes(ca.certificate.public_key["public_key"])
                            ).digest(),
                            "serial_number": cert.serial_number,
                        }
                    }
                ]
            }
        }
    )
    response = ocsp.OCSPResponse.load(responder.respond(request.dump()))
    single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
    return str(single["cert_status"].name)


def test_issue_revoke_shared_by_two_responders(store: Store) -> None:
    ca = _ca(store)
    cert = ca.issue(
        ca_name("e", "o", "CN"),
        generate_key(KeyKind.ECDSA_P256).public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    # A second process would build its own registry over the same database.
    other = CertificateAuthority(
        ca.certificate, ca.key, registry=DatabaseRegistry(store, "db-demo")
    )
    one, two = OCSPResponder(ca, lambda: NOW), OCSPResponder(other, lambda: NOW)
    assert _status(one, ca, cert) == _status(two, ca, cert) == "good"
    ca.revoke(cert, RevocationReason.KEY_COMPROMISE, NOW)
    assert _status(two, ca, cert) == "revoked"
    (entry,) = list(other.registry.revocations())
    assert entry.serial == cert.serial_number and entry.reason is RevocationReason.KEY_COMPROMISE
    assert entry.revoked_at == NOW
    crl = build_crl(other, this_update=NOW, next_update=NOW.replace(day=26), crl_number=1)
    assert cert.serial_number.to_bytes(16, "big").lstrip(b"\0") in crl


def test_every_change_is_audited(store: Store) -> None:
    ca = _ca(store)
    cert = ca.issue(
        ca_name("e", "o", "CN"),
        generate_key(KeyKind.ECDSA_P256).public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    ca.revoke(cert, RevocationReason.SUPERSEDED, NOW)
    ca.revoke(cert, RevocationReason.SUPERSEDED, NOW)  # idempotent: no second event
    with store.sessions() as session:
        check = audit.verify_chain(session)
    assert check.intact and check.events == 2


def test_unknown_serial_and_duplicate(store: Store) -> None:
    ca = _ca(store)
    with pytest.raises(UnknownCertificate):
        ca.registry.revoke(12345, NOW, RevocationReason.UNSPECIFIED)
    cert = ca.issue(
        ca_name("e", "o", "CN"),
        generate_key(KeyKind.ECDSA_P256).public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    with pytest.raises(StoreError, match="already issued"):
        ca.registry.record_issued(cert)
    with store.sessions() as session:
        assert audit.verify_chain(session).events == 1


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot"):
        Store.open("nosuchdb://x")
