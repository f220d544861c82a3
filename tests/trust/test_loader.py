"""TrustListCache over real HTTP: all-or-nothing swaps, conditional requests, rollback."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sealbridge.errors import TrustError
from sealbridge.trust.loader import (
    PublishedList,
    RefreshStatus,
    TrustListCache,
    fetch,
    load_federation,
)
from sealbridge.trust.signed import agreement_payload, sign_document, trust_list_payload
from sealbridge.trust.xml import to_xml
from support.trust import NOW, Operator, agreement

AGREEMENT = "/agreements/SZ-HK.json"


@dataclass
class Request:
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int


@dataclass
class Publisher:
    """A web server whose documents tests replace; ``validators`` picks what it sends."""

    validators: str = "etag"  # "etag", "last-modified" or "none"
    documents: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    clock: int = 1_790_000_000
    base_url: str = ""

    def put(self, path: str, body: bytes) -> None:
        self.clock += 1  # Last-Modified has one-second resolution: one second per edit
        self.documents[path] = (body, self.clock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def answer(self, path: str, headers: Any) -> tuple[int, bytes, dict[str, str]]:
        if path not in self.documents:
            return 404, b"not here\n", {}
        body, modified = self.documents[path]
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        sent: dict[str, str] = {}
        if self.validators == "etag":
            sent["ETag"] = etag
            if headers.get("If-None-Match") == etag:
                return 304, b"", sent
        if self.validators == "last-modified":
            sent["Last-Modified"] = formatdate(modified, usegmt=True)
            since = headers.get("If-Modified-Since")
            if since and parsedate_to_datetime(since).timestamp() >= modified:
                return 304, b"", sent
        return 200, body, sent


@pytest.fixture
def publisher(request: pytest.FixtureRequest) -> Iterator[Publisher]:
    site = Publisher(getattr(request, "param", "etag"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, headers = site.answer(self.path, self.headers)
            site.log.append(
                Request(
                    self.path,
                    self.headers.get("If-None-Match"),
                    self.headers.get("If-Modified-Since"),
                    status,
                )
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
    thread.join()


def _json_list(op: Operator, sequence: int) -> bytes:
    return sign_document(trust_list_payload(op.trust_list(sequence)), [(op.key, op.certificate)])


def _xml_list(op: Operator, sequence: int) -> bytes:
    return to_xml(op.trust_list(sequence), op.key, op.certificate)


def _agreement(*signers: Operator) -> bytes:
    return sign_document(
        agreement_payload(agreement("SZ", "HK")), [(op.key, op.certificate) for op in signers]
    )


def _publish(site: Publisher, ops: dict[str, Operator], sequence: int) -> None:
    """SZ publishes ETSI XML, HK SealBridge JSON; the agreement is signed by both."""
    site.put("/SZ.xml", _xml_list(ops["SZ"], sequence))
    site.put("/HK.json", _json_list(ops["HK"], sequence))
    site.put(AGREEMENT, _agreement(ops["SZ"], ops["HK"]))


def _cache(site: Publisher, ops: dict[str, Operator], **kwargs: Any) -> TrustListCache:
    lists = {
        "SZ": PublishedList(site.url("/SZ.xml"), ops["SZ"].certificate),
        "HK": PublishedList(site.url("/HK.json"), ops["HK"].certificate),
    }
    kwargs.setdefault("clock", lambda: NOW)
    return TrustListCache(lists, [site.url(AGREEMENT)], **kwargs)


def _sequences(cache: TrustListCache) -> dict[str, int]:
    federation = cache.federation
    assert federation is not None
    return {code: tl.sequence_number for code, tl in federation.trust_lists.items()}


def test_first_refresh_loads_xml_and_json_lists(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    assert cache.federation is None
    result = cache.refresh()
    assert result.status is RefreshStatus.UPDATED, result.reason
    assert result.federation is cache.federation
    assert _sequences(cache) == {"SZ": 1, "HK": 1}
    assert [a.label for a in result.federation.agreements] == ["SZ<->HK"]
    assert cache.sequence_numbers == {"SZ": 1, "HK": 1}


def test_good_update_is_swapped_in(publisher: Publisher, operators: dict[str, Operator]) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    cache.refresh()
    publisher.put("/SZ.xml", _xml_list(operators["SZ"], 2))
    result = cache.refresh()
    assert result.status is RefreshStatus.UPDATED
    assert result.changed == (publisher.url("/SZ.xml"),)
    assert _sequences(cache) == {"SZ": 2, "HK": 1}


@pytest.mark.parametrize("publisher", ["etag", "last-modified"], indirect=True)
def test_unchanged_documents_cost_a_304(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    before = cache.refresh().federation
    publisher.log.clear()
    result = cache.refresh()
    assert result.status is RefreshStatus.UNCHANGED and result.reason is None
    assert result.federation is before
    assert [r.status for r in publisher.log] == [304, 304, 304]
    sent = [r.if_none_match or r.if_modified_since for r in publisher.log]
    assert all(sent)


@pytest.mark.parametrize("publisher", ["none"], indirect=True)
def test_without_validators_bytes_are_compared(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    before = cache.refresh().federation
    publisher.log.clear()
    result = cache.refresh()
    assert result.status is RefreshStatus.UNCHANGED
    assert result.federation is before
    assert [(r.status, r.if_none_match, r.if_modified_since) for r in publisher.log] == [
        (200, None, None)
    ] * 3
    publisher.put("/HK.json", _json_list(operators["HK"], 2))
    assert cache.refresh().status is RefreshStatus.UPDATED
    assert _sequences(cache) == {"SZ": 1, "HK": 2}


def test_tampered_update_keeps_the_old_view(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    before = cache.refresh().federation
    envelope = json.loads(_json_list(operators["HK"], 2))
    envelope["payload"]["operator"] = "Mallory"
    publisher.put("/HK.json", json.dumps(envelope).encode())
    publisher.put("/SZ.xml", _xml_list(operators["SZ"], 2))
    for _ in range(2):  # a refused document never becomes the baseline of "unchanged"
        result = cache.refresh()
        assert result.status is RefreshStatus.KEPT
        assert result.reason is not None
        assert publisher.url("/HK.json") in result.reason and "does not verify" in result.reason
        assert cache.federation is before
    assert _sequences(cache) == {"SZ": 1, "HK": 1}  # not even the good SZ list alone
    publisher.put("/HK.json", _json_list(operators["HK"], 2))
    assert cache.refresh().status is RefreshStatus.UPDATED
    assert _sequences(cache) == {"SZ": 2, "HK": 2}


def test_half_published_agreement_keeps_the_old_view(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    before = cache.refresh().federation
    publisher.put(AGREEMENT, _agreement(operators["SZ"]))  # HK has not countersigned yet
    result = cache.refresh()
    assert result.status is RefreshStatus.KEPT
    assert result.reason is not None and "not signed by" in result.reason
    assert cache.federation is before


def test_rollback_is_refused(publisher: Publisher, operators: dict[str, Operator]) -> None:
    _publish(publisher, operators, 3)
    cache = _cache(publisher, operators)
    cache.refresh()
    publisher.put("/SZ.xml", _xml_list(operators["SZ"], 2))
    result = cache.refresh()
    assert result.status is RefreshStatus.KEPT
    assert result.reason is not None and "rolled back: sequence 2 < 3" in result.reason
    assert _sequences(cache) == {"SZ": 3, "HK": 3}


def test_remembered_sequence_numbers_protect_the_first_refresh(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators, sequence_numbers={"HK": 5})
    result = cache.refresh()
    assert result.status is RefreshStatus.KEPT and result.federation is None
    assert result.reason is not None and "rolled back" in result.reason


def test_unreachable_document_keeps_the_old_view(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    before = cache.refresh().federation
    del publisher.documents[AGREEMENT]
    result = cache.refresh()
    assert result.status is RefreshStatus.KEPT
    assert result.reason is not None and "HTTP 404" in result.reason
    assert cache.federation is before


def test_expired_list_is_reported_while_unchanged(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    _publish(publisher, operators, 1)
    now = [NOW]
    cache = _cache(publisher, operators, clock=lambda: now[0])
    cache.refresh()
    now[0] = NOW + timedelta(days=31)
    result = cache.refresh()
    assert result.status is RefreshStatus.UNCHANGED
    assert result.reason is not None and "trust list of SZ expired" in result.reason


def test_concurrent_readers_never_see_a_mix(
    publisher: Publisher, operators: dict[str, Operator]
) -> None:
    """Each refresh moves both lists to the same sequence; no reader may see them differ."""
    _publish(publisher, operators, 1)
    cache = _cache(publisher, operators)
    cache.refresh()
    stop = threading.Event()
    seen: list[set[tuple[int, int]]] = []
    problems: list[str] = []

    def read() -> None:
        mine: set[tuple[int, int]] = set()
        last = 0
        while not stop.is_set():
            federation = cache.federation
            assert federation is not None
            sz = federation.trust_lists["SZ"].sequence_number
            hk = federation.trust_lists["HK"].sequence_number
            if sz != hk or sz < last:
                problems.append(f"saw SZ {sz} with HK {hk} after {last}")
            last = sz
            mine.add((sz, hk))
            time.sleep(0)  # let the refreshing thread run between reads
        seen.append(mine)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for sequence in range(2, 7):
            publisher.put("/SZ.xml", _xml_list(operators["SZ"], sequence))
            publisher.put("/HK.json", _json_list(operators["HK"], sequence))
            assert cache.refresh().status is RefreshStatus.UPDATED
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not problems
    views = set().union(*seen)
    assert views <= {(n, n) for n in range(1, 7)}
    assert len(views) > 1  # the readers really ran across swaps
    assert _sequences(cache) == {"SZ": 6, "HK": 6}


def test_load_federation_once(publisher: Publisher, operators: dict[str, Operator]) -> None:
    _publish(publisher, operators, 1)
    lists = {
        "SZ": PublishedList(publisher.url("/SZ.xml"), operators["SZ"].certificate),
        "HK": PublishedList(publisher.url("/HK.json"), operators["HK"].certificate),
    }
    federation = load_federation(lists, [publisher.url(AGREEMENT)], now=NOW)
    assert sorted(federation.trust_lists) == ["HK", "SZ"]
    swapped = {"SZ": lists["HK"], "HK": lists["SZ"]}
    with pytest.raises(TrustError, match=r"HK\.json is the list of HK, not SZ"):
        load_federation(swapped, [], now=NOW)


def test_fetch_names_the_url_it_could_not_get(publisher: Publisher) -> None:
    with pytest.raises(TrustError, match=r"cannot fetch .*/missing: HTTP 404"):
        fetch(publisher.url("/missing"))
