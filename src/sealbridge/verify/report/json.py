"""The versioned JSON form of a report (schema ``sealbridge.report/1``)."""

from __future__ import annotations

import json
from typing import Any

from sealbridge.verify.report.model import SCHEMA, SignatureReport, ValidationReport


def report_to_dict(report: ValidationReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "file": report.file,
        "sha256": report.sha256,
        "validated_at": report.validated_at.isoformat(),
        "signatures": [_signature(s) for s in report.signatures],
        "policy": report.policy,
        "accepted": report.accepted,
        "notes": list(report.notes),
    }


def render_json(report: ValidationReport) -> str:
    return json.dumps(report_to_dict(report), ensure_ascii=False, indent=2)


def _signature(s: SignatureReport) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind.value,
        "signer": s.signer,
        "signing_time": s.signing_time.isoformat() if s.signing_time else None,
        "level": s.level,
        "indication": s.indication.value,
        "sub_indication": s.sub_indication,
        "modified_after_signing": s.modified_after_signing,
        "changes": list(s.changes),
        "chain": list(s.chain),
        "details": list(s.details),
        "recognition": {
            j: {"recognised": r.recognised, "rule": r.rule} for j, r in s.recognition.items()
        },
        "warnings": list(s.warnings),
        "infos": list(s.infos),
        "digest_algorithm": s.digest_algorithm,
        "public_key": s.public_key,
    }


def error_to_dict(file: str, error: str) -> dict[str, Any]:
    """A file that could not be verified, in the same schema as a report."""
    return {"schema": SCHEMA, "file": file, "error": error, "signatures": []}
