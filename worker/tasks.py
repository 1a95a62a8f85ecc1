"""Thin Celery tasks: load by id, call the step, enqueue the next. Ids only, never HTML."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from celery.signals import worker_init, worker_process_init
from sqlalchemy.exc import InterfaceError, OperationalError

from worker import feedsfile
from worker.celery_app import IO_QUEUE, NLP_QUEUE, app
from worker.feedpoll import poll_feed
from worker.ingest import load_and_sync, make_context
from worker.pipeline import (
    Context,
    Step,
    annotate_articles,
    extract_article,
    fetch_article,
)
from worker.queues import queue_depths
from worker.settings import get_settings
from worker.store import repo
from worker.store.db import dispose_all, get_engine, session_scope
from worker.store.retention import apply_retention

log = logging.getLogger(__name__)
_context: Context | None = None
_feeds_mtime: float | None = None
_allow_private = False


@worker_init.connect
def _preload_model(sender=None, **_kwargs) -> None:
    """A worker that consumes the nlp queue loads the model once, before it forks:
    its processes share the model's memory and no task pays for the load."""
    try:
        consumed = set(sender.app.amqp.queues.consume_from or ())
    except AttributeError:
        consumed = set()
    if NLP_QUEUE in consumed:
        from worker.logs import configure
        from worker.nlp.model import load_model

        settings = get_settings()
        configure(settings.log_level, settings.log_format)  # before Celery sets it up
        load_model(settings.spacy_model)


@worker_process_init.connect
def _after_fork(**_kwargs) -> None:
    # Pooled database connections must never be shared with the parent process.
    dispose_all()


def context() -> Context:
    """One context (HTTP client, settings) per worker process, made after the fork."""
    global _context, _allow_private
    if _context is None:
        settings = get_settings()
        try:
            _allow_private = feedsfile.load(settings.feeds_file).allow_private_networks
        except feedsfile.FeedsFileError as exc:
            log.error("feeds file rejected: %s", exc)
        _context = make_context(settings)
        _context.allow_private = settings.allow_private_networks or _allow_private
    return _context


# A database that refuses connections for a while is transient: retry with backoff and
# jitter. Anything else is a bug or bad input, recorded by the step itself.
DB_RETRY = dict(autoretry_for=(OperationalError, InterfaceError), retry_backoff=2,
                retry_backoff_max=60, retry_jitter=True, max_retries=12)


def _backoff(retries: int) -> float:
    return min(600.0, 10.0 * 2 ** retries) * random.uniform(0.8, 1.2)


def reload_feeds_if_changed() -> None:
    """Hot reload: a changed feeds.yaml is validated and synced; a bad one is logged and ignored."""
    global _feeds_mtime, _allow_private
    settings = get_settings()
    try:
        mtime = settings.feeds_file.stat().st_mtime
    except OSError as exc:
        log.error("cannot read feeds file %s: %s; keeping the last good list",
                  settings.feeds_file, exc)
        return
    if mtime == _feeds_mtime:
        return
    _feeds_mtime = mtime
    try:
        feeds = load_and_sync(settings, settings.feeds_file)
    except feedsfile.FeedsFileError as exc:
        log.error("feeds file rejected, keeping the last good list: %s", exc)
        return
    _allow_private = feeds.allow_private_networks
    if _context is not None:
        _context.allow_private = settings.allow_private_networks or _allow_private
    log.info("feeds file loaded: %d feeds", len(feeds.feeds))


CLAIM_BATCH, MAX_QUEUED_POLLS = 500, 2000


