"""Finding articles: filters, full-text search and cursor pages, latest first.

Search goes through the index of migration 0009 (SQLite FTS5, PostgreSQL `tsvector` with
the `french` configuration). Pages are keyset pages on the article id (ids grow with
discovery): `before` is the last id of the previous page, so a page costs the same at
the start and deep in a large store, and new articles never shift the next page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, cast, exists, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from worker.store.models import Article, Feed, Mention

PAGE = 50
MAX_PAGE = 200
# Matching ids are taken from the search index this many at a time, newest first, and
# the other filters applied to them: a word in every article costs one round, a rare
# word one index lookup.
SEARCH_ROUND = 500


@dataclass(frozen=True)
class ArticleFilter:
    """What a reader asked for; every field optional."""

    q: str | None = None
    feed_id: int | None = None
    tag: str | None = None
    language: str | None = None
    state: str | None = None
    since: date | None = None  # discovered on or after this day (UTC)
    until: date | None = None  # discovered on or before this day (UTC)
    entity_id: int | None = None
    before: int | None = None  # the cursor: only ids below it
    limit: int = PAGE


@dataclass(frozen=True)
class ArticlePage:
    items: list[dict]
    next: int | None  # the cursor of the following page, None on the last one


def fts5_query(words: str) -> str | None:
    """A user's words as an FTS5 query: every word must appear (each one quoted, so that
    operators and quotes in the input are only words); None when there is no word."""
    tokens = re.findall(r"\w+", words or "")
    return " ".join(f'"{token}"' for token in tokens) or None


def _matching_ids(session: Session, q: str, below: int | None, limit: int) -> list[int]:
    """Ids of articles whose title or text matches `q`, newest first, below the cursor."""
    bound = below if below is not None else 2**62
    if session.get_bind().dialect.name == "sqlite":
        match = fts5_query(q)
        if match is None:
            return []
        sql = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q "
                   "AND rowid < :below ORDER BY rowid DESC LIMIT :n")
    else:
        match = q
        sql = text("SELECT article_id FROM article_search "
                   "WHERE document @@ websearch_to_tsquery('french', :q) "
                   "AND article_id < :below ORDER BY article_id DESC LIMIT :n")
    return list(session.scalars(sql, {"q": match, "below": bound, "n": limit}))


# The expressions of migration 0009's quote indexes (PostgreSQL): the same text, or the
# planner cannot use them.
_QUOTE_WORDS = "to_tsvector('french', text) @@ websearch_to_tsquery('french', :q)"
_QUOTE_SPEAKER = "to_tsvector('simple', coalesce(speaker, '')) @@ to_tsquery('simple', :speaker)"


def quote_ids(session: Session, q: str | None, speaker: str | None, below: int | None,
              limit: int) -> list[int]:
    """Ids of quotes holding the words `q` and said by a speaker whose name has words
    starting with those of `speaker` ("macr" finds Emmanuel Macron), newest first."""
    words = re.findall(r"\w+", q or "")
    names = re.findall(r"\w+", (speaker or "").lower())
    if not (words or names):
        return []
    bound = below if below is not None else 2**62
    if session.get_bind().dialect.name == "sqlite":
        parts = ([f"text : ({fts5_query(q)})"] if words else []) + \
            ([f"speaker : ({' '.join(f'{chr(34)}{n}{chr(34)}*' for n in names)})"]
             if names else [])
        sql = text("SELECT rowid FROM quotes_fts WHERE quotes_fts MATCH :m AND rowid < :below "
                   "ORDER BY rowid DESC LIMIT :n")
        params = {"m": " AND ".join(parts), "below": bound, "n": limit}
    else:
        # Matches from the GIN indexes first (MATERIALIZED), then the newest of them: left
        # to itself, the planner may walk the quotes by id and compute each one's tsvector
        # (the index keeps none), 100,000 of them for a rare word.
        where = ([_QUOTE_WORDS] if words else []) + ([_QUOTE_SPEAKER] if names else [])
        sql = text(f"WITH matching AS MATERIALIZED (SELECT id FROM quotes "
                   f"WHERE {' AND '.join(where)}) SELECT id FROM matching WHERE id < :below "
                   "ORDER BY id DESC LIMIT :n")
        params = {"q": q or "", "speaker": " & ".join(f"{n}:*" for n in names),
                  "below": bound, "n": limit}
    return list(session.scalars(sql, params))


def _has_tag(session: Session, tag: str):
    """The article's feed tags (a JSON list) include `tag`."""
    if session.get_bind().dialect.name == "sqlite":
        tags = func.json_each(Article.feed_tags).table_valued("value")
        return exists(select(tags.c.value).where(tags.c.value == tag))
    return cast(Article.feed_tags, JSONB).contains([tag])


