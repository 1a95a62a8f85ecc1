"""The whole pipeline in-process (`ingest --once`), on SQLite and PostgreSQL, real HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.newsroom import expected_pages, serve_newsroom, write_feeds_file
from worker.ingest import ingest_once
from worker.settings import Settings
from worker.store.db import session_scope
from worker.store.models import Article, ArticleUrl, Entity, Event, Failure, Poll
from worker.store.records import export_records


def make_settings(tmp_path, db_url) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None)


def records(db_url) -> dict[str, dict]:
    with session_scope(db_url) as session:
        return {r["url"].split("?")[0].rsplit("/", 1)[-1]: r
                for _, r in export_records(session, 0)}


def test_ingest_once_stores_every_article_once_with_entities(site, tmp_path, db_url):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    settings = make_settings(tmp_path, db_url)
    summaries = ingest_once(settings, feeds)
    expected = expected_pages()
    assert all(s.poll == "ok" for s in summaries)
    with session_scope(db_url) as session:
        states = dict(session.execute(select(Article.state, func.count())
                                      .group_by(Article.state)).all())
        n_events = session.scalar(select(func.count()).select_from(Event))
    # every fixture page + the example, once each, although one page is in two feeds
    assert states == {"done": len(expected) + 1}
    found = records(db_url)
    for name, page in expected.items():
        record = found[name]
        assert record["title"] == page["title"]
        # A paywalled page only shows its lead: the article keeps the feed's fuller text.
        for sentence in page.get("feed_content_must_contain") or page["must_contain"]:
            assert " ".join(sentence.split()) in " ".join(record["text"].split()), (name, sentence)
        for junk in page["must_not_contain"]:
            assert junk not in record["text"], (name, junk)
        assert record["entities"], name
        assert all(m["text"] == record["text"][m["start"]:m["end"]]
                   for e in record["entities"] for m in e["mentions"])

    # A second pass finds nothing new and changes nothing.
    again = ingest_once(settings, feeds)
    assert sum(s.new for s in again) == 0
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == len(expected) + 1
        assert session.scalar(select(func.count()).select_from(Event)) == n_events
        assert session.scalar(select(func.count()).select_from(Poll)) == 2 * len(summaries)


def test_paywalled_page_keeps_the_feed_text(site, tmp_path, sqlite_url):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    ingest_once(make_settings(tmp_path, sqlite_url), feeds)
    paywalled = records(sqlite_url)["art08.html"]
    assert paywalled["paywalled"] is True
    assert paywalled["extraction"] == "feed"
    assert len(paywalled["text"]) > 200
    assert "réservé aux abonnés" not in paywalled["text"]
    assert records(sqlite_url)["art01.html"]["extraction"] == "page"


def test_windows_1252_page_has_no_mojibake(site, tmp_path, sqlite_url):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    ingest_once(make_settings(tmp_path, sqlite_url), feeds)
    text = records(sqlite_url)["art07.html"]["text"]
    assert "é" in text and "Ã" not in text and "\ufffd" not in text


def test_bad_input_fails_alone_with_its_reason(site, tmp_path, db_url):
    good = serve_newsroom(site)[-1]  # the example article's feed
    base = site.base
    site.add("/bad/invalid.xml", "<rss><channel><item>unclosed", "application/rss+xml")
    site.add("/bad/items.rss", f"""<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>
