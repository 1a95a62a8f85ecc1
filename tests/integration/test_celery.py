"""Real `celery worker` processes: on Redis + PostgreSQL, and on the embedded default."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.conftest import clean_env, free_port
from tests.newsroom import expected_pages, serve_newsroom, write_feeds_file
from worker.store.db import session_scope
from worker.store.migrate import upgrade
from worker.store.models import Article, Entity, Poll

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def service_env(tmp_path: Path, feeds: Path, db_url: str, broker: str = "") -> dict[str, str]:
    env = clean_env()
    env.update(NEWSWORKER_DATA_DIR=str(tmp_path / "var"), NEWSWORKER_DATABASE_URL=db_url,
               NEWSWORKER_BROKER_URL=broker, NEWSWORKER_FEEDS_FILE=str(feeds),
               NEWSWORKER_SCHEDULER_TICK_SECONDS="1", NEWSWORKER_LOG_LEVEL="INFO")
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_until_done(db_url: str, expected: int, procs, logs, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    states: dict = {}
    while time.monotonic() < deadline:
        with session_scope(db_url) as session:
            states = dict(session.execute(select(Article.state, func.count())
                                          .group_by(Article.state)).all())
        if states.get("done", 0) + states.get("failed", 0) >= expected:
            return states
        for proc, log in zip(procs, logs, strict=True):
            assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(1)
    raise AssertionError(f"not done in time: {states}\n" + logs[0].read_text()[-3000:])


def test_separate_beat_and_workers_on_redis_and_postgresql(site, tmp_path, pg_url, redis_url):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    env = service_env(tmp_path, feeds, pg_url, redis_url)
    logs = [tmp_path / "beat.log", tmp_path / "io.log", tmp_path / "nlp.log"]
    procs = [start([str(BIN / "newsworker"), "run", "--role", "beat"], env, logs[0]),
             start([str(BIN / "newsworker"), "run", "--role", "worker", "--queues", "io",
                    "--concurrency", "2"], env, logs[1]),
             start([str(BIN / "newsworker"), "run", "--role", "worker", "--queues", "nlp",
                    "--concurrency", "1"], env, logs[2])]
    try:
        expected = len(expected_pages()) + 1
        states = wait_until_done(pg_url, expected, procs, logs)
    finally:
        for proc in procs:
            stop(proc)
    assert states == {"done": expected}
    with session_scope(pg_url) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == expected
        assert session.scalar(select(Entity.id).where(Entity.name == "Anthony Blinken"))
        assert session.scalar(select(func.count()).select_from(Poll)) >= 3
    # The NLP worker did the NER, the io worker did not load the model.
    assert "loaded spaCy model" in logs[2].read_text()
    assert "loaded spaCy model" not in logs[1].read_text()


def test_embedded_default_runs_worker_and_scheduler_in_one_command(site, tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    db_url = f"sqlite:///{tmp_path / 'var' / 'newsworker.db'}"
    env = service_env(tmp_path, feeds, "", "")  # nothing configured: SQLite + filesystem broker
    env.pop("NEWSWORKER_DATABASE_URL")
    env.pop("NEWSWORKER_BROKER_URL")
    metrics_port = free_port()
    env["NEWSWORKER_METRICS_PORT"] = str(metrics_port)
    env["NEWSWORKER_LOG_FORMAT"] = "json"
    log = tmp_path / "run.log"
    proc = start([str(BIN / "newsworker"), "run", "--concurrency", "2"], env, log)
    try:
        upgrade_wait = time.monotonic() + 60
        while not (tmp_path / "var" / "newsworker.db").exists():
            assert time.monotonic() < upgrade_wait and proc.poll() is None, log.read_text()
            time.sleep(0.5)
        upgrade(db_url)  # no-op once the service has migrated; makes the tables certain
        states = wait_until_done(db_url, len(expected_pages()) + 1, [proc], [log])
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    finally:
        stop(proc)
    assert states == {"done": len(expected_pages()) + 1}
    assert (tmp_path / "var" / "broker" / "queue").is_dir()
    # Metrics: counted in the worker processes, served by the main one, with the state.
    assert f'newsworker_articles_by_state{{state="done"}} {len(expected_pages()) + 1}.0' in scraped
    assert 'newsworker_polls_total{outcome="ok"}' in scraped
    assert 'newsworker_stage_seconds_count{stage="extract"}' in scraped
    # JSON logs, with the article id on the records about an article.
    records = [json.loads(line) for line in log.read_text().splitlines()
               if line.startswith("{")]
    assert any(r["article_id"] for r in records) and any(r["feed_id"] for r in records)
