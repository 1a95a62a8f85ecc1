"""worker.consumer.follow: every event once and in order, resumed from the stored seq;
woken by NOTIFY on PostgreSQL (a poll interval far beyond the test's patience)."""

from __future__ import annotations

import threading
import time

import pytest

from worker.consumer import follow, read_position
from worker.store import events
from worker.store.db import session_scope


def _write_events(db_url: str, count: int) -> None:
    with session_scope(db_url) as session:
        for i in range(count):
            events.append_event(session, 1000 + i, "done", "done")


def test_follow_resumes_from_its_position_file(db_url, tmp_path):
    position = tmp_path / "consumer.seq"
    _write_events(db_url, 5)
    seen: list[int] = []
    last = follow(db_url, lambda e: seen.append(e["seq"]), position=position,
                  poll_seconds=0.05, stop=lambda: len(seen) >= 5)
    assert seen == [1, 2, 3, 4, 5] and last == 5 and read_position(position) == 5
    _write_events(db_url, 3)
    again: list[dict] = []
    follow(db_url, again.append, position=position, poll_seconds=0.05,
           stop=lambda: len(again) >= 3)
    assert [e["seq"] for e in again] == [6, 7, 8]
    assert {e["kind"] for e in again} == {"done"} and again[0]["article_id"] == 1000
    assert read_position(position) == 8


def test_an_event_whose_handler_fails_is_handled_again(db_url, tmp_path):
    position = tmp_path / "consumer.seq"
    _write_events(db_url, 4)

    def handle(event: dict) -> None:
        if event["seq"] == 3:
            raise RuntimeError("the consumer's own failure")

    with pytest.raises(RuntimeError):
        follow(db_url, handle, position=position, poll_seconds=0.05)
    assert read_position(position) == 2
    seen: list[int] = []
    follow(db_url, lambda e: seen.append(e["seq"]), position=position, poll_seconds=0.05,
           stop=lambda: len(seen) >= 2)
    assert seen == [3, 4]


def test_postgresql_wakes_the_consumer_on_notify(pg_url):
    seen: list[int] = []
    done = threading.Event()
    # Polling every 10 minutes: only the NOTIFY can deliver the second event in time.
    consumer = threading.Thread(target=follow, daemon=True, kwargs=dict(
        database_url=pg_url, handle=lambda e: seen.append(e["seq"]), poll_seconds=600,
        stop=done.is_set))
    _write_events(pg_url, 1)
    consumer.start()
    deadline = time.monotonic() + 60
    while seen != [1]:
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
    time.sleep(0.5)  # let it reach its wait: the next event must wake it
    _write_events(pg_url, 1)
    while seen != [1, 2]:
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
    done.set()
    _write_events(pg_url, 1)  # wakes it once more, to see `stop`
    consumer.join(30)
    assert not consumer.is_alive()
