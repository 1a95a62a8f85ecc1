"""The service's own chores, run by the scheduler: due feeds, stuck articles, retention.

Plain functions of a context; the Celery tasks that run them are in worker/tasks.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from worker.broker import queue_depths
from worker.celery_app import IO_QUEUE
from worker.context import Context
from worker.store import events, feeds, repo
from worker.store.db import get_engine, session_scope
from worker.store.retention import apply_retention

log = logging.getLogger(__name__)
# Which step takes an article on from each unfinished state.
NEXT_STEP = {"discovered": "fetch", "fetched": "fetch", "extracted": "annotate"}


# Thousands of feeds due at once: a tick claims polls while fewer than MAX_POLLS_AHEAD
# are ahead of the workers. A poll that waits longer than its claim's lease would be
# claimed again and polled twice (a bench run without this bound queued 46,000 polls for
# 10,000 feeds; one that counted only the io queue, not the polls a worker holds for
# their host's turn, polled 5 % of 100,000 feeds twice).
MAX_POLLS_AHEAD = 2000


def due_polls(ctx: Context) -> list[tuple[int, float]]:
    """Reload feeds.yaml if it changed, then claim the feeds due for a poll: (id, seconds
    to wait before polling it).

    As many as keep the work ahead of the workers under MAX_POLLS_AHEAD (the next tick
    takes the rest), no more of one host than it can answer before the next tick, in an
    order that takes the hosts in turn. A feed waits one turn (TURN_SPACING per-host
    delays) for each poll of its host ahead of it, so that it finds its host free (a
    poll that finds it busy waits in its batch, or goes back to the queue).
    """
    ctx.reload_feeds_if_changed()
    waiting = queue_depths(ctx.settings).get(IO_QUEUE)
    at = repo.now()
    with session_scope(ctx.db) as session:
        # The io queue holds fetches too, and polls the workers hold for later are not
        # in it: the larger of the two counts what is ahead.
        ahead = max(waiting or 0, feeds.polls_in_flight(session, at))
        room = MAX_POLLS_AHEAD - ahead
        if room <= 0:
            return []
        claimed = feeds.claim_due(session, at, limit=room,
                                  lease_seconds=ctx.settings.poll_lease_seconds,
                                  per_host=polls_per_host_per_tick(ctx.settings))
    spacing = ctx.settings.per_host_delay_seconds * TURN_SPACING
    return [(feed_id, turn * spacing) for feed_id, turn in claimed]


# Polls per task. Each poll of a batch goes to a different host (a host's next poll has
# the next turn, so the next batch); 20 polls of 304s take a fraction of a second.
POLL_BATCH = 20


def poll_batches(due: list[tuple[int, float]],
                 size: int = POLL_BATCH) -> list[tuple[float, list[int]]]:
    """(wait, feed ids) batches of the tick's polls: the polls with one wait together."""
    by_wait: dict[float, list[int]] = {}
    for feed_id, wait in due:
        by_wait.setdefault(wait, []).append(feed_id)
    return [(wait, ids[start:start + size]) for wait, ids in sorted(by_wait.items())
            for start in range(0, len(ids), size)]


def poll_batch_budget(settings) -> float:
    """Seconds a batch may spend before it sends the rest back to the queue: the last
    poll it starts (up to a request's whole deadline) must end before the soft limit."""
    return max(0.0, settings.task_soft_time_limit - 2 * settings.total_timeout)


# A host's turns are a delay and a half apart, not one: its timeline drifts by a delay
# whenever a request comes between (robots.txt before its first poll, a poll that was
# late), and with turns exactly a delay apart every later poll of the tick would find the
# host taken and wait again. The half delay absorbs that drift in two turns.
TURN_SPACING = 1.5


def polls_per_host_per_tick(settings) -> int | None:
    """How many polls one host can take between two ticks at the per-host delay."""
    delay = settings.per_host_delay_seconds
    if delay <= 0:
        return None
    # The last of them waits (n - 1) turns: well inside the claim's lease, or the feed
    # would be due again (and claimed twice) before its poll starts.
    window = min(settings.scheduler_tick_seconds, settings.poll_lease_seconds / 2)
    return max(1, int(window / (delay * TURN_SPACING)))


# Articles a sweep takes in one query (and one clock update).
STUCK_ROUND = 500


def sequence_events(ctx: Context) -> int:
    """Change events left in the outbox by a writer that died between its commit and
    their sequencing: they get their seqs now."""
    return events.sequence_all_events(get_engine(ctx.db))


def stuck_articles(ctx: Context, everything: bool = False) -> dict[str, list[int]]:
    """{step: article ids} left unfinished past the timeout: lost messages cost time only.

    `everything`: every unfinished article that no step holds, whatever its age, in
    rounds of the store's limit (each round restarts the clocks of those it returns)."""
    cutoff = repo.now()
    if not everything:
        cutoff -= timedelta(seconds=ctx.settings.stuck_after_seconds)
    stuck: dict[str, list[int]] = {}
    while True:
        with session_scope(ctx.db) as session:
            found = repo.stuck_articles(session, tuple(NEXT_STEP), cutoff, limit=STUCK_ROUND)
        for state, ids in found.items():
            stuck.setdefault(state, []).extend(ids)
        if not everything or sum(len(ids) for ids in found.values()) < STUCK_ROUND:
            break
    by_step: dict[str, list[int]] = {}
    for state, ids in stuck.items():
        by_step.setdefault(NEXT_STEP[state], []).extend(ids)
    if stuck:
        log.info("sweep found %d stuck articles", sum(len(i) for i in stuck.values()))
    return by_step


def retention(ctx: Context) -> dict[str, int]:
    """Drop old raw pages and poll records and, if configured, old articles."""
    with session_scope(ctx.db) as session:
        done = apply_retention(session, repo.now(), ctx.settings.retention_raw_html_days,
                               ctx.settings.retention_article_days,
                               ctx.settings.retention_poll_days)
    if any(done.values()):
        log.info("retention: %s", done)
    return done
