"""Feeds and polls: the feeds table kept in step with feeds.yaml, claims, poll outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from worker.store.models import Failure, Feed, Poll
from worker.store.repo import insert_for, now


def sync_feeds(session: Session, specs, remove_missing: bool = True) -> dict[str, int]:
    """Make the feeds table match feeds.yaml: upsert listed feeds, retire the others.

    `remove_missing=False` only adds and updates: a one-off run with another file
    must not retire the service's feeds.
    """
    listed = {spec.url for spec in specs}
    stamp = now()
    # One global order (by URL): two processes syncing overlapping files never deadlock.
    for spec in sorted(specs, key=lambda spec: spec.url):
        fields = dict(name=spec.name, enabled=spec.enabled, in_file=True,
                      interval_seconds=spec.interval_seconds, tags=list(spec.tags),
                      strip_params=list(getattr(spec, "strip_params", ())),
                      respect_robots=spec.respect_robots, adaptive=spec.adaptive,
                      updated_at=stamp)
        stmt = insert_for(session, Feed).values(url=spec.url, created_at=stamp,
                                                next_poll_at=stamp, **fields)
        session.execute(stmt.on_conflict_do_update(index_elements=[Feed.url], set_=fields))
    removed = 0
    if remove_missing:
        removed = session.execute(
            update(Feed).where(Feed.url.not_in(listed), Feed.in_file.is_(True))
            .values(in_file=False, updated_at=stamp)).rowcount
    return {"listed": len(listed), "removed": removed}


def feed_by_id(session: Session, feed_id: int) -> Feed | None:
    return session.get(Feed, feed_id)


def active_feed_ids(session: Session, urls: list[str] | None = None) -> list[tuple[int, str]]:
    """(id, name) of enabled feeds (of the feeds file, or with these URLs) not disabled."""
    query = select(Feed.id, Feed.name).where(Feed.enabled.is_(True),
                                             Feed.disabled_reason.is_(None))
    query = query.where(Feed.url.in_(urls)) if urls is not None else \
        query.where(Feed.in_file.is_(True))
    return [(feed_id, name) for feed_id, name in session.execute(query.order_by(Feed.id))]


def claim_due_feeds(session: Session, at: datetime, limit: int = 500,
                    lease_seconds: float = 120) -> list[int]:
    """Feed ids due at `at`, each claimed by pushing its next poll a lease ahead.

    The conditional update means two schedulers racing for one feed get it once.
    """
    due = session.scalars(
        select(Feed.id).where(Feed.enabled.is_(True), Feed.in_file.is_(True),
                              Feed.disabled_reason.is_(None), Feed.next_poll_at <= at)
        .order_by(Feed.next_poll_at).limit(limit)).all()
    claimed = []
    # The poll itself sets the real next time; if its worker dies, the feed is due again
    # when the lease ends.
    lease = at + timedelta(seconds=lease_seconds)
    for feed_id in due:
        won = session.execute(
            update(Feed).where(Feed.id == feed_id, Feed.next_poll_at <= at)
            .values(next_poll_at=lease)).rowcount
        if won:
            claimed.append(feed_id)
    return claimed


@dataclass(frozen=True)
class PollClaim:
    """What a poll needs to know of its feed, read when the attempt is counted."""

    feed_id: int
    url: str
    etag: str | None
    last_modified: str | None
    strip_params: tuple[str, ...]
    tags: tuple[str, ...]
    respect_robots: bool
    attempts: int
    adaptive: bool = False
    interval_seconds: int = 900
    effective_interval: int | None = None


def claim_poll(session: Session, feed_id: int) -> PollClaim | None:
    """Count a poll attempt on the feed and read what the poll needs; None if no such feed.

    One statement (UPDATE ... RETURNING). The count is reset when the poll records its
    outcome: a count that keeps growing means polls that never finish (a killed worker).
    """
    row = session.connection().execute(
        update(Feed).where(Feed.id == feed_id)
        .values(poll_attempts=Feed.poll_attempts + 1)
        .returning(Feed.url, Feed.current_url, Feed.etag, Feed.last_modified,
                   Feed.strip_params, Feed.tags, Feed.respect_robots, Feed.poll_attempts,
                   Feed.adaptive, Feed.interval_seconds, Feed.effective_interval)).first()
    if row is None:
        return None
    return PollClaim(feed_id, row.current_url or row.url, row.etag, row.last_modified,
                     tuple(row.strip_params or ()), tuple(row.tags or ()),
                     row.respect_robots, row.poll_attempts, row.adaptive,
                     row.interval_seconds, row.effective_interval)


def give_back_poll(session: Session, feed_id: int, lease_until: datetime) -> None:
    """Uncount the attempt: the host's turn has not come, the feed is not at fault.

    The feed stays claimed until `lease_until` (its re-queued poll comes before), so the
    scheduler does not send a second poll meanwhile.
    """
    session.connection().execute(
        update(Feed).where(Feed.id == feed_id)
        .values(poll_attempts=case((Feed.poll_attempts > 0, Feed.poll_attempts - 1),
                                   else_=0),
                next_poll_at=lease_until))


def new_entries_per_hour(session: Session, feed_id: int, since: datetime) -> float | None:
    """The feed's publishing rate over its successful polls since `since`; None if too few."""
    count, total, first = session.execute(
        select(func.count(), func.coalesce(func.sum(Poll.new_entries), 0),
               func.min(Poll.started_at))
        .where(Poll.feed_id == feed_id, Poll.started_at >= since,
               Poll.outcome.in_(("ok", "not_modified")))).one()
    if count < 3 or first is None:
        return None
    hours = max((now() - first).total_seconds() / 3600, 0.25)
    return total / hours