@app.task(name="newsworker.tick", **DB_RETRY)
def tick() -> int:
    """Beat's heartbeat: reload feeds.yaml if it changed, then enqueue a poll per due feed."""
    reload_feeds_if_changed()
    settings, total = get_settings(), 0
    # Thousands of feeds due at once: one batch, then more while io has room. Polls
    # queued beyond what the io workers drain within a claim's lease would be claimed
    # twice; the next tick takes the rest.
    while True:
        with session_scope(context().db) as session:
            due = repo.claim_due_feeds(session, repo.now(), limit=CLAIM_BATCH,
                                       lease_seconds=settings.poll_lease_seconds)
        for feed_id in due:
            poll.delay(feed_id)
        total += len(due)
        if len(due) < CLAIM_BATCH or \
                (queue_depths(settings).get(IO_QUEUE) or 0) >= MAX_QUEUED_POLLS:
            return total


@app.task(name="newsworker.poll_feed", **DB_RETRY)
def poll(feed_id: int) -> int:
    result = poll_feed(context(), feed_id)
    for article_id in result.new_ids:
        fetch.delay(article_id)
    return len(result.new_ids)


@app.task(bind=True, name="newsworker.fetch_article", **DB_RETRY)
def fetch(self, article_id: int) -> str:
    step = fetch_article(context(), article_id)
    if step is Step.ADVANCED:
        extract.delay(article_id)
    elif step is Step.RETRY:
        raise self.retry(countdown=_backoff(self.request.retries))
    return step.value


@app.task(name="newsworker.extract_article", **DB_RETRY)
def extract(article_id: int) -> str:
    step = extract_article(context(), article_id)
    if step is Step.ADVANCED:
        annotate.delay(article_id)  # a duplicate already done: the task finds it and skips
    return step.value


@app.task(bind=True, name="newsworker.annotate_article", **DB_RETRY)
def annotate(self, article_id: int) -> str:
    """Annotate this article, with other waiting ones in the same model pass."""
    ctx = context()
    owner = self.request.id or f"local-{article_id}"
    with session_scope(ctx.db) as session:
        batch = repo.lease_batch(session, article_id, ctx.settings.nlp_batch_size, owner)
    if not batch:
        return Step.SKIPPED.value  # done already, or in another process's batch
    try:
        results = annotate_articles(ctx, batch)
    except BaseException:
        _release(ctx, batch, owner)  # let others take them at once, not at lease expiry
        raise
    return results.get(article_id, Step.SKIPPED).value


def _release(ctx: Context, batch: list[int], owner: str) -> None:
    try:
        with session_scope(ctx.db) as session:
            repo.release_leases(session, batch, owner)
    except Exception:  # noqa: BLE001 - the database may be the reason we are here
        log.warning("could not release the leases of %s; they expire by themselves", batch)


NEXT_TASK = {"discovered": fetch, "fetched": extract, "extracted": annotate}


@app.task(name="newsworker.sweep", **DB_RETRY)
def sweep() -> int:
    """Re-enqueue articles stuck in a state past the timeout: lost messages cost time only."""
    settings = get_settings()
    cutoff = repo.now() - timedelta(seconds=settings.stuck_after_seconds)
    count = 0
    with session_scope(context().db) as session:
        stuck = {state: repo.articles_in_state(session, state, limit=500, older_than=cutoff)
                 for state in NEXT_TASK}
        # Restart each one's clock, so a long queue is not flooded with copies every minute.
        repo.touch(session, [i for ids in stuck.values() for i in ids])
    for state, ids in stuck.items():
        for article_id in ids:
            NEXT_TASK[state].delay(article_id)
            count += 1
    if count:
        log.info("sweep re-enqueued %d stuck articles", count)
    # Events whose writer died between its commit and their sequencing.
    repo.sequence_all_events(get_engine(context().db))
    return count


@app.task(name="newsworker.retention", **DB_RETRY)
def retention() -> dict[str, int]:
    """Hourly: drop old raw pages and poll records and, if configured, old articles."""
    settings = get_settings()
    with session_scope(context().db) as session:
        done = apply_retention(session, repo.now(), settings.retention_raw_html_days,
                               settings.retention_article_days, settings.retention_poll_days)
    if any(done.values()):
        log.info("retention: %s", done)
    return done
