"""Inputs that keep failing end as recorded failures after N attempts, never as a loop.

Real poison on real workers (Redis, PostgreSQL, `newsworker run` subprocesses): a page
that makes the fetch exceed its time limit, and a page whose worker process is killed
while it holds it, three times. The article beside it is done all the same.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from tests.conftest import Route
from tests.newsroom import rss, write_feeds_file
from tests.services import Proc, service_env, wait_for
from worker.store.db import session_scope
from worker.store.models import Article, Failure

GOOD = ("<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Budget</title>"
        "</head><body><article><h1>Budget</h1>" + "".join(
            f"<p>Le conseil régional de Bretagne a voté jeudi un budget de 1,2 milliard "
            f"d'euros pour l'année prochaine, paragraphe {i}.</p>" for i in range(6))
        + "</article></body></html>").encode()
# Slots held by killed workers stay taken for a while: enough of them for the test.
FAST = {"NEWSWORKER_STUCK_AFTER_SECONDS": "3", "NEWSWORKER_SWEEP_SECONDS": "1",
        "NEWSWORKER_PER_HOST_CONCURRENCY": "8",
        "NEWSWORKER_RETRY_DELAY_SECONDS": "0.2", "NEWSWORKER_POLL_LEASE_SECONDS": "10",
        "NEWSWORKER_MAX_ATTEMPTS": "3"}


def children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (the worker's pool processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@contextmanager
def service(tmp_path, feeds, pg_url, redis_url, **io_extra):
    """beat, one io worker process and one nlp worker; `io_extra` settings for the roles
    that publish fetches (a message carries its publisher's time limits)."""
    env = service_env(tmp_path, feeds, pg_url, redis_url, **FAST)
    procs = {"beat": Proc(["run", "--role", "beat"], {**env, **io_extra}, tmp_path / "beat.log"),
             "io": Proc(["run", "--role", "worker", "--queues", "io", "--concurrency", "1"],
                        {**env, **io_extra}, tmp_path / "io.log"),
             "nlp": Proc(["run", "--role", "worker", "--queues", "nlp", "--concurrency", "1"],
                         env, tmp_path / "nlp.log")}
    try:
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def articles(db_url: str) -> dict[str, Article]:
    with session_scope(db_url) as session:
        return {a.url.rsplit("/", 1)[-1]: a for a in session.scalars(select(Article))}


def finished(db_url: str, count: int):
    def check() -> bool:
        found = articles(db_url)
        check.last = {k: (a.state, a.attempts, a.last_error) for k, a in found.items()}
        return len(found) == count and all(a.state in ("done", "failed")
                                           for a in found.values())
    return check


def newsroom(site, tmp_path, poison_route: Route) -> Path:
    site.routes["/poison.html"] = poison_route
    site.add("/good.html", GOOD)
    feed = site.add("/f.rss", rss([("P", site.url("/poison.html")),
                                   ("G", site.url("/good.html"))]), "application/rss+xml")
    return write_feeds_file(tmp_path / "feeds.yaml", [feed])


def test_a_worker_killed_three_times_on_one_article_fails_it(site, tmp_path, pg_url,
                                                              redis_url):
    kills: list[int] = []
    procs: dict[str, Proc] = {}

    def kill_the_fetcher(handler) -> None:
        for pid in children(procs["io"].popen.pid):
            os.kill(pid, signal.SIGKILL)
            kills.append(pid)
        time.sleep(1)  # the client is gone; nothing to answer
        handler.close_connection = True

    feeds = newsroom(site, tmp_path, Route(handler=kill_the_fetcher))
    with service(tmp_path, feeds, pg_url, redis_url) as running:
        procs.update(running)
        wait_for(finished(pg_url, 2), 150, list(running.values()), "both articles finished")
    found = articles(pg_url)
    assert found["good.html"].state == "done"
    poison = found["poison.html"]
    assert poison.state == "failed" and poison.failure_reason == "killed in fetch 3 times"
    assert site.hits["/poison.html"] == 3 and len(kills) >= 3
    with session_scope(pg_url) as session:
        (letter,) = session.scalars(select(Failure).where(Failure.article_id == poison.id))
    assert letter.stage == "fetch" and letter.reason == "killed in fetch 3 times"


def test_a_page_over_the_time_limit_fails_after_three_attempts(site, tmp_path, pg_url,
                                                               redis_url):
    def slow(handler) -> None:
        time.sleep(8)  # longer than the (lowered) soft time limit of the fetch task
        handler._send(200, GOOD, {"Content-Type": "text/html; charset=utf-8"})

    feeds = newsroom(site, tmp_path, Route(handler=slow))
    with service(tmp_path, feeds, pg_url, redis_url, NEWSWORKER_TASK_SOFT_TIME_LIMIT="3",
                 NEWSWORKER_TASK_TIME_LIMIT="7") as running:
        wait_for(finished(pg_url, 2), 200, list(running.values()), "both articles finished")
    found = articles(pg_url)
    assert found["good.html"].state == "done"
    poison = found["poison.html"]
    assert poison.state == "failed"
    # The soft limit is recorded as the attempt's failure; where it does not fire in time
    # the hard limit kills the worker process, and that attempt counts as killed.
    assert poison.failure_reason in ("time limit exceeded in fetch", "killed in fetch 3 times")
    assert site.hits["/poison.html"] == 3
