"""What an operator asks: feed health, work by state, throughput, dead letters."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from worker.store import events, repo
from worker.store.models import Article, Failure, Feed, Poll

# Articles by state is a GROUP BY over the whole table: with a large store it costs tens
# of milliseconds, too much for every Prometheus scrape of every role. A scrape reads a
# figure at most this old instead.
STATE_COUNTS_MAX_AGE = 30.0
_state_counts: dict[str, tuple[float, dict[str, int]]] = {}


def cached_counts_by_state(url: str, max_age: float = STATE_COUNTS_MAX_AGE,
                           opener: Callable[[str], AbstractContextManager[Session]] | None = None
                           ) -> dict[str, int]:
    """Articles per state in the database at `url`, counted at most `max_age` seconds ago.

    The Prometheus scrape and the web overview both read this, so they show one figure;
    `opener` gives the session (the web's is read-only), session_scope by default.
    """
    from worker.store.db import session_scope

    stamp, counts = _state_counts.get(url, (float("-inf"), {}))
    if time.monotonic() - stamp < max_age:
        return counts
    with (opener or session_scope)(url) as session:
        counts = repo.counts_by_state(session)
    _state_counts[url] = (time.monotonic(), counts)
    return counts


def feed_health(session: Session, now: datetime) -> list[dict]:
    """One row per feed: state, last success, failures, next poll, last day's numbers."""
    since = now - timedelta(days=1)
    day = {feed_id: (polls, new) for feed_id, polls, new in session.execute(
        select(Poll.feed_id, func.count(), func.coalesce(func.sum(Poll.new_entries), 0))
        .where(Poll.started_at >= since).group_by(Poll.feed_id))}
    rows = []
    for feed in session.scalars(select(Feed).order_by(Feed.name)):
        state = ("removed" if not feed.in_file else feed.disabled_reason and
                 f"disabled ({feed.disabled_reason})" or ("off" if not feed.enabled else
                                                          "failing" if feed.consecutive_failures
                                                          else "ok"))
        polls, new = day.get(feed.id, (0, 0))
        rows.append({"id": feed.id, "name": feed.name, "url": feed.current_url or feed.url,
                     "state": state, "last_success": feed.last_success_at,
                     "failures": feed.consecutive_failures, "next_poll": feed.next_poll_at,
                     "interval": feed.effective_interval or feed.interval_seconds,
                     "last_status": feed.last_status, "last_error": feed.last_error,
                     "last_polled": feed.last_polled_at, "tags": feed.tags or [],
                     "polls_24h": polls, "new_24h": new})
    return rows


def articles_per_feed(session: Session) -> dict[int, int]:
    """{feed id: articles stored} (the feed that first listed each article)."""
    return dict(session.execute(select(Article.feed_id, func.count())
                                .where(Article.feed_id.is_not(None))
                                .group_by(Article.feed_id)).all())


_feed_counts: dict[str, tuple[float, dict[int, int]]] = {}


def cached_articles_per_feed(url: str, session: Session,
                             max_age: float = STATE_COUNTS_MAX_AGE) -> dict[int, int]:
    """articles_per_feed, counted at most `max_age` seconds ago: like the counts by state,
    a count over the whole table, too dear for every view of the feeds page."""
    stamp, counts = _feed_counts.get(url, (float("-inf"), {}))
    if time.monotonic() - stamp >= max_age:
        counts = articles_per_feed(session)
        _feed_counts[url] = (time.monotonic(), counts)
    return counts


def failing_feeds(session: Session, limit: int = 20) -> list[Feed]:
    """Feeds whose last polls failed, or that a failure disabled; most failures first."""
    return list(session.scalars(
        select(Feed).where(Feed.in_file.is_(True),
                           (Feed.consecutive_failures > 0) | Feed.disabled_reason.is_not(None))
        .order_by(Feed.consecutive_failures.desc(), Feed.id).limit(limit)))


def recent_polls(session: Session, feed_id: int, limit: int = 50) -> list[Poll]:
    return list(session.scalars(select(Poll).where(Poll.feed_id == feed_id)
                                .order_by(Poll.started_at.desc(), Poll.id.desc()).limit(limit)))


def articles_per_hour(session: Session, now: datetime, hours: int = 48) -> list[tuple[str, int]]:
    """(hour, articles done in it) for the last `hours` hours, oldest first, zeros included."""
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    counts: dict[datetime, int] = {}
    for (done,) in session.execute(select(Article.done_at).where(Article.done_at >= start)):
        hour = done.replace(minute=0, second=0, microsecond=0)
        counts[hour] = counts.get(hour, 0) + 1
    return [((start + timedelta(hours=i)).isoformat(), counts.get(start + timedelta(hours=i), 0))
            for i in range(hours)]


def throughput(session: Session, now: datetime, window: timedelta = timedelta(hours=1)) -> dict:
    since = now - window
    return {
        "articles_done": session.scalar(select(func.count()).select_from(Article)
                                        .where(Article.done_at >= since)) or 0,
        "polls": session.scalar(select(func.count()).select_from(Poll)
                                .where(Poll.started_at >= since)) or 0,
        "failures": session.scalar(select(func.count()).select_from(Failure)
                                   .where(Failure.created_at >= since)) or 0,
    }


def open_failures(session: Session, limit: int = 100) -> list[Failure]:
    return list(session.scalars(select(Failure).where(Failure.resolved_at.is_(None))
                                .order_by(Failure.id.desc()).limit(limit)))


# A failed fetch is fetched again; a failed extraction is extracted again from the kept
# page (fetched again if retention dropped it); a failed annotation from the stored text.
RETRY_FROM = {"fetch": "discovered", "extract": "fetched", "annotate": "extracted"}


def retry_failures(session: Session, ids: list[int] | None) -> list[tuple[int, str]]:
    """Put the failed articles back one state before their failure; (article id, state).

    Feed failures (a 410 that disabled a feed) re-enable the feed instead.
    """
    query = select(Failure).where(Failure.resolved_at.is_(None))
    if ids:
        query = query.where(Failure.id.in_(ids))
    retried = []
    stamp = repo.now()
    for failure in session.scalars(query):
        failure.resolved_at = stamp
        if failure.feed_id:
            session.execute(update(Feed).where(Feed.id == failure.feed_id).values(
                disabled_reason=None, consecutive_failures=0, next_poll_at=stamp))
            continue
        state = RETRY_FROM.get(failure.stage, "discovered")
        moved = session.execute(
            update(Article).where(Article.id == failure.article_id, Article.state == "failed")
            .values(state=state, failure_reason=None, attempts=0, last_error=None,
                    state_changed_at=stamp, updated_at=stamp)).rowcount
        if moved:
            events.append_event(session, failure.article_id, "retry", state)
            retried.append((failure.article_id, state))
    return retried
