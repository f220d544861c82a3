"""Fixtures: a fresh small PKI per test, ECDSA P-256 and RSA-2048 (and SM2 on request)."""

from __future__ import annotations

import pytest

from pki.builders import Pki, build_pki
from sealbridge.crypto.algorithms import KeyKind


@pytest.fixture(params=[KeyKind.ECDSA_P256, KeyKind.RSA_2048], ids=lambda kind: kind.value)
def pki(request: pytest.FixtureRequest) -> Pki:
    kind: KeyKind = request.param
    return build_pki(kind)


@pytest.fixture
def sm2_pki() -> Pki:
    return build_pki(KeyKind.SM2)
