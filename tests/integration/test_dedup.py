"""Duplicates, stories, concurrency and the consumer contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import func, select

from tests.conftest import clean_env
from tests.newsroom import syndicated_newsroom, write_feeds_file
from worker.ingest import ingest_once
from worker.jsonschemas import all_schemas
from worker.settings import Settings
from worker.store import records
from worker.store.db import dispose_all, session_scope
from worker.store.models import Article, Event

ROOT = Path(__file__).resolve().parents[2]


def settings_for(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None)


def story_of(db_url: str) -> dict[str, int]:
    """{page path: story id} for every article."""
    with session_scope(db_url) as session:
        rows = session.execute(select(Article.canonical_url, Article.story_id)).all()
    return {re.sub(r"^https?://[^/]+", "", url): story for url, story in rows}


def cluster_figures(stories: dict[str, int], clusters: list[list[str]]) -> tuple[float, float]:
    """(recall of copies joining their original's story, rate of distinct articles merged)."""
    copies = [(c[0], copy) for c in clusters for copy in c[1:]]
    joined = sum(stories[copy] == stories[original] for original, copy in copies)
    originals = [c[0] for c in clusters]
    merged = len(originals) - len({stories[o] for o in originals})
    return joined / len(copies), merged / len(originals)


def test_republished_copies_join_one_story_distinct_articles_stay_apart(site, tmp_path, db_url):
    newsroom = syndicated_newsroom(site)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", newsroom["feeds"])
    ingest_once(settings_for(tmp_path, db_url), feeds)
    stories = story_of(db_url)
    recall, false_merges = cluster_figures(stories, newsroom["clusters"])
    print(f"near-duplicates: recall {recall:.3f}, false-merge rate {false_merges:.3f} "
          f"over {len(newsroom['clusters'])} clusters")
    assert recall >= 0.9
    assert false_merges == 0
    with session_scope(db_url) as session:
        for story in records.story_records(session):
            assert story["representative_id"] == min(story["article_ids"])


def _ingest_in_process(db_url: str, data_dir: str, feeds: str) -> None:
    dispose_all()
    ingest_once(Settings(data_dir=Path(data_dir), database_url=db_url, _env_file=None),
                Path(feeds), migrate=False)


def run_workers(db_url: str, tmp_path: Path, feed_files: list[Path]) -> None:
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_ingest_in_process,
                             args=(db_url, str(tmp_path / f"var{i}"), str(f)))
             for i, f in enumerate(feed_files)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
        assert p.exitcode == 0


def test_four_workers_on_overlapping_feeds_make_one_row_per_url(site, tmp_path, db_url):
    newsroom = syndicated_newsroom(site)
    feeds = newsroom["feeds"]
    # Every worker polls every feed: the same articles, through 3 feeds, at the same time.
    feed_files = [write_feeds_file(tmp_path / f"feeds{i}.yaml", feeds[i:] + feeds[:i])
                  for i in range(4)]
    run_workers(db_url, tmp_path, feed_files)
    pages = [p for c in newsroom["clusters"] for p in c]
    with session_scope(db_url) as session:
        urls = session.scalars(select(Article.canonical_url)).all()
        states = dict(session.execute(select(Article.state, func.count())
                                      .group_by(Article.state)).all())
    assert len(urls) == len(set(urls)) == len(pages)
    assert states == {"done": len(pages)}
    stories = story_of(db_url)
    recall, false_merges = cluster_figures(stories, newsroom["clusters"])
    assert recall == 1.0 and false_merges == 0
    assert len(set(stories.values())) == len(newsroom["clusters"])


CONSUMER = re.search(r"```python\n(.*?follow\(.*?)```",
                     (ROOT / "README.md").read_text(encoding="utf-8"), re.S).group(1)


def test_readme_consumer_reads_every_event_once_while_workers_write(site, tmp_path, db_url):
    from worker.consumer import follow

    # The README's recipe is the packaged consumer, not a copy of it.
    assert "from worker.consumer import follow" in CONSUMER
    namespace: dict = {"follow": follow}
    newsroom = syndicated_newsroom(site)
    feed_files = [write_feeds_file(tmp_path / f"feeds{i}.yaml", [f])
                  for i, f in enumerate(newsroom["feeds"])]
    seen: list[int] = []
    writers_done = threading.Event()
    db = db_url.replace("postgresql+psycopg", "postgresql+psycopg")
    consumer = threading.Thread(target=namespace["follow"], kwargs=dict(
        database_url=db, handle=lambda event: seen.append(event["seq"]), poll_seconds=0.05,
        stop=lambda: writers_done.is_set() and _caught_up(db_url, seen)))
    consumer.start()
    try:
        run_workers(db_url, tmp_path, feed_files)
    finally:
        writers_done.set()
        consumer.join(timeout=120)
    with session_scope(db_url) as session:
        all_seqs = session.scalars(select(Event.seq).order_by(Event.seq)).all()
    assert len(all_seqs) > 100
    assert seen == all_seqs == list(range(1, len(all_seqs) + 1))


