"""Fetching a federation's trust lists and agreements over HTTP and checking them.

Everything fetched is verified before it is used: the operator's signature against the
pinned certificate, freshness, sequence numbers and the agreement's two signatures.

``TrustListCache`` is what a long-running relying party holds. It keeps the last view in
which *every* list and agreement verified, and refreshes it with conditional requests
(ETag / Last-Modified), comparing bytes where a server offers neither, so an unchanged
federation costs a round of 304s and no signature checks. An update is swapped in whole
or not at all: a tampered file, a list rolled back to an older sequence number, or a
publisher caught half-way through replacing its files leaves readers on the old view, and
the refresh result says why. Readers never take part in a refresh: they get the view in
force, one immutable object, whatever a refresh is doing at that moment.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from asn1crypto import x509

from sealbridge.errors import TrustError
from sealbridge.trust.model import TrustList
from sealbridge.trust.signed import agreement_parties, load_agreement, load_trust_list
from sealbridge.trust.view import Federation
from sealbridge.trust.xml import load_trust_list_xml

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class PublishedList:
    """Where a jurisdiction publishes its list, and the operator certificate we pinned."""

    url: str
    operator_certificate: x509.Certificate


@dataclass(frozen=True)
class Fetched:
    """One answer: the body, or None when the server said 304 Not Modified.

    ``etag`` and ``last_modified`` are the validators to send next time; a server that
    sends neither is asked unconditionally and its bytes are compared instead.
    """

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


#: ``fetch(url, etag, last_modified)``: how the cache reaches publishers; replaceable so
#: that a deployment can add authentication or a proxy policy without touching the cache.
ConditionalFetch = Callable[[str, str | None, str | None], Fetched]


def conditional_fetch(
    url: str, etag: str | None = None, last_modified: str | None = None, *, timeout: float = 10.0
) -> Fetched:
    """GET ``url``, asking for the body only if it changed since these validators."""
    headers = {}
    if etag is not None:
        headers["If-None-Match"] = etag
    if last_modified is not None:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304:
            return Fetched(None, exc.headers.get("ETag", etag), last_modified)
        raise TrustError(f"cannot fetch {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TrustError(f"cannot fetch {url}: {exc}") from exc
    if len(body) > MAX_DOCUMENT_BYTES:
        raise TrustError(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return Fetched(body, etag, last_modified)


def fetch(url: str, *, timeout: float = 10.0) -> bytes:
    """The document at ``url``, unconditionally."""
    body = conditional_fetch(url, timeout=timeout).body
    if body is None:  # a server answering 304 to a request without validators
        raise TrustError(f"cannot fetch {url}: HTTP 304 to an unconditional request")
    return body


def parse_trust_list(
    data: bytes,
    operator_certificate: x509.Certificate,
    *,
    now: datetime,
    last_sequence_number: int | None = None,
) -> TrustList:
    """A signed list in either format: ETSI TS 119 612 XML or SealBridge JSON.

    The format is read from the bytes, not from a file name or a Content-Type, which a
    web server may get wrong; both parsers verify before they trust anything.
    """
    if data.lstrip()[:1] == b"<":
        return load_trust_list_xml(
            data, operator_certificate, now=now, last_sequence_number=last_sequence_number
        )
    return load_trust_list(
        data, operator_certificate, now=now, last_sequence_number=last_sequence_number
    )


def verified_federation(
    lists: Mapping[str, PublishedList],
    list_bodies: Mapping[str, bytes],
    agreement_bodies: Mapping[str, bytes],
    *,
    now: datetime,
    last_sequence_numbers: Mapping[str, int] | None = None,
) -> Federation:
    """Verify a complete set of documents, keyed by territory and by agreement URL.

    Raises TrustError naming the first document that fails; agreements must be signed by
    the pinned operators of both parties, who must both be in ``lists``.
    """
    seen = last_sequence_numbers or {}
    trust_lists = {}
    for territory, published in lists.items():
        try:
            tl = parse_trust_list(
                list_bodies[territory],
                published.operator_certificate,
                now=now,
                last_sequence_number=seen.get(territory),
            )
        except TrustError as exc:
            raise TrustError(f"{published.url}: {exc}") from exc
        if tl.territory != territory:
            raise TrustError(f"{published.url} is the list of {tl.territory}, not {territory}")
        trust_lists[territory] = tl
    agreements = []
    for url, body in agreement_bodies.items():
        try:
            parties = agreement_parties(body)
            missing = [p for p in parties if p not in lists]
            if missing:
                raise TrustError(f"names unknown jurisdiction {missing[0]}")
            agreements.append(
                load_agreement(body, [lists[p].operator_certificate for p in parties])
            )
        except TrustError as exc:
            raise TrustError(f"agreement {url}: {exc}") from exc
    return Federation(trust_lists, tuple(agreements))


def load_federation(
    lists: Mapping[str, PublishedList],
    agreement_urls: Sequence[str],
    *,
    now: datetime,
) -> Federation:
    """Fetch and verify every list and agreement once; an agreement needs both operators."""
    return verified_federation(
        lists,
        {territory: fetch(published.url) for territory, published in lists.items()},
        {url: fetch(url) for url in agreement_urls},
        now=now,
    )


class RefreshStatus(StrEnum):
    UPDATED = "updated"
    """Something changed and every document verified: readers now get the new view."""
    UNCHANGED = "unchanged"
    """Every publisher answered 304 or the same bytes: the view in force stays."""
    KEPT = "kept"
    """An update was refused (fetch failed or a document did not verify): old view kept."""


@dataclass(frozen=True)
class RefreshResult:
    status: RefreshStatus
    federation: Federation | None
    """The view in force after this refresh (None if no refresh has ever succeeded)."""
    reason: str | None = None
    """Why the update was refused, or a warning about the view kept (an expired list)."""
    changed: tuple[str, ...] = ()
    """URLs whose content differed from the copy in force."""


@dataclass(frozen=True)
class _Copy:
    body: bytes
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class _Snapshot:
    """Everything one good refresh produced; replaced whole, never modified."""

    federation: Federation | None = None
    copies: Mapping[str, _Copy] = field(default_factory=dict)
    sequence_numbers: Mapping[str, int] = field(default_factory=dict)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TrustListCache:
    """The last fully verified federation, refreshed over HTTP with all-or-nothing swaps.

    ``sequence_numbers`` seeds rollback protection with what an earlier process saw (read
    them back from ``sequence_numbers`` to persist them); lists older than these are
    refused even on the first refresh.
    """

    def __init__(
        self,
        lists: Mapping[str, PublishedList],
        agreement_urls: Sequence[str] = (),
        *,
        fetch: ConditionalFetch = conditional_fetch,
        clock: Callable[[], datetime] = _utc_now,
        sequence_numbers: Mapping[str, int] | None = None,
    ) -> None:
        self._lists = dict(lists)
        self._agreement_urls = tuple(agreement_urls)
        self._fetch = fetch
        self._clock = clock
        self._snapshot = _Snapshot(sequence_numbers=dict(sequence_numbers or {}))
        # Refreshes are serialised so two cannot interleave their fetches; readers only
        # take _lock for the instant it takes to read one reference.
        self._refreshing = threading.Lock()
        self._lock = threading.Lock()

    @property
    def federation(self) -> Federation | None:
        """The view in force: every list and agreement in it verified together."""
        with self._lock:
            return self._snapshot.federation

    @property
    def sequence_numbers(self) -> dict[str, int]:
        """The highest sequence number accepted per territory, for persisting."""
        with self._lock:
            return dict(self._snapshot.sequence_numbers)

    def refresh(self) -> RefreshResult:
        """Fetch everything; swap in the new view only if every document verifies."""
        with self._refreshing:
            with self._lock:
                old = self._snapshot
            now = self._clock()
            try:
                copies, changed = self._fetch_all(old)
            except TrustError as exc:
                return RefreshResult(RefreshStatus.KEPT, old.federation, str(exc))
            if not changed and old.federation is not None:
                return RefreshResult(
                    RefreshStatus.UNCHANGED, old.federation, _expiry_warning(old.federation, now)
                )
            try:
                federation = verified_federation(
                    self._lists,
                    {t: copies[p.url].body for t, p in self._lists.items()},
                    {url: copies[url].body for url in self._agreement_urls},
                    now=now,
                    last_sequence_numbers=old.sequence_numbers,
                )
            except TrustError as exc:
                return RefreshResult(RefreshStatus.KEPT, old.federation, str(exc), changed)
            sequence_numbers = dict(old.sequence_numbers)
            sequence_numbers.update(
                {t: tl.sequence_number for t, tl in federation.trust_lists.items()}
            )
            with self._lock:
                self._snapshot = _Snapshot(federation, copies, sequence_numbers)
            return RefreshResult(RefreshStatus.UPDATED, federation, changed=changed)

    def _fetch_all(self, old: _Snapshot) -> tuple[dict[str, _Copy], tuple[str, ...]]:
        """A copy of every document, and the URLs whose bytes changed."""
        urls = [p.url for p in self._lists.values()] + list(self._agreement_urls)
        copies: dict[str, _Copy] = {}
        changed: list[str] = []
        for url in dict.fromkeys(urls):
            previous = old.copies.get(url)
            if previous is None:
                answer = self._fetch(url, None, None)
            else:
                answer = self._fetch(url, previous.etag, previous.last_modified)
            if answer.body is None:
                if previous is None:
                    raise TrustError(f"cannot fetch {url}: HTTP 304 to an unconditional request")
                copies[url] = previous
                continue
            copies[url] = _Copy(answer.body, answer.etag, answer.last_modified)
            if previous is None or previous.body != answer.body:
                changed.append(url)
        return copies, tuple(changed)


def _expiry_warning(federation: Federation, now: datetime) -> str | None:
    expired = [tl for tl in federation.trust_lists.values() if tl.next_update <= now]
    if not expired:
        return None
    return "; ".join(
        f"trust list of {tl.territory} expired at {tl.next_update.isoformat()} and its "
        "publisher has not issued a newer one"
        for tl in expired
    )
