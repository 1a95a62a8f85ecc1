"""Outages of the broker and the database: one log line when one starts, one when it ends.

A worker role is many processes (Celery's main process, its pool, the embedded
scheduler) and each of them meets the outage on its own: a task's database call fails,
a message cannot be sent, the consumer loses its connection. Each process keeps its own
view (`Outage.since`); the role's one line is written by the first process to create a
marker file in the role's folder (`newsworker run` sets it), and its end by the first
process that finds the service back and removes the marker. Celery's own lines about
the same outage (a traceback per task, a reconnect attempt every few seconds) are
folded into these two by `QuietOutages`, a logging filter.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import redis.exceptions
from kombu.exceptions import OperationalError as BrokerOperationalError
from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger("worker.outage")
FOLDER_ENV = "NEWSWORKER_OUTAGE_DIR"
# What a task meets when the broker is away: kombu's wrapper when it sends a message,
# redis-py's own errors from the politeness and robots.txt stores.
BROKER_DOWN = (BrokerOperationalError, redis.exceptions.ConnectionError,
               redis.exceptions.TimeoutError)
DATABASE_DOWN = (OperationalError, InterfaceError)


def _first_line(exc: BaseException | None) -> str:
    if exc is None:
        return "connection lost"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class Outage:
    """One dependency (`broker`, `database`) as this process sees it."""

    def __init__(self, what: str, consequence: str) -> None:
        self.what, self.consequence = what, consequence
        self.since: float | None = None

    def _marker(self) -> Path | None:
        folder = os.environ.get(FOLDER_ENV)
        return Path(folder) / f"outage-{self.what}" if folder else None

    def begin(self, exc: BaseException | None) -> None:
        """The dependency failed: the role's first process to see it logs one line."""
        if self.since is not None:
            return
        self.since = time.time()
        marker = self._marker()
        if marker is not None:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return  # another process of this role said it already
            except OSError:
                marker = None
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(str(self.since))
        log.warning("%s unreachable (%s): %s", self.what, _first_line(exc), self.consequence)

    def end(self, tried_at: float | None = None) -> None:
        """An operation begun at `tried_at` (default: now) went through: the outage, if
        it began before that, is over. A stat when nothing was down. Any process of the
        role may end it: the one that began it may be gone (a recycled pool process),
        and its marker would silence the next outage's first line."""
        marker = self._marker()
        if self.since is None and (marker is None or not marker.exists()):
            return
        tried_at = time.time() if tried_at is None else tried_at
        began = self.since
        if marker is not None:
            try:
                began = float(marker.read_text())
            except (OSError, ValueError):
                self.since = None  # another process of this role said it already
                return
        if began is None or tried_at < began:
            return  # this success says nothing about an outage that began after it
        self.since = None
        if marker is not None:
            try:
                marker.unlink()
            except OSError:
                return  # another process of this role said it already
        log.warning("%s back after %.1f s", self.what, time.time() - began)


BROKER = Outage("broker", "waiting for it; the work it held is sent again when it is back")
DATABASE = Outage("database", "tasks wait and retry with backoff")


def use_folder(folder: Path) -> None:
    """The role's processes share their outage markers here (children inherit it)."""
    os.environ[FOLDER_ENV] = str(folder)
    for stale in folder.glob("outage-*"):
        stale.unlink(missing_ok=True)


class QuietOutages(logging.Filter):
    """Folds Celery's lines about a broker or database outage into the two lines above.

    Keyed on Celery's messages: an unknown message passes unchanged, so a Celery that
    words them differently is noisier, never silent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name == "py.warnings":
            # Chosen explicitly (worker/celery_app.py); Celery 5 still warns at every
            # lost connection, in seven lines.
            return "worker_cancel_long_running_tasks_on_connection_loss" not in record.getMessage()
        if not name.startswith("celery"):
            return True
        message = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and isinstance(record.args, tuple):  # Celery 5.7 passes it as an arg
            exc = next((a for a in record.args if isinstance(a, BaseException)), None)
        if "Connection to broker lost" in message or "Cannot connect to" in message:
            BROKER.begin(exc)
            return False
        if name == "celery.beat" and "Couldn't apply scheduled task" in message:
            # The scheduler's tick and sweep cannot be sent; they are sent at their next
            # time after the broker is back.
            BROKER.begin(exc)
            return False
        if name == "celery.app.trace" and " retry: " in message:
            # A task sent back because the database refused it: the outage line says it.
            return DATABASE.since is None and BROKER.since is None
        return True