def _unindexed(session: Session, column):
    """The column as an expression SQLite cannot answer from an index. SQLite keeps no
    statistics here and would walk the index of `state = 'done'` (every article, each row
    read with its text) rather than the id order a page needs; PostgreSQL knows better."""
    return column + "" if session.get_bind().dialect.name == "sqlite" else column


def _conditions(session: Session, f: ArticleFilter) -> list:
    where = []
    if f.feed_id is not None:
        where.append(Article.feed_id == f.feed_id)
    if f.language:
        where.append(_unindexed(session, Article.language) == f.language)
    if f.state:
        where.append(_unindexed(session, Article.state) == f.state)
    if f.since:
        where.append(Article.discovered_at >= datetime.combine(f.since, time.min))
    if f.until:
        where.append(Article.discovered_at
                     < datetime.combine(f.until + timedelta(days=1), time.min))
    if f.tag:
        where.append(_has_tag(session, f.tag))
    if f.entity_id is not None and f.q:  # without q, the mentions are the source of ids
        where.append(exists(select(Mention.id).where(Mention.article_id == Article.id,
                                                     Mention.entity_id == f.entity_id)))
    return where


def _mentioning_ids(session: Session, entity_id: int, below: int | None,
                    limit: int) -> list[int]:
    """Ids of articles that mention the entity, newest first, below the cursor: a walk
    back along the (entity, article) index, as short for a name in every article as for
    a name in one."""
    query = select(Mention.article_id).where(Mention.entity_id == entity_id)
    if below is not None:
        query = query.where(Mention.article_id < below)
    return list(session.scalars(query.distinct().order_by(Mention.article_id.desc())
                                .limit(limit)))


LISTED = (Article.id, Article.title, Article.entry_title, Article.url, Article.canonical_url,
          Article.feed_id, Article.site_name, Article.published, Article.state,
          Article.language, Article.story_id, Article.duplicate_of_id, Article.discovered_at,
          Article.done_at)


def _rows(session: Session, where: list, limit: int) -> list[dict]:
    rows = session.execute(select(*LISTED, Feed.name.label("feed"))
                           .outerjoin(Feed, Feed.id == Article.feed_id)
                           .where(and_(True, *where)).order_by(Article.id.desc()).limit(limit))
    return [listed(row._mapping) for row in rows]


def listed(row) -> dict:
    """An article as lists show it (pages and the API alike)."""
    return {"id": row["id"], "title": row["title"] or row["entry_title"],
            "url": row["canonical_url"] or row["url"], "feed_id": row["feed_id"],
            "feed": row.get("feed"), "site_name": row["site_name"],
            "published": row["published"], "state": row["state"],
            "language": row["language"], "story_id": row["story_id"],
            "duplicate_of": row["duplicate_of_id"],
            "discovered_at": _iso(row["discovered_at"]), "done_at": _iso(row["done_at"])}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def find_articles(session: Session, f: ArticleFilter) -> ArticlePage:
    """One page of the articles `f` selects, newest first, and the next page's cursor."""
    limit = max(1, min(f.limit, MAX_PAGE))
    f = replace(f, limit=limit, q=(f.q or "").strip() or None)
    where = _conditions(session, f)
    if f.q:
        items = _in_rounds(session, f, where, lambda below, n: _matching_ids(
            session, f.q, below, n))
    elif f.entity_id is not None:
        items = _in_rounds(session, f, where, lambda below, n: _mentioning_ids(
            session, f.entity_id, below, n))
    else:
        if f.before is not None:
            where.append(Article.id < f.before)
        items = _rows(session, where, limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return ArticlePage(items, items[-1]["id"] if more and items else None)


def _in_rounds(session: Session, f: ArticleFilter, where: list,
               candidates: Callable[[int | None, int], list[int]]) -> list[dict]:
    """Rounds of candidate ids (newest first, from an index), filtered, until the page
    (+1) is full or the candidates run out."""
    found: list[dict] = []
    below = f.before
    while len(found) <= f.limit:
        ids = candidates(below, SEARCH_ROUND)
        if not ids:
            break
        found += _rows(session, [Article.id.in_(ids), *where], f.limit + 1 - len(found))
        if len(ids) < SEARCH_ROUND:
            break
        below = ids[-1]
    return found


def count_search_matches(session: Session, q: str) -> int:
    """How many articles match `q` (for the bench and tests)."""
    if session.get_bind().dialect.name == "sqlite":
        match = fts5_query(q)
        return 0 if match is None else session.scalar(
            text("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :q"), {"q": match})
    return session.scalar(text("SELECT count(*) FROM article_search "
                               "WHERE document @@ websearch_to_tsquery('french', :q)"), {"q": q})

