"""Places for articles stored before places existed (issue 24): `newsworker places
backfill` resolves them from the stored text and entities, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import clean_env
from worker.nlp.annotate import Annotations
from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.placenames import load_gazetteer
from worker.nlp.text import fold
from worker.store.annotations import save_annotations
from worker.store.db import get_engine, session_scope
from worker.store.events import sequence_all_events
from worker.store.migrate import upgrade
from worker.store.models import Article, Event, Mention
from worker.store.places import backfill_places
from worker.store.records import article_records

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LONDON = "Le ministre était à Londres, puis à Bruxelles. À Londres, il a parlé du Brexit."
TEXAS = "Une tornade a frappé Paris, au Texas, dimanche."
PARIS = "Le conseil s'est réuni à Paris mardi."
NOWHERE = "Il vit à Zorglubville depuis dix ans."


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


def _locations(text: str, *names: str) -> tuple[CanonicalEntity, ...]:
    """LOC entities of `text`, one mention per occurrence of each name."""
    out = []
    for name in names:
        starts, at = [], text.find(name)
        while at >= 0:
            starts.append(at)
            at = text.find(name, at + 1)
        mentions = tuple(RawMention("LOC", name, s, s + len(name), text) for s in starts)
        out.append(CanonicalEntity("LOC", name, fold(name), (name,), mentions))
    return tuple(out)


def _stored_as_before(url: str, n: int, text: str, *names: str) -> int:
    """An article as a version without places stored it: done, no place, no country."""
    with session_scope(url) as session:
        article = Article(canonical_url=f"https://e.test/{n}", url=f"https://e.test/{n}",
                          url_key=f"{n:064d}", state="extracted", state_changed_at=NOW,
                          discovered_at=NOW, updated_at=NOW, text=text)
        session.add(article)
        session.flush()
        save_annotations(session, article.id, Annotations(_locations(text, *names), (), (), ()))
        article.state, article.done_at = "done", NOW
        return article.id


def _places_events(url: str) -> list[int]:
    sequence_all_events(get_engine(url))
    with session_scope(url) as session:
        return sorted(session.scalars(select(Event.article_id).where(Event.kind == "places")))


def _places(record: dict) -> dict[str, tuple]:
    return {e["canonical_name"]: (e["place"]["country"], e["place"]["kind"])
            for e in record["entities"] if e.get("place")}


def test_backfill_resolves_stored_articles_once(db_url, gazetteer):
    upgrade(db_url)
    london = _stored_as_before(db_url, 1, LONDON, "Londres", "Bruxelles")
    texas = _stored_as_before(db_url, 2, TEXAS, "Paris")
    paris = _stored_as_before(db_url, 3, PARIS, "Paris")
    nowhere = _stored_as_before(db_url, 4, NOWHERE, "Zorglubville")
    with session_scope(db_url) as session:
        before = article_records(session, [london])[london]
    assert before["countries"] == [] and _places(before) == {}
    assert backfill_places(db_url, gazetteer, page=2) == (4, 3)
    with session_scope(db_url) as session:
        records = article_records(session, [london, texas, paris, nowhere])
    assert _places(records[london]) == {"Londres": ("GB", "city"), "Bruxelles": ("BE", "city")}
    assert records[london]["countries"] == ["GB", "BE"]  # two mentions of London first
    # One stored entity "Paris", two places: each article's text decides, as on the write path.
    assert _places(records[texas]) == {"Paris": ("US", "city")}
    assert _places(records[paris]) == {"Paris": ("FR", "city")}
    assert records[paris]["countries"] == ["FR"]
    assert _places(records[nowhere]) == {} and records[nowhere]["countries"] == []
    assert _places_events(db_url) == [london, texas, paris]
    with session_scope(db_url) as session:
        placed = session.execute(select(Mention.id, Mention.place_id)
                                 .order_by(Mention.id)).all()
    # A second run changes nothing and tells nobody.
    assert backfill_places(db_url, gazetteer, page=3) == (4, 0)
    assert _places_events(db_url) == [london, texas, paris]
    with session_scope(db_url) as session:
        assert session.execute(select(Mention.id, Mention.place_id)
                               .order_by(Mention.id)).all() == placed


def test_backfill_leaves_articles_not_done(db_url, gazetteer):
    """An article still on its way is the annotate step's: it resolves places itself."""
    upgrade(db_url)
    article = _stored_as_before(db_url, 1, LONDON, "Londres", "Bruxelles")
    with session_scope(db_url) as session:
        session.get(Article, article).state = "extracted"
    assert backfill_places(db_url, gazetteer) == (0, 0)
    with session_scope(db_url) as session:
        assert set(session.scalars(select(Mention.place_id))) == {None}


def test_places_backfill_command(sqlite_url, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    upgrade(sqlite_url)
    article = _stored_as_before(sqlite_url, 1, LONDON, "Londres", "Bruxelles")
    newsworker = str(Path(sys.executable).parent / "newsworker")
    env = clean_env(NEWSWORKER_DATABASE_URL=sqlite_url, NEWSWORKER_DATA_DIR=str(tmp_path))
    runs = [subprocess.run([newsworker, "places", "backfill"], capture_output=True, text=True,
                           env=env, timeout=300) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout.startswith("1 articles given places (1 done articles read)")
    assert runs[1].stdout.startswith("0 articles given places")
    assert _places_events(sqlite_url) == [article]
