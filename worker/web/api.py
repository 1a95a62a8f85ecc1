"""/api/v1: JSON over the store, and the change stream (Server-Sent Events).

Thin: each route parses its parameters and calls one named function of worker/store.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from worker.store import browse, health, records
from worker.store.db import reading
from worker.store.search import PAGE, ArticleFilter, find_articles
from worker.web.app import session

router = APIRouter(prefix="/api/v1", tags=["api"])
Db = Annotated[Session, Depends(session)]
STREAM_BATCH = 500
KEEPALIVE_SECONDS = 15.0


def _json(value) -> JSONResponse:
    """Our records are JSON already (ISO dates, plain lists): written as they are, without
    FastAPI's per-value encoder walking an article's every mention."""
    return JSONResponse(value)


def _found(value) -> JSONResponse:
    if value is None:
        raise HTTPException(404, "not found")
    return _json(value)


@router.get("/articles", summary="Articles, newest first: filters, full-text search, cursor")
def articles(db: Db, q: str | None = None, feed: int | None = None, tag: str | None = None,
             language: str | None = None, state: str | None = None,
             since: date | None = None, until: date | None = None,
             entity: int | None = None, cursor: int | None = None,
             limit: Annotated[int, Query(ge=1, le=200)] = PAGE) -> JSONResponse:
    """`{"items": [...], "next": cursor}`; pass `next` as `cursor` for the following page
    (null on the last). `q` searches titles and texts (French stemming on PostgreSQL)."""
    page = find_articles(db, ArticleFilter(q=q, feed_id=feed, tag=tag, language=language,
                                           state=state, since=since, until=until,
                                           entity_id=entity, before=cursor, limit=limit))
    return _json({"items": page.items, "next": page.next})


@router.get("/articles/{article_id}", summary="One article: the export record")
def article(db: Db, article_id: int) -> JSONResponse:
    """The record of `newsworker export` (schemas/article.schema.json)."""
    return _found(browse.article_record(db, article_id))


@router.get("/entities", summary="Entities whose name starts with q, most named first")
def entities(db: Db, q: str | None = None, label: str | None = None,
             limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JSONResponse:
    return _json({"items": browse.find_entities(db, q, label, limit)})


@router.get("/entities/{entity_id}", summary="An entity: aliases, mentions per day, "
                                             "articles, quotes, co-mentioned entities")
def entity(db: Db, entity_id: int) -> JSONResponse:
    return _found(browse.entity_view(db, entity_id, datetime.now(UTC)))


@router.get("/quotes", summary="Quotes, newest first, by speaker or by words")
def quotes(db: Db, speaker: str | None = None, q: str | None = None,
           entity: int | None = None, cursor: int | None = None,
           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JSONResponse:
    items = browse.quotes(db, speaker=speaker, q=q, speaker_entity_id=entity, before=cursor,
                          limit=limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return _json({"items": items, "next": items[-1]["id"] if more else None})


@router.get("/stories", summary="Stories with articles in the last days, by size or recency")
def stories(db: Db, order: Literal["size", "recent"] = "size",
            days: Annotated[int, Query(ge=1, le=365)] = 7,
            limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JSONResponse:
    return _json({"items": browse.stories(db, datetime.now(UTC), order, days, limit)})


@router.get("/stories/{story_id}", summary="A story: its articles as a timeline, publishers")
def story(db: Db, story_id: int) -> JSONResponse:
    return _found(browse.story_view(db, story_id))


@router.get("/feeds", summary="Every feed: health, last poll, articles stored")
def feeds(db: Db) -> JSONResponse:
    return _json({"items": feed_rows(db)})


def feed_rows(db: Session) -> list[dict]:
    """health.feed_health with each feed's stored articles (pages and API alike)."""
    stored = health.cached_articles_per_feed(str(db.get_bind().url), db)
    rows = health.feed_health(db, datetime.now(UTC))
    return [{**{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()},
             "articles": stored.get(row["id"], 0)} for row in rows]


@router.get("/events", summary="Change events after a seq, in order")
def events(db: Db, after: int = 0,
           limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> JSONResponse:
    """`{"items": [...], "next": seq}`: ask again with `after=next`."""
    items = records.event_records(db, after, limit=limit)
    return _json({"items": items, "next": items[-1]["seq"] if items else after})


def _read_events(url: str, after: int) -> list[dict]:
    with reading(url) as s:
        return records.event_records(s, after, limit=STREAM_BATCH)


@router.get("/events/stream", summary="Change events as Server-Sent Events",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`id:` is the seq; reconnect with Last-Event-ID"}})
async def stream(request: Request, after: int = 0,
                 last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
    """Every event after `after` (or after the `Last-Event-ID` a reconnecting client
    sends), then each new one as it is sequenced: `id: SEQ`, `data: {event JSON}`."""
    start = int(last_event_id) if (last_event_id or "").strip().isdigit() else after
    url, hub = request.app.state.database_url, request.app.state.hub

    async def messages():
        last = start
        yield "retry: 2000\n\n"
        while True:
            batch = await run_in_threadpool(_read_events, url, last)
            for event in batch:
                last = event["seq"]
                yield f"id: {last}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
            if len(batch) < STREAM_BATCH and not await hub.wait_beyond(last, KEEPALIVE_SECONDS):
                yield ": keep-alive\n\n"

    return StreamingResponse(messages(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
