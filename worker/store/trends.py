"""What is rising: daily mention counts per entity and story, and the trends read from them.

The write path adds each stored article's mentions to `entity_days` (and the article to
`story_days`) under the article's own day, in the transaction that stores its entities:
one upsert per table and batch, rows in one global order. `trends()` then reads a few
days of those counts, never the mentions, so it costs the same on a store of any size.

A day is the article's date (published, else when it was stored), in UTC. The window of
`hours` covers the days it reaches back to (today included); the baseline is the 7 days
before it, scaled to the window's length. The score is a Poisson z-score,
(count - baseline) / sqrt(baseline + 1): a name going from 0 to 3 mentions scores less
than one going from 20 to 60.

The counts are those of the stored articles: retention takes a deleted article back off
its day, and a row no article counts for any more goes. Nothing prunes old days apart
from that: a day's rows are a few per entity named that day, and a count that dropped
days still held by stored articles would disagree with them (`--hours` has no bound).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from worker.store.db import insert_many, one_of, unnest_insert
from worker.store.models import Article, Entity, EntityDay, StoryDay

BASELINE_DAYS = 7


@dataclass(frozen=True)
class Trend:
    """One rising entity or story (the JSON line of `newsworker trends`)."""

    kind: str  # entity or story
    id: int
    name: str
    count: int
    baseline: float
    score: float
    label: str | None = None  # an entity's label (PER, LOC, ORG, MISC)

    def record(self) -> dict:
        return asdict(self)


def article_day(published: str | None, entry_published: datetime | None,
                today: date | None = None) -> date:
    """The day an article counts for: its publication day, unless unknown or in the future."""
    today = today or datetime.now(UTC).date()
    day = None
    if published:
        try:
            stamp = datetime.fromisoformat(published)
            day = (stamp.astimezone(UTC) if stamp.tzinfo else stamp).date()
        except ValueError:
            day = None
    if day is None and entry_published is not None:
        day = entry_published.astimezone(UTC).date()
    return day if day is not None and day <= today else today


def _upsert(session: Session, model, rows: list[dict], counters: tuple[str, ...]) -> None:
    if not rows:
        return
    keys = [c.name for c in model.__table__.primary_key.columns]
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))  # one global order
    conn = session.connection()
    table = model.__tablename__
    if conn.dialect.name == "postgresql":
        sets = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in counters)
        unnest_insert(conn, model.__table__, rows,
                      f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}")
        return
    from worker.store.repo import insert_for

    stmt = insert_for(session, model)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c: getattr(model, c) + getattr(stmt.excluded, c) for c in counters})
    insert_many(conn, stmt, rows)


def add_days(session: Session, entities: Iterable[tuple[int, date, int]],
             stories: Iterable[tuple[int, date]], sign: int = 1) -> None:
    """Count stored articles: (entity id, day, mentions) once per entity of each article,
    (story id, day) once per article; `sign` -1 takes an article's counts back off."""
    entity_days: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    story_days: dict[tuple[int, date], int] = defaultdict(int)
    for entity_id, day, mentions in entities:
        row = entity_days[(entity_id, day)]
        row[0] += sign * mentions
        row[1] += sign
    for story_id, day in stories:
        story_days[(story_id, day)] += sign
    _upsert(session, EntityDay, [
        {"entity_id": e, "day": d, "mentions": m, "articles": a}
        for (e, d), (m, a) in entity_days.items()], ("mentions", "articles"))
    _upsert(session, StoryDay, [
        {"story_id": s, "day": d, "articles": n} for (s, d), n in story_days.items()],
        ("articles",))
    if sign < 0:  # a day no stored article counts for any more is no row at all
        _drop_empty(session, EntityDay, EntityDay.entity_id, {e for e, _ in entity_days})
        _drop_empty(session, StoryDay, StoryDay.story_id, {s for s, _ in story_days})


def _drop_empty(session: Session, model, column, ids: set[int]) -> None:
    """Delete the rows of these ids counting no article (on any day: all are stale)."""
    ordered = sorted(ids)
    for i in range(0, len(ordered), 1000):
        session.execute(delete(model).where(one_of(session, column, ordered[i:i + 1000]),
                                            model.articles <= 0))