def record_success(session: Session, feed_id: int, *, fetched, started: datetime,
                   interval: int, next_poll: datetime, changed: bool) -> None:
    """The feed answered: keep its validators and redirect, reset its failure counts.

    One UPDATE, no load of the row: a 304 (the most common poll) stays cheap.
    """
    values: dict = dict(last_polled_at=started, last_success_at=started,
                        last_status=fetched.status, last_error=None,
                        consecutive_failures=0, poll_attempts=0,
                        effective_interval=interval, next_poll_at=next_poll)
    if changed:  # a 304 keeps the validators it was asked with
        values.update(etag=fetched.headers.get("etag"),
                      last_modified=fetched.headers.get("last-modified"))
    if fetched.permanent_redirect:
        values["current_url"] = fetched.permanent_redirect
    session.connection().execute(update(Feed).where(Feed.id == feed_id).values(**values))


def record_failure(session: Session, feed_id: int, *, started: datetime, status: int | None,
                   reason: str, message: str, next_poll, disable: bool = False,
                   dead_letter: bool = False) -> Feed:
    """The poll failed: count it, back the feed off, file a dead letter if asked."""
    feed = session.get(Feed, feed_id)
    feed.consecutive_failures += 1
    feed.poll_attempts = 0
    feed.last_polled_at, feed.last_status, feed.last_error = started, status, message
    feed.next_poll_at = next_poll(feed)
    if disable:
        feed.disabled_reason = reason
    if disable or dead_letter:
        session.add(Failure(feed_id=feed_id, stage="poll", reason=reason,
                            message=message[:2000], created_at=now()))
    return feed


def record_poll(session: Session, feed_id: int, *, started: datetime, duration_ms: int,
                status: int | None, outcome: str, entries: int = 0, new_entries: int = 0,
                skipped: int = 0, error: str | None = None) -> None:
    session.connection().execute(insert(Poll).values(
        feed_id=feed_id, started_at=started, duration_ms=duration_ms, status_code=status,
        outcome=outcome, entries=entries, new_entries=new_entries, skipped_entries=skipped,
        error=error))
