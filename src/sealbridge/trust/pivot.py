"""Operator key rollover, after the EU's "pivot" lists of trusted lists.

A relying party pins an operator's certificate once, out of band. When the operator moves
to a new key it publishes a *pivot*: an ordinary XML trust list, signed with a key the
relying party already pins, whose ``PointersToOtherTSL`` holds a pointer to the
operator's own territory listing the certificates that sign its lists from now on. Lists
signed with the new key are then accepted; the announced set replaces the pinned one, so an
operator keeps its old certificate during an overlap by announcing both.

A pivot is not refused for being past its NextUpdate: like the EU's historical pivots it
stays the record of a rollover, and a relying party that was away applies the chain of
pivots in order. What keeps an old pivot from undoing a later one is the sequence number
(a pivot older than the one that set the pins is refused); a pivot dated after ``now`` has
not taken effect yet and is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509

from sealbridge.errors import TrustError
from sealbridge.trust.model import TrustList
from sealbridge.trust.xml import check_current, verify_trust_list_xml


@dataclass(frozen=True)
class PinnedOperators:
    """The operator certificates a relying party accepts for one territory's lists.

    ``sequence_number`` is that of the pivot that set these pins (0 when pinned out of
    band), so that an older pivot cannot bring back a retired key.
    """

    territory: str
    certificates: tuple[x509.Certificate, ...]
    sequence_number: int = 0

    def __post_init__(self) -> None:
        if not self.certificates:
            raise TrustError(f"no operator certificate is pinned for {self.territory}")

    def pins(self, certificate: x509.Certificate) -> bool:
        der = certificate.dump()
        return any(c.dump() == der for c in self.certificates)

    def load(
        self, data: bytes, *, now: datetime, last_sequence_number: int | None = None
    ) -> TrustList:
        """A list of this territory signed by any pinned certificate, fresh and not rolled back."""
        tl = verify_trust_list_xml(data, self.certificates).trust_list
        if tl.territory != self.territory:
            raise TrustError(f"list of {tl.territory} offered as the list of {self.territory}")
        check_current(tl, now=now, last_sequence_number=last_sequence_number)
        return tl


def accept_rollover(pivot_xml: bytes, pinned: PinnedOperators, now: datetime) -> PinnedOperators:
    """The pins after a pivot list signed by a currently pinned certificate; else TrustError."""
    territory = pinned.territory
    try:
        verified = verify_trust_list_xml(pivot_xml, pinned.certificates)
    except TrustError as exc:
        raise TrustError(f"pivot for {territory} refused: {exc}") from exc
    tl = verified.trust_list
    if tl.territory != territory:
        raise TrustError(f"pivot for {territory} refused: it is the list of {tl.territory}")
    if tl.issued > now:
        raise TrustError(
            f"pivot for {territory} refused: issued {tl.issued.isoformat()}, "
            f"after {now.isoformat()}"
        )
    if tl.sequence_number < pinned.sequence_number:
        raise TrustError(
            f"pivot for {territory} refused: sequence {tl.sequence_number} is older than "
            f"{pinned.sequence_number}, which set the current pins"
        )
    announced = [p for p in verified.pointers if p.territory == territory]
    if len(announced) != 1:
        raise TrustError(
            f"pivot for {territory} refused: it must point to {territory}'s own list exactly "
            f"once to announce its operator certificates, found {len(announced)}"
        )
    unique = {c.dump(): c for c in announced[0].operator_certificates}
    return PinnedOperators(territory, tuple(unique.values()), tl.sequence_number)
