"""A poll whose host's turn is not near is re-queued for that turn, never slept on in a
worker slot and never counted as a failure; robots.txt shared by processes through Redis."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select, update

from tests.conftest import Route
from tests.newsroom import serve_newsroom, write_feeds_file
from tests.services import Proc, service_env, wait_for
from worker.context import make_context
from worker.errors import FetchError
from worker.http import HttpClient
from worker.politeness import HostBusy, RedisHostGate
from worker.settings import Settings
from worker.steps import fetch as fetch_step
from worker.steps import poll
from worker.steps.fetch import Outcome
from worker.store import feeds as feed_store
from worker.store import repo
from worker.store.db import session_scope
from worker.store.migrate import upgrade
from worker.store.models import Article, Failure, Feed, Poll

ETAG = '"v1"'
FEED = ('<rss version="2.0"><channel><title>Flux</title><item><title>Dépêche</title>'
        "<link>{base}/a.html</link></item></channel></rss>")


def serve_conditional_feed(site) -> str:
    """The feed with its ETag, or 304 to a request that has that ETag."""
    body = FEED.format(base=site.base).encode()

    def answer(handler) -> None:
        if handler.headers.get("If-None-Match") == ETAG:
            handler._send(304, b"", {"ETag": ETAG})
        else:
            handler._send(200, body, {"Content-Type": "application/rss+xml", "ETag": ETAG})

    site.routes["/feed.rss"] = Route(handler=answer)
    return site.url("/feed.rss")


def redis_settings(tmp_path, db_url: str, redis_url: str, **overrides) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, broker_url=redis_url,
                    allow_private_networks=True, _env_file=None, **overrides)


def feed_row(db_url: str, feed_id: int) -> Feed:
    with session_scope(db_url) as session:
        feed = session.get(Feed, feed_id)
        session.expunge(feed)
        return feed


def counts(db_url: str) -> tuple[int, int]:
    """(poll rows, failure rows)"""
    with session_scope(db_url) as session:
        return (session.scalar(select(func.count()).select_from(Poll)),
                session.scalar(select(func.count()).select_from(Failure)))


def test_a_far_turn_postpones_the_poll_without_a_failure(site, tmp_path, db_url, redis_url):
    url = serve_conditional_feed(site)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [url])
    # The robots.txt request takes the host's turn: the feed's comes 1 s later, past the
    # 0.1 s a worker slot may wait.
    ctx = make_context(redis_settings(tmp_path, db_url, redis_url, per_host_delay_seconds=1.0,
                                      max_slot_wait_seconds=0.1), feeds)
    try:
        ctx.sync_feeds()
        with session_scope(db_url) as session:
            [(feed_id, _)] = feed_store.active_feed_ids(session)
        claimed_until = repo.now() + timedelta(seconds=ctx.settings.poll_lease_seconds)
        first = poll.run(ctx, feed_id)
        assert first.outcome == "postponed" and 0 < first.retry_after <= 1.0
        feed = feed_row(db_url, feed_id)
        assert (feed.consecutive_failures, feed.poll_attempts, feed.last_error) == (0, 0, None)
        assert feed.next_poll_at >= claimed_until  # the scheduler leaves it to the retry
        assert counts(db_url) == (0, 0)
        assert site.hits == {"/robots.txt": 1}
        time.sleep(first.retry_after)  # the task's countdown
        assert poll.run(ctx, feed_id).outcome == "ok"
        assert feed_row(db_url, feed_id).etag == ETAG

        # A feed that failed before answers 304: failures reset, ETag kept, poll recorded.
        with session_scope(db_url) as session:
            session.execute(update(Feed).values(consecutive_failures=2))
        assert poll_at_its_turn(ctx, feed_id).outcome == "not_modified"
        feed = feed_row(db_url, feed_id)
        assert (feed.consecutive_failures, feed.poll_attempts, feed.etag) == (0, 0, ETAG)
        assert feed.last_status == 304 and feed.last_success_at is not None
        with session_scope(db_url) as session:
            outcomes = session.scalars(select(Poll.outcome).order_by(Poll.id)).all()
        assert outcomes == ["ok", "not_modified"]
        assert counts(db_url) == (2, 0)
        assert site.requests[-1][1].get("If-None-Match") == ETAG
        assert site.hits["/robots.txt"] == 1 and site.hits["/feed.rss"] == 2
    finally:
        ctx.close()


def poll_at_its_turn(ctx, feed_id: int) -> poll.PollResult:
    """Poll as the task does: again after each countdown (a few at most)."""
    for _ in range(5):
        result = poll.run(ctx, feed_id)
        if result.outcome != "postponed":
            return result
        time.sleep(result.retry_after)
    raise AssertionError("still postponed after five turns")


def test_a_busy_host_postpones_a_page_fetch_and_gives_the_attempt_back(site, tmp_path,
                                                                       sqlite_url, redis_url):
    url = serve_conditional_feed(site)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [url])
    ctx = make_context(redis_settings(tmp_path, sqlite_url, redis_url,
                                      per_host_delay_seconds=1.0), feeds)
    upgrade(sqlite_url)
    try:
        ctx.sync_feeds()
        with session_scope(sqlite_url) as session:
            [(feed_id, _)] = feed_store.active_feed_ids(session)
        [article_id] = poll_at_its_turn(ctx, feed_id).new_ids
        # The feed request just took the host's turn: the page must wait 1 s.
        assert fetch_step.run(ctx, article_id) is Outcome.POSTPONED
        with session_scope(sqlite_url) as session:
            article = session.get(Article, article_id)
            assert (article.state, article.attempts) == ("discovered", 0)
            assert "may not be asked" in article.last_error
        assert site.hits.get("/a.html") is None
    finally:
        ctx.close()


def test_redis_gate_past_its_wait_reserves_nothing(redis_url):
    waiting = RedisHostGate(redis_url, delay=1.0, concurrency=2, max_wait=0.1)
    patient = RedisHostGate(redis_url, delay=1.0, concurrency=2)
    with waiting.slot("turn.test", time.monotonic() + 5):
        pass
    with pytest.raises(HostBusy) as info, waiting.slot("turn.test", time.monotonic() + 5):
        pass
    assert 0.5 < info.value.retry_after <= 1.0
    # Had the refused call reserved a turn, this one would start 2 s after the first,
    # past its deadline.
    with patient.slot("turn.test", time.monotonic() + 1.5):
        pass


def test_requests_refused_for_one_host_are_told_to_come_back_one_delay_apart(redis_url):
    gates = [RedisHostGate(redis_url, delay=1.0, concurrency=2, max_wait=0.1)
             for _ in range(2)]
    with gates[0].slot("line.test", time.monotonic() + 5):
        pass
    waits = []
    for i in range(3):
        with pytest.raises(HostBusy) as info, gates[i % 2].slot("line.test",
                                                                time.monotonic() + 5):
            pass
        waits.append(info.value.retry_after)
    # All three would be refused again at the next turn but one: each gets its own.
    assert 0.5 < waits[0] <= 1.0 and 1.5 < waits[1] <= 2.0 and 2.5 < waits[2] <= 3.0


def test_redis_gate_sees_every_slot_held(redis_url):
    gates = [RedisHostGate(redis_url, delay=0.0, concurrency=1, max_wait=0.2)
             for _ in range(2)]
    with gates[0].slot("full.test", time.monotonic() + 5):
        with pytest.raises(HostBusy) as info, gates[1].slot("full.test", time.monotonic() + 5):
            pass
        assert info.value.retry_after is None  # no turn to tell: a holder frees it
    with gates[1].slot("full.test", time.monotonic() + 5):  # released: free again
        pass


def test_robots_txt_is_fetched_once_for_two_processes(site, tmp_path, redis_url):
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/a", "page")
    site.add("/private/b", "secret")
    # Two clients stand for two worker processes: they share nothing but Redis.
    settings = redis_settings(tmp_path, "", redis_url, per_host_delay_seconds=0)
    first, second = HttpClient(settings), HttpClient(settings)
    try:
        assert first.get(site.url("/a"), max_bytes=100, respect_robots=True).body == b"page"
        with pytest.raises(FetchError) as info:
            second.get(site.url("/private/b"), max_bytes=100, respect_robots=True)
        assert info.value.reason == "robots_disallowed"
        assert second.get(site.url("/a"), max_bytes=100, respect_robots=True).status == 200
    finally:
        first.close()
        second.close()
    assert site.hits == {"/robots.txt": 1, "/a": 2}


def test_an_unreachable_robots_txt_is_shared_for_the_retry_time_only(site, tmp_path,
                                                                     redis_url):
    site.add("/robots.txt", "down", "text/plain", status=503)
    site.add("/a", "page")
    settings = redis_settings(tmp_path, "", redis_url, per_host_delay_seconds=0,
                              robots_retry_seconds=60, robots_cache_seconds=3600)
    clients = [HttpClient(settings), HttpClient(settings)]
    try:
        for client in clients:
            with pytest.raises(FetchError) as info:
                client.get(site.url("/a"), max_bytes=100, respect_robots=True)
            assert info.value.reason == "robots_unreachable"
    finally:
        for client in clients:
            client.close()
    assert site.hits == {"/robots.txt": 1}
    [key] = redis.Redis.from_url(redis_url).keys("newsworker:robots:*")
    assert 0 < redis.Redis.from_url(redis_url).ttl(key) <= 60


def test_service_polls_the_feed_at_its_turn_after_the_robots_request(site, tmp_path, pg_url,
                                                                     redis_url):
    # Default politeness (1 s between two requests to a host): robots.txt takes the
    # host's turn, so the feed's first poll is re-queued, then polled.
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site)[:1])
    env = service_env(tmp_path, feeds, pg_url, redis_url, NEWSWORKER_PER_HOST_DELAY_SECONDS="1")
    procs = [Proc(["run", "--role", "beat"], env, tmp_path / "beat.log"),
             Proc(["run", "--role", "worker", "--queues", "io", "--concurrency", "2"],
                  env, tmp_path / "io.log")]
    try:
        wait_for(lambda: counts(pg_url)[0] >= 1, 120, procs, "the feed polled")
    finally:
        for proc in procs:
            proc.stop()
    io_log = (tmp_path / "io.log").read_text()
    assert "feed poll postponed" in io_log
    with session_scope(pg_url) as session:
        feed = session.scalars(select(Feed)).one()
        assert (feed.consecutive_failures, feed.last_status) == (0, 200)
        outcomes = session.scalars(select(Poll.outcome)).all()
    assert outcomes and set(outcomes) == {"ok"}
    assert counts(pg_url)[1] == 0
    assert site.hits["/robots.txt"] == 1


class CountingServer(ThreadingHTTPServer):
    """Answers 304 to everything, keeping connections open; counts the connections."""

    daemon_threads = True
    connections = 0

    def get_request(self):
        self.connections += 1
        return super().get_request()


class NotModified(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(304)
        self.send_header("ETag", ETAG)
        self.end_headers()


def test_polls_of_one_host_reuse_one_connection(tmp_path):
    server = CountingServer(("127.0.0.1", 0), NotModified)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = HttpClient(Settings(data_dir=tmp_path, allow_private_networks=True,
                                 per_host_delay_seconds=0, _env_file=None))
    try:
        for path in ("/a.rss", "/b.rss", "/a.rss"):
            url = f"http://127.0.0.1:{server.server_address[1]}{path}"
            assert client.get(url, max_bytes=100, etag=ETAG).not_modified
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    assert server.connections == 1  # the pinned connection served all three


def two_feeds(site, tmp_path) -> Path:
    urls = []
    for name in ("a", "b"):
        urls.append(site.add(f"/{name}.rss", FEED.format(base=site.base).replace(
            "/a.html", f"/{name}.html"), "application/rss+xml"))
    return write_feeds_file(tmp_path / "feeds.yaml", urls)


def batch_of_two(ctx, db_url: str, budget: float = 60.0) -> poll.BatchResult:
    ctx.sync_feeds()
    with session_scope(db_url) as session:
        ids = [feed_id for feed_id, _ in feed_store.active_feed_ids(session)]
    return poll.run_batch(ctx, ids, budget)


def test_a_batch_waits_for_a_near_turn_itself(site, tmp_path, sqlite_url, redis_url):
    # robots.txt, then each feed 0.5 s apart: near turns, polled by the batch itself.
    upgrade(sqlite_url)
    ctx = make_context(redis_settings(tmp_path, sqlite_url, redis_url,
                                      per_host_delay_seconds=0.5), two_feeds(site, tmp_path))
    try:
        started = time.monotonic()
        result = batch_of_two(ctx, sqlite_url)
        elapsed = time.monotonic() - started
    finally:
        ctx.close()
    assert result.postponed == [] and result.not_started == []
    assert len(result.new_ids) == 2 and elapsed >= 1.0  # two turns after robots.txt
    assert counts(sqlite_url) == (2, 0)
    assert site.hits == {"/robots.txt": 1, "/a.rss": 1, "/b.rss": 1}


def test_a_batch_sends_back_a_far_turn_and_what_its_budget_leaves(site, tmp_path, sqlite_url,
                                                                  redis_url):
    upgrade(sqlite_url)
    ctx = make_context(redis_settings(tmp_path, sqlite_url, redis_url,
                                      per_host_delay_seconds=5.0), two_feeds(site, tmp_path))
    try:
        far = batch_of_two(ctx, sqlite_url)
        redis.Redis.from_url(redis_url).flushdb()  # the host's turns forgotten
        with session_scope(sqlite_url) as session:  # the leases given up
            session.execute(update(Feed).values(next_poll_at=repo.now()))
        no_time = batch_of_two(ctx, sqlite_url, budget=0.0)
    finally:
        ctx.close()
    # 5 s after robots.txt is past what a batch waits: both back to the queue, no failure.
    assert [wait > 2.0 for _, wait in far.postponed] == [True, True]
    assert far.new_ids == [] and far.not_started == []
    # No budget: the first poll runs (robots.txt known, the host free), the second is
    # left for a new batch.
    assert len(no_time.new_ids) == 1 and no_time.postponed == []
    assert len(no_time.not_started) == 1 and counts(sqlite_url) == (1, 0)
