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


class HostBusy(TimeoutError):
    """The host's turn is not within the caller's wait: nothing was reserved.

    `retry_after`: seconds until the host's turn as seen now (None when every slot is
    held, which says nothing of when one frees)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LocalHostGate:
    """Delay and concurrency per host, for the threads of one process.

    Threads may sleep until the host's turn (`ingest --once`, the embedded worker): a
    thread waiting costs nothing but itself, so the wait is bounded by the deadline only.
    """

    def __init__(self, delay: float, concurrency: int) -> None:
        self.delay, self.concurrency = delay, concurrency
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # when the host's latest request started
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, host: str, deadline: float, delay: float | None = None) -> Iterator[None]:
        """Hold one of the host's slots, starting at least `delay` (default: the gate's)
        after the host's previous request; HostBusy if that is past `deadline`."""
        delay = self.delay if delay is None else delay
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.concurrency))
        if not semaphore.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise HostBusy(f"no free slot for {host}")
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._last.get(host, float("-inf")) + delay)
                if start > deadline:  # not reserved: a later try is not pushed back
                    raise HostBusy(f"{host} may not be asked again before the deadline",
                                   retry_after=start - now)
                self._last[host] = start
            time.sleep(max(0.0, start - now))
            yield
        finally:
            semaphore.release()


# One round trip per request: drop holders past their lease (dead workers), refuse if the
# host's slots are all held, reserve a start `delay` after the host's latest start unless
# that is past the caller's latest start, register the holder. Returns the start, or a
# negative number: -1 for "every slot is held", -(1 + wait) for "come back in `wait` s".
# A refused caller reserves nothing, but is told a place in line (KEYS[3]: when the next
# refused one should come back), so that n requests waiting for one host come back one
# delay apart instead of all at the next turn, where all but one would be refused again.
# KEYS: the host's holders (sorted set, score = when taken), its latest start, its line.
# ARGV: now, lease, token, concurrency, delay, keep (ms), latest.
_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return '-1' end
local last = tonumber(redis.call('GET', KEYS[2]) or '-1e18')
local start = math.max(now, last + tonumber(ARGV[5]))
if start > tonumber(ARGV[7]) then
  local place = math.max(start, tonumber(redis.call('GET', KEYS[3]) or '0'))
  redis.call('SET', KEYS[3], tostring(place + tonumber(ARGV[5])), 'PX', ARGV[6])
  return tostring(-1 - (place - now))
