"""Faults on the real Redis and PostgreSQL with real workers: nothing discovered is lost,
nothing is stored twice, and every worker process outlives the fault.

Bounded in time: the workers sweep stuck work every 2 s and call work stuck after 4 s.
Each test prints the time from the end of its fault to the last article done.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from tests.conftest import free_port
from tests.newsroom import rss, syndicated_newsroom, write_feeds_file
from tests.services import (
    PgProxy,
    PgServer,
    Proc,
    RedisServer,
    keep_alive,
    scrape,
    service_env,
    states,
    wait_for,
)
from worker.store.db import dispose_all, session_scope
from worker.store.migrate import upgrade
from worker.store.models import Amount, Article, Event, EventOutbox, Mention, Quote

FAST_SWEEP = {"NEWSWORKER_STUCK_AFTER_SECONDS": "4", "NEWSWORKER_SWEEP_SECONDS": "2",
              "NEWSWORKER_POLL_LEASE_SECONDS": "10"}


def each_done_once(db_url: str) -> None:
    """Every article done, exactly one final event (done or duplicate) for each, and no
    annotation stored twice (a step run twice must replace, never add)."""
    with session_scope(db_url) as session:
        finals = dict(session.execute(
            select(Event.article_id, func.count()).where(Event.kind.in_(("done", "duplicate")))
            .group_by(Event.article_id)).all())
        ids = session.scalars(select(Article.id)).all()
        urls = session.scalars(select(Article.canonical_url)).all()
        twice = {table.__tablename__: session.execute(
            select(table.article_id, table.start).group_by(table.article_id, table.start)
            .having(func.count() > 1)).all() for table in (Mention, Amount, Quote)}
        mentions = session.scalar(select(func.count()).select_from(Mention))
    assert sorted(finals) == sorted(ids) and set(finals.values()) == {1}
    assert len(urls) == len(set(urls))
    assert mentions > 0 and twice == {"mentions": [], "amounts": [], "quotes": []}


@pytest.fixture
def newsroom(site, tmp_path):
    room = syndicated_newsroom(site)
    room["file"] = write_feeds_file(tmp_path / "feeds.yaml", room["feeds"])
    room["count"] = sum(len(c) for c in room["clusters"])
    return room


def slow_pages(site, seconds: float) -> None:
    """Every article page answers after `seconds`: fetches are in flight when a fault hits."""
    for path, route in list(site.routes.items()):
        if path.endswith(".html"):
            def answer(request, route=route) -> None:
                time.sleep(seconds)
                try:
                    request._send(route.status, route.body, route.headers)
                except OSError:
                    pass  # the worker asking was killed meanwhile
            route.handler = answer


@contextmanager
def service(tmp_path, newsroom, db_url: str, redis: RedisServer, io_concurrency: int = 2,
            **extra: str) -> Iterator[dict[str, Proc]]:
    """beat, an io worker and an nlp worker on this Redis and database; all stopped after.
    The io worker serves its metrics on `procs["io"].metrics_port`."""
    env = service_env(tmp_path, newsroom["file"], db_url, redis.url, **FAST_SWEEP, **extra)
    io_port = free_port()
    procs = {
        "beat": Proc(["run", "--role", "beat"], env, tmp_path / "beat.log"),
        "io": Proc(["run", "--role", "worker", "--queues", "io", "--concurrency",
                    str(io_concurrency)], {**env, "NEWSWORKER_METRICS_PORT": str(io_port)},
                   tmp_path / "io.log"),
        "nlp": Proc(["run", "--role", "worker", "--queues", "nlp", "--concurrency", "1"], env,
                    tmp_path / "nlp.log"),
    }
    procs["io"].metrics_port = io_port
    try:
        yield procs
    finally:
        for proc in procs.values():
            proc.signal(signal.SIGCONT)  # one a failed test left paused stops too
            proc.stop()
        redis.stop()


def outage_lines(proc: Proc, what: str) -> tuple[int, int]:
    """How many times the process's log says `what` went away, and came back."""
    text = proc.log.read_text(errors="replace")
    return text.count(f"{what} unreachable ("), text.count(f"{what} back after ")


