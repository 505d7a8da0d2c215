"""Files a partner names by URL (an inbound message's `attachments`), fetched safely.

The helpdesk fetches from inside the shop's network, so a URL must not reach what only
that network can: the same guard as the webhooks' (helpdesk/webhooks/targets.py) is
applied to the URL and to every redirect — http(s) only, no credentials, the host
resolved once and every address checked (no loopback, link-local, private or otherwise
non-public address, whatever form it is written in), the socket opened to the address
checked (DNS rebinding gains nothing). At most MAX_REDIRECTS redirects are followed,
each checked again.

The fetch is bounded: every connect and read waits at most INBOUND_FETCH_TIMEOUT, all
the files of one message are in by INBOUND_FETCH_DEADLINE (targets.deadline), and a
body larger than ATTACHMENT_MAX_SIZE is refused by its Content-Length or as soon as
that many bytes have arrived. What the bytes are is checked afterwards by the chat's own
attachment validation (conversations/files.py, through store_attachment).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
from django.conf import settings

from conversations.files import clean_name
from helpdesk.webhooks.targets import AttemptTooLong, GuardedBackend, TargetRefused, parse_target

MAX_REDIRECTS = 3
USER_AGENT = "Lumen-Helpdesk-Files/1"
REDIRECTS = {301, 302, 303, 307, 308}


class FetchFailed(Exception):
    """The file could not be fetched. `reason` is one of: refused (an address or a redirect
    the guard refuses), too_large, timeout, unreachable, http_error, too_many_redirects;
    `detail` says more, in English, for the log and the agents."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Fetched:
    url: str  # where the file came from, after redirects
    data: bytes
    content_type: str


def shown_name(url: str) -> str:
    """A name for a file named by a URL, for people (its last path part, cleaned)."""
    return clean_name(unquote(urlsplit(url).path.rsplit("/", 1)[-1]))


def open_pool() -> httpcore.ConnectionPool:
    """Connections through the guard (one pool for the files of one message)."""
    return httpcore.ConnectionPool(network_backend=GuardedBackend(), max_connections=4, retries=0)


def fetch(pool: httpcore.ConnectionPool, url: str) -> Fetched:
    """GET the file at `url` through the guard; FetchFailed saying why not. Call inside a
    targets.deadline() block (the whole message's time)."""
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                parse_target(url)
            except TargetRefused as refused:
                raise FetchFailed("refused", str(refused)) from None
            got = _get(pool, url)
            if isinstance(got, Fetched):
                return got
            url = got
        raise FetchFailed("too_many_redirects", f"more than {MAX_REDIRECTS} redirects")
    except TargetRefused as refused:
        raise FetchFailed("refused", str(refused)) from None
    except AttemptTooLong:
        raise FetchFailed(
            "timeout", f"not complete within {settings.INBOUND_FETCH_DEADLINE:g} s"
        ) from None
    except httpcore.TimeoutException:
        raise FetchFailed(
            "timeout", f"timed out after {settings.INBOUND_FETCH_TIMEOUT:g} s"
        ) from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as error:
        raise FetchFailed("unreachable", f"{type(error).__name__}: {error}"[:300]) from None


def _get(pool: httpcore.ConnectionPool, url: str) -> Fetched | str:
    """The file, or the URL a redirect points to."""
    timeout = settings.INBOUND_FETCH_TIMEOUT
    limit = settings.ATTACHMENT_MAX_SIZE
    with pool.stream(
        "GET",
        url,
        headers=[("User-Agent", USER_AGENT), ("Accept", "*/*")],
        extensions={
            "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        },
    ) as response:
        headers = {name.lower(): value for name, value in response.headers}
        if response.status in REDIRECTS:
            location = headers.get(b"location", b"").decode("latin-1").strip()
            if not location:
                raise FetchFailed("http_error", f"HTTP {response.status} without a Location")
            return urljoin(url, location)
        if not 200 <= response.status < 300:
            raise FetchFailed("http_error", f"HTTP {response.status}")
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            raise FetchFailed("too_large", f"{int(declared)} bytes, over {limit}")
        chunks, size = [], 0
        for chunk in response.iter_stream():
            size += len(chunk)
            if size > limit:
                raise FetchFailed("too_large", f"over {limit} bytes")
            chunks.append(chunk)
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip()
        return Fetched(url=url, data=b"".join(chunks), content_type=content_type)
