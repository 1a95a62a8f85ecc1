"""Reading what consumers read: article, story, entity and event records (schemas/)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.store.models import (
    Amount,
    Article,
    DateMention,
    Entity,
    Event,
    Feed,
    Mention,
    Quote,
    Story,
)


def _entities_of(session: Session, article_id: int) -> list[dict]:
    rows = session.execute(
        select(Entity.id, Entity.label, Entity.name, Entity.key, Mention.start, Mention.end,
               Mention.text, Mention.sentence)
        .join(Mention, Mention.entity_id == Entity.id)
        .where(Mention.article_id == article_id).order_by(Mention.start))
    entities: dict[int, dict] = {}
    for row in rows:
        ent = entities.setdefault(row.id, {"id": row.id, "label": row.label,
                                           "canonical_name": row.name, "key": row.key,
                                           "mentions": []})
        ent["mentions"].append({"start": row.start, "end": row.end, "text": row.text,
                                "sentence": row.sentence})
    return list(entities.values())


def article_record(session: Session, article: Article, feed_names: dict[int, str]) -> dict:
    """One article as consumers see it (schemas/article.schema.json)."""
    aid = article.id
    return {
        "id": aid, "state": article.state,
        "feed": feed_names.get(article.feed_id) if article.feed_id else None,
        "feed_id": article.feed_id, "url": article.url,
        "canonical_url": article.canonical_url, "final_url": article.final_url,
        "title": article.title or article.entry_title, "authors": article.authors or [],
        "published": article.published or (article.entry_published.isoformat()
                                           if article.entry_published else None),
        "modified": article.modified, "site_name": article.site_name,
        "description": article.description, "language": article.language,
        "image": article.image, "categories": article.categories or [],
        "tags": article.tags or [], "entry": {
            "guid": article.entry_guid, "title": article.entry_title,
            "summary": article.entry_summary, "categories": article.entry_categories or [],
        },
        "extraction": article.extraction, "paywalled": article.paywalled,
        "text": article.text, "body": article.body, "text_hash": article.text_hash,
        "duplicate_of": article.duplicate_of_id, "story_id": article.story_id,
        "failure_reason": article.failure_reason,
        "discovered_at": article.discovered_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "entities": _entities_of(session, aid),
        "amounts": [{"kind": a.kind, "text": a.text, "amount": a.value, "currency": a.currency,
                     "start": a.start, "end": a.end}
                    for a in session.scalars(select(Amount).where(Amount.article_id == aid)
                                             .order_by(Amount.start))],
        "dates": [{"text": d.text, "value": d.value, "start": d.start, "end": d.end}
                  for d in session.scalars(select(DateMention)
                                           .where(DateMention.article_id == aid)
                                           .order_by(DateMention.start))],
        "quotes": [{"text": q.text, "speaker": q.speaker, "start": q.start, "end": q.end}
                   for q in session.scalars(select(Quote).where(Quote.article_id == aid)
                                            .order_by(Quote.start))],
    }


def export_records(session: Session, since: int,
                   until: int | None = None) -> Iterator[tuple[int, dict]]:
    """(last seq, record) for each article changed in (since, until], in sequence order."""
    query = select(Event.article_id, Event.seq).where(Event.seq > since)
    if until is not None:
        query = query.where(Event.seq <= until)
    last_seq: dict[int, int] = {}
    for article_id, seq in session.execute(query.order_by(Event.seq)):
        last_seq[article_id] = seq
    feed_names = dict(session.execute(select(Feed.id, Feed.name)).all())
    for article_id, seq in sorted(last_seq.items(), key=lambda item: item[1]):
        article = session.get(Article, article_id)
        if article is not None:
            yield seq, article_record(session, article, feed_names)


def event_records(session: Session, since: int, until: int | None = None,
                  limit: int = 10_000) -> list[dict]:
    """Change events after `since`, in sequence order (schemas/event.schema.json)."""
    query = select(Event).where(Event.seq > since)
    if until is not None:
        query = query.where(Event.seq <= until)
    return [{"seq": e.seq, "article_id": e.article_id, "kind": e.kind, "state": e.state,
             "created_at": e.created_at.isoformat()}
            for e in session.scalars(query.order_by(Event.seq).limit(limit))]


def story_records(session: Session) -> Iterator[dict]:
    """Every story with its articles, oldest first (schemas/story.schema.json)."""
    members: dict[int, list[int]] = {}
    for article_id, story_id in session.execute(
            select(Article.id, Article.story_id).where(Article.story_id.is_not(None))
            .order_by(Article.id)):
        members.setdefault(story_id, []).append(article_id)
    for story in session.scalars(select(Story).order_by(Story.id)):
        if members.get(story.id):
            yield {"id": story.id, "representative_id": story.representative_id,
                   "article_ids": members[story.id], "created_at": story.created_at.isoformat()}


def entity_records(session: Session) -> Iterator[dict]:
    """Every entity with its counts (the entity schema, without per-article mentions)."""
    for e in session.scalars(select(Entity).order_by(Entity.id)):
        yield {"id": e.id, "label": e.label, "canonical_name": e.name, "key": e.key,
               "mention_count": e.mention_count, "article_count": e.article_count,
               "mentions": []}
