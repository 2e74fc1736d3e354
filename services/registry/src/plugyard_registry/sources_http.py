"""Conditional GETs for the export source, with the standard library (blocking: call it in a thread).

`http(s)://` and `file://` URLs; a response larger than `limit` is refused rather than read into memory.
"""

from __future__ import annotations

import http.client
import urllib.request
from dataclasses import dataclass
from urllib.error import HTTPError, URLError

TIMEOUT_S = 30.0


class FetchFailed(Exception):
    """The URL could not be read; the message names it and why. The next poll tries again."""


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since the validators sent
    etag: str | None = None
    last_modified: str | None = None


def fetch(url: str, *, limit: int, etag: str | None = None, last_modified: str | None = None) -> Fetched:
    headers = {"User-Agent": "plugyard-registry"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S) as response:
            body = response.read(limit + 1)
            if len(body) > limit:
                raise FetchFailed(f"{url}: larger than {limit} bytes")
            return Fetched(body, response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        raise FetchFailed(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except URLError as exc:
        raise FetchFailed(f"{url}: {exc.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts, resets, truncated or malformed responses
        raise FetchFailed(f"{url}: {type(exc).__name__}: {exc}") from None
