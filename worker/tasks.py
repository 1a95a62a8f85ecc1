"""Celery tasks: a short table from task to step. Ids travel, never HTML; no SQL here."""

from __future__ import annotations

import random
import time

from celery.exceptions import Reject
from celery.signals import (
    task_failure,
    task_prerun,
    task_retry,
    task_success,
    worker_init,
    worker_process_init,
)
from sqlalchemy.exc import InterfaceError, OperationalError

from worker import metrics, upkeep
from worker.celery_app import NLP_QUEUE, app
from worker.context import Context, file_network_policy, make_context
from worker.outage import BROKER, BROKER_DOWN, DATABASE, DATABASE_DOWN
from worker.settings import get_settings
from worker.steps import Outcome
from worker.steps import annotate as annotate_step
from worker.steps import fetch as fetch_step
from worker.steps import poll as poll_step
from worker.store.db import dispose_all

_context: Context | None = None
# The feeds file's network policy, read once by the worker before it forks its processes.
_file_allows_private: bool | None = None
# A database that refuses connections for a while is transient: retry with backoff and
# jitter. Anything else is bad input, recorded and counted by the step itself.
DB_RETRY = dict(autoretry_for=(OperationalError, InterfaceError), retry_backoff=2,
                retry_backoff_max=60, retry_jitter=True, max_retries=12)


def context() -> Context:
    """One context (settings, HTTP client, feeds file) per worker process, after the fork."""
    global _context
    if _context is None:
        _context = make_context(get_settings(), file_allows_private=_file_allows_private)
    return _context


@worker_init.connect
def _read_network_policy(**_kwargs) -> None:
    global _file_allows_private
    _file_allows_private = file_network_policy(get_settings())


@worker_init.connect
def _preload_model(sender=None, **_kwargs) -> None:
    """A worker consuming the nlp queue loads the model and its word tables once, before
    it forks: its processes share their memory and no task pays for the load."""
    try:
        consumed = set(sender.app.amqp.queues.consume_from or ())
    except AttributeError:
        consumed = set()
    if NLP_QUEUE in consumed:
        from worker.logs import configure
        from worker.nlp.model import load_lexicon, load_model
        from worker.nlp.parse import load_parser

        settings = get_settings()
        configure(settings.log_level, settings.log_format)  # before Celery sets it up
        load_model(settings.spacy_model, settings.ner_component)
        load_lexicon(settings.spacy_model)  # 1.4 s a process otherwise, at its first batch
        load_parser(settings.spacy_model)  # the speakers' parser, at its first quotation
        from worker.nlp.placenames import load_gazetteer, use_cache_dir

        use_cache_dir(settings.data_dir / "cache")
        load_gazetteer()  # the place names too: about 1 s and 100 MB, shared after the fork


@worker_process_init.connect
def _after_fork(**_kwargs) -> None:
    dispose_all()  # pooled database connections must never be shared with the parent


@task_retry.connect
def _retrying(reason=None, **_kwargs) -> None:
    exc = getattr(reason, "exc", reason)  # Celery's Retry, carrying what was raised
    if isinstance(exc, DATABASE_DOWN):
        metrics.DATABASE_ERRORS.inc()
        DATABASE.begin(exc)


@task_failure.connect
def _failed(exception=None, **_kwargs) -> None:
    if isinstance(exception, DATABASE_DOWN):
        metrics.DATABASE_ERRORS.inc()
        DATABASE.begin(exception)


# When this process's current task started: its success proves the database answered
# after that moment, not before.
_task_started = 0.0


@task_prerun.connect
def _started(**_kwargs) -> None:
    global _task_started
    _task_started = time.time()


@task_success.connect
def _succeeded(**_kwargs) -> None:
    DATABASE.end(_task_started)  # a stat unless the database went away


def send(task, *args, countdown: float | None = None) -> bool:
    """Send a task; False while the broker is away. The database already holds what the
    sender did: the article or feed waits in its state, and the sweep (or the poll's
    lease) sends it again once the broker is back."""
    tried_at = time.time()
    try:
        task.apply_async(args, countdown=countdown)
    except BROKER_DOWN as exc:
        BROKER.begin(exc)
        return False
    BROKER.end(tried_at)
    return True


