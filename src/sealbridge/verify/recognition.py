"""Recognition per jurisdiction once a signature, seal or stamp has its indication.

Every verifier answers the same way: a failed object is recognised nowhere; one without
a path to any listed service neither; otherwise the jurisdiction's ``TrustView``
decides, and a recognised but INDETERMINATE object is held back as indeterminate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from asn1crypto import x509

from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify.report.model import Indication, Recognition


def recognition_by_jurisdiction(
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    path: Sequence[x509.Certificate],
    at: datetime,
    scope: Scope,
    outcome: tuple[Indication, str | None],
    failed: str,
    unchained: Recognition,
    what: str,
) -> dict[str, Recognition]:
    """``failed`` and ``unchained`` are the verdicts' wording for this kind of object;
    ``what`` names it in "…, but ``what`` is INDETERMINATE/…"."""
    indication, sub = outcome
    found: dict[str, Recognition] = {}
    for jurisdiction in jurisdictions:
        if indication is Indication.TOTAL_FAILED:
            found[jurisdiction] = Recognition(False, failed)
        elif not path:
            found[jurisdiction] = unchained
        else:
            decision = federation.view(jurisdiction, at, scope).decide(path)
            if decision.recognised and indication is Indication.INDETERMINATE:
                found[jurisdiction] = Recognition(
                    None, f"{decision.rule}, but {what} is INDETERMINATE/{sub}"
                )
            else:
                found[jurisdiction] = Recognition(decision.recognised, decision.rule)
    return found