def wait_all_done(db_url: str, newsroom, procs: dict[str, Proc], after: str) -> float:
    """Seconds until every article is done and the change feed caught up."""
    started = time.monotonic()

    def done() -> bool:
        done.last = states(db_url)
        return done.last.get("done", 0) == newsroom["count"]

    def sequenced() -> bool:
        with session_scope(db_url) as session:
            sequenced.last = session.scalar(select(func.count()).select_from(EventOutbox))
        return not sequenced.last

    wait_for(done, 150, list(procs.values()), f"every article done {after}")
    # An event whose sequencing failed (the database went away between the writer's
    # commit and it) waits for the next writer or the sweep: the change feed catches up.
    wait_for(sequenced, 20, list(procs.values()), f"the change feed to catch up {after}")
    return time.monotonic() - started


def in_flight(db_url: str) -> bool:
    """Pages are being fetched and extracted: work is under way, not all of it done."""
    now = states(db_url)
    return now.get("extracted", 0) + now.get("done", 0) >= 3 and now.get("discovered", 0) > 0


@pytest.mark.timeout(180)
@pytest.mark.parametrize("role", ["beat", "io", "nlp"])
def test_sigkill_of_a_role_in_the_middle_then_restart(tmp_path, pg_url, newsroom, site, role):
    slow_pages(site, 0.3)
    with service(tmp_path, newsroom, pg_url, RedisServer(tmp_path)) as procs:
        wait_for(lambda: in_flight(pg_url), 90, list(procs.values()), "work in flight")
        procs[role].signal(signal.SIGKILL)  # the whole role: main process and its pool
        procs[role].popen.wait()
        killed_at = states(pg_url)
        procs[role].start()  # as systemd's Restart= or compose's restart policy do
        recovery = wait_all_done(pg_url, newsroom, procs, "after the restart")
        assert all(p.alive() for p in procs.values())
    print(f"SIGKILL of {role}: states when killed {killed_at}; all done {recovery:.1f} s "
          "after the restart")
    each_done_once(pg_url)


def hold_for_later(broker: str, io: Proc, db_url: str) -> None:
    """Make the io worker hold messages it may not run yet (polls at a host's later turn),
    unacknowledged, while it waits for more: the state in which Celery 5.7.0's worker
    exited when the connection dropped."""
    from celery import Celery

    from worker.store.models import Feed

    with session_scope(db_url) as session:
        feed_id = session.scalars(select(Feed.id)).first()
    sender = Celery(broker=broker)  # a bare client: the service's own app is not needed
    sent = [sender.send_task("newsworker.poll_feed", (feed_id,), queue="io", countdown=600).id
            for _ in range(3)]
    sender.close()
    wait_for(lambda: all(f"[{task_id}] received" in io.log.read_text() for task_id in sent),
             30, [io], "the io worker to hold the later polls")


@pytest.mark.timeout(180)
def test_redis_gone_60s_under_load_then_back_empty(tmp_path, pg_url, newsroom, site):
    """The issue's crash: Redis killed while the io worker waits for messages holding
    others unacknowledged (polls for a host's later turn), and the nlp worker has a
    queue of annotations; away for a minute, back with nothing."""
    slow_pages(site, 0.3)
    redis = RedisServer(tmp_path)
    with service(tmp_path, newsroom, pg_url, redis, io_concurrency=8,
                 NEWSWORKER_PER_HOST_DELAY_SECONDS="0.2") as procs:
        nlp = procs["nlp"]
        wait_for(lambda: " ready." in nlp.log.read_text(), 90, [nlp], "the nlp worker")
        nlp.signal(signal.SIGSTOP)  # paused, as a busy machine: its queue fills up

        def pages_fetched() -> bool:
            now = states(pg_url)
            return not now.get("discovered") and not now.get("fetched") \
                and now.get("extracted", 0) >= 3

        wait_for(pages_fetched, 120, [procs["beat"], procs["io"]], "annotations waiting")
        hold_for_later(redis.url, procs["io"], pg_url)
        redis.stop()  # no persistence: every queued and unacknowledged message is gone
        nlp.signal(signal.SIGCONT)
        down_at = states(pg_url)
        keep_alive(60, list(procs.values()))
        redis.start()
        recovery = wait_all_done(pg_url, newsroom, procs, "after Redis came back")
        for proc in procs.values():  # a role with nothing left to do may reconnect last
            wait_for(lambda p=proc: outage_lines(p, "broker")[1], 30, [proc], "its reconnection")
            assert outage_lines(proc, "broker") == (1, 1), proc.tail()
        assert scrape(procs["io"].metrics_port)["newsworker_broker_reconnects_total"] >= 1
    print(f"Redis away 60 s: states when killed {down_at}; all done {recovery:.1f} s after "
          "it came back")
    each_done_once(pg_url)


