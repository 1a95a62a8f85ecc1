"""Hostile input: each ends in a recorded error or a bounded result, and the run goes on.

All cases are served together, beside a good feed, in one in-process pass, so a case that
crashed the worker or hung would fail the good feed too. Time and memory are bounded.
"""

from __future__ import annotations

import resource
import time

from sqlalchemy import select

from tests.conftest import Route
from tests.newsroom import example_feed, example_page, write_feeds_file
from worker.ingest import ingest_once
from worker.settings import Settings
from worker.store.db import session_scope
from worker.store.models import Article, Feed, Poll

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>{base}/laughs-article.html</link></item></channel></rss>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>XXE</title>
<item><title>leak &xxe;</title><link>{base}/xxe-article.html</link></item></channel></rss>"""


def many_entries(base: str, n: int = 10_000) -> str:
    items = "".join(f"<item><title>n{i}</title><link>{base}/many/{i}.html</link></item>"
                    for i in range(n))
    return f'<rss version="2.0"><channel><title>M</title>{items}</channel></rss>'


def big_page(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.end_headers()
    try:
        for _ in range(50):  # 50 MB, no Content-Length
            handler.wfile.write(b"<p>" + b"a" * (1 << 20) + b"</p>")
    except (BrokenPipeError, ConnectionResetError):
        pass
    handler.close_connection = True


def pages_feed(base: str, names: list[str]) -> str:
    items = "".join(f"<item><title>{n}</title><link>{base}/hostile/{n}</link>"
                    f"<description>Résumé du flux pour {n}.</description></item>" for n in names)
    return f'<rss version="2.0"><channel><title>H</title>{items}</channel></rss>'


def long_fields_feed(base: str) -> str:
    """Entries whose link, GUID, title and author are longer than any column used to be,
    beside an ordinary one: all must be stored, none may roll the poll back."""
    long_link = f"{base}/long/" + "a" * 5000 + ".html"
    items = [
        f"<item><title>lien long</title><link>{long_link}</link></item>",
        f"<item><title>guid long</title><guid isPermaLink='false'>{'g' * 3000}</guid>"
        f"<link>{base}/long/guid.html</link></item>",
        f"<item><title>{'Titre ' * 170}</title><link>{base}/long/title.html</link>"
        f"<author>{'auteur ' * 150}</author></item>",
        f"<item><title>ordinaire</title><link>{base}/long/plain.html</link></item>",
    ]
    return f'<rss version="2.0"><channel><title>L</title>{"".join(items)}</channel></rss>'


def test_hostile_corpus(site, tmp_path, db_url):
    base = site.base
    site.add("/articles/blinken-kiev.html", example_page(base))
    site.add("/good.rss", example_feed(base), "application/rss+xml")
    site.add("/laughs.rss", BILLION_LAUGHS.replace("{base}", base), "application/rss+xml")
    site.add("/xxe.rss", XXE.replace("{base}", base), "application/rss+xml")
    site.add("/xxe-article.html", "<html><body><p>x</p></body></html>")
    site.add("/empty.rss", b"", "application/rss+xml")
    site.add("/many.rss", many_entries(base), "application/rss+xml")
    nested = "<html><body>" + "<div>" * 100_000 + "<p>profond</p>" + "</div>" * 100_000
    site.add("/hostile/nested.html", nested + "</body></html>")
    one_line = "<html><body><p>" + "mot " * (10 << 18) + "</p></body></html>"  # 10 MB
    site.add("/hostile/oneline.html", one_line)
    site.routes["/hostile/big.html"] = Route(handler=big_page)
    site.add("/hostile/binary.html", bytes(range(256)) * 4096, "text/html")
    site.add("/hostile/badutf8.html", b"<html><head><meta charset='utf-8'></head><body><article>"
             + b"<p>Le pr\xe9sident a d\xe9clar\xe9 \xff\xfe une chose importante. </p>" * 30
             + b"</article></body></html>", "text/html; charset=utf-8")
    site.add("/long.rss", long_fields_feed(base), "application/rss+xml")
    hostile = ["nested.html", "oneline.html", "big.html", "binary.html", "badutf8.html"]
    site.add("/pages.rss", pages_feed(base, hostile), "application/rss+xml")
    names = ["good.rss", "laughs.rss", "xxe.rss", "empty.rss", "many.rss", "pages.rss",
             "long.rss"]
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.url("/" + n) for n in names])

    started = time.monotonic()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None,
                        max_entries_per_poll=500)
    ingest_once(settings, feeds, migrate=False)
    elapsed = time.monotonic() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(f"hostile corpus: {elapsed:.1f}s, peak RSS grew {grown_mb:.0f} MB")
    assert elapsed < 240 and grown_mb < 1500

    with session_scope(db_url) as session:
        feeds_by_name = {f.url.rsplit("/", 1)[-1]: f.id for f in session.scalars(select(Feed))}
        polls = {n: session.scalars(select(Poll).where(Poll.feed_id == feeds_by_name[n])).one()
                 for n in names}
        articles = {a.canonical_url.rsplit("/", 1)[-1]: a
                    for a in session.scalars(select(Article))}
        for name, poll in polls.items():
            print(f"  feed {name}: {poll.outcome} new={poll.new_entries} "
                  f"skipped={poll.skipped_entries} {poll.error or ''}"[:160])
        for name in hostile:
            a = articles[name]
            print(f"  page {name}: {a.state} {a.failure_reason or a.extraction}")
        # billion laughs: refused or read without expansion, never a huge title
        assert polls["laughs.rss"].outcome in ("failed", "ok")
        assert all(len(a.entry_title or "") < 1000 for a in articles.values()
                   if "/long/" not in a.url)
        # external entity: never resolved
        assert all("root:" not in (a.entry_title or "") for a in articles.values())
        assert polls["empty.rss"].outcome == "failed" and "feed_unparseable" in \
            polls["empty.rss"].error
        # 10,000 entries: bounded to the per-poll limit, the rest counted as skipped
        assert polls["many.rss"].new_entries == 500 and polls["many.rss"].skipped_entries == 9500
        assert articles["big.html"].failure_reason == "too_large"
        assert articles["binary.html"].state == "failed" or \
            articles["binary.html"].extraction == "feed"
        assert articles["nested.html"].state in ("done", "failed")
        assert articles["oneline.html"].state in ("done", "failed")
        assert articles["badutf8.html"].state == "done"
        assert "président a déclaré" in articles["badutf8.html"].text
        assert articles["blinken-kiev.html"].state == "done"
        # long fields: every entry of the feed stored, in full, beside the ordinary one
        assert polls["long.rss"].outcome == "ok" and polls["long.rss"].new_entries == 4
        long_ones = [a for a in articles.values() if "/long/" in a.url]
        assert len(long_ones) == 4
        assert max(len(a.canonical_url) for a in long_ones) > 5000
        assert any(len(a.entry_guid or "") == 3000 for a in long_ones)
        assert any(len(a.entry_title or "") > 1000 for a in long_ones)
        # every failure says why
        assert all(a.failure_reason for a in articles.values() if a.state == "failed")
