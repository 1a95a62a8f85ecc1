"""Repository functions: every read and write the pipeline and the CLI make.

Writes are upserts behind unique constraints, so concurrent workers on many machines
cannot create duplicates; state changes are conditional updates, so a task run twice
moves an article at most once.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.store.models import (
    Article,
    ArticleUrl,
    Event,
    EventCounter,
    EventOutbox,
    Failure,
    Feed,
    Page,
    Poll,
    Story,
    TextHash,
)

ACTIVE_STATES = ("discovered", "fetched", "extracted")
log = logging.getLogger(__name__)
EVENTS_CHANNEL = "newsworker_events"  # PostgreSQL NOTIFY channel, payload: the event's seq


def now() -> datetime:
    return datetime.now(UTC)


def insert_for(session: Session, table):
    """INSERT with ON CONFLICT support for the session's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


# --- change feed -------------------------------------------------------------------------
# A writer puts its events in the outbox, in its own transaction, without a seq and without
# any lock. Right after it commits, a separate short transaction moves the outbox rows to
# `events`, handing out seqs under the counter lock: the lock lives a few milliseconds,
# never across a long transaction, and since seqs are given and committed under it, commit
# order is seq order (a consumer reading `seq > last_seen` never skips one). A sequencing
# that fails (a crash between the two commits) leaves rows the sweep sequences later.

SEQUENCE_BATCH = 1000
SEQUENCE_ROUNDS = 50  # then the next writer's commit, or the sweep, takes over
_PENDING = "newsworker_events_pending"  # session.info flag: this transaction wrote events


def append_event(session: Session, article_id: int, kind: str, state: str) -> None:
    """Record a change event in the caller's transaction; it gets its seq after the commit."""
    session.add(EventOutbox(article_id=article_id, kind=kind, state=state, created_at=now()))
    session.info[_PENDING] = True


def sequence_events(bind: Engine | Connection, limit: int = SEQUENCE_BATCH) -> int:
    """Give the committed outbox events their seqs, in outbox order; how many were moved.

    Short transactions under the counter lock, repeated while the outbox has rows. On
    PostgreSQL a caller that finds the lock taken returns at once: the holder reads the
    outbox again after its commit, so it sequences this caller's (committed) rows too;
    no writer ever waits for another's sequencing. The outbox is read after the lock is
    taken, so two sequencers never take one row.
    """
    engine = bind if isinstance(bind, Engine) else bind.engine
    total = 0
    with engine.connect() as conn:
        for _ in range(SEQUENCE_ROUNDS):
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
    asked = time.perf_counter()
    with conn.begin():
        query = select(EventCounter.last_seq).where(EventCounter.id == 1)
        if conn.dialect.name == "postgresql":
            last = conn.execute(query.with_for_update(skip_locked=True)).scalar_one_or_none()
            if last is None:
                return None
        else:  # SQLite: BEGIN IMMEDIATE already took the database's write lock
            last = conn.execute(query).scalar_one()
        locked = time.perf_counter()
        moved = _move_outbox(conn, last, limit)
    _observe_counter_lock(locked - asked, time.perf_counter() - locked)
    return moved


def _move_outbox(conn: Connection, last: int, limit: int) -> int:
    rows = conn.execute(select(EventOutbox).order_by(EventOutbox.id).limit(limit)).all()
    if not rows:
        return 0
    conn.execute(insert(Event), [
        {"seq": last + i, "article_id": r.article_id, "kind": r.kind, "state": r.state,
         "created_at": r.created_at} for i, r in enumerate(rows, start=1)])
    conn.execute(delete(EventOutbox).where(EventOutbox.id.in_([r.id for r in rows])))
    conn.execute(update(EventCounter).where(EventCounter.id == 1)
                 .values(last_seq=last + len(rows)))
    if conn.dialect.name == "postgresql":
        # Delivered at commit: wakes consumers LISTENing instead of polling.
        conn.execute(text("SELECT pg_notify(:channel, :seq)"),
                     {"channel": EVENTS_CHANNEL, "seq": str(last + len(rows))})
    return len(rows)


