"""Tables of the seal registry: firms, people, seals and their state histories, grants,
approvals, uses, and the numbers of the status lists each maker signed.

States and roles are stored as the text values of the enums in ``seals.registry``, so a
row reads the same in a database console as in the code. Rows turn into the registry's
own records here, so the service speaks in those.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from sealbridge.seals.registry import (
    FirmRecord,
    FirmStatus,
    GrantRole,
    SealGrant,
    SealRecord,
    SealState,
    SealUsage,
    SealUseApproval,
)
from sealbridge.service.db.base import Base


class UtcDateTime(TypeDecorator[datetime]):
    """A zoned timestamp that is stored as UTC and reads back aware on every backend.

    SQLite keeps no zone: it would store a Beijing time's wall clock and hand it back
    naive, not comparable with the aware times the registry rules work in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            raise ValueError("a stored time needs a time zone")
        return moment.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class RegisteredFirm(Base):
    """A firm as the business register knows it; ``registration`` is its register number."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    legal_representative: Mapped[str] = mapped_column(String(128))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    status_since: Mapped[datetime] = mapped_column(UtcDateTime)

    def to_record(self) -> FirmRecord:
        return FirmRecord(
            self.registration,
            self.name,
            self.legal_representative,
            self.jurisdiction,
            FirmStatus(self.status),
        )


class FirmUser(Base):
    """A person acting for exactly one firm."""

    __tablename__ = "firm_users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(256))
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)


class RegisteredSeal(Base):
    """An issued seal; ``maker_sha256`` names the maker certificate that signed it."""

    __tablename__ = "seals"

    es_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    type_code: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    maker_sha256: Mapped[str] = mapped_column(String(64), index=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime] = mapped_column(UtcDateTime)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[datetime] = mapped_column(UtcDateTime)

    def to_record(self, firm: str) -> SealRecord:
        """The seal as a record; ``firm`` is the holder's registration number."""
        return SealRecord(
            es_id=self.es_id,
            firm=firm,
            type_code=self.type_code,
            name=self.name,
            state=SealState(self.state),
            state_since=self.state_since,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            der=self.der,
        )


class GrantRecord(Base):
    __tablename__ = "seal_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    es_id: Mapped[str] = mapped_column(ForeignKey("seals.es_id"), index=True)
    grantee: Mapped[str] = mapped_column(ForeignKey("firm_users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def to_grant(self) -> SealGrant:
        return SealGrant(
            id=self.id,
            es_id=self.es_id,
            grantee=self.grantee,
            role=GrantRole(self.role),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            granted_by=self.granted_by,
            max_uses=self.max_uses,
            uses=self.uses,
            withdrawn_at=self.withdrawn_at,
        )


class ApprovalRecord(Base):
    __tablename__ = "seal_use_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    es_id: Mapped[str] = mapped_column(ForeignKey("seals.es_id"), index=True)
    requested_by: Mapped[str] = mapped_column(ForeignKey("firm_users.id"), index=True)
    document_hash: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def to_approval(self) -> SealUseApproval:
        return SealUseApproval(
            id=self.id,
            es_id=self.es_id,
            requested_by=self.requested_by,
            document_hash=self.document_hash,
            requested_at=self.requested_at,
            approved_by=self.approved_by,
            approved_at=self.approved_at,
            expires=self.expires,
            used_at=self.used_at,
        )


class SealUsageRecord(Base):
    """One application of a seal, with the grant or approval that allowed it."""

    __tablename__ = "seal_usages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    es_id: Mapped[str] = mapped_column(ForeignKey("seals.es_id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("firm_users.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    document_hash: Mapped[str] = mapped_column(String(128))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("seal_grants.id"))
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("seal_use_approvals.id"))

    def to_usage(self) -> SealUsage:
        return SealUsage(
            id=self.id,
            es_id=self.es_id,
            user=self.user_id,
            at=self.at,
            document_hash=self.document_hash,
            grant_id=self.grant_id,
            approval_id=self.approval_id,
        )


class SealStateChange(Base):
    """One change of a seal's state; a seal's rows in time order are its history.

    Kept apart from ``seals.state`` so that a relying party can learn what the state was
    at any past moment: a seal resumed today was still suspended yesterday.
    """

    __tablename__ = "seal_state_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    es_id: Mapped[str] = mapped_column(ForeignKey("seals.es_id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class SealStatusSequence(Base):
    """The number of the last status list signed for a maker (by its certificate hash)."""

    __tablename__ = "seal_status_sequences"

    maker_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer)
