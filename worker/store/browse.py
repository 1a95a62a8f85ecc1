"""What a reader of the web pages and the API asks: one article, an entity, quotes, stories.

Bounded by design: every list has a limit and walks an index, so a page costs the same
on a store of a thousand articles or of millions (bench/web_pages.py measures it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import Session

from worker.nlp.text import fold
from worker.store import records
from worker.store.models import (
    Article,
    ArticleUrl,
    Entity,
    EntityAlias,
    Event,
    Feed,
    Mention,
    Quote,
    Story,
)
from worker.store.search import LISTED, SEARCH_ROUND, listed, quote_ids

# An entity's chart covers this many days; its co-mentions are counted over its latest
# articles (a name in most articles of a large store would otherwise cost a full scan).
ENTITY_DAYS = 30
CO_MENTION_ARTICLES = 100


def _listed_articles(session: Session, where, limit: int = 100, oldest_first: bool = False
                     ) -> list[dict]:
    """Articles of a small set (a story, a list of ids), newest (or oldest) first.

    Ordered by `id + 0`: an expression no index provides, so the database reads the set
    through the filter's index and sorts it, rather than walking every article in id
    order for the few that match (SQLite, which keeps no statistics here, would)."""
    key = Article.id + 0
    rows = session.execute(select(*LISTED, Feed.name.label("feed"))
                           .outerjoin(Feed, Feed.id == Article.feed_id).where(where)
                           .order_by(key if oldest_first else key.desc()).limit(limit))
    return [listed(row._mapping) for row in rows]


# --- one article ------------------------------------------------------------------------

def article_record(session: Session, article_id: int) -> dict | None:
    """The export record of one article (schemas/article.schema.json), or None: the same
    as `newsworker export` prints, with `seq` its latest change event."""
    record = records.article_records(session, [article_id]).get(article_id)
    if record is not None:
        record["seq"] = session.scalar(select(func.max(Event.seq))
                                       .where(Event.article_id == article_id)) or 0
    return record


def article_view(session: Session, article_id: int) -> dict | None:
    """The record, every URL it is known by, its story's other articles, quote speakers."""
    record = article_record(session, article_id)
    if record is None:
        return None
    urls = list(session.scalars(select(ArticleUrl.url).where(ArticleUrl.article_id == article_id)
                                .order_by(ArticleUrl.id)))
    for url in (record["canonical_url"], record["url"], record["final_url"]):
        if url and url not in urls:
            urls.insert(0, url)
    story = []
    if record["story_id"] is not None:
        story = _listed_articles(session, and_(Article.story_id == record["story_id"],
                                               Article.id != article_id), limit=50)
    speakers = dict(session.execute(
        select(Quote.start, Quote.speaker_entity_id).where(Quote.article_id == article_id)).all())
    for quote in record["quotes"]:
        quote["speaker_entity_id"] = speakers.get(quote["start"])
    return {"record": record, "urls": urls, "story": story}


# --- entities ---------------------------------------------------------------------------

def find_entities(session: Session, q: str | None, label: str | None = None,
                  limit: int = 50) -> list[dict]:
    """Entities with a word of their name starting with `q` ("blin" finds Antony Blinken),
    accents and case ignored, most named first."""
    query = select(Entity)
    key = fold(q or "")
    if key:
        # The key's start is a range on its index; a later word's start is a LIKE.
        query = query.where(or_(and_(Entity.key >= key, Entity.key < key + "\U0010ffff"),
                                Entity.key.contains(" " + key, autoescape=True)))
    if label:
        query = query.where(Entity.label == label)
    query = query.order_by(Entity.article_count.desc(), Entity.id).limit(min(limit, 200))
    return [entity_row(e) for e in session.scalars(query)]


def entity_row(e: Entity) -> dict:
    return {"id": e.id, "label": e.label, "canonical_name": e.name, "key": e.key,
            "mention_count": e.mention_count, "article_count": e.article_count}


