"""Writing an article's annotations and reading the consumer record back."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.nlp.annotate import Annotations
from worker.store.models import (
    Amount,
    Article,
    DateMention,
    Entity,
    EntityAlias,
    Event,
    Feed,
    Mention,
    Quote,
)
from worker.store.repo import insert_for


def _upsert_entity(session: Session, label: str, key: str, name: str, mentions: int) -> int:
    stmt = insert_for(session, Entity).values(label=label, key=key, name=name,
                                              mention_count=mentions, article_count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Entity.label, Entity.key],
        set_=dict(mention_count=Entity.mention_count + stmt.excluded.mention_count,
                  article_count=Entity.article_count + 1),
    ).returning(Entity.id)
    return session.execute(stmt).scalar_one()


def save_annotations(session: Session, article_id: int, ann: Annotations) -> None:
    """Insert entities (shared rows, counted), mentions, amounts, dates and quotes.

    Call once per article, in the transaction that moves it to `done`: the counts are
    increments, and the state claim is what keeps them from being applied twice.
    """
    entity_ids: dict[tuple[str, str], int] = {}
    # Entities are upserted in one global order so that two workers never deadlock.
    for ent in sorted(ann.entities, key=lambda e: (e.label, e.key)):
        entity_id = _upsert_entity(session, ent.label, ent.key, ent.name, len(ent.mentions))
        entity_ids[(ent.label, ent.key)] = entity_id
        for alias in ent.aliases:
            session.execute(insert_for(session, EntityAlias)
                            .values(entity_id=entity_id, alias=alias)
                            .on_conflict_do_nothing())
        session.add_all(Mention(article_id=article_id, entity_id=entity_id, start=m.start,
                                end=m.end, text=m.text, sentence=m.sentence)
                        for m in ent.mentions)
    session.add_all(Amount(article_id=article_id, kind=a.kind, start=a.start, end=a.end,
                           text=a.text, value=a.value, currency=a.currency)
                    for a in ann.amounts)
    session.add_all(DateMention(article_id=article_id, start=d.start, end=d.end, text=d.text,
                                value=d.value) for d in ann.dates)
    names = {e.name: entity_ids[(e.label, e.key)] for e in ann.entities}
    session.add_all(Quote(article_id=article_id, start=q.start, end=q.end, text=q.text,
                          speaker=q.speaker, speaker_entity_id=names.get(q.speaker))
                    for q in ann.quotes)
    session.flush()


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


def export_records(session: Session, since: int, until: int | None = None):
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
