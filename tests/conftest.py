"""Hypothesis runs derandomized, so every run of the suite (and CI) checks the same inputs
and a red build can be reproduced; set SEALBRIDGE_FUZZ=1 to let it search afresh, and
keep what it finds as an explicit regression test.

``world`` is the federation of signing tests: CAs and a TSA answering OCSP and time-stamp
requests over HTTP on 127.0.0.1, one per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from sealbridge.authority.server import AuthorityServer
from support.cms_world import World, build_world

settings.register_profile("reproducible", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("explore" if os.environ.get("SEALBRIDGE_FUZZ") == "1" else "reproducible")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with AuthorityServer() as server:
        yield build_world(server)