def entity_view(session: Session, entity_id: int, now: datetime, limit: int = 30) -> dict | None:
    """An entity, its aliases, mentions per day, latest articles, quotes, co-mentions."""
    entity = session.get(Entity, entity_id)
    if entity is None:
        return None
    aliases = list(session.scalars(select(EntityAlias.alias)
                                   .where(EntityAlias.entity_id == entity_id)
                                   .order_by(EntityAlias.alias)))
    latest = list(session.scalars(
        select(Mention.article_id).where(Mention.entity_id == entity_id).distinct()
        .order_by(Mention.article_id.desc()).limit(CO_MENTION_ARTICLES)))
    return {**entity_row(entity), "aliases": aliases,
            "per_day": mentions_per_day(session, entity_id, now),
            "articles": _listed_articles(session, Article.id.in_(latest[:limit]), limit),
            "quotes": quotes(session, speaker_entity_id=entity_id, limit=limit),
            "co_mentioned": co_mentioned(session, entity_id, latest)}


def mentions_per_day(session: Session, entity_id: int, now: datetime,
                     days: int = ENTITY_DAYS) -> list[tuple[str, int]]:
    """(day, mentions) over the last `days` days, by the day the article was found, every
    day present, zeros included.

    Article ids grow with discovery, so a day is a range of ids: its first id is one
    lookup on the discovery index, and its mentions a count over a range of the
    (entity, article) index. A name in most articles costs a walk over its index
    entries of the month, never a read of the articles themselves.
    """
    first_day = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)
    starts = [first_day + timedelta(days=i) for i in range(days + 1)]
    # Two statements in all: every day's first id, then every day's count.
    bounds = session.execute(select(*[
        select(Article.id).where(Article.discovered_at >= day)
        .order_by(Article.discovered_at).limit(1).scalar_subquery() for day in starts])).one()
    counts = []
    for low, high in zip(bounds, bounds[1:], strict=False):
        count = select(func.count()).select_from(Mention).where(
            Mention.entity_id == entity_id, Mention.article_id >= (low or 0))
        if high is not None:
            count = count.where(Mention.article_id < high)
        counts.append(count.scalar_subquery() if low is not None else literal(0))
    per_day = session.execute(select(*counts)).one()
    return [(starts[i].date().isoformat(), per_day[i] or 0) for i in range(days)]


def co_mentioned(session: Session, entity_id: int, article_ids: list[int],
                 limit: int = 15) -> list[dict]:
    """Entities most often named in the same articles (among `article_ids`), with counts."""
    if not article_ids:
        return []
    together = func.count(Mention.article_id.distinct()).label("together")
    rows = session.execute(
        select(Entity.id, Entity.label, Entity.name, together)
        .join(Mention, Mention.entity_id == Entity.id)
        .where(Mention.article_id.in_(article_ids), Mention.entity_id != entity_id)
        .group_by(Entity.id, Entity.label, Entity.name)
        .order_by(together.desc(), Entity.id).limit(limit))
    return [{"id": r.id, "label": r.label, "canonical_name": r.name, "articles": r.together}
            for r in rows]


# --- quotes -----------------------------------------------------------------------------

def quotes(session: Session, speaker: str | None = None, q: str | None = None,
           speaker_entity_id: int | None = None, before: int | None = None,
           limit: int = 50) -> list[dict]:
    """Quotes newest first: by words of the speaker's name (prefixes, "macr"), by words of
    the quote, or said by an entity; each with its article's id and title."""
    limit = min(limit, 201)
    where = [] if speaker_entity_id is None else [Quote.speaker_entity_id == speaker_entity_id]
    if not ((speaker or "").strip() or (q or "").strip()):
        if before is not None:
            where.append(Quote.id < before)
        return _quote_rows(session, where, limit)
    found: list[dict] = []
    below = before
    while len(found) < limit:  # rounds of matching ids from the search index
        ids = quote_ids(session, q, speaker, below, SEARCH_ROUND)
        if not ids:
            break
        found += _quote_rows(session, [Quote.id.in_(ids), *where], limit - len(found))
        if len(ids) < SEARCH_ROUND:
            break
        below = ids[-1]
    return found


