"""Politeness: per-host delay and concurrency shared through Redis, and robots.txt."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from sqlalchemy import select, update

from tests.conftest import Route
from tests.newsroom import example_page, write_feeds_file
from worker.errors import FetchError
from worker.http import HttpClient
from worker.ingest import ingest_once
from worker.politeness import RedisHostGate
from worker.settings import Settings
from worker.store.db import session_scope
from worker.store.models import Article


def test_redis_gate_spaces_requests_and_caps_concurrency_across_clients(redis_url):
    # Two gates stand for two worker processes: they share nothing but Redis.
    gates = [RedisHostGate(redis_url, delay=0.3, concurrency=1) for _ in range(2)]
    starts: list[float] = []
    active, peak = [0], [0]
    lock = threading.Lock()

    def request(gate: RedisHostGate) -> None:
        with gate.slot("news.test", time.monotonic() + 30):
            with lock:
                starts.append(time.monotonic())
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=request, args=(gates[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert peak[0] == 1
    assert min(gaps) >= 0.25  # 0.3 s apart, with clock slack


def feed_with(base: str, paths: list[str]) -> str:
    items = "".join(f"<item><title>{p}</title><link>{base}{p}</link></item>" for p in paths)
    return f'<rss version="2.0"><channel><title>R</title>{items}</channel></rss>'


def test_robots_txt_is_honoured_unless_the_feed_says_otherwise(site, tmp_path, sqlite_url):
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/private/a.html", example_page(site.base))
    site.add("/public/b.html", example_page(site.base).replace("blinken-kiev", "b"))
    site.add("/feed.rss", feed_with(site.base, ["/private/a.html", "/public/b.html"]),
             "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.url("/feed.rss")])
    ingest_once(Settings(data_dir=tmp_path / "var", database_url=sqlite_url, _env_file=None),
                feeds)
    with session_scope(sqlite_url) as session:
        outcome = dict(session.execute(select(Article.url, Article.failure_reason)).all())
    assert outcome[site.url("/private/a.html")] == "robots_disallowed"
    assert outcome[site.url("/public/b.html")] is None
    assert site.hits.get("/private/a.html") is None and site.hits["/robots.txt"] == 1
    # The same feed with respect_robots: false fetches the page.
    feeds.write_text(feeds.read_text().replace(
        "    tags: [test]", "    tags: [test]\n    respect_robots: false"))

    with session_scope(sqlite_url) as session:
        session.execute(update(Article).values(state="discovered", failure_reason=None))
    ingest_once(Settings(data_dir=tmp_path / "var", database_url=sqlite_url, _env_file=None),
                feeds)
    assert site.hits["/private/a.html"] == 1


# --- robots.txt inside the HTTP client (RFC 9309) --------------------------------------------

def robots_client(tmp_path, **overrides) -> HttpClient:
    return HttpClient(Settings(data_dir=tmp_path, allow_private_networks=True, _env_file=None,
                               **overrides))


def refused(client: HttpClient, url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        client.get(url, max_bytes=10_000, respect_robots=True)
    return info.value


def test_disallowed_urls_are_refused_before_any_request(site, tmp_path):
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\nAllow: /private/ok$\n"
                            "Disallow: /*.pdf$\n", "text/plain")
    for path in ("/private/a", "/private/ok", "/private/ok2", "/doc.pdf", "/doc.pdf?v=1"):
        site.add(path, "page")
    client = robots_client(tmp_path)
    assert refused(client, site.url("/private/a")).reason == "robots_disallowed"
    assert refused(client, site.url("/doc.pdf")).reason == "robots_disallowed"
    assert refused(client, site.url("/private/ok2")).reason == "robots_disallowed"
    assert client.get(site.url("/private/ok"), max_bytes=100, respect_robots=True).body == b"page"
    assert client.get(site.url("/doc.pdf?v=1"), max_bytes=100, respect_robots=True).status == 200
    assert [p for p, _ in site.requests] == ["/robots.txt", "/private/ok", "/doc.pdf?v=1"]
    # Without respect_robots (a feed that says so) the same URL is fetched.
    assert client.get(site.url("/private/a"), max_bytes=100).body == b"page"


def test_every_redirect_hop_is_checked(site, tmp_path):
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/open", "", status=302, Location="/private/secret")
    site.add("/private/secret", "secret")
    error = refused(robots_client(tmp_path), site.url("/open"))
    assert error.reason == "robots_disallowed" and "/private/secret" in str(error)
    assert site.hits.get("/private/secret") is None and site.hits["/robots.txt"] == 1


def test_missing_robots_txt_allows_everything(site, tmp_path):
    site.add("/robots.txt", "gone", "text/plain", status=410)
    site.add("/private/a", "page")
    client = robots_client(tmp_path)
    assert client.get(site.url("/private/a"), max_bytes=100, respect_robots=True).body == b"page"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_robots_txt_server_error_disallows_until_the_retry(site, tmp_path, status):
    site.add("/robots.txt", "down", "text/plain", status=status)
    site.add("/a", "page")
    client = robots_client(tmp_path, robots_retry_seconds=3600)
    for _ in range(2):
        error = refused(client, site.url("/a"))
        assert error.reason == "robots_unreachable" and error.transient
    assert site.hits.get("/a") is None and site.hits["/robots.txt"] == 1  # cached meanwhile


def test_unreachable_robots_txt_is_retried_sooner_than_a_good_one_expires(site, tmp_path):
    site.add("/robots.txt", "down", "text/plain", status=503)
    site.add("/a", "page")
    client = robots_client(tmp_path, robots_retry_seconds=1, robots_cache_seconds=3600)
    assert refused(client, site.url("/a")).reason == "robots_unreachable"
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    time.sleep(1.2)  # past the retry delay (1 s), far from the cache time (1 h)
    assert client.get(site.url("/a"), max_bytes=100, respect_robots=True).body == b"page"
    site.add("/robots.txt", "down", "text/plain", status=503)  # kept for an hour now
    assert client.get(site.url("/a"), max_bytes=100, respect_robots=True).body == b"page"
    assert site.hits["/robots.txt"] == 2


def test_unreachable_server_disallows(tmp_path):
    # A port on 127.0.0.1 that nothing listens on: the robots.txt fetch is refused, and the
    # page fails with the site's own failure (what an operator needs to read).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = refused(robots_client(tmp_path), f"http://127.0.0.1:{port}/a")
    assert error.reason == "network_error" and error.transient
    assert "robots.txt" in str(error)


def test_crawl_delay_raises_the_host_delay(site, tmp_path):
    site.add("/robots.txt", "User-agent: *\nCrawl-delay: 30\n", "text/plain")
    site.add("/a", "page")
    # Deadline 3 s, Crawl-delay 30 s after the robots.txt request: the page may not be
    # asked for before its deadline, so it is not asked for at all.
    client = robots_client(tmp_path, total_timeout=3.0, max_crawl_delay_seconds=60)
    error = refused(client, site.url("/a"))
    # retry_after: when the host's turn comes, 30 s after the robots.txt request.
    assert error.reason == "host_busy" and error.transient and 25 < error.retry_after <= 30
    assert site.hits.get("/a") is None and site.hits["/robots.txt"] == 1
    # The crawl delay is the site's word for robots-respecting fetches only.
    assert client.get(site.url("/a"), max_bytes=100).status == 200


def test_crawl_delay_is_capped_by_the_setting(site, tmp_path):
    site.add("/robots.txt", "User-agent: *\nCrawl-delay: 3600\n", "text/plain")
    site.add("/a", "page")
    client = robots_client(tmp_path, total_timeout=10.0, max_crawl_delay_seconds=0.2)
    for _ in range(2):
        assert client.get(site.url("/a"), max_bytes=100, respect_robots=True).status == 200


def test_robots_txt_goes_through_the_address_guard(site, tmp_path):
    site.add("/robots.txt", "User-agent: *\nDisallow:\n", "text/plain")
    client = HttpClient(Settings(data_dir=tmp_path, allow_private_networks=False,
                                 _env_file=None))
    with pytest.raises(FetchError) as info:
        client.get(site.url("/a"), max_bytes=100, respect_robots=True)
    assert info.value.reason == "blocked_address"
    assert site.hits == {}


def test_a_large_robots_txt_is_read_up_to_the_limit(site, tmp_path):
    filler = "# padding line that says nothing at all\n" * 20_000  # ~800 KB
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n" + filler, "text/plain")
    site.add("/private/a", "page")
    assert refused(robots_client(tmp_path), site.url("/private/a")).reason == "robots_disallowed"


def test_one_robots_fetch_per_origin_for_concurrent_requests(site, tmp_path):
    def slow_robots(handler) -> None:
        time.sleep(0.3)  # keep the fetch open while the other threads ask
        handler._send(200, b"User-agent: *\nDisallow: /private/\n",
                      {"Content-Type": "text/plain"})

    site.routes["/robots.txt"] = Route(handler=slow_robots)
    for i in range(8):
        site.add(f"/p{i}", "page")
    client = robots_client(tmp_path, per_host_concurrency=8)
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda i=i: statuses.append(client.get(
        site.url(f"/p{i}"), max_bytes=100, respect_robots=True).status)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert site.hits["/robots.txt"] == 1


def test_redis_gate_takes_a_per_request_delay(redis_url):
    gate = RedisHostGate(redis_url, delay=0.0, concurrency=4)
    host = f"crawl-delay-{uuid.uuid4().hex}.test"
    with gate.slot(host, time.monotonic() + 5, delay=30.0):
        pass
    with pytest.raises(TimeoutError):  # 30 s after the first: past this deadline
        with gate.slot(host, time.monotonic() + 2, delay=30.0):
            pass
    with gate.slot(host, time.monotonic() + 2):  # the gate's own delay (0) still goes
        pass
