"""Alembic environment: runs on the connection the Store hands over."""

from __future__ import annotations

from alembic import context

from sealbridge.service.db import models, models_seals  # noqa: F401 - registers the tables
from sealbridge.service.db.base import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
