"""Seal registry: firms, their users, seals, grants, use approvals and the usage log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

# Tables keyed by a number; users are keyed by their login and seals by their esID.
_TABLES = ("firms", "firm_users", "seals", "seal_grants", "seal_use_approvals", "seal_usages")
_INTEGER_KEYS = frozenset({"firms", "seal_grants", "seal_use_approvals"})


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, nullable: bool = False) -> sa.Column[object]:
    referred = target.split(".")[0]
    kind = sa.Integer() if referred in _INTEGER_KEYS else sa.String(64)
    return sa.Column(
        column,
        kind,
        sa.ForeignKey(target, name=f"fk_{table}_{column}_{referred}"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "firms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("registration", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("legal_representative", sa.String(128), nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _when("status_since"),
        sa.UniqueConstraint("registration", name="uq_firms_registration"),
    )
    op.create_table(
        "firm_users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(256), nullable=False),
        _fk("firm_users", "firm_id", "firms.id"),
    )
    op.create_index("ix_firm_users_firm_id", "firm_users", ["firm_id"])
    op.create_table(
        "seals",
        sa.Column("es_id", sa.String(64), primary_key=True),
        _fk("seals", "firm_id", "firms.id"),
        sa.Column("type_code", sa.Integer, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("maker_sha256", sa.String(64), nullable=False),
        _when("valid_from"),
        _when("valid_to"),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _when("state_since"),
    )
    op.create_index("ix_seals_firm_id", "seals", ["firm_id"])
    op.create_index("ix_seals_maker_sha256", "seals", ["maker_sha256"])
    op.create_table(
        "seal_grants",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("seal_grants", "es_id", "seals.es_id"),
        _fk("seal_grants", "grantee", "firm_users.id"),
        sa.Column("role", sa.String(16), nullable=False),
        _when("valid_from"),
        _when("valid_until", nullable=True),
        sa.Column("max_uses", sa.Integer, nullable=True),
        sa.Column("uses", sa.Integer, nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        _when("granted_at"),
        _when("withdrawn_at", nullable=True),
    )
    op.create_index("ix_seal_grants_es_id", "seal_grants", ["es_id"])
    op.create_index("ix_seal_grants_grantee", "seal_grants", ["grantee"])
    op.create_table(
        "seal_use_approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("seal_use_approvals", "es_id", "seals.es_id"),
        _fk("seal_use_approvals", "requested_by", "firm_users.id"),
        sa.Column("document_hash", sa.String(128), nullable=False),
        _when("requested_at"),
        sa.Column("approved_by", sa.String(64), nullable=True),
        _when("approved_at", nullable=True),
        _when("expires", nullable=True),
        _when("used_at", nullable=True),
    )
    op.create_index("ix_seal_use_approvals_es_id", "seal_use_approvals", ["es_id"])
    op.create_index("ix_seal_use_approvals_requested_by", "seal_use_approvals", ["requested_by"])
    op.create_table(
        "seal_usages",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("seal_usages", "es_id", "seals.es_id"),
        _fk("seal_usages", "user_id", "firm_users.id"),
        _when("at"),
        sa.Column("document_hash", sa.String(128), nullable=False),
        _fk("seal_usages", "grant_id", "seal_grants.id", nullable=True),
        _fk("seal_usages", "approval_id", "seal_use_approvals.id", nullable=True),
    )
    op.create_index("ix_seal_usages_es_id", "seal_usages", ["es_id"])


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
