"""CA state in the store, so several responder processes can serve one CA.

Implements ``CertificateRegistry``; each change is one transaction with its audit event.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sealbridge.pki.registry import Revocation, RevocationReason, UnknownCertificate
from sealbridge.service import audit
from sealbridge.service.db.models import CertificateRevocation, IssuedCertificate
from sealbridge.service.db.store import Store, StoreError


class DatabaseRegistry:
    def __init__(self, store: Store, ca_id: str, actor: str = "system") -> None:
        self._store = store
        self.ca_id = ca_id
        self.actor = actor

    def record_issued(self, certificate: x509.Certificate) -> None:
        serial = f"{certificate.serial_number:x}"
        try:
            with self._store.transaction() as session:
                session.add(
                    IssuedCertificate(
                        ca_id=self.ca_id,
                        serial_hex=serial,
                        subject=certificate.subject.human_friendly[:1024],
                        not_after=certificate.not_valid_after,
                        der=certificate.dump(),
                    )
                )
                audit.record(
                    session,
                    actor=self.actor,
                    action="certificate.issued",
                    subject=f"{self.ca_id}/{serial}",
                    details={"subject": certificate.subject.human_friendly},
                )
        except IntegrityError as exc:
            raise StoreError(f"serial {serial} was already issued by {self.ca_id}") from exc

    def is_issued(self, serial: int) -> bool:
        with self._store.sessions() as session:
            return self._issued_id(session, serial) is not None

    def revoke(self, serial: int, at: datetime, reason: RevocationReason) -> Revocation:
        with self._store.transaction() as session:
            cert_id = self._issued_id(session, serial)
            if cert_id is None:
                raise UnknownCertificate(f"serial {serial:x} was not issued by {self.ca_id}")
            existing = session.get(CertificateRevocation, cert_id)
            if existing is not None:
                return _revocation(serial, existing)
            row = CertificateRevocation(certificate_id=cert_id, revoked_at=at, reason=reason.value)
            session.add(row)
            audit.record(
                session,
                actor=self.actor,
                action="certificate.revoked",
                subject=f"{self.ca_id}/{serial:x}",
                details={"reason": reason.value, "revoked_at": at.isoformat()},
            )
            return _revocation(serial, row)

    def revocation(self, serial: int) -> Revocation | None:
        with self._store.sessions() as session:
            row = session.execute(
                select(CertificateRevocation)
                .join(IssuedCertificate)
                .where(
                    IssuedCertificate.ca_id == self.ca_id,
                    IssuedCertificate.serial_hex == f"{serial:x}",
                )
            ).scalar_one_or_none()
            return _revocation(serial, row) if row is not None else None

    def revocations(self) -> Iterator[Revocation]:
        with self._store.sessions() as session:
            rows = session.execute(
                select(IssuedCertificate.serial_hex, CertificateRevocation)
                .join(CertificateRevocation)
                .where(IssuedCertificate.ca_id == self.ca_id)
                .execution_options(yield_per=1000)
            )
            for serial_hex, row in rows:
                yield _revocation(int(serial_hex, 16), row)

    def _issued_id(self, session: Session, serial: int) -> int | None:
        return session.execute(
            select(IssuedCertificate.id).where(
                IssuedCertificate.ca_id == self.ca_id,
                IssuedCertificate.serial_hex == f"{serial:x}",
            )
        ).scalar_one_or_none()


def _revocation(serial: int, row: CertificateRevocation) -> Revocation:
    at = row.revoked_at if row.revoked_at.tzinfo else row.revoked_at.replace(tzinfo=UTC)
    return Revocation(serial, at, RevocationReason(row.reason))
