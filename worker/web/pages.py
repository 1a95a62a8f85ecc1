"""The HTML pages: each reads the store through named functions and renders a template."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from worker.broker import queue_depths
from worker.store import browse, health, records
from worker.store import feeds as feed_store
from worker.store.db import reading
from worker.store.search import ArticleFilter, find_articles
from worker.web.api import feed_rows
from worker.web.app import session
from worker.web.render import bar_chart, marks_of, paragraphs

router = APIRouter(include_in_schema=False)
Db = Annotated[Session, Depends(session)]
FEED_SORTS = ("name", "state", "last_polled", "next_poll", "articles", "failures")


def _page(request: Request, template: str, **context) -> HTMLResponse:
    html = request.app.state.templates.get_template(template).render(
        request=request, path=request.url.path, **context)
    return HTMLResponse(html)


def _found(value):
    if value is None:
        raise HTTPException(404, "not found")
    return value


def _int(value: str | None) -> int | None:
    """A number from a form field; an empty or malformed one is no filter."""
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: Db):
    settings, url = request.app.state.settings, request.app.state.database_url
    now = datetime.now(UTC)
    return _page(request, "overview.html", title="Overview",
                 per_hour=bar_chart(health.articles_per_hour(db, now)),
                 states=health.cached_counts_by_state(url, opener=reading),
                 failing=health.failing_feeds(db), queues=queue_depths(settings),
                 hour=health.throughput(db, now), events=records.latest_events(db))


@router.get("/feeds", response_class=HTMLResponse)
def feeds(request: Request, db: Db, sort: str = "name", desc: int = 0):
    key = sort if sort in FEED_SORTS else "name"
    text = key in ("name", "state")
    # Unknown values (never polled) last; names and states case-blind.
    rows = sorted(feed_rows(db), reverse=bool(desc), key=lambda r: (
        (r[key] or "").lower() if text else (r[key] is None, r[key] or 0)))
    return _page(request, "feeds.html", title="Feeds", feeds=rows, sort=key, desc=desc)


@router.get("/feeds/{feed_id}", response_class=HTMLResponse)
def feed(request: Request, db: Db, feed_id: int):
    found = _found(feed_store.feed_by_id(db, feed_id))
    return _page(request, "feed.html", title=found.name, feed=found,
                 polls=health.recent_polls(db, feed_id),
                 articles=find_articles(db, ArticleFilter(feed_id=feed_id, limit=20)).items)


@router.get("/articles", response_class=HTMLResponse)
def articles(request: Request, db: Db):
    p = request.query_params
    wanted = ArticleFilter(q=p.get("q") or None, feed_id=_int(p.get("feed")),
                           tag=p.get("tag") or None, language=p.get("language") or None,
                           state=p.get("state") or None, since=_day(p.get("since")),
                           until=_day(p.get("until")), entity_id=_int(p.get("entity")),
                           before=_int(p.get("cursor")))
    page = find_articles(db, wanted)
    query = {k: v for k, v in p.items() if v and k != "cursor"}
    return _page(request, "articles.html", title="Articles", page=page, f=wanted,
                 query=query, feeds=feed_store.feed_names(db))


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, db: Db, article_id: int):
    view = _found(browse.article_view(db, article_id))
    record = view["record"]
    marks, quotes = marks_of(record)
    return _page(request, "article.html", title=record["title"] or f"Article {article_id}",
                 a=record, urls=view["urls"], story=view["story"],
                 body=paragraphs(record["text"] or "", marks, quotes))


@router.get("/entities", response_class=HTMLResponse)
def entities(request: Request, db: Db, q: str = "", label: str = ""):
    return _page(request, "entities.html", title="Entities", q=q, label=label,
                 entities=browse.find_entities(db, q, label or None))


@router.get("/entities/{entity_id}", response_class=HTMLResponse)
def entity(request: Request, db: Db, entity_id: int):
    view = _found(browse.entity_view(db, entity_id, datetime.now(UTC)))
    return _page(request, "entity.html", title=view["canonical_name"], e=view,
                 per_day=bar_chart(view["per_day"]))


@router.get("/quotes", response_class=HTMLResponse)
def quotes(request: Request, db: Db, speaker: str = "", q: str = "", cursor: str = ""):
    items = browse.quotes(db, speaker=speaker or None, q=q or None, before=_int(cursor),
                          limit=51)
    more = len(items) > 50
    return _page(request, "quotes.html", title="Quotes", speaker=speaker, q=q,
                 quotes=items[:50], next=items[49]["id"] if more else None)


@router.get("/stories", response_class=HTMLResponse)
def stories(request: Request, db: Db, order: str = "size"):
    order = order if order in ("size", "recent") else "size"
    return _page(request, "stories.html", title="Stories", order=order,
                 stories=browse.stories(db, datetime.now(UTC), order))


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, db: Db, story_id: int):
    view = _found(browse.story_view(db, story_id))
    return _page(request, "story.html", title=view["title"] or f"Story {story_id}", s=view)
