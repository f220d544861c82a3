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


class Constraint(StrEnum):
    """A condition a validation policy rates FAIL, WARN, INFO or IGNORE (``verify.policy``).

    Verifiers name the constraint a check stands for, so a relying party's policy, not
    the verifier, decides whether, say, missing revocation data sinks a signature.
    """

    REVOCATION_DATA_MISSING = "revocation-data-missing"
    SIGNING_CERTIFICATE_EXPIRED = "signing-certificate-expired"
    SEAL_EXPIRED = "seal-expired"
    WEAK_ALGORITHM = "weak-algorithm"
    MODIFIED_AFTER_SIGNING = "modified-after-signing"
    UNSIGNED_CHANGES = "unsigned-changes"
    # Later changes the certification permits but that alter what a page shows (the
    # "replace" shadow attack uses exactly these).
    SUSPICIOUS_CHANGES = "suspicious-changes"
    TIMESTAMP_MISSING = "timestamp-missing"
    SEAL_STATUS_UNKNOWN = "seal-status-unknown"
    SIGNED_DATA_MISSING = "signed-data-missing"
    NOT_RECOGNISED = "not-recognised"


@dataclass(frozen=True)
class Check:
    """One check a verifier made and the indication it leads to on its own.

    ``constraint`` is set when the check found the condition that constraint names (its
    ``indication`` is then what the verifier would conclude without a policy); checks
    without one are facts no policy can excuse, such as a broken hash.
    """

    name: str
    indication: Indication
    sub_indication: str | None
    detail: str
    constraint: Constraint | None = None


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
    # Structured facts for the validation policy. ``checks``, when given, lists every
    # check made, so the indication is their verdict; without it the policy derives
    # what it safely can from the fields above.
    checks: tuple[Check, ...] = ()
    # e.g. "sha256", "sm3", "sha1"; and "rsa-2048", "ec-secp256r1", "sm2".
    digest_algorithm: str | None = None
    public_key: str | None = None
    warnings: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidationReport:
    file: str
    sha256: str
    validated_at: datetime
    signatures: tuple[SignatureReport, ...]
    # Set by ``verify.policy.apply_policy``: the policy's name and its verdict.
    policy: str | None = None
    accepted: bool | None = None
    # What the reader had to do to read the file at all (e.g. repaired cross-references).
    notes: tuple[str, ...] = ()

    @property
    def all_passed_and_recognised(self) -> bool:
        return bool(self.signatures) and all(
            s.indication is Indication.TOTAL_PASSED
            and all(r.recognised for r in s.recognition.values())
            for s in self.signatures
        )
