"""Places for articles stored before places existed (`newsworker places backfill`).

An article an older version stored has its LOC mentions without a place and no
countries. Its stored text and LOC mentions are all resolution needs: they go through the
write path's own functions (nlp.places.resolve, then annotations.store_places and
country_rows), so a backfilled article reads as if stored today, with a `places` event.
Nothing is fetched or annotated again.

Done articles are read in pages of ids, one transaction a page, so a large store is
never held at once. An article that already has a place or a country is left as it is,
which makes a second run change nothing: the articles left are those whose names
resolve to no place, again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from worker.nlp.annotate import Annotations
from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.placenames import Gazetteer
from worker.nlp.places import resolve
from worker.store.annotations import country_rows, store_places
from worker.store.db import insert_many, session_scope
from worker.store.events import append_events
from worker.store.models import Article, ArticleCountry, Entity, Mention
from worker.store.repo import insert_for

PAGE = 500  # articles per transaction


def backfill_places(url: str, gazetteer: Gazetteer, page: int = PAGE,
                    progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Give places and countries to the done articles that have none; (articles read,
    articles changed). Each changed article gets a `places` event."""
    after, read, changed = 0, 0, 0
    while True:
        with session_scope(url) as session:
            ids = session.scalars(select(Article.id).where(Article.id > after,
                                                           Article.state == "done")
                                  .order_by(Article.id).limit(page)).all()
            if not ids:
                return read, changed
            changed += len(place_articles(session, list(ids), gazetteer))
        after, read = ids[-1], read + len(ids)
        if progress:
            progress(read, changed)


def place_articles(session: Session, ids: list[int], gazetteer: Gazetteer) -> list[int]:
    """Resolve the places of these articles that have none; the ids that changed."""
    mentions = _location_mentions(session, ids)
    if not mentions:
        return []
    texts = dict(session.execute(select(Article.id, Article.text)
                                 .where(Article.id.in_(list(mentions)))).all())
    batch = []
    for article_id, rows in sorted(mentions.items()):
        entities = _entities(rows)
        located = resolve(texts.get(article_id) or "", entities, gazetteer)
        if located.places:
            batch.append((article_id, Annotations(tuple(entities), (), (), (),
                                                  places=located.places,
                                                  countries=located.countries)))
    if batch:
        _store(session, batch, mentions)
        append_events(session, [article_id for article_id, _ in batch], "places", "done")
    return [article_id for article_id, _ in batch]


def _location_mentions(session: Session, ids: list[int]) -> dict[int, list]:
    """{article id: its LOC mention rows} of the articles with no place and no country."""
    rows = session.execute(
        select(Mention.id, Mention.article_id, Mention.start, Mention.end, Mention.text,
               Mention.sentence, Mention.place_id, Entity.key, Entity.name)
        .join(Entity, Entity.id == Mention.entity_id)
        .where(Mention.article_id.in_(ids), Entity.label == "LOC")).all()
    placed = {r.article_id for r in rows if r.place_id is not None} | set(session.scalars(
        select(ArticleCountry.article_id).where(ArticleCountry.article_id.in_(ids))))
    out: dict[int, list] = defaultdict(list)
    for r in rows:
        if r.article_id not in placed:
            out[r.article_id].append(r)
    return dict(out)


def _entities(rows: list) -> list[CanonicalEntity]:
    """The article's LOC entities as annotation made them: the stored name, the forms
    its mentions were written in, the mentions in text order."""
    by_key: dict[str, list] = defaultdict(list)
    for r in rows:
        by_key[r.key].append(r)
    entities = []
    for key, found in by_key.items():
        found.sort(key=lambda r: r.start)
        entities.append(CanonicalEntity(
            "LOC", found[0].name, key, tuple(sorted({r.text for r in found})),
            tuple(RawMention("LOC", r.text, r.start, r.end, r.sentence or "") for r in found)))
    return sorted(entities, key=lambda e: e.mentions[0].start)


def _store(session: Session, batch: list[tuple[int, Annotations]],
           mentions: dict[int, list]) -> None:
    place_ids = store_places(session, batch)
    updates = [{"mention_id": r.id, "place": place_ids[ann.places[r.key].ref]}
               for article_id, ann in batch for r in mentions[article_id]
               if r.key in ann.places]
    table = Mention.__table__
    session.connection().execute(
        update(table).where(table.c.id == bindparam("mention_id"))
        .values(place_id=bindparam("place")), updates)
    # A country another writer gave the article meanwhile keeps its row.
    insert_many(session, insert_for(session, ArticleCountry).on_conflict_do_nothing(),
                [row for article_id, ann in batch for row in country_rows(article_id, ann)])
