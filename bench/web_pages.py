"""Every page and API call of `newsworker web` on a large store: p50/p95/max latency.

A real server (`newsworker web`, uvicorn) over the database, asked one request at a
time over HTTP, with parameters drawn like a reader's: ids across the whole store,
popular and rare entities, common and rare search words, deep cursors. Run alone (it
preloads its own store, updates bench/results.json and RESULTS.md) or from bench/run.py.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_WEB_RUNS", "60"))
TARGET_MS = 100.0


def _words(url: str) -> tuple[list[str], list[str]]:
    """Search words from stored texts: frequent ones and ones seen once in the sample."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        texts = conn.execute(sa.text("SELECT text FROM articles WHERE text IS NOT NULL "
                                     "ORDER BY id LIMIT 400")).scalars().all()
    engine.dispose()
    counts: dict[str, int] = {}
    for text in texts:
        for word in set(re.findall(r"\w{7,}", text.lower())):
            counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return ranked[:50], [w for w in ranked if counts[w] == 1][:200] or ranked[-50:]


def calls(count: int, common: list[str], rare: list[str],
          entities: int = 20_000) -> dict[str, Callable[[random.Random], str]]:
    """Each page and API call, with a parameter draw."""
    def article(r): return r.randint(1, count)
    def entity(r): return r.randint(1, 50) if r.random() < 0.5 else r.randint(51, entities)
    def word(r): return r.choice(common) if r.random() < 0.5 else r.choice(rare)
    def story(r): return r.randint(1, int(count * 0.85))
    return {
        "/ (overview)": lambda r: "/",
        "/feeds": lambda r: "/feeds",
        "/feeds/{id}": lambda r: f"/feeds/{r.randint(1, 200)}",
        "/articles": lambda r: "/articles",
        "/articles, a deep cursor": lambda r: f"/articles?cursor={article(r)}",
        "/articles?q= (search)": lambda r: f"/articles?q={word(r)}",
        "/articles?entity=": lambda r: f"/articles?entity={entity(r)}",
        "/articles?feed=&state=&language=": lambda r:
            f"/articles?feed={r.randint(1, 200)}&state=done&language=fr",
        "/articles/{id}": lambda r: f"/articles/{article(r)}",
        "/entities?q=": lambda r: f"/entities?q=entit%C3%A9%20{r.randint(1, 99)}",
        "/entities/{id}": lambda r: f"/entities/{entity(r)}",
        "/quotes": lambda r: "/quotes",
        "/quotes?speaker=": lambda r: f"/quotes?speaker=Entit%C3%A9%20{entity(r)}",
        "/quotes?q=": lambda r: f"/quotes?q={word(r)}",
        "/stories": lambda r: "/stories",
        "/stories?order=recent": lambda r: "/stories?order=recent",
        "/stories/{id}": lambda r: f"/stories/{story(r)}",
        "api articles": lambda r: "/api/v1/articles",
        "api articles?q= (search)": lambda r: f"/api/v1/articles?q={word(r)}",
        "api articles/{id}": lambda r: f"/api/v1/articles/{article(r)}",
        "api entities?q=": lambda r: f"/api/v1/entities?q=entit%C3%A9%20{r.randint(1, 99)}",
        "api entities/{id}": lambda r: f"/api/v1/entities/{entity(r)}",
        "api quotes?speaker=": lambda r: f"/api/v1/quotes?speaker=Entit%C3%A9%20{entity(r)}",
        "api stories": lambda r: "/api/v1/stories",
        "api stories/{id}": lambda r: f"/api/v1/stories/{story(r)}",
        "api feeds": lambda r: "/api/v1/feeds",
        "api events?after=": lambda r: f"/api/v1/events?after={r.randint(0, 4 * count - 1000)}",
    }


