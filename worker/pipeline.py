"""An article's path through the stages. Used by the Celery tasks and by `ingest --once`.

Each step loads by id, calls a pure stage, stores the result in one short transaction
and moves the article one state forward. Running a step twice is harmless.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from lxml import html as lxml_html

from worker import dedup, logs, metrics
from worker.errors import ExtractionError, FetchError
from worker.extract import Extracted, extract
from worker.http import PAGE_TYPES, HttpClient
from worker.nlp import annotate
from worker.settings import Settings
from worker.store import repo, stories
from worker.store.annotations import save_annotations
from worker.store.db import session_scope
from worker.urls import canonicalize, is_http_url

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class Step(StrEnum):
    ADVANCED = "advanced"  # moved one state forward
    SKIPPED = "skipped"  # not in the expected state: another run did it
    FAILED = "failed"  # permanent failure, recorded with its reason
    RETRY = "retry"  # transient failure, attempt counted; try again later


@dataclass
class Context:
    """What the steps need: settings, the database and the one HTTP client."""

    settings: Settings
    http: HttpClient
    allow_private: bool = False

    @property
    def db(self) -> str:
        return self.settings.resolved_database_url()


# --- fetch --------------------------------------------------------------------------------

def fetch_article(ctx: Context, article_id: int) -> Step:
    """GET the article's page and keep it (compressed) for extraction."""
    with logs.ids(article_id=article_id), metrics.timed("fetch"):
        step = _fetch_article(ctx, article_id)
    if step is Step.FAILED:
        metrics.ARTICLES.labels("failed").inc()
    return step


