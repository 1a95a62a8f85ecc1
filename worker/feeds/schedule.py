"""When to poll a feed next: interval, jitter, backoff, adaptive rate. Pure functions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_poll_at(now: datetime, interval_seconds: int, consecutive_failures: int = 0,
                 retry_after: float | None = None, jitter: float = 0.1,
                 max_backoff_seconds: int = 6 * 3600) -> datetime:
    """When to poll a feed next: its interval, with jitter, backed off after failures.

    Failures double the wait up to a cap; a server's Retry-After wins when it is longer.
    """
    wait = float(interval_seconds)
    if consecutive_failures:
        wait = min(interval_seconds * (2 ** min(consecutive_failures, 16)), max_backoff_seconds)
    if retry_after:
        wait = max(wait, retry_after)
    wait *= 1 + random.uniform(-jitter, jitter)
    return now + timedelta(seconds=wait)


def adaptive_interval(rate_per_hour: float | None, current: int, low: int, high: int,
                      entries_per_poll: float = 2.0) -> int:
    """The interval that brings about `entries_per_poll` new entries, within [low, high].

    Unknown rate: keep the current interval. No new entries: back off towards `high`.
    """
    if rate_per_hour is None:
        return current
    if rate_per_hour <= 0:
        return min(high, max(low, current * 2))
    return int(min(high, max(low, entries_per_poll * 3600 / rate_per_hour)))
