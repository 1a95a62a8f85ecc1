"""Prometheus metrics. Workers count; `newsworker run` serves them with the current state.

Celery's prefork children each write their counts to files under PROMETHEUS_MULTIPROC_DIR,
which `newsworker run` sets before anything imports prometheus_client.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

from worker.store import events

log = logging.getLogger(__name__)

POLLS = Counter("newsworker_polls", "Feed polls by outcome", ["outcome"])
ARTICLES = Counter("newsworker_articles", "Articles reaching a final state", ["state"])
FEED_FAILURES = Counter("newsworker_feed_failures", "Failed feed polls by reason", ["reason"])
STAGE_SECONDS = Histogram("newsworker_stage_seconds", "Time per stage and article (or feed)",
                          ["stage"], buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
# The change-feed counter: how long a sequencer waited for its lock, and held it.
LOCK_BUCKETS = (.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5)
EVENT_LOCK_WAIT = Histogram("newsworker_event_lock_wait_seconds",
                            "Wait for the event counter lock", buckets=LOCK_BUCKETS)
EVENT_LOCK_HOLD = Histogram("newsworker_event_lock_hold_seconds",
                            "Event counter lock held (sequencing transaction)",
                            buckets=LOCK_BUCKETS)
STAGE_CPU = Counter("newsworker_stage_cpu_seconds", "CPU time spent per stage", ["stage"])
# Outages seen after the fact (worker/outage.py): the consumer's reconnections to the
# broker, and the database errors tasks met (each one retried with backoff).
BROKER_RECONNECTS = Counter("newsworker_broker_reconnects", "Reconnections to the broker")
DATABASE_ERRORS = Counter("newsworker_database_errors",
                          "Database connection errors met by tasks (then retried)")


def _record_counter_lock(wait: float, hold: float) -> None:
    EVENT_LOCK_WAIT.observe(wait)
    EVENT_LOCK_HOLD.observe(hold)


# The store measures the change-feed counter lock and tells whoever asked: here, these
# histograms, in every process that loaded the metrics (the workers' steps all do).
events.observe_counter_lock(_record_counter_lock)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Wall time (histogram) and CPU time of this process's thread (counter) for a stage."""
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)
        STAGE_CPU.labels(stage).inc(time.thread_time() - cpu)


class StateCollector:
    """Articles by state (cached briefly) and queue depths, read at each scrape."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def collect(self):
        from worker.broker import queue_depths
        from worker.store.health import cached_counts_by_state

        states = GaugeMetricFamily("newsworker_articles_by_state",
                                   "Articles per state (counted at most 30 s ago)",
                                   labels=["state"])
        from worker.outage import DATABASE

        try:
            for state, count in cached_counts_by_state(
                    self.settings.resolved_database_url()).items():
                states.add_metric([state], count)
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail with the database
            # One line per outage, not one per scrape; a task that goes through ends it
            # (the counts are cached: a scrape that answers proves nothing).
            DATABASE.begin(exc)
        yield states
        depths = GaugeMetricFamily("newsworker_queue_depth", "Messages waiting", labels=["queue"])
        for queue, depth in queue_depths(self.settings).items():
            if depth is not None:
                depths.add_metric([queue], depth)
        yield depths


def serve(settings) -> None:
    """Expose the metrics of every worker process and the current state on metrics_port."""
    if not settings.metrics_port:
        return
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    registry.register(StateCollector(settings))
    try:
        start_http_server(settings.metrics_port, registry=registry)
        log.info("metrics on :%d/metrics", settings.metrics_port)
    except OSError as exc:
        log.warning("metrics port %d unavailable: %s", settings.metrics_port, exc)
