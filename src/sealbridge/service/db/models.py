"""Tables of the store: CA state and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sealbridge.service.db.base import Base


class IssuedCertificate(Base):
    """A certificate a CA issued; serials are stored as hex text (they exceed 64 bits)."""

    __tablename__ = "issued_certificates"
    __table_args__ = (UniqueConstraint("ca_id", "serial_hex"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ca_id: Mapped[str] = mapped_column(String(64), index=True)
    serial_hex: Mapped[str] = mapped_column(String(42))
    subject: Mapped[str] = mapped_column(String(1024))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    der: Mapped[bytes] = mapped_column(LargeBinary)


class CertificateRevocation(Base):
    __tablename__ = "certificate_revocations"

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("issued_certificates.id"), primary_key=True
    )
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(32))


class AuditEvent(Base):
    """One state change; ``hash`` chains it to the event before it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    details: Mapped[dict[str, object]] = mapped_column(JSON)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)


class AuditHead(Base):
    """A single row naming the newest event; locking it serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
