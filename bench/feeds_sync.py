"""Feeds file at scale: CPU and wall time to load and sync BENCH_SYNC_FEEDS feeds.

    .venv/bin/python bench/feeds_sync.py [PG_ADMIN_URL]

Loads a generated feeds.yaml (the shape of bench/many_feeds.py, 1,000 hosts), syncs it into
a fresh SQLite file and, given an admin URL, a fresh PostgreSQL database; then loads and
syncs the same file again (the service's restart or hot reload with nothing changed); then
claims every feed, due at once, in the scheduler's batches.
CPU is this process plus, for PostgreSQL, the server backends of the bench database.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
import sqlalchemy as sa
from many_feeds import write_feeds_file
from store_scale import drop_pg, fresh_pg

PG_DB = "newsworker_bench_feeds_sync"


def backend_cpu(engine: sa.Engine) -> float:
    """CPU seconds used so far by the server processes serving the bench database."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = "
                                    "current_database()")).scalars().all()
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def measured(engine: sa.Engine, step) -> dict:
    cpu, server, wall = time.process_time(), backend_cpu(engine), time.perf_counter()
    result = step()
    return {"cpu_s": round(time.process_time() - cpu + backend_cpu(engine) - server, 2),
            "wall_s": round(time.perf_counter() - wall, 2), "result": result}


def sync_once(db_url: str, path: Path) -> int:
    """Load and sync as the service does at start and on a hot reload."""
    from worker.context import make_context
    from worker.settings import Settings

    ctx = make_context(Settings(database_url=db_url, _env_file=None), path, read_feeds=False)
    try:
        return len(ctx.sync_feeds().feeds)
    finally:
        ctx.close()


def claim_all(db_url: str) -> dict:
    """Every feed is due: claim them all in the scheduler's batches of 500."""
    from worker.store import feeds as feed_store
    from worker.store import repo
    from worker.store.db import session_scope

    claimed = batches = 0
    while True:
        with session_scope(db_url) as session:
            batch = feed_store.claim_due_feeds(session, repo.now(), limit=500)
        claimed, batches = claimed + len(batch), batches + 1
        if not batch:
            return {"claimed": claimed, "batches": batches}


def run(db_url: str, path: Path) -> dict:
    from worker.feeds import file as feeds_file
    from worker.store.db import get_engine
    from worker.store.migrate import upgrade

    upgrade(db_url)
    engine = get_engine(db_url)
    load = measured(engine, lambda: len(feeds_file.load(path).feeds))
    first = measured(engine, lambda: sync_once(db_url, path))
    again = measured(engine, lambda: sync_once(db_url, path))
    claims = measured(engine, lambda: claim_all(db_url))
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM feeds WHERE in_file")).scalar()
        # Rows the unchanged sync wrote all the same: their stamp moved past their creation.
        rewritten = conn.execute(sa.text("SELECT count(*) FROM feeds "
                                         "WHERE updated_at <> created_at")).scalar()
    return {"load": load, "first_sync_with_load": first, "unchanged_sync_with_load": again,
            "claim_all_due": claims,
            "feeds_in_db": stored, "rewritten_by_unchanged_sync": rewritten}


def main() -> None:
    from worker.store.db import dispose_all

    count = int(os.environ.get("BENCH_SYNC_FEEDS", "100000"))
    pg_admin = sys.argv[1] if len(sys.argv) > 1 else None
    out = {"feeds": count}
    with tempfile.TemporaryDirectory() as tmp:
        path = write_feeds_file(Path(tmp), 8080, count)
        out["sqlite"] = run(f"sqlite:///{tmp}/feeds.db", path)
        if pg_admin:
            try:
                out["postgresql"] = run(fresh_pg(pg_admin, PG_DB), path)
            finally:
                dispose_all()
                drop_pg(pg_admin, PG_DB)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
