"""The change feed: events appended by writers, sequenced right after they commit.

Consumers follow `events` by `seq`; see the comment below for why commit order is seq order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, event, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from worker.store.db import insert_many, sequencer
from worker.store.models import Event, EventCounter, EventOutbox

log = logging.getLogger(__name__)
EVENTS_CHANNEL = "newsworker_events"  # PostgreSQL NOTIFY channel, payload: the event's seq


# --- change feed -------------------------------------------------------------------------
# A writer puts its events in the outbox, in its own transaction, without a seq and without
# any lock. Right after it commits, a separate short transaction moves the outbox rows to
# `events`, handing out seqs under the counter lock: the lock lives a few milliseconds,
# never across a long transaction, and since seqs are given and committed under it, commit
# order is seq order (a consumer reading `seq > last_seen` never skips one). A sequencing
# that fails (a crash between the two commits) leaves rows the sweep sequences later.
# SQLite has one write lock for the whole database, held by each writer from its first
# statement: there the events are sequenced just before the writer's own commit.

SEQUENCE_BATCH = 1000
SEQUENCE_ROUNDS = 50  # then the next writer's commit, or the sweep, takes over
_PENDING = "newsworker_events_pending"  # session.info flag: this transaction wrote events


def append_event(session: Session, article_id: int, kind: str, state: str) -> None:
    """Record a change event in the caller's transaction; it gets its seq after the commit.

    A plain INSERT on the session's connection: an ORM object would cost a unit-of-work
    flush at commit, more Python than the statement itself, for a row never read back.
    """
    append_events(session, [article_id], kind, state)


def append_events(session: Session, article_ids: list[int], kind: str, state: str) -> None:
    """The same event for several articles (a batch's state change): one statement."""
    if not article_ids:
        return
    stamp = datetime.now(UTC)
    rows = [{"article_id": i, "kind": kind, "state": state, "created_at": stamp}
            for i in article_ids]
    if len(rows) == 1:
        session.connection().execute(insert(EventOutbox).values(**rows[0]))
    else:
        insert_many(session, insert(EventOutbox), rows)
    session.info[_PENDING] = True


def sequence_events(bind: Engine | Connection, limit: int = SEQUENCE_BATCH,
                    pending: bool = False) -> int:
    """Give the committed outbox events their seqs, in outbox order; how many were moved.

    Short transactions under the counter lock, repeated while the outbox has rows. On
    PostgreSQL a caller that finds the lock taken returns at once: the holder reads the
    outbox again after its commit, so it sequences this caller's (committed) rows too;
    no writer ever waits for another's sequencing. The outbox is read after the lock is
    taken, so two sequencers never take one row. `pending`: the caller just committed
    events, so the first look at the outbox is skipped.
    """
    engine = sequencer(bind if isinstance(bind, Engine) else bind.engine)
    total = 0
    with engine.connect() as conn:
        for round_ in range(SEQUENCE_ROUNDS):
            if not (pending and round_ == 0):
                if conn.execute(select(EventOutbox.id).limit(1)).first() is None:
                    conn.rollback()
                    break
                conn.rollback()
            moved = _sequence_once(conn, limit)
            if moved is None:
                break  # another process holds the lock and will see our rows
            total += moved
    return total


def _sequence_once(conn: Connection, limit: int) -> int | None:
    """One sequencing transaction; None if another process holds the counter (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return _sequence_once_postgresql(conn, limit)
    asked = time.perf_counter()
    with conn.begin():  # SQLite: BEGIN IMMEDIATE already took the database's write lock
        last = _last_seq(conn)
        locked = time.perf_counter()
        moved = _move_outbox(conn, last, limit)
    _observe_counter_lock(locked - asked, time.perf_counter() - locked)
    return moved


# PostgreSQL does the whole move in one statement (one round trip instead of eight):
# take the counter row if free (SKIP LOCKED: never wait for another sequencer), take the
# oldest outbox rows only if it was taken, number them after the counter, add them to
# `events`, move the counter on and NOTIFY. An outbox row another sequencer deleted
# meanwhile is skipped by the DELETE (read committed re-checks the row), so no row is
# taken twice; the numbers come from the rows actually deleted.
_SEQUENCE_PG = text("""
WITH counter AS (
    SELECT last_seq FROM event_counter WHERE id = 1 FOR UPDATE SKIP LOCKED
), taken AS (
    DELETE FROM event_outbox
    WHERE id IN (SELECT id FROM event_outbox ORDER BY id LIMIT :limit)
      AND EXISTS (SELECT 1 FROM counter)
    RETURNING id, article_id, kind, state, created_at
), added AS (
    INSERT INTO events (seq, article_id, kind, state, created_at)
    SELECT (SELECT last_seq FROM counter) + row_number() OVER (ORDER BY id),
           article_id, kind, state, created_at
    FROM taken
    RETURNING seq
), bumped AS (
    UPDATE event_counter SET last_seq = (SELECT max(seq) FROM added)
    WHERE id = 1 AND EXISTS (SELECT 1 FROM added)
    RETURNING last_seq
)
SELECT EXISTS (SELECT 1 FROM counter) AS locked,
       (SELECT count(*) FROM added) AS moved,
       (SELECT pg_notify(:channel, last_seq::text) FROM bumped) AS notified
""")


def _sequence_once_postgresql(conn: Connection, limit: int) -> int | None:
    started = time.perf_counter()
    with conn.begin():
        locked, moved, _ = conn.execute(
            _SEQUENCE_PG, {"limit": limit, "channel": EVENTS_CHANNEL}).one()
    if not locked:
        return None  # another process holds the counter and will see our rows
    # SKIP LOCKED: no time is spent waiting; the hold is the statement and its commit.
    _observe_counter_lock(0.0, time.perf_counter() - started)
    return moved


def _last_seq(conn: Connection) -> int:
    return conn.execute(select(EventCounter.last_seq).where(EventCounter.id == 1)).scalar_one()


def _move_outbox(conn: Connection, last: int, limit: int) -> int:
    rows = conn.execute(select(EventOutbox).order_by(EventOutbox.id).limit(limit)).all()
    if not rows:
        return 0
    insert_many(conn, insert(Event), [
        {"seq": last + i, "article_id": r.article_id, "kind": r.kind, "state": r.state,
         "created_at": r.created_at} for i, r in enumerate(rows, start=1)])
    conn.execute(delete(EventOutbox).where(EventOutbox.id.in_([r.id for r in rows])))
    conn.execute(update(EventCounter).where(EventCounter.id == 1)
                 .values(last_seq=last + len(rows)))
    return len(rows)


# Who wants the counter lock's timings (the metrics module registers itself): the store
# measures, its callers record, so the store never imports the metrics it feeds.
CounterLockObserver = Callable[[float, float], None]
_counter_lock_observers: list[CounterLockObserver] = []


def observe_counter_lock(observer: CounterLockObserver) -> None:
    """Call `observer(wait_seconds, hold_seconds)` after each sequencing transaction."""
    if observer not in _counter_lock_observers:
        _counter_lock_observers.append(observer)


def _observe_counter_lock(wait: float, hold: float) -> None:
    for observer in _counter_lock_observers:
        observer(wait, hold)


def sequence_all_events(bind: Engine | Connection) -> int:
    """Sequence every committed outbox event (the sweep, the CLI before an export)."""
    total = 0
    while moved := sequence_events(bind):
        total += moved
    return total


@event.listens_for(Session, "before_commit")
def _sequence_in_sqlite_transaction(session: Session) -> None:
    """On SQLite every writer holds the database's one write lock from BEGIN IMMEDIATE to
    its commit, so commit order is already transaction order: the events get their seqs
    in the writer's own transaction. A second transaction would take that lock again
    after each commit, and wait behind the other process's write while its core idles."""
    if session.info.get(_PENDING) and session.get_bind().dialect.name == "sqlite":
        conn = session.connection()
        started = time.perf_counter()
        while moved := _move_outbox(conn, _last_seq(conn), SEQUENCE_BATCH):
            if moved < SEQUENCE_BATCH:
                break
        _observe_counter_lock(0.0, time.perf_counter() - started)
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _sequence_after_commit(session: Session) -> None:
    if not session.info.pop(_PENDING, False):
        return
    for attempt in (1, 2):
        try:
            sequence_events(session.get_bind(), pending=True)
            return
        except DBAPIError as exc:
            # A connection the server dropped (its pool is not pinged): once more, on a
            # new one; the pool has replaced every connection older than the drop.
            if exc.connection_invalidated and attempt == 1:
                continue
            log.warning("events left in the outbox for the sweep: %s", exc)
        except Exception as exc:  # noqa: BLE001 - the write is committed; the sweep sequences it
            log.warning("events left in the outbox for the sweep: %s", exc)
        return


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
