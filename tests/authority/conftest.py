"""One authority server per test module, with CAs and TSAs mounted at known ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authority.harness import Site, build_site
from sealbridge.authority.server import AuthorityServer


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with AuthorityServer() as server:
        yield build_site(server)
