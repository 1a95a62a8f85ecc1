"""Writing an article's annotations (entities, mentions, amounts, dates, quotes)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, select, union, update
from sqlalchemy.orm import Session

from worker.nlp.annotate import Annotations
from worker.store import identity, trends
from worker.store.db import copy_rows, insert_many, one_of, unnest_insert
from worker.store.models import (
    Amount,
    Article,
    ArticleCountry,
    DateMention,
    Entity,
    EntityAlias,
    Mention,
    Place,
    Quote,
)
from worker.store.repo import insert_for


def surname_of(label: str, key: str) -> str | None:
    """The last word of a person's full name: what a surname alone is matched on."""
    return key.rsplit(" ", 1)[-1] if label == "PER" and " " in key else None


def _upsert_entities(session: Session, batch: list[tuple[int, Annotations]],
                     keys: list[dict[tuple[str, str], str]]) -> dict[tuple[str, str], int]:
    """One upsert for the batch's entities: {(label, stored key): entity id}.

    Rows go in one global order (label, key), so two workers never deadlock. PostgreSQL:
    one array per column (db.unnest_insert); SQLite: an executemany that SQLAlchemy
    batches into a multi-row INSERT … RETURNING.
    """
    rows: dict[tuple[str, str], dict] = {}
    for (_, ann), stored in zip(batch, keys, strict=True):
        in_article: set[tuple[str, str]] = set()
        for e in ann.entities:  # a joined surname and its full name in one article: one
            key = (e.label, stored[(e.label, e.key)])
            row = rows.setdefault(key, {"label": key[0], "key": key[1], "name": e.name,
                                        "surname": surname_of(*key), "mention_count": 0,
                                        "article_count": 0})
            row["mention_count"] += len(e.mentions)
            if key not in in_article:
                row["article_count"] += 1
                in_article.add(key)
    if not rows:
        return {}
    ordered = [rows[k] for k in sorted(rows)]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        found = unnest_insert(conn, Entity.__table__, ordered, _UPSERT_ENTITIES_PG)
        return {(label, key): entity_id for entity_id, label, key in found}
    stmt = insert_for(session, Entity)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Entity.label, Entity.key],
        set_=dict(mention_count=Entity.mention_count + stmt.excluded.mention_count,
                  article_count=Entity.article_count + stmt.excluded.article_count),
    ).returning(Entity.id, Entity.label, Entity.key)
    return {(label, key): entity_id for entity_id, label, key in conn.execute(stmt, ordered)}


_UPSERT_ENTITIES_PG = """ON CONFLICT (label, key) DO UPDATE
    SET mention_count = entities.mention_count + EXCLUDED.mention_count,
        article_count = entities.article_count + EXCLUDED.article_count
RETURNING id, label, key"""


def clear_annotations(session: Session, article_id: int,
                      day: date | None = None, story_id: int | None = None) -> None:
    """Remove an article's annotations and take its mentions off the entities' counts
    (and off the daily counts of `day`, when given)."""
    counts = session.execute(
        select(Entity.id, func.count()).join(Mention, Mention.entity_id == Entity.id)
        .where(Mention.article_id == article_id)
        .group_by(Entity.id, Entity.label, Entity.key).order_by(Entity.label, Entity.key)).all()
    for entity_id, n in counts:
        session.execute(update(Entity).where(Entity.id == entity_id).values(
            mention_count=Entity.mention_count - n, article_count=Entity.article_count - 1))
    if day is not None:
        trends.add_days(session, [(e, day, n) for e, n in counts],
                        [(story_id, day)] if story_id else [], sign=-1)
    for table in (Mention, Amount, DateMention, Quote, ArticleCountry):
        session.execute(delete(table).where(table.article_id == article_id))


def _annotated(session: Session, article_ids: list[int]) -> set[int]:
    """Which of these articles have stored annotations (a re-fetch, a retry): one query
    for the batch, indexed probes, instead of one per article."""
    probes = [select(table.article_id).where(table.article_id.in_(article_ids))
              for table in (Mention, Amount, DateMention, Quote)]
    return set(session.scalars(union(*probes)))


def _insert_aliases(session: Session, rows: list[dict]) -> None:
    conn = session.connection()
    if rows and conn.dialect.name == "postgresql":
        unnest_insert(conn, EntityAlias.__table__, rows, "ON CONFLICT DO NOTHING")
    else:
        insert_many(conn, insert_for(session, EntityAlias).on_conflict_do_nothing(), rows)


def _insert_rows(session: Session, table, rows: list[dict]) -> None:
    """Many rows in one go: no ORM object, no identity map, no per-row flush."""
    copy_rows(session, table.__table__, rows)


def save_annotations(session: Session, article_id: int, ann: Annotations) -> None:
    """One article's annotations; see save_batch."""
    save_batch(session, [(article_id, ann)])


def _article_days(session: Session, article_ids: list[int]) -> dict[int, tuple]:
    """{article id: (day it counts for, story id)}: one query for the batch."""
    if not article_ids:
        return {}
    return {i: (trends.article_day(published, entry_published), story_id)
            for i, published, entry_published, story_id in session.execute(
                select(Article.id, Article.published, Article.entry_published,
                       Article.story_id).where(Article.id.in_(article_ids)))}