<item><title>404</title><link>{base}/nowhere.html</link></item>
<item><title>vide</title><link>{base}/empty.html</link></item>
<item><title>pdf</title><link>{base}/doc.pdf</link></item>
</channel></rss>""", "application/rss+xml")
    site.add("/empty.html", "<html><body><nav>Menu</nav></body></html>")
    site.add("/doc.pdf", b"%PDF-1.4 binary", "application/pdf")
    unreachable = "http://127.0.0.1:9/feed.rss"  # discard port: connection refused
    feeds = write_feeds_file(tmp_path / "feeds.yaml",
                             [unreachable, site.url("/bad/invalid.xml"),
                              site.url("/bad/items.rss"), good])
    summaries = {s.name: s for s in ingest_once(make_settings(tmp_path, db_url), feeds)}
    assert summaries["Feed 0"].poll == "failed" and "network_error" in summaries["Feed 0"].error
    assert summaries["Feed 1"].poll == "failed" and "feed_unparseable" in summaries["Feed 1"].error
    with session_scope(db_url) as session:
        reasons = dict(session.execute(select(Article.url, Article.failure_reason)).all())
        dead = set(session.scalars(select(Failure.reason)))
        done = session.scalars(select(Article.url).where(Article.state == "done")).all()
    assert reasons[f"{base}/nowhere.html"] == "http_404"
    assert reasons[f"{base}/empty.html"] == "empty_article"
    assert reasons[f"{base}/doc.pdf"] == "bad_content_type"
    assert {"http_404", "empty_article", "bad_content_type"} <= dead
    assert len(done) == 1 and "blinken-kiev" in done[0]


def test_same_link_in_two_feeds_is_one_article_with_its_urls(site, tmp_path, sqlite_url):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    ingest_once(make_settings(tmp_path, sqlite_url), feeds)
    with session_scope(sqlite_url) as session:
        art04 = session.scalars(select(Article).where(Article.url.like("%art04%"))).all()
        urls = session.scalars(select(ArticleUrl.url).where(ArticleUrl.article_id == art04[0].id))
        assert len(art04) == 1
        assert all("art04" in u for u in urls)


@pytest.mark.parametrize("name", ["Anthony Blinken"])
def test_entities_are_shared_rows_with_counts(site, tmp_path, sqlite_url, name):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    ingest_once(make_settings(tmp_path, sqlite_url), feeds)
    with session_scope(sqlite_url) as session:
        rows = session.scalars(select(Entity).where(Entity.name == name)).all()
        assert len(rows) == 1 and rows[0].label == "PER"
        assert rows[0].mention_count >= 4 and rows[0].article_count == 1
        assert not session.scalars(select(Entity).where(Entity.key == "blinken")).all()


def test_non_french_article_is_stored_without_french_ner(site, tmp_path, sqlite_url):
    english = ("<html lang='en'><head><title>Markets</title></head><body><article>"
               + "<p>The European Central Bank raised its key rate again on Thursday in "
               "Frankfurt, saying inflation remained far too high, and markets fell.</p>" * 8
               + "</article></body></html>")
    site.add("/en.html", english)
    site.add("/en.rss", f"""<?xml version="1.0"?><rss version="2.0"><channel><title>e</title>
<item><title>Markets</title><link>{site.url('/en.html')}</link></item></channel></rss>""",
             "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.url("/en.rss")])
    ingest_once(make_settings(tmp_path, sqlite_url), feeds)
    record = records(sqlite_url)["en.html"]
    assert record["state"] == "done" and record["language"] == "en"
    assert record["entities"] == [] and "European Central Bank" in record["text"]


def test_failures_can_be_listed_and_retried(site, tmp_path, sqlite_url):
    from worker.store.health import open_failures, retry_failures

    site.add("/flaky.rss", f"""<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>
<item><title>x</title><link>{site.url('/later.html')}</link></item></channel></rss>""",
             "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.url("/flaky.rss")])
    settings = make_settings(tmp_path, sqlite_url)
    ingest_once(settings, feeds)
    with session_scope(sqlite_url) as session:
        (failure,) = open_failures(session)
        assert failure.reason == "http_404"
    from tests.newsroom import example_page

    site.add("/later.html", example_page(site.base))  # the page appears
    with session_scope(sqlite_url) as session:
        assert retry_failures(session, [failure.id]) == [(failure.article_id, "discovered")]
    ingest_once(settings, feeds)
    with session_scope(sqlite_url) as session:
        assert session.get(Article, failure.article_id).state == "done"
        assert open_failures(session) == []
