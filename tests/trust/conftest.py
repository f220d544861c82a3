from __future__ import annotations

import pytest

from support.trust import Operator


@pytest.fixture(scope="session")
def operators() -> dict[str, Operator]:
    return {code: Operator(code) for code in ("SZ", "HK", "BJ", "MO")}
