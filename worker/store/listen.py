"""Waiting for new change events: LISTEN/NOTIFY on PostgreSQL, a timer on SQLite.

The sequencer sends `NOTIFY newsworker_events` (payload: the seq) with every batch of
events it numbers (store/events.py). A waiter holds one connection that only listens;
readers of the events use ordinary short-lived connections. SQLite has no notifications:
there a wait is a sleep and the caller looks again (polling).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import make_url

from worker.store.events import EVENTS_CHANNEL

log = logging.getLogger(__name__)


class ChangeSignal:
    """`wait(seconds)` returns True early when PostgreSQL announces new events, else False
    after `seconds` (always, on SQLite). A lost listening connection is opened again at
    the next wait: meanwhile the caller simply polls."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.postgres = url.get_backend_name() == "postgresql"
        self.conninfo = (url.set(drivername="postgresql").render_as_string(hide_password=False)
                         if self.postgres else "")
        self._conn = None
        self._closed = threading.Event()

    def _listening(self):
        if self._conn is None or self._conn.closed:
            import psycopg

            self._conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5,
                                         application_name="newsworker-listen")
            self._conn.execute(f"LISTEN {EVENTS_CHANNEL}")
        return self._conn

    def wait(self, seconds: float) -> bool:
        if not self.postgres:
            self._closed.wait(seconds)
            return False
        try:
            for _ in self._listening().notifies(timeout=seconds, stop_after=1):
                return True
            return False
        except Exception as exc:  # noqa: BLE001 - a lost listener degrades to polling
            log.warning("LISTEN %s: %s; polling until it is back", EVENTS_CHANNEL, exc)
            self._drop()
            self._closed.wait(seconds)
            return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def close(self) -> None:
        self._closed.set()
        self._drop()
