"""What is rising (issue 24): daily counts kept on the write path, trends read from them,
on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from worker.nlp.annotate import Annotations
from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.text import fold
from worker.store import repo
from worker.store.annotations import save_annotations
from worker.store.db import session_scope
from worker.store.migrate import upgrade
from worker.store.models import Article, EntityDay, StoryDay
from worker.store.trends import trends

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _entity(label: str, name: str, times: int = 1) -> CanonicalEntity:
    mentions = tuple(RawMention(label, name, i * 100, i * 100 + len(name), "")
                     for i in range(times))
    return CanonicalEntity(label, name, fold(name), (name,), mentions)


def _store(url: str, n: int, day: datetime, *entities: CanonicalEntity,
           story: int | None = None) -> int:
    with session_scope(url) as session:
        article = Article(canonical_url=f"https://e.test/{n}", url=f"https://e.test/{n}",
                          url_key=f"{n:064d}", state="extracted", state_changed_at=NOW,
                          discovered_at=NOW, updated_at=NOW, published=day.isoformat())
        session.add(article)
        session.flush()
        if story:
            article.story_id = story if story > 0 else repo.new_story(session, article.id)
        session.flush()
        save_annotations(session, article.id, Annotations(entities, (), (), ()))
        return article.id


def test_rising_entity_and_story_over_a_scaled_baseline(db_url):
    upgrade(db_url)
    # Steady: two articles a day for the past week and today. Rising: one article a week
    # ago, then six today.
    n = 0
    for days_ago in range(8):
        for _ in range(2):
            n += 1
            _store(db_url, n, NOW - timedelta(days=days_ago), _entity("PER", "Anne Steady"))
    n += 1
    _store(db_url, n, NOW - timedelta(days=6), _entity("PER", "Rose Rising"))
    first = _store(db_url, 100, NOW, _entity("PER", "Rose Rising", 2), story=-1)
    with session_scope(db_url) as session:
        story = session.scalar(select(Article.story_id).where(Article.id == first))
    for i in range(5):
        _store(db_url, 101 + i, NOW - timedelta(hours=i), _entity("PER", "Rose Rising"),
               _entity("LOC", "Lyon"), story=story)
    with session_scope(db_url) as session:
        found = trends(session, hours=24, now=NOW)
    top = found[0]
    assert (top.kind, top.name, top.count) == ("entity", "Rose Rising", 7)
    assert top.baseline == round(1 / 7, 2) and top.score > 5
    steady = next(t for t in found if t.name == "Anne Steady")
    assert (steady.count, steady.baseline) == (2, 2.0) and steady.score == 0
    stories = [t for t in found if t.kind == "story"]
    assert [(t.id, t.count, t.baseline) for t in stories] == [(story, 6, 0.0)]
    assert stories[0].name is not None
    # A longer window scales the baseline: 2 days against the 7 before them.
    with session_scope(db_url) as session:
        two_days = {t.name: t for t in trends(session, hours=48, now=NOW, kind="entity")}
    assert two_days["Anne Steady"].count == 4
    assert two_days["Anne Steady"].baseline == round(12 * 2 / 7, 2)


def test_counts_follow_the_article_day_and_a_rewrite_does_not_double(db_url):
    upgrade(db_url)
    yesterday = NOW - timedelta(days=1)
    article = _store(db_url, 1, yesterday, _entity("ORG", "Airbus", 3))
    with session_scope(db_url) as session:
        save_annotations(session, article, Annotations((_entity("ORG", "Airbus", 2),),
                                                       (), (), ()))  # a re-fetched text
    with session_scope(db_url) as session:
        rows = session.execute(select(EntityDay.day, EntityDay.mentions,
                                      EntityDay.articles)).all()
        assert rows == [(yesterday.date(), 2, 1)]
        assert session.scalars(select(StoryDay.articles)).all() == []


def test_future_or_missing_dates_count_today():
    from worker.store.trends import article_day

    today = NOW.date()
    assert article_day("2026-03-09T23:30:00-02:00", None, today) == today  # 01:30 UTC
    assert article_day("2030-01-01", None, today) == today
    assert article_day(None, None, today) == today
    assert article_day("not a date", NOW - timedelta(days=3), today) == \
        (NOW - timedelta(days=3)).date()


def _done(url: str, *ids: int, when: datetime = NOW) -> None:
    """As the annotate step leaves them: done, at `when`, discovered long before."""
    with session_scope(url) as session:
        for article_id in ids:
            article = session.get(Article, article_id)
            article.state, article.done_at = "done", when
            article.discovered_at = when - timedelta(days=400)


def _day_rows(url: str) -> tuple[list, list]:
    with session_scope(url) as session:
        return (session.execute(select(EntityDay.entity_id, EntityDay.day, EntityDay.mentions,
                                       EntityDay.articles)
                                .order_by(EntityDay.entity_id, EntityDay.day)).all(),
                session.execute(select(StoryDay.story_id, StoryDay.day, StoryDay.articles)
                                .order_by(StoryDay.story_id, StoryDay.day)).all())


def test_retention_takes_deleted_articles_off_the_daily_counts(db_url):
    from worker.store.models import Entity
    from worker.store.retention import delete_articles

    upgrade(db_url)
    yesterday = NOW - timedelta(days=1)
    old = _store(db_url, 1, yesterday, _entity("ORG", "Airbus", 3), _entity("LOC", "Lyon"),
                 story=-1)
    with session_scope(db_url) as session:
        story = session.scalar(select(Article.story_id).where(Article.id == old))
    kept = _store(db_url, 2, yesterday, _entity("ORG", "Airbus"), story=story)
    _done(db_url, old, kept)
    with session_scope(db_url) as session:
        session.get(Article, kept).discovered_at = NOW  # recent: retention keeps it
        airbus, lyon = (session.scalar(select(Entity.id).where(Entity.name == n))
                        for n in ("Airbus", "Lyon"))
    assert _day_rows(db_url) == (sorted([(airbus, yesterday.date(), 4, 2),
                                         (lyon, yesterday.date(), 1, 1)]),
                                 [(story, yesterday.date(), 2)])
    with session_scope(db_url) as session:
        assert delete_articles(session, NOW - timedelta(days=30)) == 1
    # Airbus counts the kept article alone; Lyon, counted by no stored article, has no row.
    assert _day_rows(db_url) == ([(airbus, yesterday.date(), 1, 1)],
                                 [(story, yesterday.date(), 1)])
    with session_scope(db_url) as session:
        assert delete_articles(session, NOW + timedelta(days=1)) == 1
    assert _day_rows(db_url) == ([], [])


def test_retention_takes_an_undated_article_off_the_day_it_was_done(db_url):
    """An article without a date counted for the day it was stored, not the day it goes."""
    from worker.store.retention import delete_articles

    upgrade(db_url)
    with session_scope(db_url) as session:
        article = Article(canonical_url="https://e.test/1", url="https://e.test/1",
                          url_key=f"{1:064d}", state="extracted", state_changed_at=NOW,
                          discovered_at=NOW, updated_at=NOW)
        session.add(article)
        session.flush()
        save_annotations(session, article.id, Annotations((_entity("PER", "Anne Undated"),),
                                                          (), (), ()))
        stored_on = datetime.now(UTC)
    _done(db_url, article.id, when=stored_on)
    entities, _ = _day_rows(db_url)
    assert [(d, m, a) for _, d, m, a in entities] == [(stored_on.date(), 1, 1)]
    with session_scope(db_url) as session:
        assert delete_articles(session, stored_on) == 1
    assert _day_rows(db_url) == ([], [])
