"""The feed's step: poll it (conditional GET), record its new entries as articles.

Same rules as the article steps: a plain function, short transactions, safe to run twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from worker import logs, metrics
from worker.errors import FeedError, FetchError
from worker.http import FEED_TYPES
from worker.pipeline import Context
from worker.polling import adaptive_interval, next_poll_at, parse_feed
from worker.store import repo
from worker.store.db import session_scope

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    feed_id: int
    outcome: str  # ok, not_modified, failed
    new_ids: list[int] = field(default_factory=list)
    error: str | None = None


def poll_feed(ctx: Context, feed_id: int) -> PollResult:
    """GET the feed (conditionally), record new entries as `discovered` articles."""
    with logs.ids(feed_id=feed_id), metrics.timed("poll"):
        result = _poll_feed(ctx, feed_id)
    metrics.POLLS.labels(result.outcome).inc()
    return result


def _poll_feed(ctx: Context, feed_id: int) -> PollResult:
    with session_scope(ctx.db) as session:
        feed = repo.feed_by_id(session, feed_id)
        if feed is None:
            return PollResult(feed_id, "failed", error="unknown feed")
        url, etag, modified = feed.current_url or feed.url, feed.etag, feed.last_modified
    started = repo.now()
    clock = time.monotonic()
    try:
        fetched = ctx.http.get(url, max_bytes=ctx.settings.max_feed_bytes, etag=etag,
                               last_modified=modified, allowed_types=FEED_TYPES,
                               allow_private=ctx.allow_private,
                               accept="application/rss+xml, application/atom+xml, "
                                      "application/xml;q=0.9, */*;q=0.5")
        parsed = None if fetched.not_modified else parse_feed(
            fetched.body, fetched.url, ctx.settings.max_entries_per_poll,
            fetched.headers.get("content-type"), ctx.settings.tracking_params)
    except (FetchError, FeedError) as exc:
        return _poll_failed(ctx, feed_id, started, clock, exc)
    with session_scope(ctx.db) as session:
        feed = repo.feed_by_id(session, feed_id)
        new_ids: list[int] = []
        if parsed is not None:
            known = repo.known_urls(session, [e.canonical_url for e in parsed.entries])
            for entry in parsed.entries:
                if entry.canonical_url in known:
                    if _updated(entry, known[entry.canonical_url][1]) and repo.request_refetch(
                            session, known[entry.canonical_url][0], entry):
                        new_ids.append(known[entry.canonical_url][0])
                    continue
                new_id = repo.discover_article(session, feed_id, entry)
                if new_id:
                    new_ids.append(new_id)
            feed.etag = fetched.headers.get("etag")
            feed.last_modified = fetched.headers.get("last-modified")
        if fetched.permanent_redirect:
            feed.current_url = fetched.permanent_redirect
        feed.last_polled_at = feed.last_success_at = started
        feed.last_status, feed.last_error, feed.consecutive_failures = fetched.status, None, 0
        feed.effective_interval = _interval(ctx, session, feed, started)
        feed.next_poll_at = next_poll_at(started, feed.effective_interval)
        outcome = "not_modified" if parsed is None else "ok"
        repo.record_poll(session, feed, started=started,
                         duration_ms=int((time.monotonic() - clock) * 1000),
                         status=fetched.status, outcome=outcome,
                         entries=len(parsed.entries) if parsed else 0,
                         new_entries=len(new_ids),
                         skipped=sum(parsed.skipped.values()) if parsed else 0)
    if parsed is not None and parsed.skipped:
        log.info("skipped entries by reason: %s", parsed.skipped)  # e.g. no_link, over_limit
    log.info("polled feed: %s, %d new", outcome, len(new_ids),
             extra={"outcome": outcome, "new_entries": len(new_ids)})
    return PollResult(feed_id, outcome, new_ids)


def _interval(ctx: Context, session, feed, started: datetime) -> int:
    """The feed's own interval, or for an adaptive feed the one its publishing rate calls for."""
    if not feed.adaptive:
        return feed.interval_seconds
    rate = repo.new_entries_per_hour(session, feed.id, started - timedelta(days=1))
    return adaptive_interval(rate, feed.effective_interval or feed.interval_seconds,
                             ctx.settings.min_interval_seconds,
                             ctx.settings.max_interval_seconds)


def _updated(entry, stored: datetime | None) -> bool:
    """The feed dates this entry later than when we stored it: the article changed."""
    if entry.published is None or stored is None:
        return False
    if stored.tzinfo is None:  # SQLite gives naive datetimes back
        stored = stored.replace(tzinfo=entry.published.tzinfo)
    return entry.published > stored


def _poll_failed(ctx: Context, feed_id: int, started: datetime, clock: float,
                 exc: FetchError | FeedError) -> PollResult:
    status = getattr(exc, "status", None)
    with session_scope(ctx.db) as session:
        feed = repo.feed_by_id(session, feed_id)
        feed.consecutive_failures += 1
        feed.last_polled_at, feed.last_status, feed.last_error = started, status, str(exc)
        feed.next_poll_at = next_poll_at(started,
                                         feed.effective_interval or feed.interval_seconds,
                                         feed.consecutive_failures,
                                         getattr(exc, "retry_after", None))
        if exc.reason == "gone":
            feed.disabled_reason = "gone"  # 410: the publisher retired this feed
            repo.record_feed_failure(session, feed_id, exc.reason, str(exc))
        repo.record_poll(session, feed, started=started,
                         duration_ms=int((time.monotonic() - clock) * 1000), status=status,
                         outcome="failed", error=str(exc))
    log.warning("feed poll failed: %s", exc)
    metrics.FEED_FAILURES.labels(exc.reason).inc()
    return PollResult(feed_id, "failed", error=str(exc))


