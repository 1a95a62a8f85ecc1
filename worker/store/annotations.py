"""Writing an article's annotations (entities, mentions, amounts, dates, quotes)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from worker.nlp.annotate import Annotations
from worker.store.models import (
    Amount,
    DateMention,
    Entity,
    EntityAlias,
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


def save_annotations(session: Session, article_id: int, ann: Annotations) -> None:
    """Insert entities (shared rows, counted), mentions, amounts, dates and quotes.

    Call once per article, in the transaction that moves it to `done`: the counts are
    increments, and the state claim is what keeps them from being applied twice.
    """
    clear_annotations(session, article_id)  # a re-fetched article replaces its old ones
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
