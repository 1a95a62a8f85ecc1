"""A surname alone joins the full name known from other articles (real SQLite file)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from worker.nlp.annotate import Annotations
from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.text import fold
from worker.store.annotations import save_annotations
from worker.store.db import session_scope
from worker.store.migrate import upgrade
from worker.store.models import Article, Entity, EntityAlias, Mention


def _person(name: str, at: int = 0) -> CanonicalEntity:
    mention = RawMention("PER", name, at, at + len(name), f"{name} a parlé.")
    return CanonicalEntity("PER", name, fold(name), (name,), (mention,))


def _article(session, n: int) -> int:
    now = datetime.now(UTC)
    article = Article(canonical_url=f"https://example.test/{n}", url=f"https://example.test/{n}",
                      state="extracted", state_changed_at=now, discovered_at=now,
                      updated_at=now)
    session.add(article)
    session.flush()
    return article.id


def _save(url: str, n: int, *people: CanonicalEntity) -> int:
    with session_scope(url) as session:
        article_id = _article(session, n)
        save_annotations(session, article_id, Annotations(people, (), (), ()))
        return article_id


def _articles_mentioning(url: str, label: str, key: str) -> set[int]:
    with session_scope(url) as session:
        return set(session.scalars(
            select(Mention.article_id).join(Entity, Entity.id == Mention.entity_id)
            .where(Entity.label == label, Entity.key == key)))


def test_surname_joins_the_one_full_name_known(sqlite_url):
    upgrade(sqlite_url)
    first = _save(sqlite_url, 1, _person("Emmanuel Macron"))
    second = _save(sqlite_url, 2, _person("Macron"), _person("Olaf Scholz", 20))
    assert _articles_mentioning(sqlite_url, "PER", "emmanuel macron") == {first, second}
    assert _articles_mentioning(sqlite_url, "PER", "macron") == set()
    with session_scope(sqlite_url) as session:
        macron = session.scalars(select(Entity).where(Entity.key == "emmanuel macron")).one()
        assert (macron.article_count, macron.mention_count) == (2, 2)
        aliases = set(session.scalars(select(EntityAlias.alias)
                                      .where(EntityAlias.entity_id == macron.id)))
        assert aliases == {"Emmanuel Macron", "Macron"}


def test_ambiguous_surname_stays_alone(sqlite_url):
    upgrade(sqlite_url)
    _save(sqlite_url, 1, _person("Jean Dupont"), _person("Marie Dupont", 30))
    third = _save(sqlite_url, 3, _person("Dupont"))
    assert _articles_mentioning(sqlite_url, "PER", "dupont") == {third}
    assert third not in _articles_mentioning(sqlite_url, "PER", "jean dupont")
