"""Faults on the real Redis and PostgreSQL with real workers: nothing discovered is lost.

Bounded in time: the workers sweep stuck work every 2 s and call work stuck after 4 s.
"""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import func, select

from tests.newsroom import syndicated_newsroom, write_feeds_file
from tests.services import PgProxy, Proc, RedisServer, service_env, states, wait_for
from worker.store.db import session_scope
from worker.store.models import Article, Event

FAST_SWEEP = {"NEWSWORKER_STUCK_AFTER_SECONDS": "4", "NEWSWORKER_SWEEP_SECONDS": "2",
              "NEWSWORKER_POLL_LEASE_SECONDS": "10"}


def finished(db_url: str, expected: int) -> bool:
    s = states(db_url)
    finished.last = s  # shown when a wait times out
    return s.get("done", 0) == expected


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


def start_service(tmp_path, env) -> dict[str, Proc]:
    return {
        "beat": Proc(["run", "--role", "beat"], env, tmp_path / "beat.log"),
        "io": Proc(["run", "--role", "worker", "--queues", "io", "--concurrency", "2"], env,
                   tmp_path / "io.log"),
        "nlp": Proc(["run", "--role", "worker", "--queues", "nlp", "--concurrency", "1"], env,
                    tmp_path / "nlp.log"),
    }


def stop_all(procs: dict[str, Proc]) -> None:
    for proc in procs.values():
        proc.stop()


def test_sigkill_in_the_middle_then_restart(tmp_path, pg_url, newsroom):
    redis = RedisServer(tmp_path)
    env = service_env(tmp_path, newsroom["file"], pg_url, redis.url, **FAST_SWEEP)
    procs = start_service(tmp_path, env)
    try:
        # Kill the io worker (fetch + extraction) as soon as pages are being extracted.
        wait_for(lambda: states(pg_url).get("fetched", 0) + states(pg_url).get("extracted", 0)
                 > 0, 90, list(procs.values()), "extraction to start")
        procs["io"].signal(signal.SIGKILL)
        procs["io"].popen.wait()
        killed_at = states(pg_url)
        procs["io"].start()
        wait_for(lambda: finished(pg_url, newsroom["count"]), 180, list(procs.values()),
                 "every article done")
    finally:
        stop_all(procs)
        redis.stop()
    print(f"SIGKILL fault: states when killed {killed_at}, after restart {states(pg_url)}")
    each_done_once(pg_url)


def test_redis_restart_loses_nothing(tmp_path, pg_url, newsroom):
    redis = RedisServer(tmp_path)
    env = service_env(tmp_path, newsroom["file"], pg_url, redis.url, **FAST_SWEEP)
    procs = start_service(tmp_path, env)
    procs["nlp"].stop()  # the nlp queue fills up in Redis
    try:
        wait_for(lambda: states(pg_url).get("extracted", 0) >= 10, 90,
                 [procs["io"], procs["beat"]], "queued annotation work")
        queued_at = states(pg_url)
        redis.stop()  # no persistence: every queued message is gone
        time.sleep(2)
        redis.start()
        procs["nlp"].start()
        wait_for(lambda: finished(pg_url, newsroom["count"]), 180, list(procs.values()),
                 "every article done after the broker restart")
    finally:
        stop_all(procs)
        redis.stop()
    print(f"Redis restart fault: states before {queued_at}, after {states(pg_url)}")
    each_done_once(pg_url)


def test_postgresql_refusing_connections_then_back(tmp_path, pg_url, newsroom):
    redis = RedisServer(tmp_path)
    proxy = PgProxy()
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = service_env(tmp_path, newsroom["file"], proxied, redis.url, **FAST_SWEEP)
    procs = start_service(tmp_path, env)
    try:
        wait_for(lambda: states(pg_url).get("done", 0) >= 5, 120, list(procs.values()),
                 "the first articles")
        proxy.refuse()
        down_at = states(pg_url)
        time.sleep(8)
        proxy.open()
        wait_for(lambda: finished(pg_url, newsroom["count"]), 240, list(procs.values()),
                 "every article done after the outage")
        assert all(p.alive() for p in procs.values())
    finally:
        stop_all(procs)
        redis.stop()
        proxy.refuse()
    print(f"PostgreSQL outage (8 s): states when cut {down_at}, after {states(pg_url)}")
    each_done_once(pg_url)


def test_sigterm_shuts_down_gracefully(tmp_path, pg_url, newsroom):
    redis = RedisServer(tmp_path)
    env = service_env(tmp_path, newsroom["file"], pg_url, redis.url, **FAST_SWEEP)
    procs = start_service(tmp_path, env)
    try:
        wait_for(lambda: states(pg_url).get("done", 0) >= 3, 120, list(procs.values()),
                 "work in progress")
        started = time.monotonic()
        code = procs["nlp"].stop(timeout=60)  # SIGTERM: warm shutdown
        assert code == 0 and time.monotonic() - started < 60
        assert "Warm shutdown" in procs["nlp"].tail()
        procs["nlp"].start()
        wait_for(lambda: finished(pg_url, newsroom["count"]), 180, list(procs.values()),
                 "every article done after the restart")
    finally:
        stop_all(procs)
        redis.stop()
    each_done_once(pg_url)
