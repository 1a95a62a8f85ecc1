"""One in-process pass over the feeds: poll, fetch, extract, annotate. No broker needed.

The same step functions as the Celery tasks; used by `newsworker ingest --once`,
by the tests and by the benchmark.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from worker import feedsfile
from worker.feedpoll import PollResult, poll_feed
from worker.http import HttpClient
from worker.pipeline import (
    Context,
    annotate_articles,
    extract_article,
    fetch_article,
)
from worker.settings import Settings
from worker.store import repo
from worker.store.db import session_scope
from worker.store.migrate import upgrade
from worker.store.models import Article

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]  # (stage, items done in this call)


@dataclass
class FeedSummary:
    name: str
    poll: str
    new: int = 0
    states: Counter = field(default_factory=Counter)
    error: str | None = None


def make_context(settings: Settings, feeds: feedsfile.FeedsFile | None = None) -> Context:
    allow = settings.allow_private_networks or bool(feeds and feeds.allow_private_networks)
    return Context(settings=settings, http=HttpClient(settings), allow_private=allow)


def load_and_sync(settings: Settings, path: Path,
                  remove_missing: bool = True) -> feedsfile.FeedsFile:
    """Validate feeds.yaml and make the feeds table match it (raises FeedsFileError)."""
    feeds = feedsfile.load(path)
    with session_scope(settings.resolved_database_url()) as session:
        repo.sync_feeds(session, feeds.feeds, remove_missing=remove_missing)
    return feeds


def drain(ctx: Context, progress: Progress | None = None, workers: int = 8) -> None:
    """Take every unfinished article to `done` or `failed` (leftovers of earlier runs too)."""
    progress = progress or (lambda stage, n: None)
    with session_scope(ctx.db) as session:
        discovered = repo.articles_in_state(session, "discovered", limit=1_000_000)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(lambda aid: fetch_article(ctx, aid), discovered):
            progress("fetch", 1)
    with session_scope(ctx.db) as session:
        fetched = repo.articles_in_state(session, "fetched", limit=1_000_000)
    for article_id in fetched:
        extract_article(ctx, article_id)
        progress("extract", 1)
    with session_scope(ctx.db) as session:
        extracted = repo.articles_in_state(session, "extracted", limit=1_000_000)
    size = max(1, ctx.settings.nlp_batch_size)
    for i in range(0, len(extracted), size):
        batch = extracted[i:i + size]
        annotate_articles(ctx, batch)
        progress("annotate", len(batch))


def ingest_once(settings: Settings, path: Path, progress: Progress | None = None,
                migrate: bool = True) -> list[FeedSummary]:
    """Poll every enabled feed once and process what it brought; a summary per feed."""
    if migrate:
        upgrade(settings.resolved_database_url())
    feeds = load_and_sync(settings, path, remove_missing=False)
    ctx = make_context(settings, feeds)
    try:
        with session_scope(ctx.db) as session:
            active = [(f.id, f.name) for f in
                      repo.active_feeds(session, [f.url for f in feeds.feeds])]
        polls: dict[int, PollResult] = {}
        with ThreadPoolExecutor(max_workers=8) as pool:
            for result in pool.map(lambda f: poll_feed(ctx, f[0]), active):
                polls[result.feed_id] = result
                if progress:
                    progress("poll", 1)
        drain(ctx, progress)
        return _summaries(ctx, active, polls)
    finally:
        ctx.http.close()


def _summaries(ctx: Context, active, polls: dict[int, PollResult]) -> list[FeedSummary]:
    out = []
    with session_scope(ctx.db) as session:
        for feed_id, name in active:
            result = polls[feed_id]
            summary = FeedSummary(name=name, poll=result.outcome, new=len(result.new_ids),
                                  error=result.error)
            if result.new_ids:
                rows = session.execute(select(Article.state, Article.duplicate_of_id)
                                       .where(Article.id.in_(result.new_ids)))
                for state, dup in rows:
                    summary.states["duplicate" if dup else state] += 1
            out.append(summary)
    return out