def counted_days(session: Session, article_ids: list[int]) -> dict[int, tuple[date, int | None]]:
    """{article id: (day, story id)} each stored article was counted for, as the write
    path counted it (see annotations.save_batch and count_story_article): the day
    computed when it was done, an exact duplicate's from its published date alone.
    An article never done counted for no day and is left out."""
    out = {}
    for i in range(0, len(article_ids), 1000):
        for article_id, published, entry, done_at, duplicate, story_id in session.execute(
                select(Article.id, Article.published, Article.entry_published,
                       Article.done_at, Article.duplicate_of_id, Article.story_id)
                .where(Article.id.in_(article_ids[i:i + 1000]),
                       Article.done_at.is_not(None))):
            stamp = done_at.astimezone(UTC).date()
            out[article_id] = (article_day(published, None if duplicate else entry, stamp),
                               story_id)
    return out


def count_story_article(session: Session, story_id: int, published: str | None) -> None:
    """An article stored without annotation (an exact duplicate) counts for its story."""
    add_days(session, [], [(story_id, article_day(published, None))])


def move_days(session: Session, keep_id: int, drop_ids: list[int]) -> None:
    """An entity merged into another brings its daily counts along."""
    rows = session.execute(select(EntityDay.day, func.sum(EntityDay.mentions),
                                  func.sum(EntityDay.articles))
                           .where(EntityDay.entity_id.in_(drop_ids))
                           .group_by(EntityDay.day)).all()
    session.execute(delete(EntityDay).where(EntityDay.entity_id.in_(drop_ids)))
    _upsert(session, EntityDay, [{"entity_id": keep_id, "day": d, "mentions": int(m),
                                  "articles": int(a)} for d, m, a in rows],
            ("mentions", "articles"))


def _window(hours: int, now: datetime) -> tuple[date, date, date, float]:
    days = max(1, math.ceil(hours / 24))
    last = now.astimezone(UTC).date()
    first = last - timedelta(days=days - 1)
    return first, last, first - timedelta(days=BASELINE_DAYS), days / BASELINE_DAYS


def _score(count: int, baseline: float) -> float:
    return round((count - baseline) / math.sqrt(baseline + 1), 3)


def trends(session: Session, hours: int = 24, limit: int = 20, kind: str | None = None,
           now: datetime | None = None, min_count: int = 2) -> list[Trend]:
    """The entities and stories rising most in the last `hours` over their baseline
    (the 7 days before, scaled to the window), highest score first.

    For the CLI (`newsworker trends`) and the web interface; `kind` 'entity' or 'story'
    keeps one of the two; an entity or story needs `min_count` in the window.
    """
    first, last, base_start, scale = _window(hours, now or datetime.now(UTC))
    out: list[Trend] = []
    if kind in (None, "entity"):
        out += _entity_trends(session, first, last, base_start, scale, min_count)
    if kind in (None, "story"):
        out += _story_trends(session, first, last, base_start, scale, min_count)
    out.sort(key=lambda t: (-t.score, -t.count, t.kind, t.id))
    return out[:limit]


def _counts(session: Session, column, value, day, first: date, last: date,
            base_start: date, scale: float, min_count: int) -> dict[int, tuple[int, float]]:
    """{id: (count in the window, scaled baseline)} of the ids counted `min_count` times
    in the window: one indexed range of days, grouped."""
    in_window = func.sum(value).filter(day >= first)
    before = func.sum(value).filter(day < first)
    rows = session.execute(
        select(column, in_window, before)
        .where(day >= base_start, day <= last)
        .group_by(column)
        .having(func.coalesce(in_window, 0) >= min_count)).all()
    return {i: (int(c or 0), round((b or 0) * scale, 2)) for i, c, b in rows}


def _entity_trends(session, first, last, base_start, scale, min_count) -> list[Trend]:
    counts = _counts(session, EntityDay.entity_id, EntityDay.mentions, EntityDay.day, first,
                     last, base_start, scale, min_count)
    if not counts:
        return []
    names = {i: (name, label) for i, name, label in session.execute(
        select(Entity.id, Entity.name, Entity.label).where(Entity.id.in_(list(counts))))}
    return [Trend("entity", i, names[i][0], c, b, _score(c, b), names[i][1])
            for i, (c, b) in counts.items() if i in names]


def _story_trends(session, first, last, base_start, scale, min_count) -> list[Trend]:
    counts = _counts(session, StoryDay.story_id, StoryDay.articles, StoryDay.day, first,
                     last, base_start, scale, min_count)
    if not counts:
        return []
    from worker.store.models import Story

    titles = dict(session.execute(
        select(Story.id, func.coalesce(Article.title, Article.entry_title))
        .join(Article, Article.id == Story.representative_id)
        .where(Story.id.in_(list(counts)))).all())
    return [Trend("story", i, titles.get(i) or f"story {i}", c, b, _score(c, b))
            for i, (c, b) in counts.items()]
