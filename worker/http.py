"""The one HTTP client: timeouts, size limits, SSRF guard with pinned DNS, robots.txt,
redirects, conditional GET.

Every outbound request of the service goes through `HttpClient.get`, so limits and
politeness are enforced in one place.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
import redis.exceptions
from httpcore import NetworkStream

from worker.errors import FetchError
from worker.politeness import (
    HostBusy,
    LocalHostGate,
    RedisHostGate,
    RedisRobotsStore,
    RobotsCache,
)
from worker.settings import Settings

REDIRECTS = (301, 302, 303, 307, 308)
# The shared politeness store (the broker's Redis) unreachable, and how long a request
# then waits before it is tried again.
SHARED_STORE_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
SHARED_STORE_RETRY = 5.0
PERMANENT_REDIRECTS = (301, 308)
TRANSIENT_STATUSES = (408, 425, 429, 500, 502, 503, 504)
METADATA_HOSTS = {"metadata.google.internal", "metadata"}
DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 9309 2.5: a parser must read at least 500 KiB; what is past that is ignored.
ROBOTS_MAX_BYTES = 512 * 1024
# What is read of a redirect's or a 304's body, for the connection's sake only.
DISCARDED_BODY_BYTES = 64 * 1024
# Idle connections kept per process for the next request to the same origin: few, since
# the pool scans them all on every request (measured: 4 kept costs ~0.2 ms per request over
# 1,000 hosts and saves the connection to a host asked again within keepalive_expiry).
KEPT_CONNECTIONS = 4
Resolver = Callable[..., list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Fetched:
    """A response as served, after redirects."""

    url: str  # the final URL
    status: int
    body: bytes
    headers: dict[str, str]
    elapsed: float
    permanent_redirect: str | None = None
    redirects: tuple[str, ...] = field(default_factory=tuple)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class Target:
    """Where one hop connects: the checked addresses of `host`, tried in order.

    The Host header and the TLS server name (SNI, certificate check) stay `host`.
    """

    host: str  # ASCII (IDN in punycode), as httpx sends it
    port: int
    addresses: tuple[str, ...]

    @property
    def ip(self) -> str:
        return self.addresses[0]


def pin(url: str, resolver: Resolver = socket.getaddrinfo, allow_private: bool = False) -> Target:
    """Resolve the URL's host once and check every address it has.

    The returned addresses are the only ones the client connects to for this hop, so a DNS
    answer that changes between the check and the connection (rebinding) has no effect.
    """
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii").lower()
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", reason="bad_url") from exc
    port = parsed.port or DEFAULT_PORTS.get(parsed.scheme, 80)
    if not host:
        raise FetchError(f"no host in {url!r}", reason="bad_url")
    if not allow_private and host.rstrip(".") in METADATA_HOSTS:
        raise FetchError(f"{host} is a cloud metadata host", reason="blocked_address")
    addresses = _resolve(host, port, resolver)
    if not allow_private:
        for address in addresses:
            if not _address_is_public(address):
                raise FetchError(f"{host} resolves to non-public address {address}",
                                 reason="blocked_address")
    return Target(host, port, addresses)


def _resolve(host: str, port: int, resolver: Resolver) -> tuple[str, ...]:
    try:
        ipaddress.ip_address(host)
        return (host,)  # an address literal: nothing to resolve
    except ValueError:
        pass
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}", reason="dns_failed",
                         transient=True) from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(f"{host} has no address", reason="dns_failed", transient=True)
    return addresses


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to the addresses pinned for this thread's
    current hop; it never resolves a name itself."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def pinned(self, target: Target) -> Iterator[None]:
        self._local.target = target
        try:
            yield
        finally:
            self._local.target = None

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> NetworkStream:
        target: Target | None = getattr(self._local, "target", None)
        if target is None or (target.host, target.port) != (host.lower(), port):
            raise httpcore.ConnectError(f"no checked address for {host}:{port}")
        error: Exception | None = None
        for address in target.addresses:  # every one of them passed the check
            try:
                return super().connect_tcp(address, port, timeout, local_address,
                                           socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")


def _transport(backend: PinnedBackend) -> httpx.HTTPTransport:
    """httpx's transport with its connection pool on the pinned backend (httpx has no
    public option for a network backend)."""
    transport = httpx.HTTPTransport(trust_env=False)
    # Bounded: a bare httpx.Limits() keeps an idle connection to every host met in the last
    # keepalive_expiry seconds, and httpcore's pool walks them all (quadratically) on each
    # request: with 1,000 hosts that was ~15 ms of CPU per request. A few kept connections
    # still serve the next request to the same origin.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=KEPT_CONNECTIONS,
                          keepalive_expiry=5.0)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, network_backend=backend)
    return transport


class HttpClient:
    """Streaming GET with limits. One instance per process; thread-safe.

    `resolver` is called like socket.getaddrinfo(host, port, type=SOCK_STREAM), once per
    request hop; tests pass a stub.
    """

    def __init__(self, settings: Settings, gate=None,
                 resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.gate = gate or make_gate(settings)
        self.resolver: Resolver = resolver or socket.getaddrinfo
        self.robots = RobotsCache(self._robots_txt, settings.robots_cache_seconds,
                                  settings.robots_retry_seconds, make_robots_store(settings))
        self._backend = PinnedBackend()
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False,
            transport=_transport(self._backend),
            headers={"User-Agent": settings.user_agent(),
                     "Accept-Language": "fr,fr-FR;q=0.9,en;q=0.5",
                     "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        self._client.close()

    def pin(self, url: str, allow_private: bool | None = None) -> Target:
        """The checked target one request to `url` would connect to (see `pin`)."""
        allow = self.settings.allow_private_networks if allow_private is None \
            else allow_private
        return pin(url, self.resolver, allow)

    def get(self, url: str, *, max_bytes: int, accept: str = "*/*",
            etag: str | None = None, last_modified: str | None = None,
            allowed_types: tuple[str, ...] | None = None,
            allow_private: bool | None = None, respect_robots: bool = False,
            truncate: bool = False) -> Fetched:
        """GET `url`, following up to `max_redirects` redirects, each hop checked.

        Every hop is resolved once and connected to at a checked address. With
        `respect_robots`, every hop is checked against its origin's robots.txt first and
        waits the origin's Crawl-delay. With `truncate`, a body over `max_bytes` is cut
        there instead of failing. Raises FetchError with a reason for every failure
        (status >= 400 included); a 304 is returned, not raised.
        """
        allow_private = self.settings.allow_private_networks if allow_private is None \
            else allow_private
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.settings.total_timeout
        started = time.monotonic()
        hops: list[str] = []
        all_permanent = True  # a feed moved for good only if every hop says so
        current = url
        while True:
            target = pin(current, self.resolver, allow_private)
            delay = self.settings.per_host_delay_seconds
            try:
                if respect_robots:
                    delay = max(delay, self._obey_robots(current, allow_private))
                with self.gate.slot(urlsplit(current).netloc, deadline, delay=delay):
                    status, resp_headers, body = self._request(
                        current, target, headers, max_bytes, deadline, truncate)
            except HostBusy as exc:
                # retry_after: the host's turn, or (all its slots held) its delay.
                wait = exc.retry_after if exc.retry_after is not None else delay
                raise FetchError(str(exc), reason="host_busy", transient=True,
                                 retry_after=wait) from exc
            except SHARED_STORE_DOWN as exc:
                # The hosts' turns and robots.txt answers are shared through the broker's
                # Redis: while it is away no host's turn is known. Not the page's fault:
                # the request waits (the attempt is given back), as for a busy host.
                from worker.outage import BROKER

                BROKER.begin(exc)
                raise FetchError(f"politeness store unreachable: {exc}", reason="host_busy",
                                 transient=True, retry_after=SHARED_STORE_RETRY) from exc
            if status in REDIRECTS and "location" in resp_headers:
                target_url = urljoin(current, resp_headers["location"])
                if len(hops) >= self.settings.max_redirects or target_url in hops \
                        or target_url == current:
                    raise FetchError(f"too many redirects or a loop at {target_url}",
                                     reason="redirect_loop", status=status)
                all_permanent = all_permanent and status in PERMANENT_REDIRECTS
                hops.append(current)
                current = target_url
                continue
            break
        permanent = current if hops and all_permanent else None
        fetched = Fetched(url=current, status=status, body=body, headers=resp_headers,
                          elapsed=time.monotonic() - started, permanent_redirect=permanent,
                          redirects=tuple(hops))
        self._check(fetched, allowed_types)
        return fetched

    def _obey_robots(self, url: str, allow_private: bool) -> float:
        """Raise unless robots.txt lets us fetch `url`; the origin's Crawl-delay (capped)."""
        rules = self.robots.rules(url, allow_private=allow_private)
        if rules.failure is not None:  # no answer at all: the site itself is unreachable
            failure = rules.failure
            raise FetchError(f"robots.txt of {url} could not be fetched: {failure}",
                             reason=failure.reason, status=failure.status, transient=True)
        if rules.unreachable:
            raise FetchError(f"robots.txt of {url} could not be fetched: nothing is fetched "
                             "from that site until it can", reason="robots_unreachable",
                             transient=True, retry_after=self.settings.robots_retry_seconds)
        if not rules.allows(url):
            raise FetchError(f"robots.txt disallows {url}", reason="robots_disallowed")
        return min(rules.crawl_delay or 0.0, self.settings.max_crawl_delay_seconds)

    def _robots_txt(self, url: str, allow_private: bool | None = None) -> tuple[int, bytes]:
        """(status, body) of a robots.txt, fetched with the same guard, limits and gate,
        never itself checked against robots (no recursion). Network errors raise."""
        try:
            fetched = self.get(url, max_bytes=ROBOTS_MAX_BYTES, accept="text/plain",
                               allow_private=allow_private, truncate=True)
        except FetchError as exc:
            if exc.reason == "redirect_loop":
                return 404, b""  # RFC 9309 2.3.1.2: past 5 redirects, "unavailable"
            if exc.status and exc.status >= 400:
                return exc.status, b""
            raise
        return fetched.status, fetched.body

    def _request(self, url: str, target: Target, headers: dict[str, str], max_bytes: int,
                 deadline: float, truncate: bool) -> tuple[int, dict[str, str], bytes]:
        try:
            # Ask for identity encoding where we can and decompress ourselves, so that the
            # decompressed size is bounded too (a gzip bomb is small on the wire).
            with self._backend.pinned(target), \
                    self._client.stream("GET", url, headers=headers) as response:
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code in REDIRECTS or response.status_code == 304:
                    # Read to the end of the (empty or short) body: only a finished
                    # response hands its connection back to the pool for the next request
                    # to this origin; a long one is cut and its connection dropped.
                    self._read_limited(response, DISCARDED_BODY_BYTES, deadline, truncate=True)
                    return response.status_code, resp_headers, b""
                declared = resp_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes and not truncate:
                    raise FetchError(f"body of {declared} bytes is over the {max_bytes} limit",
                                     reason="too_large", status=response.status_code)
                body = self._read_limited(response, max_bytes, deadline, truncate)
                return response.status_code, resp_headers, body
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchError(f"timeout: {exc!r}", reason="timeout", transient=True) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"network error: {exc}", reason="network_error",
                             transient=True) from exc

    def _read_limited(self, response: httpx.Response, max_bytes: int, deadline: float,
                      truncate: bool = False) -> bytes:
        chunks: list[bytes] = []
        size = 0
        decoder = _Decoder(response.headers.get("content-encoding", ""))
        for raw in response.iter_raw():
            chunk = decoder.feed(raw, max_bytes - size)
            if truncate and (size + len(chunk) > max_bytes or decoder.overflow):
                chunks.append(chunk[:max_bytes - size])
                break
            size += len(chunk)
            if size > max_bytes or decoder.overflow:
                raise FetchError(f"body over the {max_bytes} byte limit",
                                 reason="too_large", status=response.status_code)
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise FetchError("total time limit reached while reading the body",
                                 reason="timeout", transient=True)
        return b"".join(chunks)

    @staticmethod
    def _check(fetched: Fetched, allowed_types: tuple[str, ...] | None) -> None:
        if fetched.status == 304:
            return
        if fetched.status >= 400:
            reason = "gone" if fetched.status == 410 else f"http_{fetched.status}"
            raise FetchError(f"HTTP {fetched.status} from {fetched.url}", reason=reason,
                             status=fetched.status,
                             transient=fetched.status in TRANSIENT_STATUSES,
                             retry_after=parse_retry_after(fetched.headers.get("retry-after")))
        if allowed_types and fetched.content_type and not any(
                fetched.content_type.startswith(t) for t in allowed_types):
            raise FetchError(f"content type {fetched.content_type!r} is not accepted",
                             reason="bad_content_type", status=fetched.status)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _redis_broker(settings: Settings) -> str | None:
    broker = settings.resolved_broker_url()
    return broker if broker.startswith(("redis://", "rediss://")) else None


