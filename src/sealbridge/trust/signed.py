"""Signed trust documents: trust lists and agreements as JSON, signed by their operators.

The signature covers the canonical JSON of the payload (sorted keys, UTF-8, no spaces),
so a reader re-derives exactly the signed bytes. Loading checks the operator against a
pinned certificate, freshness and sequence-number rollback before trusting a field.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from asn1crypto import x509

from sealbridge.crypto.algorithms import signature_algorithm
from sealbridge.crypto.keys import KeyHandle
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import SealBridgeError, TrustError
from sealbridge.trust.model import (
    RecognitionAgreement,
    Scope,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)

FORMAT_TRUST_LIST = "sealbridge.trust-list/1"
FORMAT_AGREEMENT = "sealbridge.agreement/1"


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_document(
    payload: dict[str, Any], signers: Sequence[tuple[KeyHandle, x509.Certificate]]
) -> bytes:
    tbs = canonical(payload)
    signatures = []
    for key, cert in signers:
        algorithm = key.default_signature_algorithm()
        signatures.append(
            {
                "certificate": _b64(cert.dump()),
                "algorithm": algorithm["algorithm"].native,
                "value": _b64(key.sign(tbs, algorithm)),
            }
        )
    return json.dumps(
        {"payload": payload, "signatures": signatures}, ensure_ascii=False, indent=1
    ).encode()


def verify_document(
    data: bytes, what: str, required_signers: Sequence[x509.Certificate]
) -> dict[str, Any]:
    """The payload, once every required signer's signature over it has verified."""
    try:
        envelope = json.loads(data)
        payload = envelope["payload"]
        signatures = envelope["signatures"]
        if not isinstance(payload, dict) or not isinstance(signatures, list):
            raise TypeError("payload must be an object and signatures a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustError(f"{what} is not a signed SealBridge document: {exc}") from exc
    tbs = canonical(payload)
    for pinned in required_signers:
        entry = next((s for s in signatures if s.get("certificate") == _b64(pinned.dump())), None)
        if entry is None:
            raise TrustError(f"{what} is not signed by {pinned.subject.human_friendly}")
        try:
            verify_signature(
                pinned.public_key,
                signature_algorithm(str(entry["algorithm"])),
                tbs,
                base64.b64decode(entry["value"], validate=True),
            )
        except (SealBridgeError, ValueError, KeyError) as exc:
            raise TrustError(
                f"{what}: signature of {pinned.subject.human_friendly} does not verify"
            ) from exc
    return payload


def trust_list_payload(tl: TrustList) -> dict[str, Any]:
    return {
        "format": FORMAT_TRUST_LIST,
        "territory": tl.territory,
        "operator": tl.operator,
        "sequence_number": tl.sequence_number,
        "issued": tl.issued.isoformat(),
        "next_update": tl.next_update.isoformat(),
        "providers": [
            {"name": p.name, "services": [_service(s) for s in p.services]} for p in tl.providers
        ],
    }


def load_trust_list(
    data: bytes,
    operator_certificate: x509.Certificate,
    *,
    now: datetime,
    last_sequence_number: int | None = None,
) -> TrustList:
    """Parse and check a signed trust list; raise TrustError naming what is wrong."""
    payload = verify_document(data, "trust list", [operator_certificate])
    try:
        if payload["format"] != FORMAT_TRUST_LIST:
            raise TrustError(f"trust list format {payload['format']!r} is not supported")
        tl = TrustList(
            territory=str(payload["territory"]),
            operator=str(payload["operator"]),
            sequence_number=int(payload["sequence_number"]),
            issued=datetime.fromisoformat(payload["issued"]),
            next_update=datetime.fromisoformat(payload["next_update"]),
            providers=tuple(
                TrustServiceProvider(
                    name=str(p["name"]),
                    services=tuple(_parse_service(s) for s in p["services"]),
                )
                for p in payload["providers"]
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TrustError(f"trust list is malformed: {exc}") from exc
    if tl.next_update <= now:
        raise TrustError(f"trust list of {tl.territory} expired at {tl.next_update.isoformat()}")
    if last_sequence_number is not None and tl.sequence_number < last_sequence_number:
        raise TrustError(
            f"trust list of {tl.territory} rolled back: sequence {tl.sequence_number} "
            f"< {last_sequence_number} already seen"
        )
    return tl


def agreement_payload(agreement: RecognitionAgreement) -> dict[str, Any]:
    return {
        "format": FORMAT_AGREEMENT,
        "title": agreement.title,
        "parties": list(agreement.parties),
        "scopes": sorted(s.value for s in agreement.scopes),
        "effective_from": agreement.effective_from.isoformat(),
        "repealed_at": agreement.repealed_at.isoformat() if agreement.repealed_at else None,
        "policy_prefixes": list(agreement.policy_prefixes),
    }


def agreement_parties(data: bytes) -> tuple[str, str]:
    """The two jurisdictions an agreement names, read before its signatures are checked,
    to know whose pinned operator certificates must have signed it."""
    try:
        a, b = json.loads(data)["payload"]["parties"]
        return str(a), str(b)
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustError(f"agreement names no two parties: {exc}") from exc


def load_agreement(
    data: bytes, operator_certificates: Sequence[x509.Certificate]
) -> RecognitionAgreement:
    """Parse an agreement; both parties' operators must have signed it."""
    payload = verify_document(data, "recognition agreement", operator_certificates)
    try:
        if payload["format"] != FORMAT_AGREEMENT:
            raise TrustError(f"agreement format {payload['format']!r} is not supported")
        a, b = payload["parties"]
        repealed = payload.get("repealed_at")
        return RecognitionAgreement(
            parties=(str(a), str(b)),
            scopes=frozenset(Scope(s) for s in payload["scopes"]),
            effective_from=datetime.fromisoformat(payload["effective_from"]),
            repealed_at=datetime.fromisoformat(repealed) if repealed else None,
            policy_prefixes=tuple(str(p) for p in payload["policy_prefixes"]),
            title=str(payload.get("title", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TrustError(f"recognition agreement is malformed: {exc}") from exc


def _service(s: TrustService) -> dict[str, Any]:
    return {
        "name": s.name,
        "type": s.service_type.value,
        "certificate": _b64(s.certificate.dump()),
        "history": [{"status": c.status.value, "since": c.since.isoformat()} for c in s.history],
        "policy_prefixes": list(s.policy_prefixes),
        "supply_points": list(s.supply_points),
    }


def _parse_service(raw: dict[str, Any]) -> TrustService:
    certificate = x509.Certificate.load(base64.b64decode(raw["certificate"], validate=True))
    if not certificate.subject.native:
        raise ValueError("service certificate has an empty subject")
    return TrustService(
        name=str(raw["name"]),
        service_type=ServiceType(raw["type"]),
        certificate=certificate,
        history=tuple(
            StatusChange(ServiceStatus(c["status"]), datetime.fromisoformat(c["since"]))
            for c in raw["history"]
        ),
        policy_prefixes=tuple(str(p) for p in raw["policy_prefixes"]),
        supply_points=tuple(str(p) for p in raw.get("supply_points", ())),
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
