"""Scheduling keeps its pace under a backlog: tick, sweep and retention have their own queue."""

from __future__ import annotations

import json

import redis
from sqlalchemy import select

from tests.newsroom import write_feeds_file
from tests.services import Proc, service_env, wait_for
from worker.celery_app import CONTROL_QUEUE, IO_QUEUE, ROUTES, make_celery
from worker.settings import Settings
from worker.store.db import session_scope
from worker.store.models import Feed

BACKLOG = 10_000


def test_control_tasks_have_their_own_queue():
    for task in ("newsworker.tick", "newsworker.sweep", "newsworker.retention"):
        assert ROUTES[task]["queue"] == CONTROL_QUEUE
    assert ROUTES["newsworker.fetch_article"]["queue"] == IO_QUEUE


def queued_tasks(client: redis.Redis, queue: str) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange(queue, 0, -1)]


def test_a_tick_runs_with_10000_fetches_waiting(site, tmp_path, sqlite_url, redis_url):
    """The beat role's embedded worker ticks (syncs feeds, enqueues their polls) while
    10,000 fetches wait on io, which no worker consumes here: behind them, it never would."""
    feed_url = site.add("/feeds/one.rss", '<?xml version="1.0"?><rss version="2.0"><channel>'
                        "<title>t</title></channel></rss>", "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [feed_url])
    producer = make_celery(Settings(broker_url=redis_url, data_dir=tmp_path / "var",
                                    _env_file=None))
    with producer.producer_or_acquire() as conn:
        for article_id in range(BACKLOG):
            producer.send_task("newsworker.fetch_article", args=[article_id], producer=conn)
    client = redis.Redis.from_url(redis_url)
    assert client.llen(IO_QUEUE) == BACKLOG

    beat = Proc(["run", "--role", "beat"], service_env(tmp_path, feeds, sqlite_url, redis_url),
                tmp_path / "beat.log")
    try:
        wait_for(lambda: "newsworker.poll_feed" in queued_tasks(client, IO_QUEUE), 120, [beat],
                 "a tick enqueuing the feed's poll")
    finally:
        beat.stop()
    with session_scope(sqlite_url) as session:
        assert session.scalars(select(Feed.url)).all() == [feed_url]
    # Nothing consumed io: the backlog is whole, the poll waits behind it.
    assert queued_tasks(client, IO_QUEUE).count("newsworker.fetch_article") == BACKLOG
