"""Many feeds: one polling cycle of BENCH_FEEDS feeds over 1,000 loopback hosts.

The feeds live on 127.0.{1-4}.{1-250} (1,000 addresses of the loopback network, all
served by one asyncio server in its own process, listening on each address; nothing
leaves 127.0.0.0/8). 95 % answer 304 to the stored ETag; 5 % send no ETag and answer 200
with ten entries that are already stored. The Redis + PostgreSQL roles (beat, io worker)
poll them with the default per-host politeness (1 s between requests, 2 at once, robots.txt).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import subprocess
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

HOSTS = [f"127.0.{1 + h // 250}.{1 + h % 250}" for h in range(1000)]
ETAG = '"v1"'
FULL_EVERY = 20  # one feed in 20 answers 200 (no ETag) with already stored entries
# The io worker as docker-compose.yml runs it: polls mostly wait (on the network, on a
# host's turn), so it runs more processes than there are cores.
IO_CONCURRENCY = os.environ.get("BENCH_FEEDS_IO_CONCURRENCY", "16")
ENTRIES = 10


def host_of(i: int) -> str:
    return HOSTS[i % len(HOSTS)]


def entry_url(port: int, i: int, k: int) -> str:
    return f"http://{host_of(i)}:{port}/n/{i}/{k}"


def feed_body(port: int, i: int) -> bytes:
    items = "".join(f"<item><title>Dépêche {i}-{k}</title><link>{entry_url(port, i, k)}</link>"
                    f"<guid>{i}-{k}</guid><description>Résumé de la dépêche {k}.</description>"
                    "</item>" for k in range(ENTRIES)) if i % FULL_EVERY == 0 else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Flux {i}</title><link>http://{host_of(i)}:{port}/</link>{items}"
            "</channel></rss>").encode()


# --- the server -------------------------------------------------------------------------------

async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            etag = next((line.split(":", 1)[1].strip() for line in lines[1:]
                         if line.lower().startswith("if-none-match:")), None)
            writer.write(_response(path, etag, port))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


def _response(path: str, etag: str | None, port: int) -> bytes:
    if not path.startswith("/f/"):
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    i = int(path[3:].split(".")[0])
    if i % FULL_EVERY and etag == ETAG:
        return b"HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n"
    body = feed_body(port, i)
    extra = f"ETag: {ETAG}\r\n" if i % FULL_EVERY else ""
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _handle(r, w, port), host=HOSTS,
                                            port=port, backlog=512)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start_server() -> tuple[multiprocessing.Process, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Spawned, not forked: `make bench` reaches this step with threads running (samplers,
    # thread pools), and a fork taken while one of them holds a lock can hang the child.
    proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,),
                                                        daemon=True)
    proc.start()
    for _ in range(200):
        try:
            socket.create_connection((HOSTS[-1], port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("feed server did not start")


# --- the store before the cycle ------------------------------------------------------------

def write_feeds_file(folder: Path, port: int, count: int) -> Path:
    lines = ["defaults:", "  allow_private_networks: true", "  adaptive: false",
             "  interval_seconds: 900", "feeds:"]
    for i in range(count):
        lines += [f"  - name: Flux {i}", f"    url: http://{host_of(i)}:{port}/f/{i}.rss"]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prepare(db_url: str, feeds: Path, port: int, count: int) -> None:
    """Feeds synced as the service would, with the ETag of an earlier poll; their entries
    already stored. Every feed is due now."""
    from worker.context import make_context
    from worker.settings import Settings
    from worker.store.db import dispose_all, get_engine
    from worker.store.repo import url_key
    from worker.urls import canonicalize

    ctx = make_context(Settings(database_url=db_url, _env_file=None), feeds)
    ctx.sync_feeds()
    ctx.close()
    engine = get_engine(db_url)
    with engine.begin() as conn:
        # The full feeds answer 200 whatever the request says: one ETag for all is enough.
        conn.execute(sa.text("UPDATE feeds SET etag = :etag, next_poll_at = now()"),
                     {"etag": ETAG})
        ids = dict(conn.execute(sa.text("SELECT url, id FROM feeds")).all())
        rows = []
        for i in range(0, count, FULL_EVERY):
            feed_id = ids[f"http://{host_of(i)}:{port}/f/{i}.rss"]
            for k in range(ENTRIES):
                url = canonicalize(entry_url(port, i, k))
                rows.append({"k": url_key(url), "u": url, "f": feed_id})
        conn.execute(sa.text(
            "INSERT INTO articles (url_key, canonical_url, url, feed_id, state, "
            "state_changed_at, attempts, entry_categories, authors, categories, tags, "
            "paywalled, discovered_at, updated_at) VALUES (:k, :u, :u, :f, 'done', now(), 0, "
            "'[]', '[]', '[]', '[]', false, now(), now())"), rows)
        # Lookups go through every URL an article is known by.
        conn.execute(sa.text(
            "INSERT INTO article_urls (url_key, url, article_id, feed_id, seen_at) "
            "SELECT url_key, url, id, feed_id, now() FROM articles"))
    dispose_all()


# --- the cycle --------------------------------------------------------------------------------

class CpuMeter:
    """CPU seconds of process trees and of this database's PostgreSQL backends."""

    def __init__(self, db_url: str) -> None:
        self.engine = sa.create_engine(db_url)
        self.backends: dict[int, float] = {}

    @staticmethod
    def tree(pid: int) -> float:
        try:
            parent = psutil.Process(pid)
            procs = [parent, *parent.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for proc in procs:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def sample_backends(self) -> None:
        with self.engine.connect() as conn:
            pids = conn.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalars().all()
        for pid in pids:
            try:
                t = psutil.Process(pid).cpu_times()
                self.backends[pid] = t.user + t.system
            except psutil.Error:
                pass


def polled(conn, since) -> int:
    return conn.execute(sa.text("SELECT count(DISTINCT feed_id) FROM polls "
                                "WHERE started_at >= :t"), {"t": since}).scalar()


def cycle(newsworker: str, env: dict, db_url: str, folder: Path, count: int,
          timeout: float) -> dict:
    """Start beat and an io worker (4 processes); time until every feed was polled once."""
    from datetime import UTC, datetime

    meter = CpuMeter(db_url)
    redis_pid = _redis_pid()
    redis_before = CpuMeter.tree(redis_pid) if redis_pid else 0.0
    started_at, started = datetime.now(UTC), time.monotonic()
    procs = {name: subprocess.Popen([newsworker, "run", *args], env=env, cwd=folder,
                                    stdout=(folder / f"{name}.log").open("wb"),
                                    stderr=subprocess.STDOUT, start_new_session=True)
             for name, args in (("beat", ["--role", "beat"]),
                                ("worker-io", ["--role", "worker", "--queues", "io",
                                               "--concurrency", IO_CONCURRENCY]))}
    done, cpu, at_first_poll = 0, {}, None
    try:
        with meter.engine.connect() as conn:
            while time.monotonic() - started < timeout:
                time.sleep(2)
                meter.sample_backends()
                cpu = {name: CpuMeter.tree(p.pid) for name, p in procs.items()}
                done = polled(conn, started_at)
                conn.rollback()
                if done and at_first_poll is None:  # the start's CPU: imports, feeds sync
                    at_first_poll = (sum(cpu.values()), sum(meter.backends.values()), done)
                if done >= count:
                    break
            outcomes = dict(conn.execute(sa.text(
                "SELECT outcome, count(*) FROM polls WHERE started_at >= :t GROUP BY outcome"),
                {"t": started_at}).all())
            first, last = conn.execute(sa.text("SELECT min(started_at), max(started_at) "
                                               "FROM polls WHERE started_at >= :t"),
                                       {"t": started_at}).one()
    finally:
        stop_roles(procs)
        meter.engine.dispose()
    elapsed = (last - started_at).total_seconds() if last else time.monotonic() - started
    startup = (first - started_at).total_seconds() if first else elapsed
    start_cpu, start_pg, start_done = at_first_poll or (0.0, 0.0, 0)
    service, postgres = sum(cpu.values()), sum(meter.backends.values())
    redis_cpu = (CpuMeter.tree(redis_pid) - redis_before) if redis_pid else 0.0
    # The cycle proper: from the first sample with polls to the end, start excluded.
    cycle_polls = done - start_done
    cycle_cpu = service + postgres + redis_cpu - start_cpu - start_pg
    polling_s = elapsed - startup
    return {"feeds": count, "polled": done, "seconds": elapsed, "startup_s": startup,
            "io_concurrency": int(IO_CONCURRENCY),
            "polls_per_s": done / polling_s if polling_s > 0 else None,
            "cpu_ms_per_poll": 1000 * cycle_cpu / cycle_polls if cycle_polls > 0 else None,
            "startup_cpu": start_cpu + start_pg, "polled_at_startup_sample": start_done,
            "outcomes": outcomes,
            "cpu_service": sum(cpu.values()), "cpu_roles": cpu,
            "cpu_postgres": sum(meter.backends.values()),
            "cpu_redis": redis_cpu if redis_pid else None}


def _redis_pid() -> int | None:
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("redis-server"):
            return proc.pid
    return None


def stop_roles(procs: dict[str, subprocess.Popen]) -> None:
    import signal

    for popen in procs.values():
        try:
            os.killpg(popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for popen in procs.values():
        try:
            popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)


def run(newsworker: str, pg_admin: str, redis_url: str, folder: Path, count: int,
        timeout: float) -> dict:
    """The whole step: server, database, feeds, one cycle; the cycle's figures."""
    import redis
    from store_scale import drop_pg, fresh_pg

    from worker.store.db import dispose_all
    from worker.store.migrate import upgrade

    folder.mkdir(parents=True)
    server, port = start_server()
    db_name = os.environ.get("BENCH_FEEDS_DB", "newsworker_bench_feeds")
    db_url = fresh_pg(pg_admin, db_name)
    try:
        upgrade(db_url)
        feeds = write_feeds_file(folder, port, count)
        prepared = time.perf_counter()
        prepare(db_url, feeds, port, count)
        prepared = time.perf_counter() - prepared
        redis.Redis.from_url(redis_url).flushdb()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NEWSWORKER_", "PROMETHEUS_"))}
        # Politeness stays at its defaults; the tick is every 5 s instead of 30 s.
        env.update(NEWSWORKER_DATA_DIR=str(folder / "var"), NEWSWORKER_DATABASE_URL=db_url,
                   NEWSWORKER_BROKER_URL=redis_url, NEWSWORKER_FEEDS_FILE=str(feeds),
                   NEWSWORKER_LOG_LEVEL=os.environ.get("BENCH_FEEDS_LOG_LEVEL", "WARNING"),
                   NEWSWORKER_SCHEDULER_TICK_SECONDS="5",
                   NEWSWORKER_METRICS_PORT="0")
        result = cycle(newsworker, env, db_url, folder, count, timeout)
        result["prepare_seconds"] = prepared
    finally:
        server.terminate()
        dispose_all()
        drop_pg(pg_admin, db_name)
    return result


if __name__ == "__main__":  # BENCH_FEEDS feeds, one cycle
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    out = run(str(Path(sys.executable).parent / "newsworker"),
              os.environ.get("NEWSWORKER_BENCH_PG",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
              os.environ.get("NEWSWORKER_BENCH_REDIS", "redis://127.0.0.1:6379/11"),
              Path(tempfile.mkdtemp(prefix="newsworker-feeds-")) / "run",
              int(os.environ.get("BENCH_FEEDS", "1000")),
              float(os.environ.get("BENCH_FEEDS_TIMEOUT", "1200")))
    print(out)