def _serve(url: str, folder: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWORKER_")}
    env.update(NEWSWORKER_DATABASE_URL=url, NEWSWORKER_DATA_DIR=str(folder),
               NEWSWORKER_WEB_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "web"], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/static/style.css", timeout=2)
            return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("newsworker web did not start")


def web_latencies(url: str, count: int, folder: Path, port: int = 18480,
                  runs: int = RUNS) -> dict[str, dict]:
    """p50/p95/max (ms) of every page and API call, `runs` requests each, one at a time."""
    from worker.store.db import dispose_all

    dispose_all()
    common, rare = _words(url)
    proc = _serve(url, folder, port)
    out: dict[str, dict] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            rng = random.Random(7)
            for name, draw in calls(count, common, rare).items():
                client.get(draw(rng))  # a first request warms the route's code and caches
                timings, statuses = [], set()
                for _ in range(runs):
                    path = draw(rng)
                    started = time.perf_counter()
                    response = client.get(path)
                    timings.append(1000 * (time.perf_counter() - started))
                    statuses.add(response.status_code)
                timings.sort()
                out[name] = {"p50": statistics.median(timings),
                             "p95": timings[max(0, int(0.95 * len(timings)) - 1)],
                             "max": timings[-1], "statuses": sorted(statuses)}
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def section(store: dict) -> str:
    """The RESULTS.md table of one store's web figures."""
    web = store.get("web")
    if not web:
        return ""
    worst = max(web, key=lambda name: web[name]["p95"])
    load = store.get("web_load")
    lines = [f"\n`newsworker web` on this store, {RUNS} requests per row, one at a time over "
             f"HTTP (uvicorn, one process): worst p95 **{web[worst]['p95']:.0f} ms** ({worst}; "
             f"target {TARGET_MS:.0f} ms)"
             + (f"; load average {load[0]:.1f} at the start" + (
                 f", {load[1]:.1f} at the end" if load[1] is not None else "")
                + " (2 cores shared with other work: the figures include waiting for a core)"
                if load else "")
             + ".\n",
             "| page or API call | p50 ms | p95 ms | max ms |", "|---|---|---|---|"]
    lines += [f"| {name} | {q['p50']:.1f} | {q['p95']:.1f} | {q['max']:.1f} |"
              for name, q in web.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Preload a store (SQLite, and PostgreSQL when an admin URL is given), measure, and
    put the figures into results.json and RESULTS.md through the report code."""
    import json
    import tempfile

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from report import report
    from store_scale import drop_pg, fresh_pg, preload

    from worker.store.db import dispose_all
    from worker.store.migrate import upgrade

    count = int(os.environ.get("BENCH_STORE_ARTICLES", "100000"))
    targets = [("embedded", None)]
    if len(sys.argv) > 1:
        targets.append(("Redis", sys.argv[1]))
    results_path = ROOT / "bench" / "results.json"
    figures = json.loads(results_path.read_text(encoding="utf-8"))
    # BENCH_WEB_SQLITE=path: measure an SQLite store preloaded earlier (with `count`
    # articles) instead of loading a new one; only SQLite then, unless a PostgreSQL URL
    # is given too.
    reuse = os.environ.get("BENCH_WEB_SQLITE")
    if reuse and len(sys.argv) > 1:
        targets = [("embedded", None), ("Redis", sys.argv[1])]
    for prefix, admin in targets:
        with tempfile.TemporaryDirectory() as tmp:
            url = fresh_pg(admin, "newsworker_bench_web") if admin else \
                f"sqlite:///{reuse or tmp + '/store.db'}"
            try:
                upgrade(url)
                dispose_all()
                loaded = {"seconds": None} if reuse and not admin else preload(url, count)
                print(f"{prefix}: preloaded {count:,} in {loaded['seconds']} s", flush=True)
                before = os.getloadavg()[0]
                web = web_latencies(url, count, Path(tmp))
                load = (before, os.getloadavg()[0])
            finally:
                dispose_all()
                if admin:
                    drop_pg(admin, "newsworker_bench_web")
        for name, q in web.items():
            print(f"  {name}: p50 {q['p50']:.1f} p95 {q['p95']:.1f} max {q['max']:.1f} "
                  f"{q['statuses']}", flush=True)
        for result in figures["results"]:
            if result["label"].startswith(prefix) and result.get("store"):
                result["store"]["web"], result["store"]["web_load"] = web, load
    figures["ceilings"] = [tuple(c) for c in figures["ceilings"]]
    results_path.write_text(json.dumps(figures, indent=1, default=str), encoding="utf-8")
    (ROOT / "bench" / "RESULTS.md").write_text(report(figures), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
