"""A big feeds.yaml kept in step with the feeds table, and due feeds claimed in batches."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from urllib.parse import urlsplit

from sqlalchemy import select, update

from worker.feeds.file import FeedSpec
from worker.http import Fetched
from worker.store import feeds as feed_store
from worker.store import repo
from worker.store.db import session_scope
from worker.store.models import Feed

FEEDS = 3000
HOSTS = 40


def newsroom_feeds(count: int = FEEDS) -> list[FeedSpec]:
    return [FeedSpec(name=f"Flux {i}", url=f"http://rédaction{i % HOSTS}.test/f/{i}.rss",
                     tags=("régions",) if i % 7 == 0 else (),
                     strip_params=("ref",) if i % 11 == 0 else ())
            for i in range(count)]


def sync(db_url: str, specs, remove_missing: bool = True) -> dict[str, int]:
    with session_scope(db_url) as session:
        return feed_store.sync_feeds(session, specs, remove_missing=remove_missing)


def rows(db_url: str) -> dict[str, tuple]:
    """url → (id, name, interval, tags, in_file, updated_at) of every feed row."""
    with session_scope(db_url) as session:
        return {f.url: (f.id, f.name, f.interval_seconds, list(f.tags), f.in_file, f.updated_at)
                for f in session.scalars(select(Feed))}


def test_sync_writes_only_what_the_file_changed(db_url):
    specs = newsroom_feeds()
    assert sync(db_url, specs) == {"listed": FEEDS, "written": FEEDS, "removed": 0}
    first = rows(db_url)
    assert len(first) == FEEDS and all(row[4] for row in first.values())
    assert first[specs[7].url][3] == ["régions"]

    # The same file again: not one row written.
    assert sync(db_url, specs) == {"listed": FEEDS, "written": 0, "removed": 0}
    assert rows(db_url) == first

    # One interval edited, one feed gone from the file: those two rows and no other move.
    edited, gone = specs[5], specs[9]
    specs = [replace(s, interval_seconds=120) if s is edited else s for s in specs if s is not gone]
    assert sync(db_url, specs) == {"listed": FEEDS - 1, "written": 1, "removed": 1}
    after = rows(db_url)
    assert after[edited.url][2] == 120 and after[edited.url][5] > first[edited.url][5]
    assert after[gone.url][4] is False and after[gone.url][5] > first[gone.url][5]
    moved = {url for url in after if after[url] != first[url]}
    assert moved == {edited.url, gone.url}

    # Back in the file: the retired feed is active again, under its old id.
    assert sync(db_url, [*specs, gone])["written"] == 1
    assert rows(db_url)[gone.url][:5] == (first[gone.url][0], gone.name, 900, [], True)


def test_a_one_off_file_retires_nothing(db_url):
    specs = newsroom_feeds(200)
    sync(db_url, specs)
    other = [FeedSpec(name="Dépêches", url="http://agence.test/depeches.rss"),
             replace(specs[0], name="Flux zéro")]
    assert sync(db_url, other, remove_missing=False) == {"listed": 2, "written": 2, "removed": 0}
    stored = rows(db_url)
    assert len(stored) == 201 and all(row[4] for row in stored.values())
    assert stored[specs[0].url][1] == "Flux zéro"


def test_two_processes_syncing_overlapping_files_agree(db_url):
    """Two syncs at once (a reload and an `ingest --once`) neither fail nor deadlock."""
    specs = newsroom_feeds(2000)
    halves = [specs[:1500], specs[500:]]
    start, failures = threading.Barrier(2), []

    def syncer(i: int) -> None:
        start.wait()
        try:
            sync(db_url, halves[i], remove_missing=False)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    threads = [threading.Thread(target=syncer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert set(rows(db_url)) == {s.url for s in specs}


def claim(db_url: str, limit: int) -> list[int]:
    with session_scope(db_url) as session:
        return feed_store.claim_due_feeds(session, repo.now(), limit=limit)


def test_a_tick_takes_the_hosts_in_turn(db_url):
    # 300 feeds on 3 hosts, listed host by host: the claim interleaves them.
    specs = [FeedSpec(name=f"Flux {h}-{i}", url=f"http://site{h}.test/f/{i}.rss")
             for h in range(3) for i in range(100)]
    sync(db_url, specs)
    with session_scope(db_url) as session:  # one host moved elsewhere by a 301
        moved = Fetched(url="http://ailleurs.test/f.rss", status=304, body=b"", headers={},
                        elapsed=0.0, permanent_redirect="http://ailleurs.test/f.rss")
        stamp = repo.now()
        for feed_id in session.scalars(select(Feed.id).where(Feed.url.like("http://site2.%"))):
            feed_store.record_success(session, feed_id, fetched=moved, started=stamp,
                                      interval=900, next_poll=stamp, changed=False)
    claimed = claim(db_url, 300)
    with session_scope(db_url) as session:
        by_id = {f.id: urlsplit(f.current_url or f.url).hostname
                 for f in session.scalars(select(Feed))}
    hosts = [by_id[feed_id] for feed_id in claimed]
    assert sorted(claimed) == sorted(by_id)
    assert all(a != b for a, b in zip(hosts, hosts[1:], strict=False))
    assert set(hosts[:3]) == {"site0.test", "site1.test", "ailleurs.test"}


def finish_polls(db_url: str, ids) -> None:
    """What each poll does when it records its outcome: its lease ends."""
    with session_scope(db_url) as session:
        session.execute(update(Feed).where(Feed.id.in_(list(ids))).values(leased_until=None))


def tick_context(tmp_path, db_url: str, lines: list[str], **settings):
    from worker.context import make_context
    from worker.settings import Settings
    from worker.store.migrate import upgrade

    upgrade(db_url)
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(["feeds:", *lines]) + "\n", encoding="utf-8")
    return make_context(Settings(data_dir=tmp_path / "var", database_url=db_url,
                                 _env_file=None, **settings), path)


def test_the_tick_loads_the_file_and_polls_hosts_in_turn(tmp_path, db_url):
    from worker import upkeep

    lines = []
    for h in range(4):  # listed host by host, as a newsroom pastes a site's feeds
        for i in range(150):
            lines += [f"  - name: Flux {h}-{i}", f"    url: https://site{h}.test/f/{i}.rss"]
    ctx = tick_context(tmp_path, db_url, lines, per_host_delay_seconds=1.0,
                       scheduler_tick_seconds=30)
    # 30 s between ticks, a turn every 1.5 s (1 s between requests, and room for drift)
    per_host = upkeep.polls_per_host_per_tick(ctx.settings)
    try:
        polls = upkeep.due_polls(ctx)
        # Right away, every host still has its 30 polls ahead: nothing more for them.
        busy = upkeep.due_polls(ctx)
        finish_polls(db_url, [feed_id for feed_id, _ in polls])
        later = [i for i, _ in upkeep.due_polls(ctx)]  # the next tick: each host's next
    finally:
        ctx.close()
    with session_scope(db_url) as session:
        host_of = {f.id: urlsplit(f.url).hostname for f in session.scalars(select(Feed))}
    assert per_host == 20 and busy == []
    due = [feed_id for feed_id, _ in polls]
    waits: dict[str, list[float]] = {}
    for feed_id, wait in polls:  # a host's n-th poll of the tick waits n turns
        waits.setdefault(host_of[feed_id], []).append(wait)
    assert all(w == [1.5 * n for n in range(per_host)] for w in waits.values())
    for tick in (due, later):  # no host gets more polls than it answers before the next
        hosts = [host_of[feed_id] for feed_id in tick]
        assert Counter(hosts) == {f"site{h}.test": per_host for h in range(4)}
        assert all(a != b for a, b in zip(hosts, hosts[1:], strict=False))
    assert not set(due) & set(later)  # claimed once, leases running


def test_a_host_with_polls_in_flight_waits_behind_them(tmp_path, db_url):
    from worker import upkeep

    lines = [f"  - name: Flux {i}\n    url: https://site{i % 2}.test/f/{i}.rss"
             for i in range(40)]
    ctx = tick_context(tmp_path, db_url, lines, per_host_delay_seconds=2.0,
                       scheduler_tick_seconds=15)
    try:
        first = upkeep.due_polls(ctx)  # 5 a host: 15 s between ticks, a turn every 3 s
        finish_polls(db_url, [feed_id for feed_id, _ in first[:2]])  # site0's and site1's first
        second = upkeep.due_polls(ctx)
    finally:
        ctx.close()
    assert sorted(wait for _, wait in first) == [0, 0, 3, 3, 6, 6, 9, 9, 12, 12]
    # Each host has 4 polls still ahead: one more each, after them.
    assert sorted(wait for _, wait in second) == [12.0, 12.0]
    assert not {i for i, _ in first} & {i for i, _ in second}


def test_the_tick_stops_claiming_while_the_workers_hold_enough_polls(tmp_path, db_url):
    from worker import upkeep

    count = upkeep.MAX_POLLS_AHEAD + 300
    lines = [f"  - name: Flux {i}\n    url: https://site{i % 50}.test/f/{i}.rss"
             for i in range(count)]
    ctx = tick_context(tmp_path, db_url, lines, per_host_delay_seconds=0)
    try:
        first = upkeep.due_polls(ctx)
        held = upkeep.due_polls(ctx)  # the io queue is empty, but the polls are not done
        finish_polls(db_url, [feed_id for feed_id, _ in first[:100]])
        then = upkeep.due_polls(ctx)
    finally:
        ctx.close()
    assert len(first) == upkeep.MAX_POLLS_AHEAD and held == []
    assert len(then) == 100 and not {i for i, _ in first} & {i for i, _ in then}


def test_upgrade_gives_stored_feeds_their_host(db_url):
    """Migration 0008 fills the host of feeds stored before it, a redirect's if any."""
    from alembic import command
    from sqlalchemy import text

    from worker.store.migrate import alembic_config, upgrade

    upgrade(db_url)
    command.downgrade(alembic_config(db_url), "0007")  # as a store made before 0008
    with session_scope(db_url) as session:
        session.execute(text(
            "INSERT INTO feeds (url, current_url, name, enabled, in_file, interval_seconds, "
            "tags, strip_params, respect_robots, adaptive, consecutive_failures, "
            "poll_attempts, created_at, updated_at) VALUES "
            "('https://Www.Exemple.fr/rss', NULL, 'A', true, true, 900, '[]', '[]', true, "
            "false, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
            "('https://ancien.fr/rss', 'https://nouveau.fr/rss', 'B', true, true, 900, '[]', "
            "'[]', true, false, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    upgrade(db_url)
    with session_scope(db_url) as session:
        hosts = dict(session.execute(text("SELECT name, host FROM feeds")).all())
        leases = session.scalars(text("SELECT leased_until FROM feeds")).all()
    assert hosts == {"A": "www.exemple.fr", "B": "nouveau.fr"} and leases == [None, None]
