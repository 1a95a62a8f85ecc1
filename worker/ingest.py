"""The in-process runner: one pass over the feeds through the same steps as the service.

Used by `newsworker ingest --once`, the tests and the benchmark. No broker; no SQL here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from worker.context import Context, make_context
from worker.nlp.placenames import use_cache_dir
from worker.settings import Settings
from worker.steps import annotate, fetch, local_owner, poll
from worker.steps.poll import PollResult
from worker.store import feeds as feed_store
from worker.store import repo
from worker.store.db import session_scope
from worker.store.migrate import upgrade

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]  # (stage, items done in this call)
UNBOUNDED = 1_000_000


@dataclass
class FeedSummary:
    name: str
    poll: str
    new: int = 0
    states: Counter = field(default_factory=Counter)
    error: str | None = None


def drain(ctx: Context, progress: Progress | None = None, workers: int = 8) -> None:
    """Take every unfinished article to `done` or `failed` (leftovers of earlier runs too)."""
    progress = progress or (lambda stage, n: None)
    with session_scope(ctx.db) as session:
        waiting = [*repo.articles_in_state(session, "discovered", limit=UNBOUNDED),
                   *repo.articles_in_state(session, "fetched", limit=UNBOUNDED)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(lambda article_id: fetch.run(ctx, article_id), waiting):
            progress("fetch", 1)
    with session_scope(ctx.db) as session:
        extracted = repo.articles_in_state(session, "extracted", limit=UNBOUNDED)
    size = max(1, ctx.settings.nlp_batch_size)
    for i in range(0, len(extracted), size):
        batch = extracted[i:i + size]
        annotate.run_batch(ctx, batch, owner=local_owner())
        progress("annotate", len(batch))


def ingest_once(settings: Settings, path: Path, progress: Progress | None = None,
                migrate: bool = True) -> list[FeedSummary]:
    """Poll every enabled feed of `path` once and process what it brought; a summary per feed."""
    if migrate:
        upgrade(settings.resolved_database_url())
    ctx = make_context(settings, feeds_path=path, read_feeds=False)
    use_cache_dir(settings.data_dir / "cache")  # the place names, built once for later runs
    try:
        listed = ctx.sync_feeds(remove_missing=False)  # a one-off file retires nothing
        with session_scope(ctx.db) as session:
            active = feed_store.active_feed_ids(session, [f.url for f in listed.feeds])
        polls: dict[int, PollResult] = {}
        with ThreadPoolExecutor(max_workers=8) as pool:
            for result in pool.map(lambda f: poll.run(ctx, f[0]), active):
                polls[result.feed_id] = result
                if progress:
                    progress("poll", 1)
        drain(ctx, progress)
        return _summaries(ctx, active, polls)
    finally:
        ctx.close()


def _summaries(ctx: Context, active, polls: dict[int, PollResult]) -> list[FeedSummary]:
    out = []
    with session_scope(ctx.db) as session:
        for feed_id, name in active:
            result = polls[feed_id]
            summary = FeedSummary(name=name, poll=result.outcome, new=len(result.new_ids),
                                  error=result.error)
            for _, state, duplicate_of in repo.article_states(session, result.new_ids):
                summary.states["duplicate" if duplicate_of else state] += 1
            out.append(summary)
    return out
