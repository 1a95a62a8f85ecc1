"""Step 2, the page: GET the article's page, extract its body, decide whether it is new.

Fetch and extraction always follow each other, so they are one step: one claim, one
message, one write. A page kept from an earlier fetch (a retried extraction) is
extracted again without a second request; one dropped by retention is fetched again.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

from lxml import html as lxml_html

from worker import dedup, logs, metrics
from worker.context import Context
from worker.errors import ExtractionError, FetchError
from worker.extract import Extracted, detect_language, extract
from worker.http import PAGE_TYPES, Fetched
from worker.steps import DATABASE_DOWN, Outcome, attempt_failed, local_owner, postponed
from worker.store import repo, stories, trends
from worker.store.db import session_scope
from worker.urls import canonicalize, is_http_url

log = logging.getLogger(__name__)
STEP = "fetch"
STATES = ("discovered", "fetched")  # `fetched`: a page stored by an earlier version
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


@dataclass(frozen=True)
class Job:
    """What the step reads of the article when it claims it."""

    article_id: int
    url: str
    canonical_url: str
    entry_title: str | None
    feed_text: str
    respect_robots: bool
    tracking: tuple[str, ...]  # the service's tracking parameters and the feed's own
    page: Fetched | None  # a page kept from an earlier attempt


def run(ctx: Context, article_id: int, owner: str | None = None) -> Outcome:
    """Fetch and extract the article; `extracted` (to annotate), `done` (a duplicate) or
    `failed`. Every attempt is counted; the last allowed one fails it with its reason."""
    with logs.ids(article_id=article_id):
        job = _claim(ctx, article_id, owner or local_owner())
        if not isinstance(job, Job):
            return job
        try:
            return _fetch_and_extract(ctx, job)
        except DATABASE_DOWN:
            raise
        except Exception as exc:  # noqa: BLE001 - a bad input must fail alone, counted
            return attempt_failed(ctx.db, [article_id], STEP, exc)


def _claim(ctx: Context, article_id: int, owner: str) -> Job | Outcome:
    with session_scope(ctx.db) as session:
        claim = repo.claim_articles(session, [article_id], STATES, STEP, owner,
                                    ctx.settings.stuck_after_seconds, ctx.settings.max_attempts)
        if claim.exhausted:
            metrics.ARTICLES.labels("failed").inc()
            return Outcome.FAILED
        if not claim.ids:
            return Outcome.SKIPPED
        article = repo.fetch_job(session, article_id)
        kept = None  # a new or updated entry (`discovered`) is always fetched anew
        page = repo.get_page(session, article_id) if article.state == "fetched" else None
        if page is not None and page.body is not None:
            kept = Fetched(url=page.url, status=page.status, body=zlib.decompress(page.body),
                           headers=dict(page.headers or {}), elapsed=0.0)
        return Job(article_id, article.url, article.canonical_url, article.entry_title,
                   feed_text(article.entry_content, article.entry_summary),
                   True if article.respect_robots is None else article.respect_robots,
                   (*ctx.settings.tracking_params, *(article.strip_params or ())), kept)


def _fetch_and_extract(ctx: Context, job: Job) -> Outcome:
    page = job.page
    if page is None:
        try:
            with metrics.timed("fetch"):
                page = _get(ctx, job)
        except FetchError as exc:
            if exc.transient and exc.retry_after is not None:
                # The site asked us to wait (429/503, busy host, robots.txt down): not
                # the article's fault, so the attempt is given back.
                return postponed(ctx.db, [job.article_id], str(exc))
            if exc.transient:
                return attempt_failed(ctx.db, [job.article_id], STEP, exc)
            return _failed(ctx, job.article_id, exc.reason, str(exc))
        log.info("fetched page: HTTP %d, %d bytes", page.status, len(page.body))
    try:
        with metrics.timed("extract"):
            found = extract(page.body, page.url, page.headers, ctx.settings.body_format)
    except Exception as exc:  # noqa: BLE001 - hostile HTML must fail this article, not the run
        reason = exc.reason if isinstance(exc, ExtractionError) else "extraction_crashed"
        return _failed(ctx, job.article_id, reason, f"{type(exc).__name__}: {exc}", job, page,
                       stage="extract")
    text, body, source = choose_body(ctx.settings.min_page_text_chars, found, job.feed_text)
    if len(text.strip()) < 20:
        return _failed(ctx, job.article_id, "empty_article",
                       f"no article text on the page or in the feed ({len(text)} chars)",
                       job, page, stage="extract")
    return _store(ctx, job, page, found, text, body, source)


def _get(ctx: Context, job: Job) -> Fetched:
    return ctx.http.get(job.url, max_bytes=ctx.settings.max_page_bytes,
                        allowed_types=PAGE_TYPES, allow_private=ctx.allow_private,
                        respect_robots=job.respect_robots, accept=PAGE_ACCEPT)


def _store(ctx: Context, job: Job, page: Fetched, found: Extracted, text: str, body: str,
           source: str) -> Outcome:
    """One transaction: the page (if kept), the extracted fields, the identity decision."""
    with metrics.timed("dedup"):
        sig = dedup.signature(text, ctx.settings.minhash_perms)
    language = found.language if source == "page" else detect_language(text)
    fields = dict(title=found.title or job.entry_title, authors=list(found.authors),
                  published=found.published, modified=found.modified,
                  site_name=found.site_name, description=found.description,
                  language=language, image=found.image, categories=list(found.categories),
                  tags=list(found.tags), text=text, body=body, extraction=source,
                  paywalled=found.paywalled, text_hash=dedup.text_hash(text),
                  final_url=page.url)
    canonical = _page_canonical(found, job.tracking)
    with metrics.timed("write"), session_scope(ctx.db) as session:
        _keep_page(ctx, session, job, page)
        known_as = [canonicalize(u, tracking=job.tracking)
                    for u in (page.url, job.url) if is_http_url(u)]
        original = dedup.original_of(session, job.article_id, fields["text_hash"], canonical,
                                     job.canonical_url, known_as)
        if original:
            # Same page or same text as an earlier article: no second NER pass.
            story_id = stories.ensure_story(session, original)
            moved = _advance(session, job, "done", event="duplicate", duplicate_of_id=original,
                             story_id=story_id, done_at=repo.now(), **fields)
            if moved:  # a copy under another URL still counts for its story's trend
                trends.count_story_article(session, story_id, fields["published"])
        else:
            moved = _advance(session, job, "extracted", duplicate_of_id=None, **fields)
            if moved:
                dedup.assign_story(session, job.article_id, sig,
                                   ctx.settings.near_duplicate_threshold)
    if moved and original:
        metrics.ARTICLES.labels("duplicate").inc()
    log.info("extracted %d chars from the %s%s", len(text), source,
             f", duplicate of article {original}" if original else "")
    return Outcome.ADVANCED if moved else Outcome.SKIPPED


def _advance(session, job: Job, to_state: str, **fields) -> bool:
    return any(repo.advance(session, job.article_id, state, to_state, **fields)
               for state in STATES)


def _page_canonical(found: Extracted, tracking: tuple[str, ...]) -> str | None:
    if not found.canonical_url or not is_http_url(found.canonical_url):
        return None
    return canonicalize(found.canonical_url, tracking=tracking)


def _keep_page(ctx: Context, session, job: Job, page: Fetched) -> None:
    """Keep the page as served (compressed), for re-extraction without a new request."""
    if ctx.settings.keep_raw_html and job.page is None:
        repo.save_page(session, job.article_id, page.url, page.status, page.headers,
                       zlib.compress(page.body, 1))


def _failed(ctx: Context, article_id: int, reason: str, message: str,
            job: Job | None = None, page: Fetched | None = None, stage: str = STEP) -> Outcome:
    """Record a permanent failure; a page that was read is kept, so that a retry of a
    failed extraction (`failures retry`) reads it again without a new request."""
    log.warning("article failed in %s: %s", stage, message)
    with session_scope(ctx.db) as session:
        if job is not None and page is not None:
            _keep_page(ctx, session, job, page)
        repo.fail_article(session, article_id, stage, reason, message)
    metrics.ARTICLES.labels("failed").inc()
    return Outcome.FAILED


def feed_text(content: str | None, summary: str | None) -> str:
    """The entry's own content or summary as plain text: the fallback body."""
    for candidate in (content, summary):
        if candidate and candidate.strip():
            tree = lxml_html.fragment_fromstring(candidate, create_parent="div")
            for block in tree.iter("p", "br", "li", "h1", "h2", "h3"):
                block.tail = "\n" + (block.tail or "")
            text = "\n".join(line.strip() for line in tree.text_content().splitlines())
            return "\n".join(line for line in text.split("\n") if line)
    return ""


def choose_body(min_chars: int, found: Extracted, fallback: str) -> tuple[str, str, str]:
    """(text, body, 'page'|'feed'): the page's body unless it is too thin to be the article.

    Too thin: under `min_chars`, or a paywalled page whose teaser is shorter than what
    the feed itself carries.
    """
    thin = len(found.text) < min_chars
    if not thin and not found.paywalled:
        return found.text, found.body, "page"
    if len(fallback) > len(found.text):
        return fallback, fallback, "feed"
    return found.text, found.body, "page"
