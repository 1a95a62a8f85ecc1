"""Writing an article's annotations (entities, mentions, amounts, dates, quotes)."""

from __future__ import annotations

from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from worker.nlp.annotate import Annotations
from worker.store.db import insert_many
from worker.store.models import (
    Amount,
    DateMention,
    Entity,
    EntityAlias,
    Mention,
    Quote,
)
from worker.store.repo import insert_for


def surname_of(label: str, key: str) -> str | None:
    """The last word of a person's full name: what a surname alone is matched on."""
    return key.rsplit(" ", 1)[-1] if label == "PER" and " " in key else None


def _surnames_to_full_names(session: Session, ann: Annotations
                            ) -> dict[tuple[str, str], tuple[int, str]]:
    """{(label, surname key): (id, full key)} for the article's one-word person names.

    "Macron" alone in an article joins "Emmanuel Macron" known from other articles; two
    stored persons with that surname (or none) leave it alone. One indexed query.
    """
    alone = {e.key for e in ann.entities if e.label == "PER" and " " not in e.key}
    if not alone:
        return {}
    persons: dict[str, list[tuple[int, str]]] = {}
    for entity_id, key, surname in session.execute(
            select(Entity.id, Entity.key, Entity.surname)
            .where(Entity.label == "PER", Entity.surname.in_(sorted(alone)))):
        persons.setdefault(surname, []).append((entity_id, key))
    return {("PER", surname): found[0] for surname, found in persons.items()
            if len(found) == 1}


def _upsert_entities(session: Session, ann: Annotations) -> dict[tuple[str, str], int]:
    """One upsert for the article's entities: {(label, key): entity id}.

    Rows go in one global order (label, key), so two workers never deadlock. A surname
    alone is counted on the full name it joins. Sent as an executemany: one cached
    statement that SQLAlchemy batches into a multi-row INSERT ... RETURNING.
    """
    if not ann.entities:
        return {}
    joined = _surnames_to_full_names(session, ann)
    rows: dict[tuple[str, str], dict] = {}
    for e in ann.entities:  # a joined surname and its full name in one article: one row
        key = joined[(e.label, e.key)][1] if (e.label, e.key) in joined else e.key
        if (e.label, key) in rows:
            rows[(e.label, key)]["mention_count"] += len(e.mentions)
        else:
            rows[(e.label, key)] = {"label": e.label, "key": key, "name": e.name,
                                    "surname": surname_of(e.label, key),
                                    "mention_count": len(e.mentions), "article_count": 1}
    stmt = insert_for(session, Entity)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Entity.label, Entity.key],
        set_=dict(mention_count=Entity.mention_count + stmt.excluded.mention_count,
                  article_count=Entity.article_count + 1),
    ).returning(Entity.id, Entity.label, Entity.key)
    ordered = [rows[k] for k in sorted(rows)]
    ids = {(label, key): entity_id
           for entity_id, label, key in session.connection().execute(stmt, ordered)}
    for short, (_, full_key) in joined.items():
        ids[short] = ids[(short[0], full_key)]
    return ids


def clear_annotations(session: Session, article_id: int) -> None:
    """Remove an article's annotations and take its mentions off the entities' counts."""
    counts = session.execute(
        select(Entity.id, func.count()).join(Mention, Mention.entity_id == Entity.id)
        .where(Mention.article_id == article_id)
        .group_by(Entity.id, Entity.label, Entity.key).order_by(Entity.label, Entity.key)).all()
    for entity_id, n in counts:
        session.execute(update(Entity).where(Entity.id == entity_id).values(
            mention_count=Entity.mention_count - n, article_count=Entity.article_count - 1))
    for table in (Mention, Amount, DateMention, Quote):
        session.execute(delete(table).where(table.article_id == article_id))


def _has_annotations(session: Session, article_id: int) -> bool:
    """Whether the article has stored annotations (a re-fetch, a retry); one indexed probe."""
    probes = [exists().where(table.article_id == article_id)
              for table in (Mention, Amount, DateMention, Quote)]
    return bool(session.scalar(select(or_(*probes))))


def _insert_rows(session: Session, table, rows: list[dict]) -> None:
    """Many rows in one multi-row INSERT: no ORM object, no identity map, no per-row flush."""
    insert_many(session, insert(table), rows)


def save_annotations(session: Session, article_id: int, ann: Annotations) -> None:
    """Insert entities (shared rows, counted), mentions, amounts, dates and quotes.

    Call once per article, in the transaction that moves it to `done`: the counts are
    increments, and the state claim is what keeps them from being applied twice.
    A first save deletes and updates nothing; a re-fetched article replaces its old ones.
    """
    if _has_annotations(session, article_id):
        clear_annotations(session, article_id)
    entity_ids = _upsert_entities(session, ann)
    aliases = [{"entity_id": entity_ids[(e.label, e.key)], "alias": alias}
               for e in ann.entities for alias in e.aliases]
    if aliases:
        insert_many(session, insert_for(session, EntityAlias).on_conflict_do_nothing(), aliases)
    _insert_rows(session, Mention, [
        {"article_id": article_id, "entity_id": entity_ids[(e.label, e.key)], "start": m.start,
         "end": m.end, "text": m.text, "sentence": m.sentence}
        for e in ann.entities for m in e.mentions])
    _insert_rows(session, Amount, [
        {"article_id": article_id, "kind": a.kind, "start": a.start, "end": a.end,
         "text": a.text, "value": a.value, "currency": a.currency} for a in ann.amounts])
    _insert_rows(session, DateMention, [
        {"article_id": article_id, "start": d.start, "end": d.end, "text": d.text,
         "value": d.value} for d in ann.dates])
    names = {e.name: entity_ids[(e.label, e.key)] for e in ann.entities}
    _insert_rows(session, Quote, [
        {"article_id": article_id, "start": q.start, "end": q.end, "text": q.text,
         "speaker": q.speaker, "speaker_entity_id": names.get(q.speaker)} for q in ann.quotes])
