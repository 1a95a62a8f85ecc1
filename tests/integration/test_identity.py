"""Article identity on real-world shapes: rel=canonical, feed text, retries, tags, long names.

Each runs on SQLite and on PostgreSQL, through the same in-process steps as the service.
"""

from __future__ import annotations

from sqlalchemy import select

from tests.newsroom import rss, write_feeds_file
from worker.ingest import ingest_once
from worker.settings import Settings
from worker.store import records
from worker.store.db import session_scope
from worker.store.models import Article, ArticleUrl, Entity, Failure

PARAGRAPH = ("La maire de Lyon, Claire Devaux, a présenté mardi devant le conseil municipal "
             "un plan de rénovation des écoles de 120 millions d'euros sur cinq ans. ")


def page(title: str, canonical: str | None = None, paragraphs: int = 6,
         lang: str = "fr", text: str = PARAGRAPH) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{text} Paragraphe {i}.</p>" for i in range(paragraphs))
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{title}</title>{link}</head><body><article><h1>{title}</h1>{body}"
            f"</article></body></html>")


def settings_for(tmp_path, db_url: str, **extra) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None,
                    allow_private_networks=True, **extra)


def all_articles(db_url: str) -> list[Article]:
    with session_scope(db_url) as session:
        return list(session.scalars(select(Article).order_by(Article.id)))