def _observe_counter_lock(wait: float, hold: float) -> None:
    # Imported late: the metrics module must load after `newsworker run` set up its folder.
    from worker.metrics import EVENT_LOCK_HOLD, EVENT_LOCK_WAIT

    EVENT_LOCK_WAIT.observe(wait)
    EVENT_LOCK_HOLD.observe(hold)


def sequence_all_events(bind: Engine | Connection) -> int:
    """Sequence every committed outbox event (the sweep, the CLI before an export)."""
    total = 0
    while moved := sequence_events(bind):
        total += moved
    return total


@event.listens_for(Session, "after_commit")
def _sequence_after_commit(session: Session) -> None:
    if not session.info.pop(_PENDING, False):
        return
    try:
        sequence_events(session.get_bind())
    except Exception as exc:  # noqa: BLE001 - the write is committed; the sweep sequences it
        log.warning("events left in the outbox for the sweep: %s", exc)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- feeds ---------------------------------------------------------------------------------

def sync_feeds(session: Session, specs, remove_missing: bool = True) -> dict[str, int]:
    """Make the feeds table match feeds.yaml: upsert listed feeds, retire the others.

    `remove_missing=False` only adds and updates: a one-off run with another file
    must not retire the service's feeds.
    """
    listed = {spec.url for spec in specs}
    stamp = now()
    for spec in specs:
        values = dict(url=spec.url, name=spec.name, enabled=spec.enabled, in_file=True,
                      interval_seconds=spec.interval_seconds, tags=list(spec.tags),
                      respect_robots=spec.respect_robots, adaptive=spec.adaptive,
                      created_at=stamp, updated_at=stamp, next_poll_at=stamp)
        stmt = insert_for(session, Feed).values(**values)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Feed.url],
            set_=dict(name=spec.name, enabled=spec.enabled, in_file=True,
                      interval_seconds=spec.interval_seconds, tags=list(spec.tags),
                      respect_robots=spec.respect_robots, adaptive=spec.adaptive,
                      updated_at=stamp)))
    removed = 0
    if remove_missing:
        removed = session.execute(
            update(Feed).where(Feed.url.not_in(listed), Feed.in_file.is_(True))
            .values(in_file=False, updated_at=stamp)).rowcount
    return {"listed": len(listed), "removed": removed}


def feed_by_id(session: Session, feed_id: int) -> Feed | None:
    return session.get(Feed, feed_id)


def active_feeds(session: Session, urls: list[str] | None = None) -> list[Feed]:
    """Enabled feeds (of the feeds file, or with these URLs) not disabled by an error."""
    query = select(Feed).where(Feed.enabled.is_(True), Feed.disabled_reason.is_(None))
    query = query.where(Feed.url.in_(urls)) if urls is not None else \
        query.where(Feed.in_file.is_(True))
    return list(session.scalars(query.order_by(Feed.id)))


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


def new_entries_per_hour(session: Session, feed_id: int, since: datetime) -> float | None:
    """The feed's publishing rate over its successful polls since `since`; None if too few."""
    count, total, first = session.execute(
        select(func.count(), func.coalesce(func.sum(Poll.new_entries), 0),
               func.min(Poll.started_at))
        .where(Poll.feed_id == feed_id, Poll.started_at >= since,
               Poll.outcome.in_(("ok", "not_modified")))).one()
    if count < 3 or first is None:
        return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=since.tzinfo)
    hours = max((now() - first).total_seconds() / 3600, 0.25)
    return total / hours


def record_poll(session: Session, feed: Feed, *, started: datetime, duration_ms: int,
                status: int | None, outcome: str, entries: int = 0, new_entries: int = 0,
                skipped: int = 0, error: str | None = None) -> None:
    session.add(Poll(feed_id=feed.id, started_at=started, duration_ms=duration_ms,
                     status_code=status, outcome=outcome, entries=entries,
                     new_entries=new_entries, skipped_entries=skipped, error=error))