def send_each(task, ids: list[int]) -> None:
    """One message per id; the first the broker refuses ends the loop (each refusal
    costs the publisher's retries)."""
    for one in ids:
        if not send(task, one):
            return


@app.task(name="newsworker.tick", **DB_RETRY)
def tick() -> int:
    """Beat's heartbeat: reload feeds.yaml if it changed, enqueue the due feeds' polls."""
    due = upkeep.due_polls(context())
    for wait, feed_ids in upkeep.poll_batches(due):
        if not send(poll_feeds, feed_ids, countdown=wait or None):
            break  # claimed feeds come due again when their poll lease ends
    return len(due)


@app.task(name="newsworker.poll_feeds", **DB_RETRY)
def poll_feeds(feed_ids: list[int]) -> int:
    """Poll these feeds (of different hosts): a Celery task costs more than a 304 poll,
    so a tick sends them by the batch. What the time budget leaves goes back to the
    queue as a new batch, well inside the task's time limit."""
    result = poll_step.run_batch(context(), feed_ids, upkeep.poll_batch_budget(get_settings()))
    for feed_id, wait in result.postponed:
        _poll_later(feed_id, wait)
    if result.not_started:
        send(poll_feeds, result.not_started)
    send_each(fetch, result.new_ids)
    return len(result.new_ids)


@app.task(name="newsworker.poll_feed", **DB_RETRY)
def poll(feed_id: int) -> int:
    result = poll_step.run(context(), feed_id)
    if result.outcome == "postponed":
        _poll_later(feed_id, result.retry_after or 0.0)
        return 0
    send_each(fetch, result.new_ids)
    return len(result.new_ids)


def _poll_later(feed_id: int, wait: float) -> None:
    """Back at the host's turn, never before it; the jitter spreads the polls that wait
    for one host. The feed's claim covers the wait, the attempt was given back. A new
    message rather than self.retry(): a retry is an exception whose traceback Celery
    formats and pickles, a third of the cost of a postponed poll."""
    send(poll, feed_id, countdown=wait * random.uniform(1.0, 1.2) + random.uniform(0, 0.1))


@app.task(bind=True, name="newsworker.fetch_article", **DB_RETRY)
def fetch(self, article_id: int) -> str:
    outcome = fetch_step.run(context(), article_id, owner=self.request.id)
    if outcome is Outcome.ADVANCED:
        send(annotate, article_id)  # a duplicate is done already: that task skips it
    elif outcome in (Outcome.RETRY, Outcome.POSTPONED):
        settings = get_settings()
        wait = min(600.0, settings.retry_delay_seconds * 2 ** self.request.retries)
        try:
            # No retry cap here: the claim bounds the attempts.
            raise self.retry(countdown=wait * random.uniform(0.8, 1.2), max_retries=None)
        except Reject as exc:  # the retry could not be sent: the sweep sends it
            if not isinstance(exc.reason, BROKER_DOWN):
                raise
            BROKER.begin(exc.reason)
    return outcome.value


@app.task(bind=True, name="newsworker.annotate_article", **DB_RETRY)
def annotate(self, article_id: int) -> str:
    results = annotate_step.run(context(), article_id, owner=self.request.id)
    return results.get(article_id, Outcome.SKIPPED).value


STEP_TASKS = {"fetch": fetch, "annotate": annotate}


@app.task(name="newsworker.sweep", **DB_RETRY)
def sweep(everything: bool = False) -> int:
    """Re-enqueue articles stuck in a state past the timeout; `everything`: every
    unfinished article nobody holds (after the broker came back, worker/outage.py)."""
    upkeep.sequence_events(context())
    stuck = upkeep.stuck_articles(context(), everything)
    for step, ids in stuck.items():
        send_each(STEP_TASKS[step], ids)
    return sum(len(ids) for ids in stuck.values())


@app.task(name="newsworker.retention", **DB_RETRY)
def retention() -> dict[str, int]:
    """Hourly: drop old raw pages and, if configured, old articles."""
    return upkeep.retention(context())
