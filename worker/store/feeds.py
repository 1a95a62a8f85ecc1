"""Feeds and polls: the feeds table kept in step with feeds.yaml, claims, poll outcomes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Text, case, cast, func, insert, select, update
from sqlalchemy.orm import Session

from worker.store.models import Failure, Feed, Poll, feed_host
from worker.store.repo import insert_for, now

# The feeds.yaml fields a row keeps: a sync writes a row only when one of them differs.
FILE_FIELDS = ("name", "enabled", "interval_seconds", "tags", "strip_params",
               "respect_robots", "adaptive")
JSON_FIELDS = {"tags", "strip_params"}
# Any constant: the PostgreSQL advisory lock that makes two syncs take turns.
SYNC_LOCK = 0x6E657773  # "news"
# Ids per statement when retiring feeds (SQLite caps a statement's parameters).
ID_CHUNK = 1000


def _file_fields(spec) -> dict:
    return dict(name=spec.name, enabled=spec.enabled, interval_seconds=spec.interval_seconds,
                tags=list(spec.tags), strip_params=list(getattr(spec, "strip_params", ())),
                respect_robots=spec.respect_robots, adaptive=spec.adaptive)


def _stored_feeds(session: Session) -> dict[str, tuple]:
    """url → (id, in_file, the FILE_FIELDS as stored) of every feed row, in one read."""
    table = Feed.__table__
    # The lists come as JSON text, decoded once per distinct text: nearly every feed
    # has the same few (`[]` above all), and 200,000 decodings cost a second.
    columns = [cast(table.c[f], Text) if f in JSON_FIELDS else table.c[f] for f in FILE_FIELDS]
    decoded: dict[str | None, object] = {}

    def as_list(text: str | None):
        if text not in decoded:
            decoded[text] = None if text is None else json.loads(text)
        return decoded[text]

    stored = {}
    for url, feed_id, in_file, *fields in session.connection().execute(
            select(table.c.url, table.c.id, table.c.in_file, *columns)):
        stored[url] = (feed_id, in_file, tuple(
            as_list(value) if name in JSON_FIELDS else value
            for name, value in zip(FILE_FIELDS, fields, strict=True)))
    return stored


def _take_sync_turn(session: Session) -> None:
    """Two processes syncing (a reload in beat, an `ingest --once`) take turns on
    PostgreSQL, so each compares the file with what the other wrote. SQLite's BEGIN
    IMMEDIATE already serialises writers."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SYNC_LOCK)))


def _write_feeds(session: Session, rows: list[dict]) -> None:
    """Insert new feeds and update changed ones in one upsert run over URL-ordered rows."""
    table = Feed.__table__
    stmt = insert_for(session, table)
    changed = {c: stmt.excluded[c] for c in (*FILE_FIELDS, "in_file", "updated_at")}
    # A list of rows is an executemany: SQLAlchemy sends them as multi-row VALUES batches.
    session.connection().execute(
        stmt.on_conflict_do_update(index_elements=[table.c.url], set_=changed), rows)


def _retire_feeds(session: Session, ids: list[int], stamp: datetime) -> int:
    retired = 0
    for start in range(0, len(ids), ID_CHUNK):
        retired += session.execute(
            update(Feed).where(Feed.id.in_(ids[start:start + ID_CHUNK]), Feed.in_file.is_(True))
            .values(in_file=False, updated_at=stamp)
            .execution_options(synchronize_session=False)).rowcount
    return retired


def sync_feeds(session: Session, specs, remove_missing: bool = True) -> dict[str, int]:
    """Make the feeds table match feeds.yaml: add new feeds, update changed ones, retire
    the others; an unchanged file writes nothing.

    `remove_missing=False` only adds and updates: a one-off run with another file
    must not retire the service's feeds.
    """
    listed = {spec.url: _file_fields(spec) for spec in specs}
    _take_sync_turn(session)
    stored = _stored_feeds(session)
    stamp = now()
    rows = []
    # One global order (by URL): two processes writing overlapping feeds never deadlock.
    for url in sorted(listed):
        fields = listed[url]
        known = stored.get(url)
        if known and known[1] and known[2] == tuple(fields.values()):
            continue
        rows.append(dict(url=url, host=feed_host(url), created_at=stamp, next_poll_at=stamp,
                         updated_at=stamp, in_file=True, **fields))
    if rows:
        _write_feeds(session, rows)
    missing = [] if not remove_missing else sorted(
        (url for url, (_, in_file, _) in stored.items() if in_file and url not in listed))
    removed = _retire_feeds(session, [stored[url][0] for url in missing], stamp)
    return {"listed": len(listed), "written": len(rows), "removed": removed}


