"""The Celery app: broker, queues, routes, limits and the beat schedule. No business logic."""

from __future__ import annotations

import functools
import logging
import os
import time
import uuid
from collections import deque
from queue import Empty

from celery import Celery, bootsteps
from celery.signals import setup_logging
from celery.worker.consumer import Consumer
from kombu import Queue
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

from worker.logs import configure
from worker.outage import BROKER, BROKER_DOWN
from worker.settings import Settings, get_settings

log = logging.getLogger(__name__)
IO_QUEUE, NLP_QUEUE, CONTROL_QUEUE = "io", "nlp", "control"
# Scheduling has its own queue: 10,000 fetches waiting on `io` never delay a tick. It is
# consumed by the beat role's embedded worker (and by any worker that lists it).
ROUTES = {
    "newsworker.tick": {"queue": CONTROL_QUEUE},
    "newsworker.sweep": {"queue": CONTROL_QUEUE},
    "newsworker.retention": {"queue": CONTROL_QUEUE},
    "newsworker.poll_feed": {"queue": IO_QUEUE},
    "newsworker.poll_feeds": {"queue": IO_QUEUE},
    "newsworker.fetch_article": {"queue": IO_QUEUE},
    "newsworker.annotate_article": {"queue": NLP_QUEUE},
}


class FolderChannel(filesystem.Channel):
    """kombu's filesystem channel, listing its folder once per poll instead of per message.

    kombu's own lists and sorts the whole folder for every message it takes (quadratic
    over a backlog of thousands) and once per queue on each idle poll. This one keeps
    the sorted listing, bucketed by queue, takes messages from it until a queue's bucket
    is empty, and lists again at most once per polling interval.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._buckets: dict[str, deque[str]] = {}
        self._listed_at = float("-inf")

    def _relist(self) -> None:
        buckets: dict[str, deque[str]] = {}
        for name in sorted(os.listdir(self.data_folder_in)):  # names start with a ms stamp
            if name.endswith(".msg"):
                buckets.setdefault(name.partition(".")[2][:-4], deque()).append(name)
        self._buckets, self._listed_at = buckets, time.monotonic()

    def _put(self, queue, payload, **kwargs) -> None:
        """Write the message under a temporary name, then rename it into the queue.

        kombu creates the `.msg` file and then writes it: a consumer that claimed it in
        between read an empty message, and its worker died on the JSON error. A rename
        is atomic, so a consumer only ever sees whole messages.
        """
        name = f"{int(round(time.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(dumps(payload).encode())
            os.rename(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"cannot add {name!r} to the broker folder") from exc

    def _get(self, queue):
        bucket = self._buckets.get(queue)
        interval = self.connection.polling_interval or 0
        if not bucket and time.monotonic() - self._listed_at >= interval:
            self._relist()
            bucket = self._buckets.get(queue)
        while bucket:
            name = bucket.popleft()
            claimed = os.path.join(self.processed_folder, name)
            try:  # the rename is the claim: atomic, on the same filesystem
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it
            with open(claimed, "rb") as f:
                payload = f.read()
            try:
                message = loads(payload)
            except ValueError:
                # Not a message (a file cut short by a crash, or written by hand): kept
                # aside under processed/ for a look, and the worker goes on serving.
                log.error("broker file %s is not a message, kept as %s.bad", name, claimed)
                os.rename(claimed, claimed + ".bad")
                continue
            if not self.store_processed:
                os.remove(claimed)
            return message
        raise Empty()


class FolderTransport(filesystem.Transport):
    Channel = FolderChannel


class BrokerWatch(bootsteps.StartStopStep):
    """A step of Celery's consumer, started at each connection to the broker.

    From the second start on it is a reconnection: counted, and the outage's end logged.
    The scheduler's worker (the one consuming the control queue) then sends a sweep of
    every unfinished article nobody holds: the messages a restarted broker lost, and the
    next steps that tasks could not send while it was away, go out now rather than
    after NEWSWORKER_STUCK_AFTER_SECONDS. A copy of a message still queued costs one
    skipped claim.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.connections = 0

    def start(self, parent) -> None:
        self.connections += 1
        if self.connections == 1:
            return
        from worker import metrics

        metrics.BROKER_RECONNECTS.inc()
        BROKER.end()
        sweep_queue = ROUTES["newsworker.sweep"]["queue"]
        if sweep_queue in set(parent.app.amqp.queues.consume_from or ()):
            try:
                parent.app.send_task("newsworker.sweep", kwargs={"everything": True})
            except BROKER_DOWN as exc:  # gone again: the next reconnection sends it
                BROKER.begin(exc)


