"""RFC 3161 client over HTTP for pyHanko, on the standard library.

Keeping our own client means one HTTP stack for the platform and a typed error when the
TSA is unreachable or answers with something that is not a timestamp reply.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from asn1crypto import tsp
from pyhanko.sign.timestamps.api import TimeStamper

from sealbridge.errors import SealBridgeError


class TimestampUnavailable(SealBridgeError):
    """The TSA could not be reached or did not answer with a timestamp reply."""


class HttpTimeStamper(TimeStamper):
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        super().__init__()
        self.url = url
        self.timeout = timeout

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await asyncio.to_thread(self._post, req.dump())

    def _post(self, body: bytes) -> tsp.TimeStampResp:
        request = urllib.request.Request(
            self.url,
            data=body,
            headers={"Content-Type": "application/timestamp-query"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content_type = response.headers.get("Content-Type", "")
                payload = response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise TimestampUnavailable(f"TSA at {self.url} unreachable: {exc}") from exc
        if content_type != "application/timestamp-reply":
            raise TimestampUnavailable(f"TSA at {self.url} answered {content_type!r}")
        try:
            reply = tsp.TimeStampResp.load(payload)
            # Only the status is read here: asn1crypto's .native on the whole reply would
            # make every later re-encoding of the token walk it again (seconds, not ms).
            reply["status"]["status"].native  # noqa: B018 - parse the status or fail here
        except (ValueError, TypeError, KeyError) as exc:
            raise TimestampUnavailable(f"TSA at {self.url} sent an unreadable reply") from exc
        return reply