def feed_by_id(session: Session, feed_id: int) -> Feed | None:
    return session.get(Feed, feed_id)


def feed_names(session: Session, limit: int = 2000) -> list[tuple[int, str]]:
    """(id, name) of the feeds in the file, by name (the article filter's choices)."""
    return [tuple(row) for row in session.execute(
        select(Feed.id, Feed.name).where(Feed.in_file.is_(True)).order_by(Feed.name, Feed.id)
        .limit(limit))]


def active_feed_ids(session: Session, urls: list[str] | None = None) -> list[tuple[int, str]]:
    """(id, name) of enabled feeds (of the feeds file, or with these URLs) not disabled."""
    query = select(Feed.id, Feed.name).where(Feed.enabled.is_(True),
                                             Feed.disabled_reason.is_(None))
    query = query.where(Feed.url.in_(urls)) if urls is not None else \
        query.where(Feed.in_file.is_(True))
    return [(feed_id, name) for feed_id, name in session.execute(query.order_by(Feed.id))]


def claim_due_feeds(session: Session, at: datetime, limit: int = 500,
                    lease_seconds: float = 120, per_host: int | None = None) -> list[int]:
    """Feed ids due at `at`, each claimed by pushing its next poll a lease ahead, in an
    order that takes the hosts in turn.

    The conditional update means two schedulers racing for one feed get it once.
    """
    return [feed_id for feed_id, _ in claim_due(session, at, limit, lease_seconds, per_host)]


def claim_due(session: Session, at: datetime, limit: int = 500, lease_seconds: float = 120,
              per_host: int | None = None) -> list[tuple[int, int]]:
    """(feed id, turn) of the feeds due at `at`, claimed, hosts in turn: the turn is the
    number of polls of its host in flight or claimed before it in this batch.

    The first `limit` in the order they fell due, at most `per_host` of one host counting
    the polls already in flight there.
    """
    due = _due_with_turns(session, at, limit, per_host)
    if not due:
        return []
    ids = sorted(feed_id for feed_id, _, _ in due)
    # PostgreSQL: rows another scheduler (or a sync) holds are left for the next tick
    # instead of waited for. SQLite has no row locks and writes one at a time.
    free = session.scalars(select(Feed.id).where(Feed.id.in_(ids), Feed.next_poll_at <= at)
                           .order_by(Feed.id).with_for_update(skip_locked=True)).all()
    # The poll itself sets the real next time; if its worker dies, the feed is due again
    # when the lease ends. A feed another scheduler claimed meanwhile fails the condition.
    lease = at + timedelta(seconds=lease_seconds)
    won = set(session.scalars(
        update(Feed).where(Feed.id.in_(free), Feed.next_poll_at <= at)
        .values(next_poll_at=lease, leased_until=lease).returning(Feed.id)
        .execution_options(synchronize_session=False))) if free else set()
    return [(feed_id, turn) for turn, _, feed_id in
            sorted((turn, host, feed_id) for feed_id, host, turn in due if feed_id in won)]


def _due(at: datetime):
    return (Feed.enabled.is_(True), Feed.in_file.is_(True), Feed.disabled_reason.is_(None),
            Feed.next_poll_at <= at)


def _due_with_turns(session: Session, at: datetime, limit: int,
                    per_host: int | None) -> list[tuple[int, str, int]]:
    """(id, host, turn) of the first `limit` due feeds, `per_host` at most of a host."""
    host = Feed.host
    if per_host is None:  # no cap: the first due, turns counted within the batch
        rows = session.execute(select(Feed.id, host).where(*_due(at))
                               .order_by(Feed.next_poll_at, Feed.id).limit(limit)).all()
        rank: dict[str, int] = {}
        turns = []
        for feed_id, feed_host in rows:
            rank[feed_host] = rank.get(feed_host, -1) + 1
            turns.append((feed_id, feed_host, rank[feed_host]))
        return turns
    # One query in the database: each due feed's rank within its host, plus the polls
    # of that host still in flight, against the cap. Nothing crosses to Python but the
    # batch, however many feeds are due.
    due = select(Feed.id, host.label("host"), Feed.next_poll_at, func.row_number().over(
        partition_by=host, order_by=(Feed.next_poll_at, Feed.id)).label("rank")) \
        .where(*_due(at)).subquery("due")
    busy = select(host.label("host"), func.count().label("polls")) \
        .where(Feed.leased_until > at).group_by(host).subquery("busy")
    turn = due.c.rank - 1 + func.coalesce(busy.c.polls, 0)
    return [tuple(row) for row in session.execute(
        select(due.c.id, due.c.host, turn).select_from(
            due.outerjoin(busy, busy.c.host == due.c.host))
        .where(turn < per_host).order_by(due.c.next_poll_at, due.c.id).limit(limit))]


