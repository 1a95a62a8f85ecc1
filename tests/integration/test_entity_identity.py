"""One identity per person or organisation across articles and spellings (issue 24), on
real SQLite and PostgreSQL: each join rule, each refusal, stable ids and change events."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, select, text

from worker.nlp.annotate import Annotations
from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.text import fold
from worker.store.annotations import save_annotations, save_batch
from worker.store.db import get_engine, session_scope
from worker.store.events import sequence_all_events
from worker.store.migrate import alembic_config, upgrade
from worker.store.models import Article, Entity, EntityVariant, Event, Mention


def _entity(label: str, name: str, at: int = 0) -> CanonicalEntity:
    mention = RawMention(label, name, at, at + len(name), f"{name} a parlé.")
    return CanonicalEntity(label, name, fold(name), (name,), (mention,))


def _article(session, n: int) -> int:
    now = datetime.now(UTC)
    article = Article(canonical_url=f"https://example.test/{n}", url=f"https://example.test/{n}",
                      url_key=f"{n:064d}", state="extracted", state_changed_at=now,
                      discovered_at=now, updated_at=now)
    session.add(article)
    session.flush()
    return article.id


def _save(url: str, n: int, *entities: CanonicalEntity, countries=(), pairs=None) -> int:
    with session_scope(url) as session:
        article_id = _article(session, n)
        save_annotations(session, article_id, Annotations(
            entities, (), (), (), countries=tuple(countries), pairs=pairs or {}))
        return article_id


def _entity_of(url: str, article_id: int, label: str, name: str) -> int:
    with session_scope(url) as session:
        return session.scalars(
            select(Mention.entity_id).where(Mention.article_id == article_id,
                                            Mention.text == name)).one()


def _reasons(url: str, entity_id: int) -> dict[str, str]:
    with session_scope(url) as session:
        return dict(session.execute(select(EntityVariant.form, EntityVariant.reason)
                                    .where(EntityVariant.entity_id == entity_id)).all())


def test_transliterations_join_the_first_entity(db_url):
    upgrade(db_url)
    per = "PER"
    first = _save(db_url, 1, _entity(per, "Volodymyr Zelensky"))
    second = _save(db_url, 2, _entity(per, "Volodymyr Zelenskyy"))
    third = _save(db_url, 3, _entity(per, "Volodymyr Zelenski"))
    navalny = _save(db_url, 4, _entity(per, "Alexeï Navalny"))
    navalnyi = _save(db_url, 5, _entity(per, "Alexeï Navalnyï"))
    kept = _entity_of(db_url, first, per, "Volodymyr Zelensky")
    assert _entity_of(db_url, second, per, "Volodymyr Zelenskyy") == kept
    assert _entity_of(db_url, third, per, "Volodymyr Zelenski") == kept
    assert _entity_of(db_url, navalnyi, per, "Alexeï Navalnyï") == \
        _entity_of(db_url, navalny, per, "Alexeï Navalny")
    alone = _save(db_url, 6, _entity(per, "Zelenskyy"))  # the surname, another spelling
    assert _entity_of(db_url, alone, per, "Zelenskyy") == kept
    reasons = _reasons(db_url, kept)
    assert reasons["Volodymyr Zelensky"] == "first seen"
    assert reasons["Zelenskyy"].startswith("surname alone")
    assert "transliteration" in reasons["Volodymyr Zelenskyy"]
    with session_scope(db_url) as session:
        entity = session.get(Entity, kept)
        assert (entity.key, entity.article_count, entity.mention_count) == \
            ("volodymyr zelensky", 4, 4)


def test_a_typo_on_a_long_family_name_joins_but_not_another_given_name(db_url):
    upgrade(db_url)
    one = _save(db_url, 1, _entity("PER", "Emmanuel Macron"))
    typo = _save(db_url, 2, _entity("PER", "Emmanuel Macrron"))  # doubled: same skeleton
    other = _save(db_url, 3, _entity("PER", "Brigitte Macron"))
    anthony = _save(db_url, 4, _entity("PER", "Anthony Blinken"))
    blinkin = _save(db_url, 5, _entity("PER", "Anthony Blinkin"))  # one letter off
    assert _entity_of(db_url, typo, "PER", "Emmanuel Macrron") == \
        _entity_of(db_url, one, "PER", "Emmanuel Macron")
    assert _entity_of(db_url, other, "PER", "Brigitte Macron") != \
        _entity_of(db_url, one, "PER", "Emmanuel Macron")
    joined = _entity_of(db_url, blinkin, "PER", "Anthony Blinkin")
    assert joined == _entity_of(db_url, anthony, "PER", "Anthony Blinken")
    assert "one or two letters" in _reasons(db_url, joined)["Anthony Blinkin"]


def test_particles_and_accents(db_url):
    upgrade(db_url)
    full = _save(db_url, 1, _entity("PER", "Dominique de Villepin"))
    alone = _save(db_url, 2, _entity("PER", "Villepin"))
    with_particle = _save(db_url, 3, _entity("PER", "de Villepin"))
    accents = _save(db_url, 4, _entity("PER", "Dominique de Villépin"))
    kept = _entity_of(db_url, full, "PER", "Dominique de Villepin")
    assert _entity_of(db_url, alone, "PER", "Villepin") == kept
    assert _entity_of(db_url, with_particle, "PER", "de Villepin") == kept
    assert _entity_of(db_url, accents, "PER", "Dominique de Villépin") == kept
    # "Le Pen": the article is part of the family name; two given names, two people,
    # and "Le Pen" alone, with two full names known, joins neither.
    marine = _save(db_url, 5, _entity("PER", "Marine Le Pen"))
    father = _save(db_url, 6, _entity("PER", "Jean-Marie Le Pen"))
    bare = _save(db_url, 7, _entity("PER", "Le Pen"))
    ids = {_entity_of(db_url, marine, "PER", "Marine Le Pen"),
           _entity_of(db_url, father, "PER", "Jean-Marie Le Pen"),
           _entity_of(db_url, bare, "PER", "Le Pen")}
    assert len(ids) == 3


def test_acronym_joins_only_where_its_article_pairs_it_and_in_that_country(db_url):
    upgrade(db_url)
    paired = _save(db_url, 1, _entity("ORG", "Parti socialiste"), _entity("ORG", "PS", 20),
                   countries=("FR",), pairs={"ps": "parti socialiste"})
    party = _entity_of(db_url, paired, "ORG", "Parti socialiste")
    assert _entity_of(db_url, paired, "ORG", "PS") == party
    french = _save(db_url, 2, _entity("ORG", "PS"), countries=("FR", "BE"))
    belgian = _save(db_url, 3, _entity("ORG", "PS"), countries=("BE",))
    assert _entity_of(db_url, french, "ORG", "PS") == party
    assert _entity_of(db_url, belgian, "ORG", "PS") != party
    # A Belgian article pairs it with its own party: that one joins there, the French one
    # stays French.
    ours = _save(db_url, 4, _entity("ORG", "Parti socialiste belge"), _entity("ORG", "PS", 30),
                 countries=("BE",), pairs={"ps": "parti socialiste belge"})
    belgian_party = _entity_of(db_url, ours, "ORG", "Parti socialiste belge")
    assert _entity_of(db_url, ours, "ORG", "PS") == belgian_party != party
    again = _save(db_url, 5, _entity("ORG", "PS"), countries=("BE",))
    assert _entity_of(db_url, again, "ORG", "PS") == belgian_party
    with session_scope(db_url) as session:
        countries = dict(session.execute(
            select(EntityVariant.country, EntityVariant.entity_id)
            .where(EntityVariant.key == "ps", EntityVariant.reason.like("paired%"))).all())
    assert countries == {"FR": party, "BE": belgian_party}


def test_spellings_in_one_batch_are_one_entity(db_url):
    upgrade(db_url)
    with session_scope(db_url) as session:
        ids = [_article(session, n) for n in (1, 2)]
        save_batch(session, [
            (ids[0], Annotations((_entity("PER", "Volodymyr Zelensky"),), (), (), ())),
            (ids[1], Annotations((_entity("PER", "Volodymyr Zelenskyy"),), (), (), ())),
        ])
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Entity)) == 1
        assert session.scalar(select(func.count()).select_from(EntityVariant)) == 2


def test_upgrade_merges_stored_spellings_into_the_oldest_with_events(db_url):
    """A store made before 0010 had one entity per spelling: the upgrade keeps the oldest
    id, moves the mentions, and the change feed tells the consumers of every article."""
    upgrade(db_url)
    command.downgrade(alembic_config(db_url), "0008")
    with session_scope(db_url) as session:
        a, b = _article(session, 1), _article(session, 2)  # articles are as in 0008
        session.execute(text(
            "INSERT INTO entities (label, key, name, mention_count, article_count) VALUES "
            "('PER', 'volodymyr zelensky', 'Volodymyr Zelensky', 1, 1), "
            "('PER', 'volodymyr zelenskyy', 'Volodymyr Zelenskyy', 1, 1)"))
        old, new = session.execute(text("SELECT id FROM entities ORDER BY id")).scalars().all()
        session.execute(text(
            "INSERT INTO mentions (article_id, entity_id, start, \"end\", text) VALUES "
            f"({a}, {old}, 0, 18, 'Volodymyr Zelensky'), "
            f"({b}, {new}, 0, 19, 'Volodymyr Zelenskyy')"))
        before = session.scalar(text("SELECT count(*) FROM event_outbox")) + \
            session.scalar(text("SELECT count(*) FROM events"))
    upgrade(db_url)
    sequence_all_events(get_engine(db_url))
    with session_scope(db_url) as session:
        assert session.scalars(select(Entity.id)).all() == [old]
        assert set(session.scalars(select(Mention.entity_id))) == {old}
        assert session.get(Entity, old).article_count == 2
        changed = session.execute(select(Event.article_id)
                                  .where(Event.kind == "entities")).scalars().all()
        assert changed == [b] and before == 0  # a kept its entity id
        forms = set(session.scalars(select(EntityVariant.key)
                                    .where(EntityVariant.entity_id == old)))
        assert forms == {"volodymyr zelensky", "volodymyr zelenskyy"}


def _events(url: str, kind: str) -> list[int]:
    sequence_all_events(get_engine(url))
    with session_scope(url) as session:
        return sorted(session.scalars(select(Event.article_id).where(Event.kind == kind)))


def test_an_older_bare_acronym_joins_its_full_name_when_an_article_pairs_them(db_url):
    """"OMS" stored alone by older articles, then an article writes "Organisation mondiale
    de la santé (OMS)": one entity, under the older id, named by its full name."""
    upgrade(db_url)
    older = [_save(db_url, n, _entity("ORG", "OMS"), countries=("FR",)) for n in (1, 2)]
    bare = _entity_of(db_url, older[0], "ORG", "OMS")
    assert _entity_of(db_url, older[1], "ORG", "OMS") == bare
    before = _events(db_url, "entities")
    paired = _save(db_url, 3, _entity("ORG", "Organisation mondiale de la santé"),
                   _entity("ORG", "OMS", 40), countries=("FR",),
                   pairs={"oms": "organisation mondiale de la sante"})
    assert _entity_of(db_url, paired, "ORG", "Organisation mondiale de la santé") == bare
    assert _entity_of(db_url, paired, "ORG", "OMS") == bare
    with session_scope(db_url) as session:
        entity = session.get(Entity, bare)
        assert (entity.name, entity.article_count, entity.mention_count) == \
            ("Organisation mondiale de la santé", 3, 4)
        assert session.scalar(select(func.count()).select_from(Entity)) == 1
    reasons = _reasons(db_url, bare)
    assert set(reasons) == {"OMS", "Organisation mondiale de la santé"}
    assert "paired" in reasons["OMS"] and "alone" in reasons["OMS"]
    # The consumers of the older articles hear that their entity changed.
    assert before == [] and set(older) <= set(_events(db_url, "entities"))
    later = _save(db_url, 4, _entity("ORG", "OMS"), countries=("FR",))
    assert _entity_of(db_url, later, "ORG", "OMS") == bare
    # The join was for France: a bare "OMS" in an article about Morocco is not it.
    elsewhere = _save(db_url, 5, _entity("ORG", "OMS"), countries=("MA",))
    assert _entity_of(db_url, elsewhere, "ORG", "OMS") != bare


def test_an_older_bare_acronym_of_another_country_stays_apart(db_url):
    """"PS" stored alone by Belgian articles is not the French Parti socialiste a French
    article pairs it with later; one of a French article and a Belgian one joins neither."""
    upgrade(db_url)
    belgian = _save(db_url, 1, _entity("ORG", "PS"), countries=("BE",))
    bare = _entity_of(db_url, belgian, "ORG", "PS")
    paired = _save(db_url, 2, _entity("ORG", "Parti socialiste"), _entity("ORG", "PS", 20),
                   countries=("FR",), pairs={"ps": "parti socialiste"})
    party = _entity_of(db_url, paired, "ORG", "Parti socialiste")
    assert party != bare and _entity_of(db_url, paired, "ORG", "PS") == party
    with session_scope(db_url) as session:
        assert session.get(Entity, bare).name == "PS"
    assert _events(db_url, "entities") == []
