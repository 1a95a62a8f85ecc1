"""A surname alone joins the full name known from other articles (real SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import select, text

from worker.nlp.annotate import Annotations
from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.text import fold
from worker.store.annotations import save_annotations, save_batch
from worker.store.db import session_scope
from worker.store.migrate import alembic_config, upgrade
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


def test_one_batch_joins_and_counts_like_articles_saved_one_by_one(db_url):
    """An NLP batch is written in one transaction: a surname joins a full name from an
    earlier article of the same batch, and each article counts once per entity."""
    upgrade(db_url)
    with session_scope(db_url) as session:
        ids = [_article(session, n) for n in (1, 2, 3)]
        save_batch(session, [
            (ids[0], Annotations((_person("Emmanuel Macron"), _person("Olaf Scholz", 30)),
                                 (), (), ())),
            (ids[1], Annotations((_person("Macron"),), (), (), ())),
            (ids[2], Annotations((_person("Olaf Scholz"),), (), (), ())),
        ])
    assert _articles_mentioning(db_url, "PER", "emmanuel macron") == {ids[0], ids[1]}
    assert _articles_mentioning(db_url, "PER", "macron") == set()
    with session_scope(db_url) as session:
        counts = dict(session.execute(select(Entity.key, Entity.article_count)).all())
        surnames = dict(session.execute(select(Entity.key, Entity.surname)).all())
    assert counts == {"emmanuel macron": 2, "olaf scholz": 2}
    assert surnames == {"emmanuel macron": "macron", "olaf scholz": "scholz"}


def test_upgrade_gives_stored_persons_their_surname(db_url):
    """Migration 0007 fills the new surname column of persons stored before it."""
    upgrade(db_url)
    command.downgrade(alembic_config(db_url), "0006")  # as a store made before 0007
    with session_scope(db_url) as session:
        session.execute(text(
            "INSERT INTO entities (label, key, name, mention_count, article_count) VALUES "
            "('PER', 'jean-luc melenchon', 'Jean-Luc Mélenchon', 1, 1), "
            "('PER', 'zidane', 'Zidane', 1, 1), ('LOC', 'saint denis', 'Saint-Denis', 1, 1)"))
    upgrade(db_url)
    with session_scope(db_url) as session:
        surnames = dict(session.execute(text("SELECT key, surname FROM entities")).all())
    assert surnames == {"jean-luc melenchon": "melenchon", "zidane": None, "saint denis": None}
