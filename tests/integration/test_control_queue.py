"""Scheduling keeps its pace under a backlog: tick, sweep and retention have their own queue."""

from __future__ import annotations

import json

import redis
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

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


def synced_feeds(db_url: str) -> list[str]:
    try:
        with session_scope(db_url) as session:
            return list(session.scalars(select(Feed.url)))
    except DBAPIError:  # the service has not created its tables yet
        return []


def test_a_tick_runs_with_10000_fetches_waiting(site, tmp_path, sqlite_url, redis_url):
    """The beat role's embedded worker ticks (reloads and syncs feeds.yaml) while 10,000
    fetches wait on io, which no worker consumes here: behind them, it never would. With
    io that full, the tick claims no feed (its poll would outwait the claim's lease)."""
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
        wait_for(lambda: synced_feeds(sqlite_url) == [feed_url], 120, [beat],
                 "a tick syncing the feeds file")
        client.delete(IO_QUEUE)  # the backlog drained: the next tick polls the feed
        wait_for(lambda: "newsworker.poll_feeds" in queued_tasks(client, IO_QUEUE), 120,
                 [beat], "a tick enqueuing the feed's poll")
    finally:
        beat.stop()
    assert queued_tasks(client, IO_QUEUE) == ["newsworker.poll_feeds"]
