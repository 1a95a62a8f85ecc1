"""The service's own chores, run by the scheduler: due feeds, stuck articles, retention.

Plain functions of a context; the Celery tasks that run them are in worker/tasks.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from worker.context import Context
from worker.store import feeds, repo
from worker.store.db import session_scope
from worker.store.retention import apply_retention

log = logging.getLogger(__name__)
# Which step takes an article on from each unfinished state.
NEXT_STEP = {"discovered": "fetch", "fetched": "fetch", "extracted": "annotate"}


def due_feeds(ctx: Context) -> list[int]:
    """Reload feeds.yaml if it changed, then claim every feed due for a poll."""
    ctx.reload_feeds_if_changed()
    with session_scope(ctx.db) as session:
        return feeds.claim_due_feeds(session, repo.now(),
                                     lease_seconds=ctx.settings.poll_lease_seconds)


def stuck_articles(ctx: Context) -> dict[str, list[int]]:
    """{step: article ids} left unfinished past the timeout: lost messages cost time only."""
    cutoff = repo.now() - timedelta(seconds=ctx.settings.stuck_after_seconds)
    with session_scope(ctx.db) as session:
        stuck = repo.stuck_articles(session, tuple(NEXT_STEP), cutoff)
    by_step: dict[str, list[int]] = {}
    for state, ids in stuck.items():
        by_step.setdefault(NEXT_STEP[state], []).extend(ids)
    if stuck:
        log.info("sweep found %d stuck articles", sum(len(i) for i in stuck.values()))
    return by_step


def retention(ctx: Context) -> dict[str, int]:
    """Drop old raw pages and, if configured, old articles."""
    with session_scope(ctx.db) as session:
        done = apply_retention(session, repo.now(), ctx.settings.retention_raw_html_days,
                               ctx.settings.retention_article_days)
    if any(done.values()):
        log.info("retention: %s", done)
    return done