def _caught_up(db_url: str, seen: list[int]) -> bool:
    with session_scope(db_url) as session:
        last = session.scalar(select(func.max(Event.seq))) or 0
    return (seen[-1] if seen else 0) >= last


def _validator(name: str) -> Draft202012Validator:
    schemas = all_schemas()  # as the installed package ships them
    registry = Registry().with_resources(
        (file, Resource.from_contents(schema)) for file, schema in schemas.items())
    return Draft202012Validator(schemas[name], registry=registry)


@pytest.mark.parametrize("kind, schema", [("articles", "article.schema.json"),
                                          ("events", "event.schema.json"),
                                          ("stories", "story.schema.json"),
                                          ("entities", "entity.schema.json")])
def test_export_validates_against_the_schemas(site, tmp_path, sqlite_url, kind, schema):
    import subprocess
    import sys

    newsroom = syndicated_newsroom(site, copies_of=3)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", newsroom["feeds"])
    ingest_once(settings_for(tmp_path, sqlite_url), feeds)
    env = clean_env(NEWSWORKER_DATABASE_URL=sqlite_url)
    out = subprocess.run([str(Path(sys.executable).parent / "newsworker"), "export",
                          "--since", "0", "--records", kind], env=env, capture_output=True,
                         text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows
    validator = _validator(schema)
    for row in rows:
        errors = list(validator.iter_errors(row))
        assert not errors, errors[0].message


def test_updated_entry_refetches_and_updates_the_same_row(site, tmp_path, db_url):
    from tests.newsroom import gold_texts, outlet_page, rss

    doc = gold_texts()[0]
    paras = doc["text"].split("\n\n")
    path = "/lejournal/live.html"
    site.add(path, outlet_page("lejournal", site.base, path, "Direct", paras, doc["published"]))

    def feed(date: str) -> None:
        body = rss([("Direct", site.url(path))]).replace(
            "</link></item>", f"</link><pubDate>{date}</pubDate></item>", 1)
        assert date in body
        site.add("/feeds/live.rss", body, "application/rss+xml")

    feed("Tue, 12 Mar 2024 08:00:00 GMT")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.url("/feeds/live.rss")])
    settings = settings_for(tmp_path, db_url)
    ingest_once(settings, feeds)
    with session_scope(db_url) as session:
        first = session.scalars(select(Article)).one()
        first_id, first_updated = first.id, first.updated_at
    # The publisher updates the article and its feed entry.
    site.add(path, outlet_page("lejournal", site.base, path, "Direct",
                               paras + ["Mise à jour : la Banque de France confirme."],
                               doc["published"]))
    feed("Tue, 12 Mar 2024 10:00:00 GMT")
    ingest_once(settings, feeds)
    with session_scope(db_url) as session:
        rows = session.scalars(select(Article)).all()
        kinds = session.scalars(select(Event.kind).order_by(Event.seq)).all()
        record = next(records.export_records(session, 0))[1]
    assert len(rows) == 1 and rows[0].id == first_id and rows[0].state == "done"
    assert "Mise à jour" in rows[0].text and rows[0].updated_at > first_updated
    assert "refetch" in kinds and kinds.count("done") == 2
    assert len({(e["label"], e["key"]) for e in record["entities"]}) == len(record["entities"])


def test_retention_drops_pages_and_old_articles_keeping_stories_and_events(site, tmp_path,
                                                                          db_url):
    from datetime import timedelta

    from sqlalchemy import update

    from worker.store.models import Page, Story
    from worker.store.repo import now
    from worker.store.retention import apply_retention

    newsroom = syndicated_newsroom(site, copies_of=2)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", newsroom["feeds"])
    ingest_once(settings_for(tmp_path, db_url), feeds)
    original = newsroom["clusters"][0][0]
    with session_scope(db_url) as session:
        old = session.scalars(select(Article).where(Article.canonical_url.endswith(original))
                              ).one()
        story_id, old_id = old.story_id, old.id
        session.execute(update(Article).where(Article.id == old_id)
                        .values(discovered_at=now() - timedelta(days=400)))
        session.execute(update(Page).values(fetched_at=now() - timedelta(days=40)))
        last_seq = session.scalar(select(func.max(Event.seq)))
    with session_scope(db_url) as session:
        done = apply_retention(session, now(), raw_html_days=30, article_days=365)
    assert done["articles"] == 1 and done["pages"] > 10
    with session_scope(db_url) as session:
        assert session.get(Article, old_id) is None
        story = session.get(Story, story_id)
        members = session.scalars(select(Article.id).where(Article.story_id == story_id)).all()
        assert len(members) == 2 and story.representative_id == min(members)
        assert session.scalar(select(func.count()).select_from(Page)
                              .where(Page.body.is_not(None))) == 0
        tail = records.event_records(session, last_seq)
    assert [(e["article_id"], e["kind"]) for e in tail] == [(old_id, "deleted")]
