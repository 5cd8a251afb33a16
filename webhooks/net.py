"""Where a webhook may be sent, and sending it there.

A URL is checked by the addresses its host resolves to: every one must be a public address
(not loopback, private, link-local, multicast, reserved or unspecified) unless
WEBHOOK_ALLOW_PRIVATE or WEBHOOK_ALLOWED_NETWORKS says otherwise. The request then goes to the
very address that was checked (the Host header and TLS name stay the URL's), so a DNS answer
that changes between check and connect (rebinding) is never used. No redirects are followed.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

EXCERPT_BYTES = 1024
USER_AGENT = "leaderboard-server-webhooks/1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedUrl(Exception):
    """The URL may not receive webhooks; the message says why."""


class SendError(Exception):
    """No answer came: the connection failed or timed out."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the checked IP to connect to

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    latency_ms: float


def _allowed(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for network in settings.WEBHOOK_ALLOWED_NETWORKS:
        if address in ipaddress.ip_network(network, strict=False):
            return True
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return True
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def parse(url: str) -> tuple[str, str, int, str]:
    """The scheme, host, port and path of an http(s) URL; RefusedUrl for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedUrl(f"Not a valid URL: {exc}.") from exc
    if parts.scheme not in {"http", "https"}:
        raise RefusedUrl("Only http and https URLs can receive webhooks.")
    if not parts.hostname:
        raise RefusedUrl("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("The URL may not carry credentials; use the signature to authenticate.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check(url: str) -> Target:
    """Resolve the URL's host and check every address it has; the target to connect to."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise RefusedUrl(f"The host {host} does not resolve: {exc}.") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    refused = [str(a) for a in addresses if not _allowed(a)]
    if refused or not addresses:
        raise RefusedUrl(
            f"The host {host} resolves to a loopback, private, link-local, multicast or "
            f"reserved address ({', '.join(refused)}); webhooks go to public addresses only."
        )
    return Target(scheme, host, port, path, str(addresses[0]))


def send(target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to the checked address; the answer's status and the first bytes of its body."""
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_TIMEOUT, read=settings.WEBHOOK_TIMEOUT)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, timeout=timeout, retries=False,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False
        )
    all_headers = {"Host": target.host_header, "User-Agent": USER_AGENT,
                   "Content-Type": "application/json", **headers}  # fmt: skip
    started = time.perf_counter()
    try:
        with pool:
            response = pool.urlopen("POST", target.path, body=body, headers=all_headers,
                                    redirect=False, preload_content=False)  # fmt: skip
            try:
                excerpt = response.read(EXCERPT_BYTES)
            finally:
                response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise SendError(f"{type(exc).__name__}: {exc}"[:500]) from exc
    latency_ms = (time.perf_counter() - started) * 1000
    return Answer(response.status, excerpt.decode("utf-8", "replace"), round(latency_ms, 2))
