"""Seal state histories and status list sequence numbers.

Seals registered before this revision get a history of one change, their current state
since the time recorded for it: what came before was not kept, and claiming the seal
was active until then would be inventing it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "seal_state_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "es_id",
            sa.String(64),
            sa.ForeignKey("seals.es_id", name="fk_seal_state_changes_es_id_seals"),
            nullable=False,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seal_state_changes_es_id", "seal_state_changes", ["es_id"])
    op.execute(
        "INSERT INTO seal_state_changes (es_id, state, at) "
        "SELECT es_id, state, state_since FROM seals ORDER BY state_since, es_id"
    )
    op.create_table(
        "seal_status_sequences",
        sa.Column("maker_sha256", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("seal_status_sequences")
    op.drop_index("ix_seal_state_changes_es_id", table_name="seal_state_changes")
    op.drop_table("seal_state_changes")
