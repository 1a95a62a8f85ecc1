"""A big feeds.yaml kept in step with the feeds table, and due feeds claimed in batches."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from urllib.parse import urlsplit

from sqlalchemy import select, update

from worker.feeds.file import FeedSpec
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
    with session_scope(db_url) as session:  # one host moved elsewhere by a redirect
        session.execute(update(Feed).where(Feed.url.like("http://site2.test/%"))
                        .values(current_url="http://ailleurs.test/f.rss"))
    claimed = claim(db_url, 300)
    with session_scope(db_url) as session:
        by_id = {f.id: urlsplit(f.current_url or f.url).hostname
                 for f in session.scalars(select(Feed))}
    hosts = [by_id[feed_id] for feed_id in claimed]
    assert sorted(claimed) == sorted(by_id)
    assert all(a != b for a, b in zip(hosts, hosts[1:], strict=False))
    assert set(hosts[:3]) == {"site0.test", "site1.test", "ailleurs.test"}


def test_the_tick_loads_the_file_and_polls_hosts_in_turn(tmp_path, db_url):
    from worker import upkeep
    from worker.context import make_context
    from worker.settings import Settings
    from worker.store.migrate import upgrade

    upgrade(db_url)
    path = tmp_path / "feeds.yaml"
    lines = ["feeds:"]
    for h in range(4):  # listed host by host, as a newsroom pastes a site's feeds
        for i in range(150):
            lines += [f"  - name: Flux {h}-{i}", f"    url: https://site{h}.test/f/{i}.rss"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, _env_file=None,
                        per_host_delay_seconds=1.0, scheduler_tick_seconds=30)
    ctx = make_context(settings, path)
    per_host = upkeep.polls_per_host_per_tick(settings)  # 30 s between ticks, 1 s a request
    try:
        polls = upkeep.due_polls(ctx)
        later = [i for i, _ in upkeep.due_polls(ctx)]  # the next tick: each host's next
    finally:
        ctx.close()
    with session_scope(db_url) as session:
        host_of = {f.id: urlsplit(f.url).hostname for f in session.scalars(select(Feed))}
    assert per_host == 30
    due = [feed_id for feed_id, _ in polls]
    waits: dict[str, list[float]] = {}
    for feed_id, wait in polls:  # a host's n-th poll of the tick waits n delays
        waits.setdefault(host_of[feed_id], []).append(wait)
    assert all(w == [float(n) for n in range(per_host)] for w in waits.values())
    for tick in (due, later):  # no host gets more polls than it answers before the next
        hosts = [host_of[feed_id] for feed_id in tick]
        assert Counter(hosts) == {f"site{h}.test": per_host for h in range(4)}
        assert all(a != b for a, b in zip(hosts, hosts[1:], strict=False))
    assert not set(due) & set(later)  # claimed once, leases running
