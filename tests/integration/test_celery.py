"""Real `celery worker` processes: on Redis + PostgreSQL, and on the embedded default."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from tests.conftest import free_port
from tests.newsroom import expected_pages, serve_newsroom, write_feeds_file
from tests.services import ROOT, Proc, service_env, states, wait_for
from worker.store.db import session_scope
from worker.store.models import Article, Entity, Poll

EXPECTED = len(expected_pages()) + 1  # the fixture pages and the shared example


def test_separate_beat_and_workers_on_redis_and_postgresql(site, tmp_path, pg_url, redis_url):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    env = service_env(tmp_path, feeds, pg_url, redis_url)
    procs = {"beat": Proc(["run", "--role", "beat"], env, tmp_path / "beat.log"),
             "io": Proc(["run", "--role", "worker", "--queues", "io", "--concurrency", "2"],
                        env, tmp_path / "io.log"),
             "nlp": Proc(["run", "--role", "worker", "--queues", "nlp", "--concurrency", "1"],
                         env, tmp_path / "nlp.log")}
    try:
        wait_for(lambda: states(pg_url).get("done", 0) >= EXPECTED, 180, list(procs.values()),
                 "every article done")
    finally:
        for proc in procs.values():
            proc.stop()
    assert states(pg_url) == {"done": EXPECTED}
    with session_scope(pg_url) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == EXPECTED
        assert session.scalar(select(Entity.id).where(Entity.name == "Anthony Blinken"))
        assert session.scalar(select(func.count()).select_from(Poll)) >= 3
    # The NLP worker did the NER, the io worker did not load the model.
    assert "loaded spaCy model" in procs["nlp"].log.read_text()
    assert "loaded spaCy model" not in procs["io"].log.read_text()


def test_embedded_default_runs_worker_and_scheduler_in_one_command(site, tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    db_url = f"sqlite:///{tmp_path / 'var' / 'newsworker.db'}"
    env = service_env(tmp_path, feeds, "", "")  # nothing configured: SQLite + filesystem broker
    del env["NEWSWORKER_DATABASE_URL"], env["NEWSWORKER_BROKER_URL"]
    metrics_port = free_port()
    env.update(NEWSWORKER_METRICS_PORT=str(metrics_port), NEWSWORKER_LOG_FORMAT="json")
    proc = Proc(["run", "--concurrency", "2"], env, tmp_path / "run.log")
    try:
        wait_for(lambda: (tmp_path / "var" / "newsworker.db").exists()
                 and states(db_url).get("done", 0) >= EXPECTED, 180, [proc],
                 "every article done")
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    finally:
        proc.stop()
    assert states(db_url) == {"done": EXPECTED}
    assert (tmp_path / "var" / "broker" / "queue").is_dir()
    # The broker's exchange tables live under the data folder, never in the working
    # directory (the process ran in the repository).
    assert (tmp_path / "var" / "broker" / "control").is_dir()
    assert not (ROOT / "control").exists()
    # Metrics: counted in the worker processes, served by the main one, with the state.
    assert f'newsworker_articles_by_state{{state="done"}} {EXPECTED}.0' in scraped
    assert 'newsworker_polls_total{outcome="ok"}' in scraped
    assert 'newsworker_stage_seconds_count{stage="extract"}' in scraped
    # JSON logs, with the article id on the records about an article.
    records = [json.loads(line) for line in proc.log.read_text().splitlines()
               if line.startswith("{")]
    assert any(r["article_id"] for r in records) and any(r["feed_id"] for r in records)