def make_gate(settings: Settings):
    """Politeness shared through Redis when the broker is Redis, else within this process."""
    broker = _redis_broker(settings)
    if broker:
        # A slot held by a worker that died is freed after the longest a request can take.
        return RedisHostGate(broker, settings.per_host_delay_seconds,
                             settings.per_host_concurrency,
                             lease=settings.total_timeout + settings.connect_timeout + 5,
                             max_wait=settings.max_slot_wait_seconds)
    return LocalHostGate(settings.per_host_delay_seconds, settings.per_host_concurrency)


def make_robots_store(settings: Settings) -> RedisRobotsStore | None:
    """robots.txt shared by the worker processes when the broker is Redis."""
    broker = _redis_broker(settings)
    return RedisRobotsStore(broker) if broker else None


class _Decoder:
    """Incremental gzip/deflate decoding that stops at a byte budget."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        self.overflow = False
        if encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            self._z = None

    def feed(self, raw: bytes, budget: int) -> bytes:
        if self._z is None:
            return raw
        try:
            out = self._z.decompress(raw, max(budget, 0) + 1)
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body: {exc}", reason="bad_encoding") from exc
        if self._z.unconsumed_tail:
            self.overflow = True
        return out


FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml",
              "application/rdf+xml", "application/feed+json", "text/plain", "text/html",
              "application/octet-stream", "application/x-rss+xml")
PAGE_TYPES = ("text/html", "application/xhtml+xml")