# --- articles ------------------------------------------------------------------------------

def discover_article(session: Session, feed_id: int, entry) -> int | None:
    """Record a feed entry as an article in state `discovered`; its id if it is new.

    Identity is the canonical URL (unique): a second feed, or a second poll, listing the
    same article only records the extra link.
    """
    stamp = now()
    stmt = insert_for(session, Article).values(
        canonical_url=entry.canonical_url, url=entry.link, feed_id=feed_id, state="discovered",
        state_changed_at=stamp, entry_guid=entry.guid, entry_title=entry.title,
        entry_summary=entry.summary, entry_content=entry.content,
        entry_published=entry.published, entry_categories=list(entry.categories),
        discovered_at=stamp, updated_at=stamp,
    ).on_conflict_do_nothing(index_elements=[Article.canonical_url]).returning(Article.id)
    new_id = session.execute(stmt).scalar_one_or_none()
    article_id = new_id or session.scalar(
        select(Article.id).where(Article.canonical_url == entry.canonical_url))
    session.execute(insert_for(session, ArticleUrl).values(
        url=entry.link, article_id=article_id, feed_id=feed_id, seen_at=stamp
    ).on_conflict_do_nothing(index_elements=[ArticleUrl.url]))
    if new_id:
        append_event(session, new_id, "discovered", "discovered")
    return new_id


def known_urls(session: Session, urls: list[str]) -> dict[str, tuple[int, datetime | None]]:
    """{canonical URL: (article id, entry date)} for those that already have an article."""
    if not urls:
        return {}
    rows = session.execute(select(Article.canonical_url, Article.id, Article.entry_published)
                           .where(Article.canonical_url.in_(urls)))
    return {url: (article_id, published) for url, article_id, published in rows}


def request_refetch(session: Session, article_id: int, entry) -> bool:
    """A done article whose feed entry was updated goes back to `discovered`, same row."""
    stamp = now()
    moved = session.execute(
        update(Article).where(Article.id == article_id, Article.state.in_(("done", "failed")))
        .values(state="discovered", state_changed_at=stamp, updated_at=stamp,
                entry_title=entry.title, entry_summary=entry.summary,
                entry_content=entry.content, entry_published=entry.published,
                failure_reason=None, attempts=0)).rowcount
    if moved:
        append_event(session, article_id, "refetch", "discovered")
    return bool(moved)


def get_article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def advance(session: Session, article_id: int, from_state: str, to_state: str,
            event: str | None = None, **fields) -> bool:
    """Move an article one state forward if it is still in `from_state`; False if not.

    This is the claim that makes tasks idempotent: a second run finds the state moved.
    """
    stamp = now()
    moved = session.execute(
        update(Article).where(Article.id == article_id, Article.state == from_state)
        .values(state=to_state, state_changed_at=stamp, updated_at=stamp, **fields)
    ).rowcount
    if moved:
        append_event(session, article_id, event or to_state, to_state)
    return bool(moved)


def record_attempt(session: Session, article_id: int, error: str) -> int:
    """Count a transient failure; the article keeps its state so the sweep retries it."""
    session.execute(update(Article).where(Article.id == article_id).values(
        attempts=Article.attempts + 1, last_error=error, state_changed_at=now()))
    return session.scalar(select(Article.attempts).where(Article.id == article_id)) or 0


def touch(session: Session, article_ids: list[int]) -> None:
    if article_ids:
        session.execute(update(Article).where(Article.id.in_(article_ids))
                        .values(state_changed_at=now()))


