"""What a relying party learns about each signature and stamp in a file.

The ETSI EN 319 102-1 indication says whether the signature holds up; recognition is a
separate axis, one verdict per jurisdiction, each with the rule that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SCHEMA = "sealbridge.report/1"


class Indication(StrEnum):
    TOTAL_PASSED = "TOTAL-PASSED"
    TOTAL_FAILED = "TOTAL-FAILED"
    INDETERMINATE = "INDETERMINATE"


class SignatureKind(StrEnum):
    PADES = "pades"
    DOC_TIMESTAMP = "doc-timestamp"
    CMS = "cms"
    OFD_SEAL = "ofd-seal"
    SEAL = "seal"


@dataclass(frozen=True)
class Recognition:
    recognised: bool | None
    rule: str

    @property
    def label(self) -> str:
        if self.recognised is None:
            return "indeterminate"
        return "recognised" if self.recognised else "not recognised"


@dataclass(frozen=True)
class SignatureReport:
    id: str
    kind: SignatureKind
    signer: str
    signing_time: datetime | None
    indication: Indication
    sub_indication: str | None
    modified_after_signing: bool
    changes: tuple[str, ...] = ()
    level: str | None = None
    chain: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    recognition: dict[str, Recognition] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationReport:
    file: str
    sha256: str
    validated_at: datetime
    signatures: tuple[SignatureReport, ...]

    @property
    def all_passed_and_recognised(self) -> bool:
        return bool(self.signatures) and all(
            s.indication is Indication.TOTAL_PASSED
            and all(r.recognised for r in s.recognition.values())
            for s in self.signatures
        )
