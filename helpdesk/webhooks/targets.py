"""Where a webhook may go: the checks against server-side request forgery (SSRF).

A partner names a URL and the helpdesk POSTs to it from inside the shop's network, so
a URL must not reach what only that network can: the machine itself, the cloud's
metadata service (169.254.169.254), the database, the intranet. A URL is refused

- when it is not `http` or `https`, carries credentials (`user:pass@`), or has no host;
- when its host is an IP address written in a form other than the usual one
  (`0x7f000001`, `2130706433`, `0177.0.0.1`, `127.1`: what the C resolver reads as
  127.0.0.1, and a checker reading it otherwise would let through);
- when its host is, or resolves to, an address that is loopback, link-local, private,
  shared (carrier NAT), multicast, unspecified, reserved or otherwise not public —
  every address the name resolves to, an IPv4 address inside IPv6 (`::ffff:127.0.0.1`,
  6to4, Teredo, NAT64) judged as the IPv4 address it carries.

The check runs when the subscription is made and again at every connection: the
delivery resolves the name once, checks every address and connects to a checked address
(`GuardedBackend`), so a name that resolves to something else by then (DNS rebinding)
gains nothing. Redirects are never followed (the delivery is a plain POST; a 3xx is a
failed attempt). WEBHOOK_ALLOW_PRIVATE_TARGETS lifts the address checks (not the
others) for tests and local development.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
from django.conf import settings
from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = [ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48")]
DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetRefused(Exception):
    """A URL or an address a webhook may not be sent to; str() says why, to a person."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, IDNA (ASCII), an IPv6 address without its brackets
    port: int


def parse_target(url: str) -> Target:
    """The scheme, host and port of a webhook URL, or TargetRefused saying what is wrong
    with it. Addresses are not looked at here (`check_url` does)."""
    if not isinstance(url, str) or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise TargetRefused(_("The URL must not contain spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused(_("This is not a valid URL.")) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise TargetRefused(_("Only http and https URLs can receive webhooks."))
    if "@" in parts.netloc:
        raise TargetRefused(_("The URL must not contain a user name or password."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused(_("The URL has no host."))
    if "%" in host:  # an IPv6 zone (fe80::1%eth0) names a local interface
        raise TargetRefused(_("This is not a valid URL."))
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise TargetRefused(_("The URL's host name is not valid.")) from None
    if port == 0:
        raise TargetRefused(_("This is not a valid URL."))
    return Target(scheme=scheme, host=host, port=port or DEFAULT_PORTS[scheme])


def literal_address(host: str) -> Address | None:
    """The address a host is when it is an IP address (None for a name); TargetRefused
    for a number in a form other than dotted decimal or standard IPv6."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)  # what the C library accepts: 0x7f.1, 2130706433, …
    except (OSError, ValueError):
        return None
    address = ipaddress.IPv4Address(packed)
    reason = refusal(address)
    if reason and not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        raise TargetRefused(reason)
    raise TargetRefused(
        _("Write the IP address in the usual dotted form (%(address)s).") % {"address": address}
    )


def refusal(address: Address) -> str | None:
    """Why a webhook may not be sent to this address, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            reason = refusal(carried)
            if reason:
                return reason
    kinds = [
        (address.is_loopback, _("a loopback address")),
        (address.is_link_local, _("a link-local address")),
        (address.is_multicast, _("a multicast address")),
        (address.is_unspecified, _("an unspecified address")),
        (address.is_reserved, _("a reserved address")),
        (address.is_private, _("a private address")),
        (getattr(address, "is_site_local", False), _("a private address")),
        (not address.is_global, _("not a public address")),
    ]
    for applies, kind in kinds:
        if applies:
            return _("Webhooks cannot be sent to %(address)s: it is %(kind)s.") % {
                "address": address,
                "kind": kind,
            }
    return None


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address the host resolves to, in the resolver's order (the one place the
    delivery asks DNS; tests replace it)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise TargetRefused(
            _("The host name %(host)s does not resolve.") % {"host": host}
        ) from None
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(host: str, port: int) -> list[Address]:
    """The addresses to connect to for this host: all of them allowed, else
    TargetRefused (one refused address refuses the host: a name that resolves to a
    public and a private address could be answered either way next time)."""
    host = host.strip("[]")
    literal = literal_address(host)
    addresses = [literal] if literal is not None else resolve(host, port)
    if not addresses:
        raise TargetRefused(_("The host name %(host)s does not resolve.") % {"host": host})
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            reason = refusal(address)
            if reason:
                raise TargetRefused(reason)
    return addresses


def check_url(url: str) -> Target:
    """A URL a subscription may have: its target, or TargetRefused saying why not."""
    target = parse_target(url)
    checked_addresses(target.host, target.port)
    return target


_attempt = threading.local()


class AttemptTooLong(httpcore.ReadTimeout):
    """The attempt's `deadline` passed (each read and write was within its timeout)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block (in this thread), every read and write of a GuardedBackend
    connection ends by `seconds` from now: httpcore's timeouts are per read, so a
    receiver dripping a byte at a time would otherwise hold a worker without end."""
    _attempt.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _attempt.deadline = None


def _time_left(timeout: float | None) -> float | None:
    at = getattr(_attempt, "deadline", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise AttemptTooLong("the attempt ran out of time")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _timeouts_told_apart() -> Iterator[None]:
    """A socket timeout cut short by the deadline is the deadline's (AttemptTooLong)."""
    try:
        yield
    except AttemptTooLong:
        raise
    except httpcore.TimeoutException:
        _time_left(None)  # raises AttemptTooLong when it is past
        raise


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _timeouts_told_apart():
            return self._stream.read(max_bytes, _time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _timeouts_told_apart():
            self._stream.write(buffer, _time_left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        with _timeouts_told_apart():
            return _DeadlineStream(
                self._stream.start_tls(ssl_context, server_hostname, _time_left(timeout))
            )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to checked addresses: the name is
    resolved here, every address checked, and the socket opened to the address checked
    (TLS still verifies the certificate against the name, which httpcore passes on).
    Its streams keep the `deadline` of the attempt they serve."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        error: Exception | None = None
        for address in checked_addresses(host, port):
            try:
                stream = super().connect_tcp(
                    str(address), port, _time_left(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as failed:  # the next address, as a browser would
                error = failed
            else:
                return _DeadlineStream(stream)
        assert error is not None
        raise error
