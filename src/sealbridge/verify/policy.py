"""A validation policy as data: how much each constraint counts for this relying party.

A court and a counterparty may read the same report differently: one cannot accept a
signature without revocation data, the other only wants to be warned. Verifiers report
what they found as checks tied to named constraints (``report.model.Constraint``); a
policy rates each constraint FAIL (it decides the indication), WARN or INFO (a line
in the report) or IGNORE, and ``apply_policy`` recomputes the indication. Facts no
policy can excuse (a broken hash, an invalid signature value, a revoked certificate, no
chain to a trusted anchor) keep the verifier's indication whatever the policy says.

The default policy (``DEFAULT_LEVELS``) is ETSI EN 319 102-1's reading: everything that
makes a signature INDETERMINATE or FAILED there is FAIL; a seal no status list covers
is a WARN, since nothing is held against it, and so are later changes that the
certification permits but that alter what a page shows; later allowed revisions and a missing
signature timestamp (B-B) are INFO. A policy file is TOML and names only what differs::

    name = "bank-2026"
    [constraints]
    revocation-data-missing = "WARN"
    timestamp-missing = "FAIL"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from sealbridge.errors import MalformedInput
from sealbridge.verify.report.model import (
    Check,
    Constraint,
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
    ValidationReport,
)

MAX_POLICY_BYTES = 64 * 1024


class Level(StrEnum):
    FAIL = "FAIL"
    WARN = "WARN"
    INFO = "INFO"
    IGNORE = "IGNORE"


DEFAULT_LEVELS: Mapping[Constraint, Level] = {
    Constraint.REVOCATION_DATA_MISSING: Level.FAIL,
    Constraint.SIGNING_CERTIFICATE_EXPIRED: Level.FAIL,
    Constraint.SEAL_EXPIRED: Level.FAIL,
    Constraint.WEAK_ALGORITHM: Level.FAIL,
    Constraint.MODIFIED_AFTER_SIGNING: Level.FAIL,
    Constraint.UNSIGNED_CHANGES: Level.INFO,
    Constraint.SUSPICIOUS_CHANGES: Level.WARN,
    Constraint.TIMESTAMP_MISSING: Level.INFO,
    Constraint.SEAL_STATUS_UNKNOWN: Level.WARN,
    Constraint.SIGNED_DATA_MISSING: Level.FAIL,
    Constraint.NOT_RECOGNISED: Level.FAIL,
}

# What a constraint rated FAIL makes of a signature whose verifier let the fact pass.
_FAILS_AS: Mapping[Constraint, tuple[Indication, str]] = {
    Constraint.REVOCATION_DATA_MISSING: (Indication.INDETERMINATE, "TRY_LATER"),
    Constraint.SIGNING_CERTIFICATE_EXPIRED: (Indication.INDETERMINATE, "OUT_OF_BOUNDS_NO_POE"),
    Constraint.SEAL_EXPIRED: (Indication.INDETERMINATE, "OUT_OF_BOUNDS_NO_POE"),
    Constraint.WEAK_ALGORITHM: (Indication.INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE"),
    Constraint.MODIFIED_AFTER_SIGNING: (Indication.TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE"),
    Constraint.UNSIGNED_CHANGES: (Indication.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE"),
    Constraint.TIMESTAMP_MISSING: (Indication.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE"),
    Constraint.SEAL_STATUS_UNKNOWN: (Indication.INDETERMINATE, "TRY_LATER"),
    Constraint.SIGNED_DATA_MISSING: (Indication.INDETERMINATE, "SIGNED_DATA_NOT_FOUND"),
}

_POLICY_FAILURE = (Indication.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")

WEAK_DIGESTS = frozenset({"md5", "sha1"})
MIN_RSA_BITS = 2048

_RANK = {Indication.TOTAL_PASSED: 0, Indication.INDETERMINATE: 1, Indication.TOTAL_FAILED: 2}
# The line format of seal and stamp findings (``verify.seal_chain.Finding.line``).
_STEP_LINE = re.compile(
    r"^(?P<step>[a-z-]+): (?:ok|FAILED) — (?P<detail>.*?)"
    r"(?: \[(?P<indication>TOTAL-FAILED|INDETERMINATE)/(?P<sub>[A-Z_]+)\])?$",
    re.DOTALL,
)
_SEAL_KINDS = frozenset({SignatureKind.SEAL, SignatureKind.OFD_SEAL})
_EXPIRY = frozenset({"EXPIRED", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED"})


@dataclass(frozen=True)
class ValidationPolicy:
    name: str
    levels: Mapping[Constraint, Level]

    def level(self, constraint: Constraint) -> Level:
        return self.levels.get(constraint, DEFAULT_LEVELS[constraint])


DEFAULT_POLICY = ValidationPolicy("default", DEFAULT_LEVELS)


def load_policy(path: Path) -> ValidationPolicy:
    """The default policy with the file's ratings on top; raises ``MalformedInput``."""
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise MalformedInput("validation policy", f"{path} is larger than 64 KiB")
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MalformedInput("validation policy", f"{path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MalformedInput("validation policy", f"{path}: not TOML ({exc})") from exc
    return parse_policy(raw, default_name=path.stem, source=str(path))


def parse_policy(raw: Mapping[str, object], *, default_name: str, source: str) -> ValidationPolicy:
    unknown_keys = sorted(set(raw) - {"name", "constraints"})
    if unknown_keys:
        raise MalformedInput(
            "validation policy",
            f"{source}: unknown key {unknown_keys[0]!r} (a policy has 'name' and [constraints])",
        )
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise MalformedInput("validation policy", f"{source}: 'name' must be a non-empty string")
    table = raw.get("constraints", {})
    if not isinstance(table, dict):
        raise MalformedInput("validation policy", f"{source}: [constraints] must be a table")
    known = {c.value: c for c in Constraint}
    levels = dict(DEFAULT_LEVELS)
    for key, value in table.items():
        if key not in known:
            raise MalformedInput(
                "validation policy",
                f"{source}: unknown constraint {key!r} (known: {', '.join(sorted(known))})",
            )
        if not isinstance(value, str) or value.upper() not in Level.__members__:
            raise MalformedInput(
                "validation policy",
                f"{source}: constraint {key!r} has level {value!r}; use one of {', '.join(Level)}",
            )
        levels[known[key]] = Level(value.upper())
    return ValidationPolicy(name.strip(), levels)


def apply_policy(report: ValidationReport, policy: ValidationPolicy) -> ValidationReport:
    """The report as ``policy`` reads it: indications, warnings, infos and the verdict."""
    signatures = tuple(_apply(s, policy) for s in report.signatures)
    accepted = bool(signatures) and all(
        s.indication is Indication.TOTAL_PASSED
        and (
            policy.level(Constraint.NOT_RECOGNISED) is not Level.FAIL
            or all(r.recognised for r in s.recognition.values())
        )
        for s in signatures
    )
    return replace(report, signatures=signatures, policy=policy.name, accepted=accepted)


def checks_of(signature: SignatureReport) -> tuple[Check, ...]:
    """The signature's checks: as its verifier gave them, else what can safely be derived.

    Seal and stamp findings are complete, one line per step, so every step counts. A
    PDF signature's report names one cause only, so only the modification verdict and
    the level are separated from it; other causes stay as the verifier decided.
    """
    checks = signature.checks or (
        _seal_checks(signature) if signature.kind in _SEAL_KINDS else None
    )
    if checks is None:
        checks = _pdf_checks(signature)
    weak = _weak_algorithm(signature)
    if weak is not None and not any(c.constraint is Constraint.WEAK_ALGORITHM for c in checks):
        checks = (*checks, weak)
    return checks


def _apply(signature: SignatureReport, policy: ValidationPolicy) -> SignatureReport:
    counted: list[tuple[Indication, str | None]] = []
    warnings, infos = list(signature.warnings), list(signature.infos)
    for check in checks_of(signature):
        if check.constraint is None:
            if check.indication is not Indication.TOTAL_PASSED:
                counted.append((check.indication, check.sub_indication))
            continue
        level = policy.level(check.constraint)
        line = f"{check.constraint}: {check.detail}"
        if level is Level.FAIL:
            if check.indication is Indication.TOTAL_PASSED:
                counted.append(_FAILS_AS.get(check.constraint, _POLICY_FAILURE))
            else:
                counted.append((check.indication, check.sub_indication))
        elif level is Level.WARN:
            warnings.append(line)
        elif level is Level.INFO:
            infos.append(line)
    indication, sub = _worst(counted)
    recognition = {
        j: _recognition(r, signature.indication, indication, sub, policy)
        for j, r in signature.recognition.items()
    }
    not_recognised = policy.level(Constraint.NOT_RECOGNISED)
    for j, r in sorted(recognition.items()):
        if r.recognised is not True and not_recognised in (Level.WARN, Level.INFO):
            line = f"{Constraint.NOT_RECOGNISED}: {j}: {r.label}: {r.rule}"
            (warnings if not_recognised is Level.WARN else infos).append(line)
    return replace(
        signature,
        indication=indication,
        sub_indication=sub,
        recognition=recognition,
        warnings=tuple(dict.fromkeys(warnings)),
        infos=tuple(dict.fromkeys(infos)),
    )


def _worst(counted: Sequence[tuple[Indication, str | None]]) -> tuple[Indication, str | None]:
    """The worst indication, named by its first occurrence (as ``seal_chain.verdict``)."""
    worst: tuple[Indication, str | None] = (Indication.TOTAL_PASSED, None)
    for indication, sub in counted:
        if _RANK[indication] > _RANK[worst[0]]:
            worst = (indication, sub)
    return worst


def _recognition(
    recognition: Recognition,
    before: Indication,
    after: Indication,
    sub: str | None,
    policy: ValidationPolicy,
) -> Recognition:
    """Recognition follows the indication the policy gives, where the trust view decided.

    Verifiers hold a recognised path back as indeterminate while the signature is
    INDETERMINATE ("<rule>, but ... is INDETERMINATE/..."); the policy may release it,
    or hold back one it has made fail. A verdict given without consulting the trust
    view (a signature that had already failed) cannot be released here.
    """
    if after is before:
        return recognition
    if after is Indication.TOTAL_PASSED:
        held = re.fullmatch(r"(?P<rule>.*), but .* is INDETERMINATE/\S+", recognition.rule)
        if recognition.recognised is None and held is not None:
            return Recognition(True, f"{held['rule']} (under policy {policy.name})")
        return recognition
    if recognition.recognised is True:
        verdict = None if after is Indication.INDETERMINATE else False
        return Recognition(
            verdict,
            f"{recognition.rule}, but the signature is {after.value}/{sub} "
            f"under policy {policy.name}",
        )
    return recognition


def _seal_checks(signature: SignatureReport) -> tuple[Check, ...] | None:
    checks = []
    for line in signature.details:
        found = _STEP_LINE.match(line)
        if found is None:
            return None
        step, detail, sub = found["step"], found["detail"], found["sub"]
        indication = Indication(found["indication"]) if sub else Indication.TOTAL_PASSED
        checks.append(Check(step, indication, sub, detail, _seal_constraint(step, sub, detail)))
    return tuple(checks) if checks else None


def _seal_constraint(step: str, sub: str | None, detail: str) -> Constraint | None:
    if step.endswith("-revocation") and sub == "TRY_LATER":
        return Constraint.REVOCATION_DATA_MISSING
    if step.endswith("-chain") and sub in _EXPIRY:
        return Constraint.SIGNING_CERTIFICATE_EXPIRED
    if step == "seal-validity" and sub in _EXPIRY:
        return Constraint.SEAL_EXPIRED
    if step == "data-hash" and sub == "SIGNED_DATA_NOT_FOUND":
        return Constraint.SIGNED_DATA_MISSING
    if step == "seal-status" and sub is None and detail.endswith("unknown"):
        return Constraint.SEAL_STATUS_UNKNOWN
    return None


def _pdf_checks(signature: SignatureReport) -> tuple[Check, ...]:
    indication, sub = signature.indication, signature.sub_indication
    checks = []
    changes = "; ".join(signature.changes)
    if signature.modified_after_signing:
        checks.append(
            Check(
                "modification",
                Indication.TOTAL_FAILED,
                "SIG_CONSTRAINTS_FAILURE",
                changes or "the document was modified after signing",
                Constraint.MODIFIED_AFTER_SIGNING,
            )
        )
        # The PDF verifier turns a passing signature into this failure and nothing else.
        if (indication, sub) == (Indication.TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE"):
            indication, sub = Indication.TOTAL_PASSED, None
    elif changes:
        allowed = Constraint.UNSIGNED_CHANGES
        checks.append(Check("modification", Indication.TOTAL_PASSED, None, changes, allowed))
    detail = signature.details[0] if signature.details else "signature checked"
    checks.append(Check("signature", indication, sub, detail))
    if signature.kind is SignatureKind.PADES and signature.level == "B-B":
        checks.append(
            Check(
                "timestamp",
                Indication.TOTAL_PASSED,
                None,
                "no signature timestamp (PAdES B-B): the signing time is the signer's claim",
                Constraint.TIMESTAMP_MISSING,
            )
        )
    return tuple(checks)


def _weak_algorithm(signature: SignatureReport) -> Check | None:
    weak = []
    if signature.digest_algorithm and signature.digest_algorithm.lower() in WEAK_DIGESTS:
        weak.append(f"digest {signature.digest_algorithm}")
    key = (signature.public_key or "").lower()
    if key.startswith("rsa-") and key[4:].isdigit() and int(key[4:]) < MIN_RSA_BITS:
        weak.append(f"{key} key (under {MIN_RSA_BITS} bits)")
    if not weak:
        return None
    return Check(
        "algorithms",
        Indication.TOTAL_PASSED,
        None,
        " and ".join(weak),
        Constraint.WEAK_ALGORITHM,
    )