class PatientConsumer(Consumer):
    """Celery's consumer, reconnecting to a lost broker forever, at most
    `broker_retry_max_seconds` apart: kombu's default backoff grows to 30 s between
    attempts, so a worker came back up to 30 s after its broker."""

    retry_max_seconds = 5.0

    def ensure_connected(self, conn):
        conn.ensure_connection = functools.partial(
            conn.ensure_connection, interval_start=1, interval_step=1,
            interval_max=self.retry_max_seconds)
        return super().ensure_connected(conn)

    def call_soon(self, p, *args, **kwargs):
        """Run a callback (a task's ack) now when there is no event loop to hand it to.

        The embedded broker has no event loop: Celery 5.6 keeps an ack until its loop's
        next turn, and that turn waits up to 2 s for a message the full prefetch window
        (the unacked task) does not let in. An idle pool then took about one task per
        second (the embedded bench stalled at a few articles per second). Celery 5.7
        runs acks at once (`call_soon_ack`); this does the same on 5.6. With Redis the
        event loop (hub) runs it, as before.
        """
        if self.hub:
            return super().call_soon(p, *args, **kwargs)
        callback = functools.partial(p, *args, **kwargs)
        try:
            callback()
        except Exception:  # noqa: BLE001 - as Celery's own loop: logged, the worker goes on
            log.exception("callback %r failed", callback)
        return callback


def _embedded_broker_options(settings: Settings) -> dict:
    # The filesystem transport needs no server: producers and consumers share one folder.
    folder = (settings.data_dir / "broker").resolve()
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    # An idle consumer lists the folder once per interval (one listdir of a small folder:
    # microseconds); 10 ms keeps each of an article's task hops short (a process that
    # finished a task waits for the next poll). The control folder (exchange tables)
    # defaults to ./control: it belongs under the data folder.
    return {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"), "store_processed": False,
            "control_folder": str(folder / "control"), "polling_interval": 0.01}


def make_celery(settings: Settings) -> Celery:
    app = Celery("newsworker", broker=settings.resolved_broker_url(), include=["worker.tasks"])
    transport = (_embedded_broker_options(settings) if settings.embedded_broker
                 else {"visibility_timeout": 3600})
    app.conf.update(
        broker_transport=FolderTransport if settings.embedded_broker else None,
        task_queues=[Queue(IO_QUEUE), Queue(NLP_QUEUE), Queue(CONTROL_QUEUE)],
        task_default_queue=IO_QUEUE,
        task_routes=ROUTES,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        # Never give up on the broker (Celery's default stops after 100 attempts, about
        # 45 minutes, and the worker exits); PatientConsumer keeps the attempts close.
        broker_connection_max_retries=None,
        worker_consumer=PatientConsumer,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only when done, and given back if its worker dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Tasks running when the broker goes away finish their step (the database holds
        # the result) rather than being killed; their acknowledgement is lost with the
        # connection, and what they could not send, the sweep sends (worker/outage.py).
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        # A fresh process now and then frees what a long run fragments; memory is the real
        # guard (next line). Each restart costs a context and its warm caches.
        worker_max_tasks_per_child=10_000,
        worker_max_memory_per_child=1_500_000,  # KiB
        worker_hijack_root_logger=False,
        beat_schedule={
            "tick": {"task": "newsworker.tick", "schedule": float(settings.scheduler_tick_seconds)},
            "sweep": {"task": "newsworker.sweep", "schedule": settings.sweep_seconds},
            "retention": {"task": "newsworker.retention", "schedule": 3600.0},
        },
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
        timezone="UTC",
    )
    PatientConsumer.retry_max_seconds = settings.broker_retry_max_seconds
    app.steps["consumer"].add(BrokerWatch)
    return app


@setup_logging.connect
def _logging(**_kwargs) -> None:
    # Our format (text or JSON, with feed and article ids) instead of Celery's own.
    settings = get_settings()
    configure(settings.log_level, settings.log_format)


app = make_celery(get_settings())
