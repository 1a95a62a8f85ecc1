"""The change stream's one listener, shared by every client of /api/v1/events/stream.

A thread waits for new events (LISTEN on PostgreSQL, polling on SQLite, through
store/listen.py) and reads the newest seq; clients wait on it in the event loop and
then read their events with a short query on the pooled read-only engine. A thousand
open streams cost one listening connection, not a thousand.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from worker.store.db import reading
from worker.store.listen import ChangeSignal
from worker.store.records import last_seq

log = logging.getLogger(__name__)


class EventHub:
    def __init__(self, database_url: str, poll_seconds: float = 1.0) -> None:
        self.url, self.poll_seconds = database_url, poll_seconds
        self.latest = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._signal = ChangeSignal(database_url)
        self._stopping = threading.Event()

    def _ensure_started(self) -> None:
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._changed = asyncio.Event()
            self._thread = threading.Thread(target=self._watch, name="event-hub", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                with reading(self.url) as session:
                    seq = last_seq(session)
            except Exception as exc:  # noqa: BLE001 - the database may come back; keep watching
                log.warning("event stream: cannot read the newest seq: %s", exc)
                seq = self.latest
            if seq != self.latest:
                self.latest = seq
                self._loop.call_soon_threadsafe(self._wake)
            self._signal.wait(self.poll_seconds)

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_beyond(self, seq: int, timeout: float) -> bool:
        """Until an event after `seq` exists (True) or `timeout` seconds pass (False)."""
        self._ensure_started()
        if self.latest > seq:
            return True
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return self.latest > seq

    def close(self) -> None:
        self._stopping.set()
        self._signal.close()
