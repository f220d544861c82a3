"""A relying party fetches the maker's seal status list over HTTP and sees a revocation."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.seals import SealType, issue_seal, render_name_seal
from sealbridge.seals.registry import SealState
from sealbridge.seals.status import load_status_list, status_of
from sealbridge.service.db.store import Store
from sealbridge.service.seal_registry import SealRegistry


def _fetch(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.headers.get_content_type(), response.read()


def test_status_list_served_live(store: Store) -> None:
    root = CertificateAuthority.create_root(
        ca_name("HTTP Test Root", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
    )
    key = generate_key(KeyKind.SM2)
    maker = root.issue(
        ca_name("HTTP Test Seal Maker", "SealBridge Test", "CN"),
        key.public_key_info,
        profiles.SEAL_MAKER,
    )
    now = datetime.now(UTC)
    seal = issue_seal(
        key,
        maker,
        es_id="HK-0001",
        seal_type=SealType.COMPANY,
        name="HK B Co",
        bound_certificates=[maker],
        picture=render_name_seal("陳大文"),
        valid_from=now,
        valid_to=now + timedelta(days=30),
    )
    registry = SealRegistry(store)
    registry.register_firm(
        "r", "71234568", name="HK B Co", legal_representative="陳大文", jurisdiction="HK"
    )
    registry.record_seal("maker", "71234568", seal)

    with AuthorityServer() as server:
        server.mount_seal_status(
            "hk-maker", lambda: registry.status_list(key, maker, datetime.now(UTC))
        )
        url = server.seal_status_url("hk-maker")
        content_type, body = _fetch(url)
        assert content_type == "application/json"
        before = load_status_list(body, maker, datetime.now(UTC))
        entry = status_of(before, "HK-0001")
        assert entry is not None and entry.state is SealState.ACTIVE

        registry.revoke("maker", "HK-0001", reason="deregistered")
        after = load_status_list(_fetch(url)[1], maker, datetime.now(UTC))
        entry = status_of(after, "HK-0001")
        assert entry is not None and entry.state is SealState.REVOKED

        with pytest.raises(urllib.error.HTTPError) as missing:
            _fetch(server.seal_status_url("other-maker"))
        assert missing.value.code == 404
