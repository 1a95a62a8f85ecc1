"""Per-host politeness: a minimum delay and a concurrency cap, and robots.txt (RFC 9309).

With Redis as the broker the limits are shared by every worker process on every machine;
in the embedded mode they hold within one process.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from worker.errors import FetchError

ROBOTS_AGENT = "newsworker"


class LocalHostGate:
    """Delay and concurrency per host, for the threads of one process."""

    def __init__(self, delay: float, concurrency: int) -> None:
        self.delay, self.concurrency = delay, concurrency
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # when the host's latest request started
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, host: str, deadline: float, delay: float | None = None) -> Iterator[None]:
        """Hold one of the host's slots, starting at least `delay` (default: the gate's)
        after the host's previous request; TimeoutError if that is past `deadline`."""
        delay = self.delay if delay is None else delay
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.concurrency))
        if not semaphore.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"no free slot for {host}")
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._last.get(host, float("-inf")) + delay)
                if start > deadline:  # not reserved: a later try is not pushed back
                    raise TimeoutError(f"{host} may not be asked again before the deadline")
                self._last[host] = start
            time.sleep(max(0.0, start - now))
            yield
        finally:
            semaphore.release()


# Atomically reserve a start time for a host, `delay` (ARGV[2]) after the host's latest
# start: returns when this request may start, or -1 (nothing reserved) if that is later
# than ARGV[4], the caller's deadline.
_RESERVE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '-1e18')
local start = math.max(tonumber(ARGV[1]), last + tonumber(ARGV[2]))
if start > tonumber(ARGV[4]) then return '-1' end
redis.call('SET', KEYS[1], tostring(start), 'PX', ARGV[3])
return tostring(start)
"""


class RedisHostGate:
    """The same limits, shared through Redis by all processes and machines."""

    def __init__(self, url: str, delay: float, concurrency: int, lease: float = 120.0) -> None:
        import redis

        self.delay, self.concurrency, self.lease = delay, concurrency, lease
        self.redis = redis.Redis.from_url(url, socket_timeout=5)
        self._reserve = self.redis.register_script(_RESERVE)

    @contextmanager
    def slot(self, host: str, deadline: float, delay: float | None = None) -> Iterator[None]:
        """As LocalHostGate.slot, for every process sharing the Redis server."""
        delay = self.delay if delay is None else delay
        key, token = f"newsworker:host:{host}:active", uuid.uuid4().hex
        while True:
            now = time.time()
            pipe = self.redis.pipeline()
            pipe.zremrangebyscore(key, 0, now - self.lease)  # holders that died
            pipe.zadd(key, {token: now})
            pipe.zrank(key, token)
            pipe.expire(key, int(self.lease) + 1)
            rank = pipe.execute()[2]
            if rank is not None and rank < self.concurrency:
                break
            self.redis.zrem(key, token)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no free slot for {host}")
            time.sleep(0.05)
        try:
            now = time.time()
            latest = now + (deadline - time.monotonic())  # the deadline on the shared clock
            # The key outlives any delay in use, so that no gap is ever shortened by expiry.
            keep_ms = int((max(delay, 600.0) + 60) * 1000)
            start = float(self._reserve(keys=[f"newsworker:host:{host}:last"],
                                        args=[now, delay, keep_ms, latest]))
            if start < 0:
                raise TimeoutError(f"{host} may not be asked again before the deadline")
            time.sleep(max(0.0, start - time.time()))
            yield
        finally:
            self.redis.zrem(key, token)


@dataclass(frozen=True)
class RobotsRules:
    """What one origin's robots.txt says to us (the `newsworker` group, else `*`)."""

    parser: Protego | None = None  # None: no rules, everything is allowed
    unreachable: bool = False  # 5xx, 429 or no answer: nothing may be fetched for now
    # Why it is unreachable: the robots.txt fetch's own failure (None for a 5xx/429 answer,
    # which asks us to wait), so a dead site is reported as what it is.
    failure: FetchError | None = None

    def allows(self, url: str) -> bool:
        if self.unreachable:
            return False
        return self.parser is None or self.parser.can_fetch(url, ROBOTS_AGENT)

    @property
    def crawl_delay(self) -> float | None:
        return self.parser.crawl_delay(ROBOTS_AGENT) if self.parser else None


def parse_robots(status: int, body: bytes) -> RobotsRules:
    """RFC 9309 2.3.1: 2xx are rules; 4xx (no robots.txt) allows everything; 5xx means
    "disallow everything" for now. 429 is taken as a server error too (it asks us to slow
    down, it does not say there are no rules), as the large crawlers do."""
    if status == 429 or status >= 500:
        return RobotsRules(unreachable=True)
    if status >= 400:
        return RobotsRules()
    # Protego implements the RFC's matching: * and $, the longest match wins, allow on a tie.
    # utf-8-sig: a byte order mark would otherwise hide the first User-agent line.
    return RobotsRules(Protego.parse(body.decode("utf-8-sig", errors="replace")))


class RobotsCache:
    """robots.txt per origin (scheme, host, port), fetched through the service's client.

    Kept `ttl` seconds; an unreachable one (5xx, 429, network error) disallows the origin
    and is tried again after `retry_ttl` seconds. Thread-safe; one fetch per origin at a
    time, the other threads asking for that origin wait for its result.
    """

    def __init__(self, fetch: Callable[..., tuple[int, bytes]], ttl: float,
                 retry_ttl: float = 300.0) -> None:
        self._fetch, self.ttl, self.retry_ttl = fetch, ttl, retry_ttl
        self._cache: dict[str, tuple[float, RobotsRules]] = {}
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    def rules(self, url: str, **fetch_options) -> RobotsRules:
        """The rules for `url`'s origin; `fetch_options` go to the fetch."""
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        with self._lock:
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one fetch per origin, however many threads ask at once
            cached = self._cache.get(origin)
            if cached is None or cached[0] < time.monotonic():
                rules = self._load(origin, fetch_options)
                ttl = self.retry_ttl if rules.unreachable else self.ttl
                cached = (time.monotonic() + ttl, rules)
                self._cache[origin] = cached
        return cached[1]

    def _load(self, origin: str, fetch_options: dict) -> RobotsRules:
        try:
            status, body = self._fetch(origin + "/robots.txt", **fetch_options)
        except FetchError as exc:
            if exc.reason in ("blocked_address", "bad_url"):
                raise  # not an answer about robots: the page itself is refused the same way
            return RobotsRules(unreachable=True, failure=exc)
        return parse_robots(status, body)