end
redis.call('SET', KEYS[2], tostring(start), 'PX', ARGV[6])
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return tostring(start)
"""


class RedisHostGate:
    """The same limits, shared through Redis by all processes and machines.

    `max_wait`: the longest a caller sleeps for the host's turn (None: up to its
    deadline). A Celery prefork slot that sleeps serves nobody meanwhile, so the service
    fails fast with HostBusy past that wait and the task comes back at the host's turn.
    """

    def __init__(self, url: str, delay: float, concurrency: int, lease: float = 120.0,
                 max_wait: float | None = None) -> None:
        import redis

        self.delay, self.concurrency, self.lease = delay, concurrency, lease
        self.max_wait = max_wait
        self.redis = redis.Redis.from_url(url, socket_timeout=5)
        self._acquire = self.redis.register_script(_ACQUIRE)

    @contextmanager
    def slot(self, host: str, deadline: float, delay: float | None = None) -> Iterator[None]:
        """As LocalHostGate.slot, for every process sharing the Redis server; the wait
        ends at `deadline` or after `max_wait`, whichever comes first."""
        delay = self.delay if delay is None else delay
        if self.max_wait is not None:
            deadline = min(deadline, time.monotonic() + self.max_wait)
        holders, token = f"newsworker:host:{host}:active", uuid.uuid4().hex
        start = self._reserve(host, holders, token, deadline, delay)
        try:
            time.sleep(max(0.0, start - time.time()))
            yield
        finally:
            self.redis.zrem(holders, token)

    def _reserve(self, host: str, holders: str, token: str, deadline: float,
                 delay: float) -> float:
        """When this request may start (shared clock), its slot taken; HostBusy if not
        before `deadline`. A full host is asked again every 50 ms until the deadline."""
        # The key outlives any delay in use, so that no gap is ever shortened by expiry.
        keep_ms = int((max(delay, 600.0) + 60) * 1000)
        while True:
            now = time.time()
            latest = now + (deadline - time.monotonic())  # the deadline on the shared clock
            start = float(self._acquire(keys=[holders, f"newsworker:host:{host}:last",
                                              f"newsworker:host:{host}:line"],
                                        args=[now, self.lease, token, self.concurrency,
                                              delay, keep_ms, latest]))
            if start >= 0:
                return start
            if start < -1:  # the turn is known: waiting longer would not change it
                raise HostBusy(f"{host} may not be asked again before the deadline",
                               retry_after=-1 - start)
            if time.monotonic() + 0.05 > deadline:
                raise HostBusy(f"no free slot for {host}")
            time.sleep(0.05)


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


class RedisRobotsStore:
    """robots.txt answers per origin, shared through Redis by every worker process.

    Kept as what was fetched (status and body, or the fetch's failure), so each process
    parses it with the same rules; the key's TTL is the cache time.
    """

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5)

    @staticmethod
    def _key(origin: str) -> str:
        return f"newsworker:robots:{origin}"

    def get(self, origin: str) -> tuple[float, int, bytes, FetchError | None] | None:
        """(seconds left, status, body, failure) as stored; None if no process has it."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self._key(origin))
        pipe.pttl(self._key(origin))
        stored, ttl_ms = pipe.execute()
        if not stored or ttl_ms <= 0:
            return None
        failure = None
        if b"reason" in stored:
            status = int(stored[b"failure_status"]) or None
            failure = FetchError(stored[b"message"].decode(), reason=stored[b"reason"].decode(),
                                 status=status, transient=True)
        return ttl_ms / 1000, int(stored[b"status"]), stored.get(b"body", b""), failure

    def put(self, origin: str, ttl: float, status: int, body: bytes,
            failure: FetchError | None) -> None:
        fields: dict[str, bytes | int | str] = {"status": status, "body": body}
        if failure is not None:
            fields.update(reason=failure.reason, failure_status=failure.status or 0,
                          message=str(failure))
        pipe = self.redis.pipeline(transaction=True)  # never a key without its TTL
        pipe.delete(self._key(origin))
        pipe.hset(self._key(origin), mapping=fields)
        pipe.pexpire(self._key(origin), max(1, int(ttl * 1000)))
        pipe.execute()


class RobotsCache:
    """robots.txt per origin (scheme, host, port), fetched through the service's client.

    Kept `ttl` seconds; an unreachable one (5xx, 429, network error) disallows the origin
    and is tried again after `retry_ttl` seconds. Thread-safe; one fetch per origin at a
    time, the other threads asking for that origin wait for its result. With a `shared`
    store (Redis), what one process fetched serves the others until it expires; this
    process's own cache stays in front of it.
    """

    def __init__(self, fetch: Callable[..., tuple[int, bytes]], ttl: float,
                 retry_ttl: float = 300.0, shared: RedisRobotsStore | None = None) -> None:
        self._fetch, self.ttl, self.retry_ttl = fetch, ttl, retry_ttl
        self.shared = shared
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
                ttl, rules = self._shared(origin) or self._load(origin, fetch_options)
                cached = (time.monotonic() + ttl, rules)
                self._cache[origin] = cached
        return cached[1]

    def _shared(self, origin: str) -> tuple[float, RobotsRules] | None:
        """(seconds left, rules) another process fetched, if any."""
        stored = self.shared.get(origin) if self.shared is not None else None
        if stored is None:
            return None
        ttl, status, body, failure = stored
        if failure is not None:
            return ttl, RobotsRules(unreachable=True, failure=failure)
        return ttl, parse_robots(status, body)

    def _load(self, origin: str, fetch_options: dict) -> tuple[float, RobotsRules]:
        """(how long to keep it, rules) from a fetch, shared with the other processes."""
        failure: FetchError | None = None
        status, body = 0, b""
        try:
            status, body = self._fetch(origin + "/robots.txt", **fetch_options)
        except FetchError as exc:
            # Not an answer about robots: the page itself is refused the same way, or
            # the host's turn has not come (the page request waits for it too).
            if exc.reason in ("blocked_address", "bad_url", "host_busy"):
                raise
            failure = exc
        rules = RobotsRules(unreachable=True, failure=failure) if failure is not None \
            else parse_robots(status, body)
        ttl = self.retry_ttl if rules.unreachable else self.ttl
        if self.shared is not None:
            self.shared.put(origin, ttl, status, body, failure)
        return ttl, rules