def test_rel_canonical_is_adopted_and_remembered(site, tmp_path, db_url):
    """An AMP link whose page names its canonical URL: one article, under that URL;
    the next poll and another feed linking the canonical URL create nothing."""
    canonical = site.url("/news/ecoles-lyon.html")
    site.add("/amp/ecoles-lyon.html", page("Écoles de Lyon", canonical))
    site.add("/news/ecoles-lyon.html", page("Écoles de Lyon", canonical))
    amp_feed = site.add("/amp.rss", rss([("Écoles", site.url("/amp/ecoles-lyon.html"))]),
                        "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [amp_feed])
    settings = settings_for(tmp_path, db_url)

    ingest_once(settings, feeds, migrate=False)
    (article,) = all_articles(db_url)
    assert article.canonical_url == canonical and article.state == "done"

    site.routes["/amp.rss"].headers["ETag"] = '"v2"'  # a changed feed, same entry
    summary = ingest_once(settings, feeds, migrate=False)
    assert summary[0].poll == "ok" and summary[0].new == 0
    direct = site.add("/direct.rss", rss([("Écoles", canonical)]), "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [amp_feed, direct])
    ingest_once(settings, feeds, migrate=False)
    assert len(all_articles(db_url)) == 1
    with session_scope(db_url) as session:
        known = set(session.scalars(select(ArticleUrl.url)))
    assert canonical in known and site.url("/amp/ecoles-lyon.html") in known


def test_thin_page_keeps_the_feed_text_and_its_language(site, tmp_path, db_url):
    """A thin English shell page: the French feed text is stored, detected as French,
    and annotated."""
    site.add("/thin.html", page("Subscribe", paragraphs=1, lang="en",
                                text="Please subscribe to read this story."))
    content = "".join(f"<p>{PARAGRAPH}</p>" for _ in range(4))
    feed = ('<rss version="2.0"><channel><title>t</title><item><title>Écoles</title>'
            f"<link>{site.url('/thin.html')}</link><description><![CDATA[{content}]]>"
            "</description></item></channel></rss>")
    feeds = write_feeds_file(tmp_path / "feeds.yaml",
                             [site.add("/f.rss", feed, "application/rss+xml")])
    ingest_once(settings_for(tmp_path, db_url), feeds, migrate=False)
    (article,) = all_articles(db_url)
    assert article.extraction == "feed" and article.language == "fr"
    with session_scope(db_url) as session:
        (rec,) = records.article_records(session, [article.id]).values()
    assert any(e["canonical_name"] == "Claire Devaux" for e in rec["entities"])
    assert any(a["currency"] == "EUR" for a in rec["amounts"])


def test_retry_after_retention_fetches_the_page_again(site, tmp_path, db_url):
    """A failed article whose raw page retention dropped: `failures retry` fetches anew."""
    from worker.store.health import retry_failures
    from worker.store.repo import now
    from worker.store.retention import drop_raw_pages

    site.add("/a.html", "<html><body><p>Bientôt.</p></body></html>")
    feeds = write_feeds_file(tmp_path / "feeds.yaml",
                             [site.add("/f.rss", rss([("A", site.url("/a.html"))]),
                                       "application/rss+xml")])
    settings = settings_for(tmp_path, db_url)
    ingest_once(settings, feeds, migrate=False)
    (article,) = all_articles(db_url)
    assert article.state == "failed" and article.failure_reason == "empty_article"

    from datetime import timedelta

    with session_scope(db_url) as session:
        assert drop_raw_pages(session, now() + timedelta(days=1)) == 1
        assert len(retry_failures(session, None)) == 1
    site.add("/a.html", page("Écoles de Lyon"))  # the publisher fixed the page
    ingest_once(settings, feeds, migrate=False)
    (article,) = all_articles(db_url)
    assert article.state == "done" and "Claire Devaux" in article.text
    assert site.hits["/a.html"] == 2


def test_feed_tags_are_on_every_article(site, tmp_path, db_url):
    site.add("/a.html", page("Écoles de Lyon"))
    site.add("/b.html", page("Écoles de Lyon, suite", text=PARAGRAPH.replace("mardi", "jeudi")
                             + "Les syndicats demandent davantage de moyens."))
    url = site.add("/f.rss", rss([("A", site.url("/a.html")), ("B", site.url("/b.html"))]),
                   "application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("defaults:\n  allow_private_networks: true\n  tags: [france]\nfeeds:\n"
                     f"  - name: Lyon\n    url: {url}\n    tags: [lyon, education]\n",
                     encoding="utf-8")
    ingest_once(settings_for(tmp_path, db_url), feeds, migrate=False)
    with session_scope(db_url) as session:
        exported = [r for _, r in records.export_records(session, 0)]
    assert len(exported) == 2
    assert all(r["feed_tags"] == ["france", "lyon", "education"] for r in exported)
    assert all(a.feed_tags == ["france", "lyon", "education"] for a in all_articles(db_url))


def test_long_entity_names_are_stored(tmp_path, db_url):
    """A 400-character name (NER on odd text) is stored in full, beside the others."""
    from worker.nlp.annotate import Annotations
    from worker.nlp.entities import CanonicalEntity, RawMention
    from worker.store import repo
    from worker.store.annotations import save_annotations

    long_name = "Association " + "des amis " * 45
    names = [long_name.strip(), "Claire Devaux"]
    entities = [CanonicalEntity("ORG", n, n.lower(), (), (RawMention("ORG", n, 0, len(n), n),))
                for n in names]
    with session_scope(db_url) as session:
        entry = type("E", (), dict(canonical_url="https://x.test/a", link="https://x.test/a",
                                   guid=None, title="t", summary=None, content=None,
                                   published=None, categories=()))
        article_id = repo.discover_article(session, None, entry)
        save_annotations(session, article_id,
                         Annotations(tuple(entities), (), (), ()))
    with session_scope(db_url) as session:
        stored = set(session.scalars(select(Entity.name)))
        assert stored == set(names) and max(len(n) for n in stored) > 400
        assert not session.scalars(select(Failure)).all()


def test_polls_that_never_finish_end_as_a_recorded_failure(site, tmp_path, db_url):
    """A feed whose polls keep dying (claimed, never finished) is failed and backed off,
    not polled forever; the next poll after that starts afresh."""
    from worker.context import make_context
    from worker.steps import poll
    from worker.store import feeds as feed_store
    from worker.store.repo import now

    url = site.add("/f.rss", rss([("A", site.url("/a.html"))]), "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [url])
    ctx = make_context(settings_for(tmp_path, db_url), feeds_path=feeds)
    ctx.sync_feeds()
    with session_scope(db_url) as session:
        ((feed_id, _),) = feed_store.active_feed_ids(session)
        for _ in range(3):  # three workers died in the middle of this poll
            feed_store.claim_poll(session, feed_id)
    result = poll.run(ctx, feed_id)
    assert result.outcome == "failed" and result.error == "killed in poll 3 times"
    assert site.hits.get("/f.rss") is None  # the poison is not fetched a fourth time
    with session_scope(db_url) as session:
        feed = feed_store.feed_by_id(session, feed_id)
        assert feed.poll_attempts == 0 and feed.consecutive_failures == 1
        assert feed.next_poll_at > now()
        (letter,) = session.scalars(select(Failure).where(Failure.feed_id == feed_id))
        assert letter.reason == "killed" and "3 times" in letter.message
    assert poll.run(ctx, feed_id).outcome == "ok"
    ctx.close()


def test_content_selecting_parameters_keep_articles_apart(site, tmp_path, db_url):
    """`?ref=101` and `?ref=202` are two articles; a feed's own strip_params merges its
    tracking variants; utm_* never splits one article in two."""
    site.add("/view.php", lambda: b"")  # replaced per query below
    pages = {"101": page("Écoles de Lyon"),
             "202": page("Budget de Lyon", text=PARAGRAPH.replace("écoles", "piscines"))}
    site.routes["/view.php"].handler = lambda h: h._send(
        200, pages[h.path.split("ref=")[1].split("&")[0]].encode(),
        {"Content-Type": "text/html; charset=utf-8"})
    links = [site.url("/view.php?ref=101"), site.url("/view.php?ref=202"),
             site.url("/view.php?ref=101&utm_source=rss"),
             site.url("/view.php?ref=202&origine=newsletter")]
    url = site.add("/f.rss", rss([(f"T{i}", link) for i, link in enumerate(links)]),
                   "application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("defaults:\n  allow_private_networks: true\nfeeds:\n"
                     f"  - name: Vues\n    url: {url}\n    strip_params: [origine]\n",
                     encoding="utf-8")
    ingest_once(settings_for(tmp_path, db_url), feeds, migrate=False)
    found = all_articles(db_url)
    assert sorted(a.canonical_url.rsplit("?", 1)[1] for a in found) == ["ref=101", "ref=202"]
    assert all(a.state == "done" for a in found)
