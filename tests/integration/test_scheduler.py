"""The scheduler's side: one poll per feed per due time, and feeds.yaml hot reload."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select, update

from worker.feeds.file import FeedSpec
from worker.settings import get_settings
from worker.store import feeds as feed_store
from worker.store import repo
from worker.store.db import session_scope
from worker.store.models import Feed


def test_two_schedulers_claim_each_due_feed_once(db_url):
    specs = [FeedSpec(name=f"F{i}", url=f"http://feeds.test/{i}.rss") for i in range(300)]
    with session_scope(db_url) as session:
        feed_store.sync_feeds(session, specs)
    claims: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def scheduler(i: int) -> None:
        start.wait()
        for _ in range(5):  # several ticks each, racing
            with session_scope(db_url) as session:
                claims[i] += feed_store.claim_due_feeds(session, repo.now(), limit=100)

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = claims[0] + claims[1]
    assert sorted(both) == sorted(set(both))  # nobody polled twice
    assert len(both) == 300  # and every due feed was polled
    with session_scope(db_url) as session:  # each claim's lease still runs
        assert feed_store.claim_due_feeds(session, repo.now(), limit=500) == []
        lease_ends = session.scalars(select(Feed.next_poll_at)).all()
    assert min(lease_ends) > repo.now() + timedelta(seconds=60)
    with session_scope(db_url) as session:
        session.execute(update(Feed).values(next_poll_at=repo.now()))
    with session_scope(db_url) as session:
        assert len(feed_store.claim_due_feeds(session, repo.now(), limit=1000)) == 300


def write(path, feeds: list[tuple[str, str, int, bool]]) -> None:
    lines = ["feeds:"]
    for name, url, interval, enabled in feeds:
        lines += [f"  - name: {name}", f"    url: {url}", f"    interval_seconds: {interval}",
                  f"    enabled: {str(enabled).lower()}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_hot_reload_applies_edits_and_keeps_the_last_good_list(tmp_path, sqlite_url,
                                                                monkeypatch, caplog):
    from worker.store.migrate import upgrade

    upgrade(sqlite_url)
    path = tmp_path / "feeds.yaml"
    monkeypatch.setenv("NEWSWORKER_FEEDS_FILE", str(path))
    monkeypatch.setenv("NEWSWORKER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("NEWSWORKER_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    from worker import tasks

    monkeypatch.setattr(tasks, "_context", None)  # a fresh context reads the file anew

    def feeds() -> dict[str, tuple[int, bool, bool]]:
        with session_scope(sqlite_url) as session:
            return {f.name: (f.interval_seconds, f.enabled, f.in_file)
                    for f in session.scalars(select(Feed))}

    def active() -> set[str]:
        with session_scope(sqlite_url) as session:
            return {name for _, name in feed_store.active_feed_ids(session)}

    try:
        write(path, [("A", "http://a.test/rss", 600, True), ("B", "http://b.test/rss", 600, True)])
        tasks.context().reload_feeds_if_changed()
        assert active() == {"A", "B"}
        # An edit: C added, B disabled, A's interval changed, then A removed.
        write(path, [("A", "http://a.test/rss", 120, True), ("B", "http://b.test/rss", 600, False),
                     ("C", "http://c.test/rss", 300, True)])
        _touch_later(path)
        tasks.context().reload_feeds_if_changed()
        assert feeds()["A"][0] == 120 and active() == {"A", "C"}
        with session_scope(sqlite_url) as session:  # the new feed is due at once
            assert {f for f in feed_store.claim_due_feeds(session, repo.now())} >= {
                session.scalar(select(Feed.id).where(Feed.name == "C"))}
        write(path, [("C", "http://c.test/rss", 300, True)])
        _touch_later(path)
        tasks.context().reload_feeds_if_changed()
        assert active() == {"C"} and feeds()["A"][2] is False
        # A broken edit is refused, with its line, and the last good list stays.
        path.write_text("feeds:\n  - name: C\n    url: http://c.test/rss\n"
                        "    interval_seconds: soon\n", encoding="utf-8")
        _touch_later(path)
        with caplog.at_level(logging.ERROR):
            tasks.context().reload_feeds_if_changed()
        assert active() == {"C"}
        assert "keeping the last good list" in caplog.text and "line 4" in caplog.text
    finally:
        get_settings.cache_clear()


def _touch_later(path) -> None:
    """Make sure the modification time moves even within one clock tick."""
    import os

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


