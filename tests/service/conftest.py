"""Stores to test against: embedded SQLite always, PostgreSQL when CI points at one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sealbridge.service.db.store import Store

POSTGRES_URL = os.environ.get("SEALBRIDGE_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = Store.embedded(tmp_path)
        yield opened
        opened.close()
        return
    if not POSTGRES_URL:
        pytest.skip("SEALBRIDGE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    schema = f"sb_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    opened = Store.open(url.render_as_string(hide_password=False))
    try:
        yield opened
    finally:
        opened.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
