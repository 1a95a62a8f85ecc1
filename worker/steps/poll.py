"""Step 1, the feed: GET it (conditionally), record its new entries as `discovered` articles."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from worker import logs, metrics
from worker.context import Context
from worker.errors import FeedError, FetchError
from worker.feeds.parse import parse_feed
from worker.feeds.schedule import adaptive_interval, next_poll_at
from worker.http import FEED_TYPES
from worker.store import feeds, repo
from worker.store.db import bookkeeping, session_scope

log = logging.getLogger(__name__)
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"


@dataclass
class PollResult:
    feed_id: int
    outcome: str  # ok, not_modified, failed, postponed
    new_ids: list[int] = field(default_factory=list)
    error: str | None = None
    retry_after: float | None = None  # postponed: poll again in this many seconds


class PollKilled(Exception):
    """The feed's earlier polls never finished: treated as a failure of this one."""

    reason = "killed"


def run(ctx: Context, feed_id: int) -> PollResult:
    """Poll the feed once; new and updated entries come back as article ids to fetch."""
    with logs.ids(feed_id=feed_id), metrics.timed("poll"):
        result = _poll(ctx, feed_id)
    metrics.POLLS.labels(result.outcome).inc()
    return result


# How long a batch waits for a host's turn before it sends that poll back to the queue:
# a second or two of a worker slot costs less than a new message, a second claim and a
# task (most waits are the per-host delay after robots.txt or after another feed).
BATCH_TURN_WAIT = 2.0


@dataclass
class BatchResult:
    """What a batch of polls leaves to its caller: articles to fetch, polls whose host's
    turn is further off (feed id, seconds), feeds it had no time left for."""

    new_ids: list[int] = field(default_factory=list)
    postponed: list[tuple[int, float]] = field(default_factory=list)
    not_started: list[int] = field(default_factory=list)


def run_batch(ctx: Context, feed_ids: list[int], budget: float) -> BatchResult:
    """Poll these feeds one after the other; one whose host is busy waits for its turn
    after the others, if that comes soon enough. No new poll starts past `budget` s."""
    out, waiting = BatchResult(), []
    started = time.monotonic()
    for done, feed_id in enumerate(feed_ids):
        if done and time.monotonic() - started > budget:
            out.not_started = list(feed_ids[done:])
            break
        _take(out, run(ctx, feed_id), waiting)
    for ready_at, feed_id in sorted(waiting):
        if time.monotonic() - started > budget:
            out.not_started.append(feed_id)
            continue
        time.sleep(max(0.0, ready_at - time.monotonic()))
        _take(out, run(ctx, feed_id), None)
    return out


def _take(out: BatchResult, result: PollResult, waiting: list | None) -> None:
    """Keep the poll's new articles; a postponed poll waits in the batch (if `waiting`
    takes it and its turn is near) or goes back to the caller."""
    wait = result.retry_after or 0.0
    if result.outcome != "postponed":
        out.new_ids.extend(result.new_ids)
    elif waiting is not None and wait <= BATCH_TURN_WAIT:
        waiting.append((time.monotonic() + wait, result.feed_id))
    else:
        out.postponed.append((result.feed_id, wait))


def _poll(ctx: Context, feed_id: int) -> PollResult:
    with bookkeeping(ctx.db) as conn:
        claim = feeds.claim_poll(conn, feed_id)
    if claim is None:
        return PollResult(feed_id, "failed", error="unknown feed")
    started, clock = repo.now(), time.monotonic()
    if claim.attempts > ctx.settings.max_attempts:
        spent = claim.attempts - 1
        return _failed(ctx, claim, started, clock,
                       PollKilled(f"killed in poll {spent} times"), dead_letter=True)
    tracking = (*ctx.settings.tracking_params, *claim.strip_params)
    try:
        fetched = ctx.http.get(claim.url, max_bytes=ctx.settings.max_feed_bytes,
                               etag=claim.etag, last_modified=claim.last_modified,
                               allowed_types=FEED_TYPES, allow_private=ctx.allow_private,
                               respect_robots=claim.respect_robots, accept=FEED_ACCEPT)
        parsed = None if fetched.not_modified else parse_feed(
            fetched.body, fetched.url, ctx.settings.max_entries_per_poll,
            fetched.headers.get("content-type"), tracking)
    except FetchError as exc:
        if exc.reason == "host_busy":
            return _postponed(ctx, claim, exc)
        return _failed(ctx, claim, started, clock, exc)
    except FeedError as exc:
        return _failed(ctx, claim, started, clock, exc)
    if parsed is None:  # 304, most polls: the feed's row and the poll's, no transaction
        with bookkeeping(ctx.db) as conn:
            new_ids = _record_outcome(ctx, conn, claim, fetched, started, clock, parsed)
    else:
        with session_scope(ctx.db) as session:
            new_ids = _record_outcome(ctx, session, claim, fetched, started, clock, parsed)
    outcome = "not_modified" if parsed is None else "ok"
    if parsed is not None and parsed.skipped:
        log.info("skipped entries by reason: %s", parsed.skipped)  # e.g. no_link, over_limit
    log.info("polled feed: %s, %d new", outcome, len(new_ids),
             extra={"outcome": outcome, "new_entries": len(new_ids)})
    return PollResult(feed_id, outcome, new_ids)


