"""Polling like a good citizen: each hostile or unusual server, played by a real local server.

Every case runs in one pass beside a good feed, which must come through untouched.
"""

from __future__ import annotations

import gzip
import itertools
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.newsroom import example_feed, example_page, write_feeds_file
from worker.errors import FetchError
from worker.http import HttpClient
from worker.ingest import ingest_once
from worker.settings import Settings
from worker.store import repo
from worker.store.db import session_scope
from worker.store.models import Article, Feed, Poll

RSS_ITEM = ('<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><title>{title}'
            '</title>{items}</channel></rss>')


def rss(items: str, title: str = "Flux", enc: str = "utf-8") -> str:
    return RSS_ITEM.format(enc=enc, title=title, items=items)


def settings_for(tmp_path, db_url, **overrides) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None,
                    **overrides)


def serve_good_feed(site) -> str:
    site.add("/articles/blinken-kiev.html", example_page(site.base))
    return site.add("/good.rss", example_feed(site.base), "application/rss+xml")


def polls_of(db_url: str) -> dict[str, list[Poll]]:
    with session_scope(db_url) as session:
        feeds = {f.id: f.url.rsplit("/", 1)[-1] for f in session.scalars(select(Feed))}
        out: dict[str, list[Poll]] = {}
        for poll in session.scalars(select(Poll).order_by(Poll.id)):
            out.setdefault(feeds[poll.feed_id], []).append(poll)
        return out


def feed_row(db_url: str, name: str) -> Feed:
    with session_scope(db_url) as session:
        return next(f for f in session.scalars(select(Feed)) if f.url.endswith(name))


def good_article_done(db_url: str) -> bool:
    with session_scope(db_url) as session:
        return session.scalar(select(Article.state).where(
            Article.canonical_url.like("%blinken-kiev%"))) == "done"


# --- conditional GET, 410, 429, redirects ------------------------------------------------

def conditional(handler) -> None:
    if handler.headers.get("If-None-Match") == '"v1"':
        handler.send_response(304)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    body = rss("<item><title>Un</title><link>/a/1</link></item>").encode()
    handler.send_response(200)
    for k, v in {"Content-Type": "application/rss+xml", "ETag": '"v1"',
                 "Last-Modified": "Tue, 12 Mar 2024 08:00:00 GMT",
                 "Content-Length": str(len(body))}.items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)


def test_status_codes_and_redirects(site, tmp_path, db_url):
    from tests.conftest import Route

    good = serve_good_feed(site)
    site.routes["/cond.rss"] = Route(handler=conditional)
    site.add("/a/1", "<html><body><p>court</p></body></html>")
    site.add("/gone.rss", "gone", "text/plain", status=410)
    site.add("/busy.rss", "slow down", "text/plain", status=429, **{"Retry-After": "7200"})
    site.add("/old.rss", "", status=301, Location="/mid.rss")
    site.add("/mid.rss", "", status=308, Location="/moved.rss")
    site.add("/moved.rss", rss(""), "application/rss+xml")
    site.add("/loop1.rss", "", status=302, Location="/loop2.rss")
    site.add("/loop2.rss", "", status=302, Location="/loop1.rss")
    urls = [good] + [site.url(p) for p in ("/cond.rss", "/gone.rss", "/busy.rss", "/old.rss",
                                           "/loop1.rss")]
    feeds = write_feeds_file(tmp_path / "feeds.yaml", urls)
    settings = settings_for(tmp_path, db_url)
    before = repo.now()
    ingest_once(settings, feeds)
    ingest_once(settings, feeds)  # a second pass: conditional GET, disabled and moved feeds
    polls = polls_of(db_url)
    assert [p.outcome for p in polls["cond.rss"]] == ["ok", "not_modified"]
    assert polls["cond.rss"][1].status_code == 304 and polls["cond.rss"][1].new_entries == 0
    assert site.requests[-1][0] != "/cond.rss" or True
    cond_requests = [h for path, h in site.requests if path == "/cond.rss"]
    assert cond_requests[1].get("If-None-Match") == '"v1"'
    assert cond_requests[1].get("If-Modified-Since") == "Tue, 12 Mar 2024 08:00:00 GMT"

    gone = feed_row(db_url, "gone.rss")
    assert gone.disabled_reason == "gone" and len(polls["gone.rss"]) == 1  # not polled again

    busy = feed_row(db_url, "busy.rss")
    assert polls["busy.rss"][0].status_code == 429
    next_poll = busy.next_poll_at if busy.next_poll_at.tzinfo else \
        busy.next_poll_at.replace(tzinfo=before.tzinfo)
    assert next_poll >= before + timedelta(seconds=7200 * 0.89)

    old = feed_row(db_url, "old.rss")
    assert old.current_url == site.url("/moved.rss")
    assert site.hits.get("/old.rss") == 1 and site.hits.get("/moved.rss") == 2

    loop = polls["loop1.rss"][0]
    assert loop.outcome == "failed" and "redirect_loop" in loop.error
    assert good_article_done(db_url)


# --- limits: size, gzip bomb, slow drip ---------------------------------------------------

def big_body(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.end_headers()  # no Content-Length: the client must stop reading by itself
    chunk = b"<!-- " + b"x" * (1 << 20) + b" -->"
    try:
        for _ in range(50):
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    handler.close_connection = True


BOMB = gzip.compress(b"\0" * (200 << 20), compresslevel=9)


def gzip_bomb(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(BOMB)))
    handler.end_headers()
    try:
        handler.wfile.write(BOMB)
    except (BrokenPipeError, ConnectionResetError):
        pass


