"""The store: one database (embedded SQLite by default, PostgreSQL in production).

Opening a store brings its schema to the newest migration, so a fresh data directory
and an old one behave the same. SQLite transactions start as BEGIN IMMEDIATE: a writer
takes the lock up front instead of failing half-way when another writer got there first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from sealbridge.errors import SealBridgeError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
EMBEDDED_FILE = "sealbridge.db"


class StoreError(SealBridgeError):
    """The database could not be opened, migrated or written."""


@dataclass(frozen=True)
class Store:
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str) -> Store:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise StoreError(f"cannot use database URL {_redacted(url)}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            _sqlite_immediate_transactions(engine)
        store = cls(engine, sessionmaker(engine, expire_on_commit=False))
        store.migrate()
        return store

    @classmethod
    def embedded(cls, data_dir: Path) -> Store:
        """The default store: a SQLite file in the data directory."""
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls.open(f"sqlite+pysqlite:///{data_dir / EMBEDDED_FILE}")

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate {_redacted(str(self.engine.url))}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together, or not at all."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_immediate_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _redacted(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, SQLAlchemyError):
        return "<unparseable URL>"
