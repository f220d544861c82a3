"""CA state and the hash-chained audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "issued_certificates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ca_id", sa.String(64), nullable=False),
        sa.Column("serial_hex", sa.String(42), nullable=False),
        sa.Column("subject", sa.String(1024), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("ca_id", "serial_hex", name="uq_issued_certificates_ca_id"),
    )
    op.create_index("ix_issued_certificates_ca_id", "issued_certificates", ["ca_id"])
    op.create_table(
        "certificate_revocations",
        sa.Column(
            "certificate_id",
            sa.Integer,
            sa.ForeignKey(
                "issued_certificates.id",
                name="fk_certificate_revocations_certificate_id_issued_certificates",
            ),
            primary_key=True,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_event_id", sa.Integer, nullable=True),
        sa.Column("last_hash", sa.LargeBinary(32), nullable=False),
    )
    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("last_event_id", sa.Integer),
            sa.column("last_hash", sa.LargeBinary),
        ),
        [{"id": 1, "last_event_id": None, "last_hash": b"\0" * 32}],
    )


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_events")
    op.drop_table("certificate_revocations")
    op.drop_index("ix_issued_certificates_ca_id", "issued_certificates")
    op.drop_table("issued_certificates")