def _fetch_article(ctx: Context, article_id: int) -> Step:
    with session_scope(ctx.db) as session:
        article = repo.get_article(session, article_id)
        if article is None or article.state != "discovered":
            return Step.SKIPPED
        url = article.url
        feed = repo.feed_by_id(session, article.feed_id) if article.feed_id else None
        respect_robots = feed.respect_robots if feed else True
    try:
        if respect_robots and not ctx.http.robots.allowed(url, allow_private=ctx.allow_private):
            raise FetchError(f"robots.txt disallows {url}", reason="robots_disallowed")
        page = ctx.http.get(url, max_bytes=ctx.settings.max_page_bytes,
                            allowed_types=PAGE_TYPES, allow_private=ctx.allow_private,
                            accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
    except FetchError as exc:
        return _fetch_failed(ctx, article_id, exc)
    with session_scope(ctx.db) as session:
        repo.save_page(session, article_id, page.url, page.status, page.headers,
                       zlib.compress(page.body, 6))
        moved = repo.advance(session, article_id, "discovered", "fetched", final_url=page.url)
    log.info("fetched page: HTTP %d, %d bytes", page.status, len(page.body))
    return Step.ADVANCED if moved else Step.SKIPPED


def _fetch_failed(ctx: Context, article_id: int, exc: FetchError) -> Step:
    with session_scope(ctx.db) as session:
        if exc.transient:
            attempts = repo.record_attempt(session, article_id, str(exc))
            if attempts < MAX_ATTEMPTS:
                return Step.RETRY
        repo.fail_article(session, article_id, "fetch", exc.reason, str(exc))
    log.warning("article fetch failed: %s", exc)
    return Step.FAILED


# --- extract ------------------------------------------------------------------------------

def _feed_text(article) -> str:
    """The entry's own content or summary as plain text: the fallback body."""
    for candidate in (article.entry_content, article.entry_summary):
        if candidate and candidate.strip():
            tree = lxml_html.fragment_fromstring(candidate, create_parent="div")
            for block in tree.iter("p", "br", "li", "h1", "h2", "h3"):
                block.tail = "\n" + (block.tail or "")
            text = "\n".join(line.strip() for line in tree.text_content().splitlines())
            return "\n".join(line for line in text.split("\n") if line)
    return ""


def _choose_body(ctx: Context, article, found: Extracted) -> tuple[str, str, str]:
    """(text, body, 'page'|'feed'): the page's body unless it is too thin to be the article.

    Too thin: under `min_page_text_chars`, or a paywalled page whose teaser is shorter
    than what the feed itself carries.
    """
    thin = len(found.text) < ctx.settings.min_page_text_chars
    if not thin and not found.paywalled:
        return found.text, found.body, "page"
    fallback = _feed_text(article)
    if len(fallback) > len(found.text):
        return fallback, fallback, "feed"
    return found.text, found.body, "page"


def extract_article(ctx: Context, article_id: int) -> Step:
    """Run trafilatura on the stored page; keep the feed's text when the page is too thin."""
    with logs.ids(article_id=article_id):
        return _extract_article(ctx, article_id)


def _extract_article(ctx: Context, article_id: int) -> Step:
    with session_scope(ctx.db) as session:
        article = repo.get_article(session, article_id)
        page = repo.get_page(session, article_id)
        if article is None or article.state != "fetched" or page is None or page.body is None:
            return Step.SKIPPED
        raw = zlib.decompress(page.body)
    try:
        with metrics.timed("extract"):
            found = extract(raw, page.url, page.headers, ctx.settings.body_format)
    except Exception as exc:  # noqa: BLE001 - hostile HTML must fail this article, not the run
        reason = exc.reason if isinstance(exc, ExtractionError) else "extraction_crashed"
        log.warning("extraction failed: %s", exc)
        with session_scope(ctx.db) as session:
            repo.fail_article(session, article_id, "extract", reason,
                              f"{type(exc).__name__}: {exc}")
        metrics.ARTICLES.labels("failed").inc()
        return Step.FAILED
    text, body, source = _choose_body(ctx, article, found)
    if len(text.strip()) < 20:
        with session_scope(ctx.db) as session:
            repo.fail_article(session, article_id, "extract", "empty_article",
                              f"no article text on the page or in the feed ({len(text)} chars)")
        metrics.ARTICLES.labels("failed").inc()
        return Step.FAILED
    with metrics.timed("dedup"):
        sig = dedup.signature(text, ctx.settings.minhash_perms)
    with metrics.timed("write"), session_scope(ctx.db) as session:
        fields = dict(title=found.title or article.entry_title, authors=list(found.authors),
                      published=found.published, modified=found.modified,
                      site_name=found.site_name, description=found.description,
                      language=found.language, image=found.image,
                      categories=list(found.categories), tags=list(found.tags), text=text,
                      body=body, extraction=source, paywalled=found.paywalled,
                      text_hash=dedup.text_hash(text))
        duplicate_of = _canonical_owner(ctx, session, article, found) or \
            _text_owner(session, article_id, fields["text_hash"])
        if duplicate_of:
            # Same page or same text as an earlier article: no second NER pass.
            moved = repo.advance(session, article_id, "fetched", "done", event="duplicate",
                                 duplicate_of_id=duplicate_of,
                                 story_id=stories.ensure_story(session, duplicate_of),
                                 done_at=repo.now(), **fields)
        else:
            moved = repo.advance(session, article_id, "fetched", "extracted",
                                 duplicate_of_id=None, **fields)
            if moved:
                stories.assign_story(session, article_id, sig,
                                     ctx.settings.near_duplicate_threshold)
        if moved and not ctx.settings.keep_raw_html:
            repo.drop_page_body(session, article_id)
    if moved and duplicate_of:
        metrics.ARTICLES.labels("duplicate").inc()
    log.info("extracted %d chars from the %s%s", len(text), source,
             f", duplicate of article {duplicate_of}" if duplicate_of else "")
    return Step.ADVANCED if moved else Step.SKIPPED


def _canonical_owner(ctx: Context, session, article, found: Extracted) -> int | None:
    """Adopt the page's rel=canonical; if another article already has it, that one is ours."""
    if not found.canonical_url or not is_http_url(found.canonical_url):
        return None
    page_canonical = canonicalize(found.canonical_url, ctx.settings.tracking_params)
    if page_canonical == article.canonical_url:
        return None
    if _host(page_canonical) != _host(article.canonical_url):
        return None  # a page may not claim another site's article
    owner = repo.article_with_canonical(session, page_canonical)
    if owner and owner != article.id:
        return owner
    article.canonical_url = page_canonical
    session.flush()
    return None


def _text_owner(session, article_id: int, text_hash: str) -> int | None:
    """The first article with exactly this text, if it is another one."""
    owner = repo.claim_text(session, text_hash, article_id)
    return owner if owner != article_id else None


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""


# --- annotate -----------------------------------------------------------------------------

def _article_date(article) -> date | None:
    if article.published:
        try:
            return datetime.fromisoformat(article.published).date()
        except ValueError:
            pass
    return article.entry_published.date() if article.entry_published else None


def annotate_articles(ctx: Context, article_ids: list[int]) -> dict[int, Step]:
    """NER and rules on a batch of extracted articles (one model pass), then store each."""
    results: dict[int, Step] = {}
    todo: list[tuple[int, str, date | None]] = []
    for article_id in article_ids:
        with session_scope(ctx.db) as session:
            article = repo.get_article(session, article_id)
            if article is None or article.state != "extracted":
                results[article_id] = Step.SKIPPED
                continue
            if article.language not in ctx.settings.accepted_languages:
                # Stored with its language, but the French model would only invent entities.
                moved = repo.advance(session, article_id, "extracted", "done",
                                     done_at=repo.now())
                results[article_id] = Step.ADVANCED if moved else Step.SKIPPED
            else:
                todo.append((article_id, article.text, _article_date(article)))
    if not todo:
        return results
    with metrics.timed("annotate"):
        annotations = _annotate_batch(ctx, todo)
    for (article_id, _, _), ann in zip(todo, annotations, strict=True):
        with logs.ids(article_id=article_id), metrics.timed("write"), \
                session_scope(ctx.db) as session:
            if isinstance(ann, Exception):
                moved = repo.fail_article(session, article_id, "annotate", "nlp_crashed",
                                          f"{type(ann).__name__}: {ann}")
                results[article_id] = Step.FAILED
                continue
            moved = repo.advance(session, article_id, "extracted", "done",
                                 done_at=repo.now())
            if moved:
                save_annotations(session, article_id, ann)
                log.info("annotated: %d entities, %d amounts, %d quotes", len(ann.entities),
                         len(ann.amounts), len(ann.quotes))
        results[article_id] = Step.ADVANCED if moved else Step.SKIPPED
        if moved:
            metrics.ARTICLES.labels("done").inc()
    return results


def _annotate_batch(ctx: Context, todo: list) -> list:
    """One model pass for the batch; if it fails, each text alone, so one bad text fails alone."""
    texts, days = [t for _, t, _ in todo], [d for _, _, d in todo]
    try:
        return annotate(texts, days, model=ctx.settings.spacy_model,
                        batch_size=ctx.settings.nlp_batch_size)
    except Exception:  # noqa: BLE001
        log.exception("NLP batch failed, retrying the articles one by one")
    out: list = []
    for text, day in zip(texts, days, strict=True):
        try:
            out.extend(annotate([text], [day], model=ctx.settings.spacy_model))
        except Exception as exc:  # noqa: BLE001
            out.append(exc)
    return out