@pytest.fixture
def own_pg():
    server = PgServer()
    upgrade(server.url)
    yield server
    dispose_all()
    server.stop()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", ["restart", "terminate_backends"])
def test_postgresql_restarted_or_cut_mid_ingest(tmp_path, newsroom, site, own_pg, fault):
    slow_pages(site, 0.2)
    db = own_pg.url
    with service(tmp_path, newsroom, db, RedisServer(tmp_path)) as procs:
        wait_for(lambda: in_flight(db), 90, list(procs.values()), "work in flight")
        dispose_all()  # this test's own pooled connections go with the server
        cut_at = states(db)
        if fault == "restart":
            own_pg.halt()
            keep_alive(10, list(procs.values()))  # a restart's seconds, drawn out
            own_pg.start()
        else:
            assert own_pg.terminate_backends() > 0
        recovery = wait_all_done(db, newsroom, procs, f"after the {fault}")
        assert all(p.alive() for p in procs.values())
        errors = scrape(procs["io"].metrics_port)["newsworker_database_errors_total"]
        if fault == "restart":  # every role that met the outage said so, once
            assert errors > 0 and outage_lines(procs["io"], "database") == (1, 1)
            for proc in procs.values():
                assert outage_lines(proc, "database") in ((0, 0), (1, 1)), proc.tail()
    print(f"PostgreSQL {fault}: states then {cut_at}; all done {recovery:.1f} s after it")
    each_done_once(db)


@pytest.mark.timeout(180)
def test_sqlite_locked_30s_by_another_writer(tmp_path, newsroom, site):
    """The embedded all-in-one role while another program holds SQLite's write lock."""
    # A dozen articles: one process does every step here, on a shared machine.
    items = [(f"Article {i}", site.url(paths[0]))
             for i, paths in enumerate(newsroom["clusters"][:12])]
    feed = site.add("/feeds/small.rss", rss(items), "application/rss+xml")
    newsroom = {"count": len(items), "file": write_feeds_file(tmp_path / "small.yaml", [feed])}
    slow_pages(site, 0.2)
    db = f"sqlite:///{tmp_path / 'var' / 'newsworker.db'}"
    env = service_env(tmp_path, newsroom["file"], "", "", **FAST_SWEEP)
    procs = {"all": Proc(["run", "--concurrency", "3"], env, tmp_path / "all.log")}
    try:
        wait_for(lambda: in_flight(db), 120, list(procs.values()), "work in flight")
        locked_at = states(db)  # (the test's own reads take the write lock too)
        writer = sqlite3.connect(tmp_path / "var" / "newsworker.db", timeout=60,
                                 isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # the write lock, as a long migration or backup
        keep_alive(30, list(procs.values()))
        writer.execute("ROLLBACK")
        writer.close()
        recovery = wait_all_done(db, newsroom, procs, "after the lock")
        assert procs["all"].alive()
    finally:
        for proc in procs.values():
            proc.stop()
    print(f"SQLite locked 30 s: states then {locked_at}; all done {recovery:.1f} s after")
    each_done_once(db)


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
