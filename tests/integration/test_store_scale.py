"""The store under load: change-feed outbox, bulk annotation writes, retention of polls,
cached state counts. Real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, insert, select

from worker.nlp.annotate import Annotations, Quote
from worker.nlp.dates import DateMention
from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.money import Amount
from worker.store import events, health, repo
from worker.store.annotations import save_annotations
from worker.store.db import get_engine, session_scope
from worker.store.models import Entity, Event, EventOutbox, Feed, Mention, Poll
from worker.store.records import event_records
from worker.store.retention import apply_retention


def entry(n: int) -> SimpleNamespace:
    url = f"http://127.0.0.1/a/{n}"
    return SimpleNamespace(link=url, canonical_url=url, guid=url, title=f"Article {n}",
                           summary=None, content=None, published=None, categories=())


def discover(db_url: str, n: int) -> int:
    with session_scope(db_url) as session:
        return repo.discover_article(session, None, entry(n))


def seqs_of(db_url: str) -> dict[int, int]:
    """{article id: seq} of the sequenced `discovered` events."""
    with session_scope(db_url) as session:
        return {e["article_id"]: e["seq"] for e in event_records(session, 0)}


# --- change feed ------------------------------------------------------------------------------

def test_events_get_their_seq_at_commit_in_commit_order(db_url):
    first = discover(db_url, 1)
    with session_scope(db_url) as session:
        second = repo.discover_article(session, None, entry(2))
        # Not committed yet: a consumer sees only the first article's event.
        assert [e["article_id"] for e in event_records(session, 0)] == [first]
    assert seqs_of(db_url) == {first: 1, second: 2}
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(EventOutbox)) == 0


def test_a_rolled_back_transaction_leaves_no_event(db_url):
    with pytest.raises(RuntimeError), session_scope(db_url) as session:
        repo.discover_article(session, None, entry(1))
        raise RuntimeError("the step failed")
    assert seqs_of(db_url) == {}
    later = discover(db_url, 2)
    assert seqs_of(db_url) == {later: 1}


def test_the_sweep_sequences_events_left_by_a_writer_that_died(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:  # committed without the session hook: a crash after commit
        conn.execute(insert(EventOutbox), [
            {"article_id": 7, "kind": "discovered", "state": "discovered",
             "created_at": repo.now()},
            {"article_id": 7, "kind": "fetched", "state": "fetched", "created_at": repo.now()}])
    assert events.sequence_all_events(engine) == 2
    with session_scope(db_url) as session:
        assert [(e["seq"], e["kind"]) for e in event_records(session, 0)] == \
            [(1, "discovered"), (2, "fetched")]


def test_a_long_transaction_does_not_hold_back_other_writers_events(pg_url):
    """The counter lock is not held across a transaction: on PostgreSQL, an open
    transaction with an event does not block another writer, nor its event's seq."""
    opened, finish = threading.Event(), threading.Event()
    outcome: dict[str, int] = {}

    def long_writer() -> None:
        with session_scope(pg_url) as session:
            outcome["long"] = repo.discover_article(session, None, entry(1))
            session.flush()
            opened.set()
            finish.wait(60)

    thread = threading.Thread(target=long_writer)
    thread.start()
    try:
        assert opened.wait(30)
        short = discover(pg_url, 2)  # would wait on the counter lock before the outbox
        assert seqs_of(pg_url) == {short: 1}
    finally:
        finish.set()
        thread.join(60)
    # The long one committed later: its event comes after, so `seq > 1` still finds it.
    assert seqs_of(pg_url) == {short: 1, outcome["long"]: 2}


def test_concurrent_writers_get_gapless_unique_seqs(pg_url):
    def writer(base: int) -> None:
        for n in range(base, base + 25):
            discover(pg_url, n)

    threads = [threading.Thread(target=writer, args=(base,)) for base in (0, 100, 200, 300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with session_scope(pg_url) as session:
        seqs = session.scalars(select(Event.seq).order_by(Event.seq)).all()
    assert seqs == list(range(1, 101))


# --- annotations ------------------------------------------------------------------------------

def annotations(name: str = "Emmanuel Macron") -> Annotations:
    sentence = f"{name} a annoncé 3 millions d'euros le 12 mars 2024."
    mention = RawMention(label="PER", text=name, start=0, end=len(name), sentence=sentence)
    person = CanonicalEntity(label="PER", name=name, key=name.lower(), aliases=(name,),
                             mentions=(mention, mention))
    return Annotations(
        entities=(person,),
        amounts=(Amount(start=20, end=38, text="3 millions d'euros", value=3e6, currency="EUR",
                        kind="money"),),
        dates=(DateMention(start=42, end=55, text="12 mars 2024", value="2024-03-12"),),
        quotes=(Quote(start=0, end=10, text="Nous irons", speaker=name),))


def statements_during(db_url: str, article_id: int, ann: Annotations) -> list[str]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.lstrip().split()[0].upper())

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(db_url) as session:
            save_annotations(session, article_id, ann)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_first_save_only_inserts_and_a_second_replaces(db_url):
    article_id = discover(db_url, 1)
    first = statements_during(db_url, article_id, annotations())
    assert "DELETE" not in first and "UPDATE" not in first
    # One statement per table, whatever the number of rows (bulk, not one per object):
    # entities, their forms, aliases, mentions, amounts, dates, quotes, daily counts.
    assert first.count("INSERT") <= 8
    again = statements_during(db_url, article_id, annotations())
    assert "DELETE" in again  # a re-fetched article replaces its annotations
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Mention)) == 2
        entity = session.scalars(select(Entity)).one()
        assert (entity.mention_count, entity.article_count) == (2, 1)


# --- retention and metrics --------------------------------------------------------------------

def test_retention_prunes_old_polls_and_keeps_recent_ones(sqlite_url):
    from worker.store.migrate import upgrade

    upgrade(sqlite_url)
    now = repo.now()
    with session_scope(sqlite_url) as session:
        feed = Feed(url="http://127.0.0.1/f.rss", name="F", created_at=now, updated_at=now)
        session.add(feed)
        session.flush()
        for days in (0, 1, 2, 4, 10):
            session.add(Poll(feed_id=feed.id, started_at=now - timedelta(days=days, hours=1),
                             outcome="not_modified"))
    with session_scope(sqlite_url) as session:
        done = apply_retention(session, now, raw_html_days=0, article_days=0, poll_days=3)
    assert done["polls"] == 2
    with session_scope(sqlite_url) as session:
        # SQLite gives the stamps back without their zone (they were stored in UTC).
        ages = sorted((now - p.replace(tzinfo=now.tzinfo)).days
                      for p in session.scalars(select(Poll.started_at)))
    assert ages == [0, 1, 2]


def test_state_counts_for_metrics_are_cached_briefly(sqlite_url):
    from worker.store.migrate import upgrade

    upgrade(sqlite_url)
    discover(sqlite_url, 1)
    assert health.cached_counts_by_state(sqlite_url, max_age=3600) == {"discovered": 1}
    discover(sqlite_url, 2)
    assert health.cached_counts_by_state(sqlite_url, max_age=3600) == {"discovered": 1}
    assert health.cached_counts_by_state(sqlite_url, max_age=0) == {"discovered": 2}
