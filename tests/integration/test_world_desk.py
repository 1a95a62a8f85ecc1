"""Issue 24 end to end: an ingest of the world desk's feed (local server, real NER) gives
places in their French forms, one person under three spellings, and `newsworker trends`
lists them; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import select, text

from tests.conftest import clean_env
from tests.newsroom import serve_world_desk, write_feeds_file
from worker.ingest import ingest_once
from worker.jsonschemas import all_schemas
from worker.settings import Settings
from worker.store.db import session_scope
from worker.store.models import EntityVariant
from worker.store.records import export_records

NEWSWORKER = str(Path(sys.executable).parent / "newsworker")
# The consumer query of the README: every article that mentions a name, under any form.
ARTICLES_MENTIONING = text("""
SELECT DISTINCT m.article_id
FROM entity_variants v JOIN mentions m ON m.entity_id = v.entity_id
WHERE v.label = :label AND v.key = :key""")


def _ingest(site, tmp_path, db_url) -> dict[str, dict]:
    """Two passes: the desk's articles, then a copy of one republished (its duplicate)."""
    today = datetime.now(UTC).isoformat(timespec="seconds")
    feed = serve_world_desk(site, today)
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [feed])
    ingest_once(settings, feeds)
    serve_world_desk(site, today, reprise=True)
    ingest_once(settings, feeds)
    with session_scope(db_url) as session:
        return {r["url"].rsplit("/", 1)[-1]: r for _, r in export_records(session, 0)}


def _place(record: dict, name: str) -> dict | None:
    found = [e for e in record["entities"] if e["canonical_name"] == name]
    assert found, (name, [e["canonical_name"] for e in record["entities"]])
    return found[0]["place"]


def test_world_desk_places_identity_and_trends(site, tmp_path, db_url):
    found = _ingest(site, tmp_path, db_url)
    assert set(found) == {"kyiv-londres.html", "kyiv-pekin.html", "kyiv-bruxelles.html",
                          "kyiv-bruxelles-reprise.html"}
    copy = found.pop("kyiv-bruxelles-reprise.html")  # the same text: a duplicate, one story
    assert copy["duplicate_of"] == found["kyiv-bruxelles.html"]["id"]
    londres, pekin, bruxelles = (found[f"kyiv-{n}.html"] for n in ("londres", "pekin",
                                                                    "bruxelles"))
    expected = [(londres, "Londres", "GB", "city"), (pekin, "Pékin", "CN", "city"),
                (pekin, "Caire", "EG", "city"), (bruxelles, "Bruxelles", "BE", "city"),
                (bruxelles, "Gironde", "FR", "region"),
                (bruxelles, "États-Unis", "US", "country")]
    for record, name, country, kind in expected:
        place = _place(record, name)
        assert place is not None, name
        assert (place["country"], place["kind"]) == (country, kind), name
        assert -90 <= place["latitude"] <= 90 and -180 <= place["longitude"] <= 180
    assert _place(londres, "Londres")["geonames_id"] == 2643743  # London, not Londres AR
    assert _place(bruxelles, "Gironde")["code"] == "FR-33"
    assert _place(bruxelles, "Maison Blanche") is None  # a building, no town
    assert londres["countries"][0] == "GB" and pekin["countries"][0] == "CN"

    # One person under three spellings: one entity id, the oldest, with three forms.
    people = {r["url"]: [e for e in r["entities"] if e["label"] == "PER"
                         and e["canonical_name"].startswith("Volodymyr")]
              for r in found.values()}
    ids = {e["id"] for es in people.values() for e in es}
    assert len(ids) == 1 and all(len(es) == 1 for es in people.values())
    with session_scope(db_url) as session:
        forms = dict(session.execute(select(EntityVariant.form, EntityVariant.reason)
                                     .where(EntityVariant.entity_id == ids.pop())).all())
        assert set(forms) == {"Volodymyr Zelensky", "Volodymyr Zelenskyy",
                              "Volodymyr Zelenski"}
        assert sum(r == "first seen" for r in forms.values()) == 1
        for key in ("volodymyr zelensky", "volodymyr zelenskyy", "volodymyr zelenski"):
            assert len(session.execute(ARTICLES_MENTIONING,
                                       {"label": "PER", "key": key}).all()) == 3
        # The acronym its article pairs with the full name is that organisation.
        who = session.execute(ARTICLES_MENTIONING, {"label": "ORG", "key": "oms"}).all()
        assert [a for (a,) in who] == [bruxelles["id"]]
    oms = {e["id"] for e in bruxelles["entities"]
           if e["canonical_name"] in ("OMS", "Organisation mondiale de la santé")}
    assert len(oms) == 1

    validator = _validator("article.schema.json")
    for record in found.values():
        validator.validate(dict(record, seq=1))

    result = subprocess.run([NEWSWORKER, "trends", "--hours", "24", "--format", "json"],
                            capture_output=True, text=True, timeout=300,
                            env=clean_env(NEWSWORKER_DATABASE_URL=db_url,
                                          NEWSWORKER_DATA_DIR=str(tmp_path / "var")))
    assert result.returncode == 0, result.stderr
    rising = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"kind", "id", "name", "count", "baseline", "score"} <= set(rising[0])
    by_name = {t["name"]: t for t in rising if t["kind"] == "entity"}
    zelensky = next(t for n, t in by_name.items() if n.startswith("Volodymyr Zelensk"))
    assert zelensky["count"] >= 9 and zelensky["baseline"] == 0 and zelensky["score"] > 0
    assert "Bruxelles" in by_name  # named in two articles today
    stories = [t for t in rising if t["kind"] == "story"]
    assert [(t["id"], t["count"]) for t in stories] == [(bruxelles["story_id"], 2)]
    assert stories[0]["name"].startswith("À Bruxelles")
    table = subprocess.run([NEWSWORKER, "trends"], capture_output=True, text=True,
                           timeout=300, env=clean_env(NEWSWORKER_DATABASE_URL=db_url))
    assert table.returncode == 0 and "Zelensk" in table.stdout


def _validator(name: str) -> Draft202012Validator:
    schemas = all_schemas()
    registry = Registry().with_resources(
        (file, Resource.from_contents(schema)) for file, schema in schemas.items())
    return Draft202012Validator(schemas[name], registry=registry)
