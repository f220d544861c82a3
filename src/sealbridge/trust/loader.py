"""Fetching a federation's trust lists and agreements over HTTP and checking them.

Everything fetched is verified before it is used: the operator's signature against the
pinned certificate, freshness and the agreement's two signatures.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509

from sealbridge.errors import TrustError
from sealbridge.trust.signed import agreement_parties, load_agreement, load_trust_list
from sealbridge.trust.view import Federation

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class PublishedList:
    """Where a jurisdiction publishes its list, and the operator certificate we pinned."""

    url: str
    operator_certificate: x509.Certificate


def fetch(url: str, *, timeout: float = 10.0) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise TrustError(f"cannot fetch {url}: {exc}") from exc
    if len(body) > MAX_DOCUMENT_BYTES:
        raise TrustError(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


def load_federation(
    lists: Mapping[str, PublishedList],
    agreement_urls: Sequence[str],
    *,
    now: datetime,
) -> Federation:
    """Fetch and verify every list and agreement; an agreement needs both operators."""
    trust_lists = {}
    for territory, published in lists.items():
        tl = load_trust_list(fetch(published.url), published.operator_certificate, now=now)
        if tl.territory != territory:
            raise TrustError(f"{published.url} is the list of {tl.territory}, not {territory}")
        trust_lists[territory] = tl
    agreements = []
    for url in agreement_urls:
        body = fetch(url)
        parties = agreement_parties(body)
        missing = [p for p in parties if p not in lists]
        if missing:
            raise TrustError(f"agreement {url} names unknown jurisdiction {missing[0]}")
        agreements.append(load_agreement(body, [lists[p].operator_certificate for p in parties]))
    return Federation(trust_lists, tuple(agreements))
