"""Politeness: per-host delay and concurrency shared through Redis, and robots.txt."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, update

from tests.newsroom import example_page, write_feeds_file
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