def drip(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.end_headers()
    try:
        for _ in range(30):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)
    except (BrokenPipeError, ConnectionResetError):
        pass
    handler.close_connection = True


def test_size_bomb_and_drip_are_cut_short(site, tmp_path, db_url):
    from tests.conftest import Route

    good = serve_good_feed(site)
    site.routes["/big.rss"] = Route(handler=big_body)
    site.add("/declared.rss", b"", "application/rss+xml",
             **{"Content-Length-Override": "1"})
    site.routes["/bomb.rss"] = Route(handler=gzip_bomb)
    site.routes["/drip.rss"] = Route(handler=drip)
    feeds = write_feeds_file(tmp_path / "feeds.yaml",
                             [good] + [site.url(p) for p in ("/big.rss", "/bomb.rss",
                                                             "/drip.rss")])
    started = time.monotonic()
    ingest_once(settings_for(tmp_path, db_url, total_timeout=4.0), feeds)
    assert time.monotonic() - started < 60
    polls = polls_of(db_url)
    assert "too_large" in polls["big.rss"][0].error
    assert "too_large" in polls["bomb.rss"][0].error
    assert "timeout" in polls["drip.rss"][0].error
    assert polls["drip.rss"][0].duration_ms < 10_000
    assert good_article_done(db_url)


def test_declared_oversize_body_is_refused_before_reading(site, settings):
    site.add("/huge.html", b"x" * (6 << 20))
    client = HttpClient(settings)
    with pytest.raises(FetchError) as info:
        client.get(site.url("/huge.html"), max_bytes=5 << 20)
    assert info.value.reason == "too_large"


# --- feeds content: broken XML, charsets, changing GUIDs, links without URL -------------

def test_feed_content_cases(site, tmp_path, db_url):
    good = serve_good_feed(site)
    site.add("/invalid.rss", "<rss><channel><item><title>x</title>", "application/rss+xml")
    latin = rss("<item><title>Élection à Béziers : l’été</title><link>/a/2</link></item>",
                title="Région", enc="windows-1252").encode("cp1252")
    site.add("/charset.rss", latin, "application/rss+xml; charset=utf-8")
    site.add("/a/2", "<html><body><p>Trop court.</p></body></html>")
    counter = itertools.count()
    from tests.conftest import Route

    site.routes["/guids.rss"] = Route(body=lambda: rss(
        f"<item><title>G</title><link>/a/3</link><guid>id-{next(counter)}</guid></item>"
        "<item><title>sans lien</title></item>").encode(),
        headers={"Content-Type": "application/rss+xml"})
    site.add("/a/3", "<html><body><p>Trop court aussi.</p></body></html>")
    feeds = write_feeds_file(tmp_path / "feeds.yaml",
                             [good] + [site.url(p) for p in ("/invalid.rss", "/charset.rss",
                                                             "/guids.rss")])
    settings = settings_for(tmp_path, db_url)
    ingest_once(settings, feeds)
    ingest_once(settings, feeds)
    polls = polls_of(db_url)
    assert all(p.outcome == "failed" and "feed_unparseable" in p.error
               for p in polls["invalid.rss"])
    assert [p.new_entries for p in polls["guids.rss"]] == [1, 0]  # new GUID, same link
    assert polls["guids.rss"][0].skipped_entries == 1  # the entry without a link
    assert site.hits["/a/3"] == 1
    with session_scope(db_url) as session:
        title = session.scalar(select(Article.entry_title).where(Article.url.like("%/a/2")))
    assert title == "Élection à Béziers : l’été"
    assert good_article_done(db_url)


# --- SSRF guard ----------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "169.254.169.254",
                                  "10.1.2.3", "192.168.0.10", "metadata.google.internal"])
def test_guard_refuses_private_addresses_before_connecting(site, tmp_path, host):
    client = HttpClient(Settings(data_dir=tmp_path, allow_private_networks=False,
                                 _env_file=None))
    port = site.base.rsplit(":", 1)[1]
    with pytest.raises(FetchError) as info:
        client.get(f"http://{host}:{port}/feed.rss", max_bytes=1000)
    assert info.value.reason in ("blocked_address", "dns_failed")
    assert site.hits == {}


def test_guard_checks_every_redirect_hop(site, tmp_path):
    site.add("/hop", "", status=302, Location="http://10.0.0.1/internal")
    client = HttpClient(Settings(data_dir=tmp_path, allow_private_networks=True,
                                 _env_file=None))
    # With the guard lifted for the first hop only, the second must still be checked:
    # allow_private=False on the call applies to every hop.
    with pytest.raises(FetchError) as info:
        client.get(site.url("/hop"), max_bytes=1000, allow_private=False)
    assert info.value.reason == "blocked_address"


def test_feeds_file_without_private_flag_blocks_local_feeds(site, tmp_path, sqlite_url):
    good = serve_good_feed(site)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [good], allow_private=False)
    ingest_once(settings_for(tmp_path, sqlite_url), feeds)
    (poll,) = polls_of(sqlite_url)["good.rss"]
    assert poll.outcome == "failed" and "blocked_address" in poll.error
    assert site.hits == {}
