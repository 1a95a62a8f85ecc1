"""Faults on the real Redis and PostgreSQL with real workers: nothing discovered is lost.

Bounded in time: the workers sweep stuck work every 2 s and call work stuck after 4 s.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from tests.newsroom import syndicated_newsroom, write_feeds_file
from tests.services import PgProxy, Proc, RedisServer, service_env, states, wait_for
from worker.store.db import session_scope
from worker.store.models import Article, Event, EventOutbox

FAST_SWEEP = {"NEWSWORKER_STUCK_AFTER_SECONDS": "4", "NEWSWORKER_SWEEP_SECONDS": "2",
              "NEWSWORKER_POLL_LEASE_SECONDS": "10"}


def each_done_once(db_url: str) -> None:
    """Every article done, and exactly one final event (done or duplicate) for each."""
    with session_scope(db_url) as session:
        finals = dict(session.execute(
            select(Event.article_id, func.count()).where(Event.kind.in_(("done", "duplicate")))
            .group_by(Event.article_id)).all())
        ids = session.scalars(select(Article.id)).all()
        urls = session.scalars(select(Article.canonical_url)).all()
    assert sorted(finals) == sorted(ids) and set(finals.values()) == {1}
    assert len(urls) == len(set(urls))


@pytest.fixture
def newsroom(site, tmp_path):
    room = syndicated_newsroom(site)
    room["file"] = write_feeds_file(tmp_path / "feeds.yaml", room["feeds"])
    room["count"] = sum(len(c) for c in room["clusters"])
    return room


@contextmanager
def service(tmp_path, newsroom, db_url: str, redis: RedisServer) -> Iterator[dict[str, Proc]]:
    """beat, an io worker and an nlp worker on this Redis and database; all stopped after."""
    env = service_env(tmp_path, newsroom["file"], db_url, redis.url, **FAST_SWEEP)
    procs = {
        "beat": Proc(["run", "--role", "beat"], env, tmp_path / "beat.log"),
        "io": Proc(["run", "--role", "worker", "--queues", "io", "--concurrency", "2"], env,
                   tmp_path / "io.log"),
        "nlp": Proc(["run", "--role", "worker", "--queues", "nlp", "--concurrency", "1"], env,
                    tmp_path / "nlp.log"),
    }
    try:
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()
        redis.stop()


def wait_all_done(pg_url: str, newsroom, procs: dict[str, Proc], after: str) -> None:
    def done() -> bool:
        done.last = states(pg_url)
        return done.last.get("done", 0) == newsroom["count"]

    def sequenced() -> bool:
        with session_scope(pg_url) as session:
            sequenced.last = session.scalar(select(func.count()).select_from(EventOutbox))
        return not sequenced.last

    wait_for(done, 240, list(procs.values()), f"every article done {after}")
    # An event whose sequencing failed (the database went away between the writer's
    # commit and it) waits for the next writer or the sweep: the change feed catches up.
    wait_for(sequenced, 60, list(procs.values()), f"the change feed to catch up {after}")


def test_sigkill_in_the_middle_then_restart(tmp_path, pg_url, newsroom):
    with service(tmp_path, newsroom, pg_url, RedisServer(tmp_path)) as procs:
        # Kill the io worker (fetch + extraction) as soon as pages are being extracted.
        wait_for(lambda: states(pg_url).get("fetched", 0) + states(pg_url).get("extracted", 0)
                 > 0, 90, list(procs.values()), "extraction to start")
        procs["io"].signal(signal.SIGKILL)
        procs["io"].popen.wait()
        killed_at = states(pg_url)
        procs["io"].start()
        wait_all_done(pg_url, newsroom, procs, "after the restart")
    print(f"SIGKILL fault: states when killed {killed_at}, after restart {states(pg_url)}")
    each_done_once(pg_url)


def test_redis_restart_loses_nothing(tmp_path, pg_url, newsroom):
    redis = RedisServer(tmp_path)
    with service(tmp_path, newsroom, pg_url, redis) as procs:
        procs["nlp"].stop()  # the nlp queue fills up in Redis
        wait_for(lambda: states(pg_url).get("extracted", 0) >= 10, 90,
                 [procs["io"], procs["beat"]], "queued annotation work")
        queued_at = states(pg_url)
        redis.stop()  # no persistence: every queued message is gone
        time.sleep(2)
        redis.start()
        procs["nlp"].start()
        wait_all_done(pg_url, newsroom, procs, "after the broker restart")
    print(f"Redis restart fault: states before {queued_at}, after {states(pg_url)}")
    each_done_once(pg_url)


def test_postgresql_refusing_connections_then_back(tmp_path, pg_url, newsroom):
    proxy = PgProxy()
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    try:
        with service(tmp_path, newsroom, proxied, RedisServer(tmp_path)) as procs:
            wait_for(lambda: states(pg_url).get("done", 0) >= 5, 120, list(procs.values()),
                     "the first articles")
            proxy.refuse()
            down_at = states(pg_url)
            time.sleep(8)
            proxy.open()
            wait_all_done(pg_url, newsroom, procs, "after the outage")
            assert all(p.alive() for p in procs.values())
    finally:
        proxy.refuse()
    print(f"PostgreSQL outage (8 s): states when cut {down_at}, after {states(pg_url)}")
    each_done_once(pg_url)


def test_sigterm_shuts_down_gracefully(tmp_path, pg_url, newsroom):
    with service(tmp_path, newsroom, pg_url, RedisServer(tmp_path)) as procs:
        wait_for(lambda: states(pg_url).get("done", 0) >= 3, 120, list(procs.values()),
                 "work in progress")
        started = time.monotonic()
        code = procs["nlp"].stop(timeout=60)  # SIGTERM: warm shutdown
        assert code == 0 and time.monotonic() - started < 60
        assert "Warm shutdown" in procs["nlp"].tail()
        procs["nlp"].start()
        wait_all_done(pg_url, newsroom, procs, "after the restart")
    each_done_once(pg_url)
