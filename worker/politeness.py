"""Per-host politeness: a minimum delay and a concurrency cap, and robots.txt.

With Redis as the broker the limits are shared by every worker process on every machine;
in the embedded mode they hold within one process.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

ROBOTS_AGENT = "newsworker"


class LocalHostGate:
    """Delay and concurrency per host, for the threads of one process."""

    def __init__(self, delay: float, concurrency: int) -> None:
        self.delay, self.concurrency = delay, concurrency
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, host: str, deadline: float) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.concurrency))
        if not semaphore.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"no free slot for {host}")
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next.get(host, 0.0))
                self._next[host] = start + self.delay
            time.sleep(max(0.0, start - now))
            yield
        finally:
            semaphore.release()


# Atomically reserve the next start time for a host: returns when this request may start.
_RESERVE = """
local t = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tonumber(ARGV[1]), t)
redis.call('SET', KEYS[1], tostring(start + tonumber(ARGV[2])), 'PX', ARGV[3])
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
    def slot(self, host: str, deadline: float) -> Iterator[None]:
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
            start = float(self._reserve(keys=[f"newsworker:host:{host}:next"],
                                        args=[time.time(), self.delay,
                                              int((self.delay + 60) * 1000)]))
            time.sleep(max(0.0, start - time.time()))
            yield
        finally:
            self.redis.zrem(key, token)


class RobotsCache:
    """robots.txt per host, fetched once per `ttl` seconds through the service's client.

    A missing robots.txt (4xx) allows everything; one that cannot be fetched (network
    error, 5xx) allows too, and is retried at the next expiry.
    """

    def __init__(self, fetch: Callable[..., tuple[int, bytes]], ttl: float) -> None:
        self._fetch, self.ttl = fetch, ttl
        self._cache: dict[str, tuple[float, RobotFileParser | None]] = {}
        self._lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    def allowed(self, url: str, **fetch_options) -> bool:
        """Whether robots.txt lets us fetch `url`; `fetch_options` go to the fetch."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one fetch per host, however many threads ask at once
            cached = self._cache.get(origin)
            if cached is None or cached[0] < time.monotonic():
                cached = (time.monotonic() + self.ttl, self._load(origin, fetch_options))
                self._cache[origin] = cached
        parser = cached[1]
        return parser is None or parser.can_fetch(ROBOTS_AGENT, url)

    def _load(self, origin: str, fetch_options: dict) -> RobotFileParser | None:
        try:
            status, body = self._fetch(origin + "/robots.txt", **fetch_options)
        except Exception:  # noqa: BLE001 - an unreachable robots.txt must not block the page
            return None
        if status >= 400:
            return None
        parser = RobotFileParser()
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return parser
