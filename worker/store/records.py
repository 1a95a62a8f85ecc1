"""Reading what consumers read: article, story, entity and event records (schemas/).

Exports stream: articles are read in chunks, with their annotations in one query per
table and chunk, so memory stays flat however many articles there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker import record
from worker.store.models import (
    Amount,
    Article,
    ArticleCountry,
    DateMention,
    Entity,
    EntityVariant,
    Event,
    Feed,
    Mention,
    Place,
    Quote,
    Story,
)

CHUNK = 500


def _article_fields(article: Article, feed_names: dict[int, str]) -> dict:
    published = article.published or (article.entry_published.isoformat()
                                      if article.entry_published else None)
    return {
        **{name: getattr(article, name) for name in record.ARTICLE_FIELDS
           if hasattr(Article, name)},
        "feed": feed_names.get(article.feed_id) if article.feed_id else None,
        "title": article.title or article.entry_title, "published": published,
        "entry": {"guid": article.entry_guid, "title": article.entry_title,
                  "summary": article.entry_summary,
                  "categories": article.entry_categories or []},
        "duplicate_of": article.duplicate_of_id,
        "discovered_at": article.discovered_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
    }


def _annotations(session: Session, ids: list[int]) -> dict[int, dict]:
    """{article id: its four annotation lists}, one query per table for all `ids`."""
    out: dict[int, dict] = {i: {"entities": [], "amounts": [], "dates": [], "quotes": [],
                                "countries": []} for i in ids}
    entities: dict[int, dict[int, dict]] = defaultdict(dict)
    places: dict[int, list[dict]] = defaultdict(list)  # place id: the entities naming it
    for row in session.execute(
            select(Mention.article_id, Entity.id, Entity.label, Entity.name, Entity.key,
                   Mention.start, Mention.end, Mention.text, Mention.sentence,
                   Mention.place_id)
            .join(Entity, Mention.entity_id == Entity.id)
            .where(Mention.article_id.in_(ids)).order_by(Mention.article_id, Mention.start)):
        ent = entities[row.article_id].get(row.id)
        if ent is None:
            ent = entities[row.article_id][row.id] = record.entity(
                row.id, row.label, row.name, row.key, [])
            out[row.article_id]["entities"].append(ent)
            if row.place_id is not None:
                places[row.place_id].append(ent)
        ent["mentions"].append(record.mention(row.start, row.end, row.text, row.sentence))
    if places:
        for place in session.scalars(select(Place).where(Place.id.in_(list(places)))):
            for ent in places[place.id]:
                ent["place"] = record.place(place.geonames_id, place.code, place.name,
                                            place.country, place.latitude, place.longitude,
                                            place.kind)
    for article_id, country in session.execute(
            select(ArticleCountry.article_id, ArticleCountry.country)
            .where(ArticleCountry.article_id.in_(ids))
            .order_by(ArticleCountry.article_id, ArticleCountry.rank)):
        out[article_id]["countries"].append(country)
    for a in session.scalars(select(Amount).where(Amount.article_id.in_(ids))
                             .order_by(Amount.article_id, Amount.start)):
        out[a.article_id]["amounts"].append(
            record.amount(a.kind, a.text, a.value, a.currency, a.start, a.end))
    for d in session.scalars(select(DateMention).where(DateMention.article_id.in_(ids))
                             .order_by(DateMention.article_id, DateMention.start)):
        out[d.article_id]["dates"].append(record.date(d.text, d.value, d.start, d.end))
    for q in session.scalars(select(Quote).where(Quote.article_id.in_(ids))
                             .order_by(Quote.article_id, Quote.start)):
        out[q.article_id]["quotes"].append(record.quote(q.text, q.speaker, q.start, q.end))
    return out


def article_records(session: Session, ids: list[int]) -> dict[int, dict]:
    """{id: record} for these articles (the ones that still exist)."""
    feed_names = dict(session.execute(select(Feed.id, Feed.name)).all())
    annotations = _annotations(session, ids)
    return {a.id: record.article_record(_article_fields(a, feed_names), annotations[a.id])
            for a in session.scalars(select(Article).where(Article.id.in_(ids)))}


def export_records(session: Session, since: int,
                   until: int | None = None) -> Iterator[tuple[int, dict]]:
    """(last seq, record) for each article changed in (since, until], in sequence order.

    Streams: the database orders the articles by their last event, and they are read
    and turned into records a chunk at a time.
    """
    last = func.max(Event.seq).label("last_seq")
    query = select(Event.article_id, last).where(Event.seq > since)
    if until is not None:
        query = query.where(Event.seq <= until)
    rows = session.execute(query.group_by(Event.article_id).order_by(last)
                           .execution_options(yield_per=CHUNK))
    for part in rows.partitions(CHUNK):
        records = article_records(session, [article_id for article_id, _ in part])
        for article_id, seq in part:
            if article_id in records:
                yield seq, records[article_id]
        session.expunge_all()  # the identity map would otherwise keep every article


def event_records(session: Session, since: int, until: int | None = None,
                  limit: int = 10_000) -> list[dict]:
    """Change events after `since`, in sequence order (schemas/event.schema.json)."""
    # Columns, not ORM objects: a consumer or the stream reads thousands of these.
    query = select(Event.seq, Event.article_id, Event.kind, Event.state,
                   Event.created_at).where(Event.seq > since)
    if until is not None:
        query = query.where(Event.seq <= until)
    return [{"seq": e.seq, "article_id": e.article_id, "kind": e.kind, "state": e.state,
             "created_at": e.created_at.isoformat()}
            for e in session.execute(query.order_by(Event.seq).limit(limit))]


def latest_events(session: Session, limit: int = 20) -> list[dict]:
    """The last `limit` change events, newest first."""
    return [{"seq": e.seq, "article_id": e.article_id, "kind": e.kind, "state": e.state,
             "created_at": e.created_at.isoformat()}
            for e in session.scalars(select(Event).order_by(Event.seq.desc()).limit(limit))]


def last_seq(session: Session) -> int:
    """The newest event's seq (0 when there is none)."""
    return session.scalar(select(func.max(Event.seq))) or 0


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
    variants: dict[int, list[dict]] = defaultdict(list)
    for v in session.scalars(select(EntityVariant).order_by(EntityVariant.id)):
        variants[v.entity_id].append({"form": v.form, "key": v.key, "reason": v.reason,
                                      **({"country": v.country} if v.country else {})})
    for e in session.scalars(select(Entity).order_by(Entity.id)):
        yield {"id": e.id, "label": e.label, "canonical_name": e.name, "key": e.key,
               "mention_count": e.mention_count, "article_count": e.article_count,
               "variants": variants.get(e.id, []), "mentions": []}