def _record_outcome(ctx: Context, bind, claim: feeds.PollClaim, fetched, started: datetime,
                    clock: float, parsed) -> list[int]:
    """Store the new entries (if any), the feed's validators and next poll, the poll."""
    new_ids = _record_entries(bind, claim, parsed.entries) if parsed else []
    interval = _interval(ctx, bind, claim, started)
    feeds.record_success(bind, claim.feed_id, fetched=fetched, started=started,
                         interval=interval, next_poll=next_poll_at(started, interval),
                         changed=parsed is not None)
    feeds.record_poll(bind, claim.feed_id, started=started,
                      duration_ms=int((time.monotonic() - clock) * 1000),
                      status=fetched.status, outcome="ok" if parsed else "not_modified",
                      entries=len(parsed.entries) if parsed else 0, new_entries=len(new_ids),
                      skipped=sum(parsed.skipped.values()) if parsed else 0)
    return new_ids


def _record_entries(session, claim: feeds.PollClaim, entries) -> list[int]:
    """Discover new entries; send updated ones back for a new fetch. Ids to fetch."""
    known = repo.known_urls(session, [u for e in entries for u in (e.canonical_url, e.link)])
    new_ids: list[int] = []
    for entry in entries:
        seen = known.get(entry.canonical_url) or known.get(entry.link)
        if seen:
            article_id, stored = seen
            if _updated(entry, stored) and repo.request_refetch(session, article_id, entry):
                new_ids.append(article_id)
            continue
        new_id = repo.discover_article(session, claim.feed_id, entry, claim.tags)
        if new_id:
            new_ids.append(new_id)
    return new_ids


def _interval(ctx: Context, session, claim: feeds.PollClaim, started: datetime) -> int:
    """The feed's own interval, or for an adaptive feed the one its publishing rate calls for
    (only then is the rate queried)."""
    if not claim.adaptive:
        return claim.interval_seconds
    rate = feeds.new_entries_per_hour(session, claim.feed_id, started - timedelta(days=1))
    return adaptive_interval(rate, claim.effective_interval or claim.interval_seconds,
                             ctx.settings.min_interval_seconds,
                             ctx.settings.max_interval_seconds)


def _updated(entry, stored: datetime | None) -> bool:
    """The feed dates this entry later than when we stored it: the article changed."""
    if entry.published is None or stored is None:
        return False
    return entry.published > stored


def _postponed(ctx: Context, claim: feeds.PollClaim, exc: FetchError) -> PollResult:
    """The host's turn has not come: give the attempt back, no failure counted. The feed
    stays claimed past the turn (plus the usual lease) for the poll that comes back then."""
    wait = exc.retry_after or 0.0
    lease_until = repo.now() + timedelta(seconds=wait + ctx.settings.poll_lease_seconds)
    with bookkeeping(ctx.db) as conn:
        feeds.give_back_poll(conn, claim.feed_id, lease_until)
    log.info("feed poll postponed %.2f s: %s", wait, exc)
    return PollResult(claim.feed_id, "postponed", error=str(exc), retry_after=wait)


def _failed(ctx: Context, claim: feeds.PollClaim, started: datetime, clock: float,
            exc: Exception, dead_letter: bool = False) -> PollResult:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", type(exc).__name__)

    def backoff(feed) -> datetime:
        return next_poll_at(started, feed.effective_interval or feed.interval_seconds,
                            feed.consecutive_failures, getattr(exc, "retry_after", None))

    with session_scope(ctx.db) as session:
        # 410: the publisher retired this feed.
        feeds.record_failure(session, claim.feed_id, started=started, status=status,
                             reason=reason, message=str(exc), next_poll=backoff,
                             disable=reason == "gone", dead_letter=dead_letter)
        feeds.record_poll(session, claim.feed_id, started=started,
                          duration_ms=int((time.monotonic() - clock) * 1000), status=status,
                          outcome="failed", error=str(exc))
    log.warning("feed poll failed: %s", exc)
    metrics.FEED_FAILURES.labels(reason).inc()
    return PollResult(claim.feed_id, "failed", error=str(exc))