def _quote_rows(session: Session, where: list, limit: int) -> list[dict]:
    rows = session.execute(
        select(Quote.id, Quote.text, Quote.speaker, Quote.speaker_entity_id, Quote.article_id,
               Article.title, Article.entry_title, Article.published)
        .join(Article, Article.id == Quote.article_id).where(and_(True, *where))
        .order_by(Quote.id.desc()).limit(limit))
    return [{"id": r.id, "text": r.text, "speaker": r.speaker,
             "speaker_entity_id": r.speaker_entity_id, "article_id": r.article_id,
             "article_title": r.title or r.entry_title, "published": r.published}
            for r in rows]


# --- stories ----------------------------------------------------------------------------

def stories(session: Session, now: datetime, order: str = "size", days: int = 7,
            limit: int = 50) -> list[dict]:
    """Stories with an article found in the last `days` days, largest (or latest) first:
    size, first and last article, publishers, representative title."""
    since = now - timedelta(days=days)
    # The window's stories, latest first, from the (discovered_at, story_id) index alone
    # and grouped here: a GROUP BY in SQL leads SQLite to walk every story instead.
    latest = dict.fromkeys(session.scalars(
        select(Article.story_id).where(Article.discovered_at >= since)
        .order_by(Article.discovered_at.desc())))
    latest.pop(None, None)
    if order == "size":
        sizes = _story_sizes(session, since, limit)
        rank = {story_id: n for n, story_id in enumerate(latest)}
        ids = sorted(sizes, key=lambda i: (-sizes[i], rank.get(i, len(rank)), -i))[:limit]
    else:
        ids = list(latest)[:limit]
    spans = {r.story_id: r for r in session.execute(
        select(Article.story_id, func.count().label("size"),
               func.min(Article.discovered_at).label("first"),
               func.max(Article.discovered_at).label("last"))
        .where(Article.story_id.in_(ids)).group_by(Article.story_id))}
    titles = _story_titles(session, ids)
    publishers = _story_publishers(session, ids)
    return [{"id": i, "size": spans[i].size, "title": titles.get(i),
             "first": _iso(spans[i].first), "last": _iso(spans[i].last),
             "publishers": publishers.get(i, [])} for i in ids]


def _story_sizes(session: Session, since: datetime, limit: int) -> dict[int, int]:
    """{story id: articles} of the largest stories with an article found since `since`
    (ties: a few more than `limit`, so that recency can order them)."""
    recent = select(Article.story_id).where(Article.discovered_at >= since,
                                            Article.story_id.is_not(None))
    size = func.count().label("size")
    rows = session.execute(select(Article.story_id, size)
                           .where(Article.story_id.in_(recent)).group_by(Article.story_id)
                           .order_by(size.desc(), Article.story_id.desc()).limit(limit * 4))
    return dict(rows.all())


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _story_titles(session: Session, ids: list[int]) -> dict[int, str | None]:
    rows = session.execute(select(Story.id, Article.title, Article.entry_title)
                           .join(Article, Article.id == Story.representative_id)
                           .where(Story.id.in_(ids)))
    return {r.id: r.title or r.entry_title for r in rows}


def _story_publishers(session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(select(Article.id, Article.story_id, Article.site_name, Feed.name)
                           .outerjoin(Feed, Feed.id == Article.feed_id)
                           .where(Article.story_id.in_(ids)))
    for _, story_id, site, feed in sorted(rows):  # sorted here: see _listed_articles
        name = site or feed
        if name and name not in out[story_id]:
            out[story_id].append(name)
    return out


def story_view(session: Session, story_id: int) -> dict | None:
    """A story: its articles oldest first (the timeline) and their publishers."""
    story = session.get(Story, story_id)
    if story is None:
        return None
    members = _listed_articles(session, Article.story_id == story_id, limit=500,
                               oldest_first=True)
    publishers = _story_publishers(session, [story_id]).get(story_id, [])
    title = next((a["title"] for a in members if a["id"] == story.representative_id), None)
    return {"id": story.id, "representative_id": story.representative_id, "title": title,
            "created_at": _iso(story.created_at), "size": len(members),
            "publishers": publishers, "articles": members}
