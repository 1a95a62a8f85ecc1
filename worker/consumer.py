"""`follow()`: the change feed as library code, for consumers of the store.

    from worker.consumer import follow

    def handle(event):  # {"seq", "article_id", "kind", "state", "created_at"}
        ...

    follow("postgresql+psycopg://reader@db/news", handle, position="var/consumer.seq")

Events come in `seq` order, each once; the position file keeps the last handled seq, so
a restarted consumer carries on after it. On PostgreSQL it wakes on `NOTIFY
newsworker_events`; on SQLite it polls. The database is opened read-only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from worker.store.db import reading
from worker.store.listen import ChangeSignal
from worker.store.records import event_records

Handler = Callable[[dict], None]


def read_position(path: str | Path) -> int:
    """The seq stored at `path` (0 when there is none yet)."""
    try:
        return int(Path(path).read_text(encoding="utf-8").strip() or 0)
    except FileNotFoundError:
        return 0


def write_position(path: str | Path, seq: int) -> None:
    """Store `seq` at `path`, atomically (a crash leaves the old or the new value)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{seq}\n", encoding="utf-8")
    os.replace(tmp, path)


def follow(database_url: str, handle: Handler, last_seen: int | None = None, *,
           position: str | Path | None = None, poll_seconds: float = 2.0,
           stop: Callable[[], bool] = lambda: False, batch: int = 500) -> int:
    """Call `handle(event)` for every change event after `last_seen`, in order, until
    `stop()` is true; the last seq handled.

    `last_seen` defaults to the seq in `position` (0 without one). With `position`, the
    seq of each handled event is written there after `handle` returns: an event whose
    handler raised is handled again after a restart. `poll_seconds` is the longest wait
    between two looks (the polling interval on SQLite).
    """
    last = last_seen if last_seen is not None else (read_position(position) if position else 0)
    signal = ChangeSignal(database_url)
    try:
        while not stop():
            with reading(database_url) as session:
                events = event_records(session, last, limit=batch)
            for event in events:
                handle(event)
                last = event["seq"]
                if position is not None:
                    write_position(position, last)
                if stop():
                    return last
            if len(events) < batch:
                signal.wait(poll_seconds)
    finally:
        signal.close()
    return last