def store_places(session: Session, batch: list[tuple[int, Annotations]]) -> dict[str, int]:
    """{place ref: places.id} for the places of the batch: one insert of the new ones (in
    one global order), one read of their ids."""
    places = {p.ref: p for _, ann in batch for p in ann.places.values()}
    if not places:
        return {}
    known = _known_places(session, sorted(places))
    rows = [{"ref": ref, "geonames_id": p.geonames_id, "code": p.code, "name": p.name,
             "country": p.country, "kind": p.kind, "latitude": p.latitude,
             "longitude": p.longitude} for ref, p in sorted(places.items()) if ref not in known]
    if not rows:  # the usual case once the store knows the places in the news
        return known
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        unnest_insert(conn, Place.__table__, rows, "ON CONFLICT (ref) DO NOTHING")
    else:
        insert_many(session, insert_for(session, Place).on_conflict_do_nothing(
            index_elements=[Place.ref]), rows)
    return _known_places(session, sorted(places))


def _known_places(session: Session, refs: list[str]) -> dict[str, int]:
    return dict(session.execute(select(Place.ref, Place.id)
                                .where(one_of(session, Place.ref, refs))).all())


def save_batch(session: Session, batch: list[tuple[int, Annotations]]) -> None:
    """Insert entities (shared rows, counted), mentions, amounts, dates and quotes of
    these articles: one statement per table for the whole batch; and with them each new
    form of an entity (entity_variants), the places and countries, the daily counts.

    Call once per article, in the transaction that moves it to `done`: the counts are
    increments, and the state claim is what keeps them from being applied twice.
    A first save deletes and updates nothing; a re-fetched article replaces its old ones.
    """
    ids_of = [article_id for article_id, _ in batch]
    days = _article_days(session, ids_of)
    stored = _annotated(session, ids_of) if batch else set()
    for article_id, _ in batch:
        if article_id in stored:
            clear_annotations(session, article_id, *days.get(article_id, (None, None)))
    resolution = identity.resolve_identities(session, batch)
    keys = resolution.keys
    ids = _upsert_entities(session, batch, keys)
    _insert_variants(session, identity.variant_rows(resolution, ids))
    place_ids = store_places(session, batch)
    mentions, amounts, dates, quotes, aliases, countries = [], [], [], [], set(), []
    entity_days, story_days = [], []
    for (article_id, ann), stored in zip(batch, keys, strict=True):
        entity = {(e.label, e.key): ids[(e.label, stored[(e.label, e.key)])]
                  for e in ann.entities}
        place = {e.key: place_ids.get(ann.places[e.key].ref)
                 for e in ann.entities if e.label == "LOC" and e.key in ann.places}
        aliases |= {(entity[(e.label, e.key)], alias) for e in ann.entities for alias in e.aliases}
        mentions += [{"article_id": article_id, "entity_id": entity[(e.label, e.key)],
                      "start": m.start, "end": m.end, "text": m.text, "sentence": m.sentence,
                      "place_id": place.get(e.key) if e.label == "LOC" else None}
                     for e in ann.entities for m in e.mentions]
        amounts += [{"article_id": article_id, "kind": a.kind, "start": a.start, "end": a.end,
                     "text": a.text, "value": a.value, "currency": a.currency}
                    for a in ann.amounts]
        dates += [{"article_id": article_id, "start": d.start, "end": d.end, "text": d.text,
                   "value": d.value} for d in ann.dates]
        names = {e.name: entity[(e.label, e.key)] for e in ann.entities}
        quotes += [{"article_id": article_id, "start": q.start, "end": q.end, "text": q.text,
                    "speaker": q.speaker, "speaker_entity_id": names.get(q.speaker)}
                   for q in ann.quotes]
        countries += country_rows(article_id, ann)
        day, story_id = days.get(article_id, (trends.article_day(None, None), None))
        per_entity: dict[int, int] = {}
        for e in ann.entities:
            per_entity[entity[(e.label, e.key)]] = (
                per_entity.get(entity[(e.label, e.key)], 0) + len(e.mentions))
        entity_days += [(e, day, n) for e, n in per_entity.items()]
        story_days += [(story_id, day)] if story_id else []
    # Aliases are shared rows too: inserted in one global order, like the entities.
    _insert_aliases(session, [{"entity_id": i, "alias": a} for i, a in sorted(aliases)])
    for table, rows in ((Mention, mentions), (Amount, amounts), (DateMention, dates),
                        (Quote, quotes), (ArticleCountry, countries)):
        _insert_rows(session, table, rows)
    trends.add_days(session, entity_days, story_days)
    if resolution.bare_acronyms:  # rare: an acronym known alone, paired for the first time
        identity.join_bare_acronyms(session, resolution, ids_of)


def country_rows(article_id: int, ann: Annotations) -> list[dict]:
    per_country: dict[str, int] = {}
    for e in ann.entities:
        place = ann.places.get(e.key) if e.label == "LOC" else None
        if place is not None:
            per_country[place.country] = per_country.get(place.country, 0) + len(e.mentions)
    return [{"article_id": article_id, "country": c, "rank": rank,
             "mentions": per_country.get(c, 0)}
            for rank, c in enumerate(ann.countries, start=1)]


def _insert_variants(session: Session, rows: list[dict]) -> None:
    """New forms of entities; a form another transaction recorded first keeps its row."""
    from worker.store.models import EntityVariant

    conn = session.connection()
    if rows and conn.dialect.name == "postgresql":
        unnest_insert(conn, EntityVariant.__table__, rows, "ON CONFLICT DO NOTHING")
    else:
        insert_many(conn, insert_for(session, EntityVariant).on_conflict_do_nothing(), rows)
