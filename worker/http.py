"""The one HTTP client: timeouts, size limits, SSRF guard, redirects, conditional GET.

Every outbound request of the service goes through `HttpClient.get`, so limits and
politeness are enforced in one place.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from worker.errors import FetchError
from worker.politeness import LocalHostGate, RedisHostGate, RobotsCache
from worker.settings import Settings

REDIRECTS = (301, 302, 303, 307, 308)
PERMANENT_REDIRECTS = (301, 308)
TRANSIENT_STATUSES = (408, 425, 429, 500, 502, 503, 504)
METADATA_HOSTS = {"metadata.google.internal", "metadata"}


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


def check_public_host(url: str) -> None:
    """Refuse a URL whose host resolves to a loopback, private, link-local or metadata address.

    Checked after DNS resolution, on every address the name resolves to.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.lower() in METADATA_HOSTS:
        raise FetchError(f"{host} is a cloud metadata host", reason="blocked_address")
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc}", reason="dns_failed",
                         transient=True) from exc
    for info in infos:
        address = info[4][0]
        if not _address_is_public(address):
            raise FetchError(f"{host} resolves to non-public address {address}",
                             reason="blocked_address")


class HttpClient:
    """Streaming GET with limits. One instance per process; thread-safe."""

    def __init__(self, settings: Settings, gate=None) -> None:
        self.settings = settings
        self.gate = gate or make_gate(settings)
        self.robots = RobotsCache(self._robots_txt, settings.robots_cache_seconds)
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False,
            headers={"User-Agent": settings.user_agent(),
                     "Accept-Language": "fr,fr-FR;q=0.9,en;q=0.5",
                     "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, max_bytes: int, accept: str = "*/*",
            etag: str | None = None, last_modified: str | None = None,
            allowed_types: tuple[str, ...] | None = None,
            allow_private: bool | None = None) -> Fetched:
        """GET `url`, following up to `max_redirects` redirects, each hop checked.

        Raises FetchError with a reason for every failure (status >= 400 included);
        a 304 is returned, not raised.
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
            if not allow_private:
                check_public_host(current)
            try:
                with self.gate.slot(urlsplit(current).netloc, deadline):
                    status, resp_headers, body = self._request(current, headers, max_bytes,
                                                               deadline)
            except TimeoutError as exc:
                raise FetchError(str(exc), reason="host_busy", transient=True) from exc
            if status in REDIRECTS and "location" in resp_headers:
                target = urljoin(current, resp_headers["location"])
                if len(hops) >= self.settings.max_redirects or target in hops or target == current:
                    raise FetchError(f"too many redirects or a loop at {target}",
                                     reason="redirect_loop", status=status)
                all_permanent = all_permanent and status in PERMANENT_REDIRECTS
                hops.append(current)
                current = target
                continue
            break
        permanent = current if hops and all_permanent else None
        fetched = Fetched(url=current, status=status, body=body, headers=resp_headers,
                          elapsed=time.monotonic() - started, permanent_redirect=permanent,
                          redirects=tuple(hops))
        self._check(fetched, allowed_types)
        return fetched

    def _robots_txt(self, url: str, allow_private: bool | None = None) -> tuple[int, bytes]:
        try:
            fetched = self.get(url, max_bytes=512 * 1024, accept="text/plain",
                               allow_private=allow_private)
        except FetchError as exc:
            if exc.status and 400 <= exc.status < 500:
                return exc.status, b""
            raise
        return fetched.status, fetched.body

    def _request(self, url: str, headers: dict[str, str], max_bytes: int,
                 deadline: float) -> tuple[int, dict[str, str], bytes]:
        try:
            # Ask for identity encoding where we can and decompress ourselves, so that the
            # decompressed size is bounded too (a gzip bomb is small on the wire).
            with self._client.stream("GET", url, headers=headers) as response:
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code in REDIRECTS or response.status_code == 304:
                    return response.status_code, resp_headers, b""
                declared = resp_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(f"body of {declared} bytes is over the {max_bytes} limit",
                                     reason="too_large", status=response.status_code)
                body = self._read_limited(response, max_bytes, deadline)
                return response.status_code, resp_headers, body
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchError(f"timeout: {exc!r}", reason="timeout", transient=True) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"network error: {exc}", reason="network_error",
                             transient=True) from exc

    def _read_limited(self, response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        decoder = _Decoder(response.headers.get("content-encoding", ""))
        for raw in response.iter_raw():
            chunk = decoder.feed(raw, max_bytes - size)
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


def make_gate(settings: Settings):
    """Politeness shared through Redis when the broker is Redis, else within this process."""
    broker = settings.resolved_broker_url()
    if broker.startswith(("redis://", "rediss://")):
        return RedisHostGate(broker, settings.per_host_delay_seconds,
                             settings.per_host_concurrency)
    return LocalHostGate(settings.per_host_delay_seconds, settings.per_host_concurrency)


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