def fail_article(session: Session, article_id: int, stage: str, reason: str,
                 message: str) -> bool:
    """Mark an article failed with its reason and file a dead letter; False if already final."""
    stamp = now()
    moved = session.execute(
        update(Article).where(Article.id == article_id, Article.state.in_(ACTIVE_STATES))
        .values(state="failed", failure_reason=reason, last_error=message[:2000],
                state_changed_at=stamp, updated_at=stamp)).rowcount
    if moved:
        session.add(Failure(article_id=article_id, stage=stage, reason=reason,
                            message=message[:2000], created_at=stamp))
        append_event(session, article_id, "failed", "failed")
    return bool(moved)


def record_feed_failure(session: Session, feed_id: int, reason: str, message: str) -> None:
    session.add(Failure(feed_id=feed_id, stage="poll", reason=reason, message=message[:2000],
                        created_at=now()))


def save_page(session: Session, article_id: int, url: str, status: int,
              headers: dict[str, str], body: bytes) -> None:
    keep = {k: v for k, v in headers.items()
            if k in ("content-type", "etag", "last-modified", "content-language")}
    stmt = insert_for(session, Page).values(article_id=article_id, url=url, status=status,
                                            headers=keep, body=body, fetched_at=now())
    session.execute(stmt.on_conflict_do_update(
        index_elements=[Page.article_id],
        set_=dict(url=url, status=status, headers=keep, body=body, fetched_at=now())))


def drop_page_body(session: Session, article_id: int) -> None:
    session.execute(update(Page).where(Page.article_id == article_id).values(body=None))


def get_page(session: Session, article_id: int) -> Page | None:
    return session.get(Page, article_id)


def article_with_canonical(session: Session, canonical_url: str) -> int | None:
    return session.scalar(select(Article.id).where(Article.canonical_url == canonical_url))


def claim_text(session: Session, text_hash: str, article_id: int) -> int:
    """The first article with this text; inserting it if this one is the first."""
    session.execute(insert_for(session, TextHash).values(text_hash=text_hash,
                                                         article_id=article_id)
                    .on_conflict_do_nothing(index_elements=[TextHash.text_hash]))
    return session.scalar(select(TextHash.article_id).where(TextHash.text_hash == text_hash))


def new_story(session: Session, representative_id: int) -> int:
    story = Story(representative_id=representative_id, created_at=now())
    session.add(story)
    session.flush()
    return story.id


def articles_in_state(session: Session, state: str, limit: int = 1000,
                      older_than: datetime | None = None) -> list[int]:
    query = select(Article.id).where(Article.state == state)
    if older_than is not None:
        query = query.where(Article.state_changed_at < older_than)
    return list(session.scalars(query.order_by(Article.id).limit(limit)))


def lease_batch(session: Session, article_id: int, size: int, owner: str,
                seconds: float = 120) -> list[int]:
    """This article and up to `size - 1` other unleased extracted ones, leased to `owner`.

    Lets one NLP process annotate several articles in one model pass while another
    process picks different ones. The same owner (a retried task) may lease them again;
    an expired lease (a dead worker) frees them for anyone.
    """
    stamp = now()
    free = (Article.lease_until.is_(None)) | (Article.lease_until < stamp) | \
        (Article.lease_owner == owner)
    others = session.scalars(select(Article.id).where(
        Article.state == "extracted", Article.id != article_id, free)
        .order_by(Article.id).limit(max(0, size - 1))).all()
    wanted = [article_id, *others]
    leased = session.scalars(
        update(Article).where(Article.id.in_(wanted), Article.state == "extracted", free)
        .values(lease_until=stamp + timedelta(seconds=seconds), lease_owner=owner)
        .returning(Article.id)).all()
    return sorted(leased)


def release_leases(session: Session, article_ids: list[int], owner: str) -> None:
    session.execute(update(Article).where(Article.id.in_(article_ids),
                                          Article.lease_owner == owner)
                    .values(lease_until=None, lease_owner=None))


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Article.state, func.count()).group_by(Article.state))
    return {state: n for state, n in rows}
