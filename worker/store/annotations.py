"""Writing an article's annotations (entities, mentions, amounts, dates, quotes)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, union, update
from sqlalchemy.orm import Session

from worker.nlp.annotate import Annotations
from worker.store.db import copy_rows, insert_many, unnest_insert
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


def _stored_persons(session: Session, surnames: set[str]) -> dict[str, set[str]]:
    """{surname: full-name keys of the stored persons with that last word}; one indexed query."""
    persons: dict[str, set[str]] = {}
    if surnames:
        for key, surname in session.execute(
                select(Entity.key, Entity.surname)
                .where(Entity.label == "PER", Entity.surname.in_(sorted(surnames)))):
            persons.setdefault(surname, set()).add(key)
    return persons


def _entity_keys(session: Session, batch: list[tuple[int, Annotations]]
                 ) -> list[dict[tuple[str, str], str]]:
    """Per article, {(label, key): the key it is stored under}.

    "Macron" alone in an article joins "Emmanuel Macron" known from other articles
    (stored, or earlier in the batch); two such persons (or none) leave it alone.
    """
    alone = {e.key for _, ann in batch for e in ann.entities
             if e.label == "PER" and " " not in e.key}
    persons = _stored_persons(session, alone)
    out = []
    for _, ann in batch:
        keys = {}
        for e in ann.entities:
            known = persons.get(e.key, ()) if e.label == "PER" and " " not in e.key else ()
            keys[(e.label, e.key)] = next(iter(known)) if len(known) == 1 else e.key
        for e in ann.entities:  # the next articles of the batch know this one's persons
            if surname_of(e.label, e.key) in alone:
                persons.setdefault(surname_of(e.label, e.key), set()).add(e.key)
        out.append(keys)
    return out


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


def save_batch(session: Session, batch: list[tuple[int, Annotations]]) -> None:
    """Insert entities (shared rows, counted), mentions, amounts, dates and quotes of
    these articles: one statement per table for the whole batch.

    Call once per article, in the transaction that moves it to `done`: the counts are
    increments, and the state claim is what keeps them from being applied twice.
    A first save deletes and updates nothing; a re-fetched article replaces its old ones.
    """
    stored = _annotated(session, [article_id for article_id, _ in batch]) if batch else set()
    for article_id, _ in batch:
        if article_id in stored:
            clear_annotations(session, article_id)
    keys = _entity_keys(session, batch)
    ids = _upsert_entities(session, batch, keys)
    mentions, amounts, dates, quotes, aliases = [], [], [], [], set()
    for (article_id, ann), stored in zip(batch, keys, strict=True):
        entity = {(e.label, e.key): ids[(e.label, stored[(e.label, e.key)])]
                  for e in ann.entities}
        aliases |= {(entity[(e.label, e.key)], alias) for e in ann.entities for alias in e.aliases}
        mentions += [{"article_id": article_id, "entity_id": entity[(e.label, e.key)],
                      "start": m.start, "end": m.end, "text": m.text, "sentence": m.sentence}
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
    # Aliases are shared rows too: inserted in one global order, like the entities.
    _insert_aliases(session, [{"entity_id": i, "alias": a} for i, a in sorted(aliases)])
    for table, rows in ((Mention, mentions), (Amount, amounts), (DateMention, dates),
                        (Quote, quotes)):
        _insert_rows(session, table, rows)