def polls_in_flight(session: Session, at: datetime) -> int:
    """Polls claimed and not finished: queued, held for their host's turn, or running."""
    return session.scalar(select(func.count()).select_from(Feed)
                          .where(Feed.leased_until > at))


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


def _connection(bind: Session | Connection) -> Connection:
    return bind.connection() if isinstance(bind, Session) else bind


def claim_poll(bind: Session | Connection, feed_id: int) -> PollClaim | None:
    """Count a poll attempt on the feed and read what the poll needs; None if no such feed.

    One statement (UPDATE ... RETURNING). The count is reset when the poll records its
    outcome: a count that keeps growing means polls that never finish (a killed worker).
    """
    row = _connection(bind).execute(
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


def give_back_poll(bind: Session | Connection, feed_id: int, lease_until: datetime) -> None:
    """Uncount the attempt: the host's turn has not come, the feed is not at fault.

    The feed stays claimed until `lease_until` (its re-queued poll comes before), so the
    scheduler does not send a second poll meanwhile.
    """
    _connection(bind).execute(
        update(Feed).where(Feed.id == feed_id)
        .values(poll_attempts=case((Feed.poll_attempts > 0, Feed.poll_attempts - 1),
                                   else_=0),
                next_poll_at=lease_until, leased_until=lease_until))


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


def record_success(bind: Session | Connection, feed_id: int, *, fetched, started: datetime,
                   interval: int, next_poll: datetime, changed: bool) -> None:
    """The feed answered: keep its validators and redirect, reset its failure counts.

    One UPDATE, no load of the row: a 304 (the most common poll) stays cheap.
    """
    values: dict = dict(last_polled_at=started, last_success_at=started,
                        last_status=fetched.status, last_error=None,
                        consecutive_failures=0, poll_attempts=0, leased_until=None,
                        effective_interval=interval, next_poll_at=next_poll)
    if changed:  # a 304 keeps the validators it was asked with
        values.update(etag=fetched.headers.get("etag"),
                      last_modified=fetched.headers.get("last-modified"))
    if fetched.permanent_redirect:
        values.update(current_url=fetched.permanent_redirect,
                      host=feed_host(fetched.permanent_redirect))
    _connection(bind).execute(update(Feed).where(Feed.id == feed_id).values(**values))


def record_failure(session: Session, feed_id: int, *, started: datetime, status: int | None,
                   reason: str, message: str, next_poll, disable: bool = False,
                   dead_letter: bool = False) -> Feed:
    """The poll failed: count it, back the feed off, file a dead letter if asked."""
    feed = session.get(Feed, feed_id)
    feed.consecutive_failures += 1
    feed.poll_attempts, feed.leased_until = 0, None
    feed.last_polled_at, feed.last_status, feed.last_error = started, status, message
    feed.next_poll_at = next_poll(feed)
    if disable:
        feed.disabled_reason = reason
    if disable or dead_letter:
        session.add(Failure(feed_id=feed_id, stage="poll", reason=reason,
                            message=message[:2000], created_at=now()))
    return feed


def record_poll(bind: Session | Connection, feed_id: int, *, started: datetime, duration_ms: int,
                status: int | None, outcome: str, entries: int = 0, new_entries: int = 0,
                skipped: int = 0, error: str | None = None) -> None:
    _connection(bind).execute(insert(Poll).values(
        feed_id=feed_id, started_at=started, duration_ms=duration_ms, status_code=status,
        outcome=outcome, entries=entries, new_entries=new_entries, skipped_entries=skipped,
        error=error))
