"""The `newsworker` command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from worker.settings import get_settings

app = typer.Typer(help="French news feeds in, clean annotated deduplicated articles out.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
feeds_app = typer.Typer(help="Check and list the feeds of feeds.yaml.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
failures_app = typer.Typer(help="Dead letters: list and retry.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(failures_app, name="failures")
places_app = typer.Typer(help="Places of the place names (LOC entities).",
                         no_args_is_help=True)
app.add_typer(places_app, name="places")
console = Console(stderr=True, soft_wrap=True)


def _database(read_only: bool = False) -> str:
    """The configured database URL, checked to be migrated (else a clear exit)."""
    from worker.store.migrate import pending

    url = get_settings().resolved_database_url()
    problem = pending(url, read_only)
    if problem:
        console.print(f"[red]{problem}")
        raise typer.Exit(2)
    return url


def _logging() -> None:
    from worker.logs import configure

    configure(get_settings().log_level, get_settings().log_format)


def _metrics_folder(settings, role: str) -> None:
    """Celery's worker processes share their metrics through files in a fresh folder."""
    import os
    import shutil

    from worker import outage

    folder = (settings.data_dir / "metrics" / f"{role}-{os.getpid()}").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(folder))
    outage.use_folder(folder)  # the role logs an outage once, whichever process meets it


def _warn_no_contact() -> None:
    """Publishers block crawlers they cannot identify or reach: say so until it is set."""
    import logging

    logging.getLogger("worker.cli").warning(
        "NEWSWORKER_USER_AGENT_CONTACT is not set: requests identify as newsworker with no "
        "way for publishers to reach you; set it to a page or e-mail address of yours")


@app.command()
def run(role: str = typer.Option("all", help="all (worker + scheduler), worker or beat."),
        queues: str = typer.Option("io,nlp", help="Queues a worker consumes."),
        concurrency: int = typer.Option(
            0, help="Worker processes; 0: one per core (role all: one more than the cores)."),
        web_pages: bool = typer.Option(None, "--web/--no-web",
                                       help="Also serve the web pages (default: role all).")):
    """Start the service: migrate, then run the Celery worker and/or its scheduler."""
    if role not in ("all", "worker", "beat"):
        raise typer.BadParameter("role must be all, worker or beat")
    settings = get_settings()
    _logging()
    if not settings.user_agent_contact:
        _warn_no_contact()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _metrics_folder(settings, role)
    from worker import metrics
    from worker.celery_app import CONTROL_QUEUE
    from worker.celery_app import app as celery
    from worker.store.db import dispose_all
    from worker.store.migrate import upgrade

    upgrade(settings.resolved_database_url())
    dispose_all()  # the worker forks: no pooled connection may cross into the children
    level = settings.log_level.upper()
    if role != "beat":
        metrics.serve(settings)
    if role == "beat":
        # The scheduler with one embedded worker process for the control queue: tick,
        # sweep and retention run at their pace whatever waits on io and nlp.
        queues, concurrency = CONTROL_QUEUE, 1
    elif role == "all":
        if CONTROL_QUEUE not in queues.split(","):
            queues += f",{CONTROL_QUEUE}"
        # One process does every step here, and a fetch or a wait for SQLite's write lock
        # leaves its core idle: one process more than the cores keeps them busy (measured
        # in `make bench`: +10 % articles/s on 2 cores, for one more process's memory).
        concurrency = concurrency or (os.cpu_count() or 1) + 1
    # Gossip and mingle are workers talking to each other through the broker (a message
    # per heartbeat of every other worker); nothing here uses them, they only cost CPU.
    argv = ["worker", "-Q", queues, "-l", level, "-n", f"newsworker-{role}@%h",
            "--without-gossip", "--without-mingle"]
    if concurrency:
        argv += ["-c", str(concurrency)]
    if role in ("all", "beat"):
        argv.append("-B")
    if (role == "all" and settings.web_port != 0) if web_pages is None else web_pages:
        _start_web(settings)
    celery.worker_main(argv)


def _death_signal():
    """Linux: a function that makes the kernel end a child when `run` dies without its
    exit hooks (SIGKILL); bound before the fork (no import in the child); None elsewhere."""
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (AttributeError, OSError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_web(settings) -> None:
    """`newsworker web` beside the worker, in its own process, ended with this one."""
    import atexit
    import subprocess

    from worker.web.auth import is_loopback

    if not is_loopback(settings.web_host) and not settings.web_token:
        console.print(f"[yellow]web pages not started: {settings.web_host} is not the loopback "
                      "and NEWSWORKER_WEB_TOKEN is not set")
        return
    child = subprocess.Popen([sys.executable, "-m", "worker.cli", "web"],
                             preexec_fn=_death_signal())
    parent = os.getpid()
    # Only this process ends it: the worker's forked children run atexit hooks too.
    atexit.register(lambda: os.getpid() == parent and child.poll() is None and child.terminate())
    host = f"[{settings.web_host}]" if ":" in settings.web_host else settings.web_host
    console.print(f"[bold]newsworker web pages: http://{host}:{settings.web_port}/")


@app.command()
def web(host: str = typer.Option(None, help="Address to bind (default 127.0.0.1, the "
                                            "setting NEWSWORKER_WEB_HOST)."),
        port: int = typer.Option(None, help="Port (default 8080, NEWSWORKER_WEB_PORT).")):
    """Serve the read-only web pages and JSON API (/api/v1) over the database."""
    from worker.web.auth import is_loopback

    settings = get_settings()
    host = host or settings.web_host
    port = settings.web_port if port is None else port
    if not is_loopback(host) and not settings.web_token:
        console.print(f"[red]refusing to serve on {host}: only the loopback is served without "
                      "a token. Set NEWSWORKER_WEB_TOKEN (every page and API call will ask "
                      "for it), or keep the default 127.0.0.1")
        raise typer.Exit(2)
    _logging()
    _database(read_only=True)
    import uvicorn

    from worker.web.app import create_app

    shown = f"[{host}]" if ":" in host else host
    console.print(f"[bold]newsworker web on http://{shown}:{port}/[/] (API: /api/v1, "
                  f"{'token required' if settings.web_token else 'no token: loopback only'})")
    # A short grace at shutdown: open event streams never end by themselves.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=2, server_header=False, proxy_headers=False)


@app.command()
def ingest(once: bool = typer.Option(True, "--once/--no-once",
                                     help="One pass, in-process, no broker (the only mode)."),
           feeds: Path = typer.Option(None, "--feeds", help="Feeds file (default: setting).")):
    """Poll every enabled feed once and process what it brings, in this process."""
    from worker.feeds.file import FeedsFileError
    from worker.ingest import ingest_once

    if not once:
        console.print("[red]ingest only runs once; `newsworker run` is the continuous service")
        raise typer.Exit(2)
    _logging()
    settings = get_settings()
    path = feeds or settings.feeds_file
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed}"),
                  console=console) as progress:
        tasks: dict[str, int] = {}

        def advance(stage: str, n: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=None)
            progress.advance(tasks[stage], n)

        try:
            summaries = ingest_once(settings, path, advance)
        except FeedsFileError as exc:
            for problem in exc.problems:
                console.print(f"[red]{path}: {problem}")
            raise typer.Exit(2) from exc
    table = Table("feed", "poll", "new", "done", "duplicate", "failed", "error")
    for s in summaries:
        table.add_row(s.name, s.poll, str(s.new), str(s.states.get("done", 0)),
                      str(s.states.get("duplicate", 0)), str(s.states.get("failed", 0)),
                      (s.error or "")[:60])
    Console().print(table)


@feeds_app.command("check")
def feeds_check(path: Path = typer.Argument(None, help="Feeds file (default: setting).")):
    """Validate a feeds file; print every problem with its line; exit 1 if any."""
    from worker.feeds.file import FeedsFileError, load

    path = path or get_settings().feeds_file
    try:
        feeds = load(path)
    except FeedsFileError as exc:
        for problem in exc.problems:
            print(f"{path}:{problem.line or 0}: {problem.path or '(top)'}: {problem.message}")
        raise typer.Exit(1) from exc
    enabled = sum(1 for f in feeds.feeds if f.enabled)
    print(f"{path}: OK, {len(feeds.feeds)} feeds ({enabled} enabled)")


@feeds_app.command("list")
def feeds_list(path: Path = typer.Argument(None, help="Feeds file (default: setting).")):
    """List the feeds of a feeds file."""
    from worker.feeds.file import load

    table = Table("name", "url", "interval (s)", "tags", "enabled")
    for f in load(path or get_settings().feeds_file).feeds:
        table.add_row(f.name, f.url, str(f.interval_seconds), ", ".join(f.tags),
                      "yes" if f.enabled else "no")
    Console().print(table)


def _ago(when, now) -> str:
    if when is None:
        return "-"
    seconds = int((now - when).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    text = (f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200
            else f"{seconds // 3600}h")
    return f"in {text}" if future else f"{text} ago"


def _feeds_table(session, now) -> Table:
    from worker.store.health import feed_health

    table = Table("feed", "state", "last success", "failures", "next poll", "interval",
                  "polls 24h", "new 24h", "last error", title="Feeds")
    for row in feed_health(session, now):
        table.add_row(row["name"], row["state"], _ago(row["last_success"], now),
                      str(row["failures"]), _ago(row["next_poll"], now),
                      f"{row['interval']}s", str(row["polls_24h"]), str(row["new_24h"]),
                      (row["last_error"] or "")[:50])
    return table


@feeds_app.command("status")
def feeds_status():
    """Feed health from the database: last success, failures, next poll, last error."""
    from worker.store.db import session_scope
    from worker.store.repo import now

    with session_scope(_database()) as session:
        Console(width=200).print(_feeds_table(session, now()))


@app.command()
def status():
    """Feed health, work by state, queue depths and the last hour's throughput."""
    from worker.broker import queue_depths
    from worker.store.db import session_scope
    from worker.store.health import throughput
    from worker.store.repo import counts_by_state, now

    settings = get_settings()
    console_out = Console(width=200)
    with session_scope(_database()) as session:
        stamp = now()
        console_out.print(_feeds_table(session, stamp))
        work = Table("state", "articles", title="Work by state")
        for state, count in sorted(counts_by_state(session).items()):
            work.add_row(state, str(count))
        console_out.print(work)
        hour = throughput(session, stamp)
    queues = Table("queue", "waiting", title="Queues")
    for name, depth in queue_depths(settings).items():
        queues.add_row(name, "?" if depth is None else str(depth))
    console_out.print(queues)
    console_out.print(f"Last hour: {hour['articles_done']} articles done, {hour['polls']} polls, "
                      f"{hour['failures']} failures")


@failures_app.command("list")
def failures_list(limit: int = typer.Option(50, help="How many, newest first.")):
    """Permanent failures (dead letters) not yet retried."""
    from worker.store.db import session_scope
    from worker.store.health import open_failures

    table = Table("id", "when", "stage", "reason", "article", "feed", "message")
    with session_scope(_database()) as session:
        for f in open_failures(session, limit):
            table.add_row(str(f.id), f.created_at.strftime("%Y-%m-%d %H:%M"), f.stage,
                          f.reason, str(f.article_id or ""), str(f.feed_id or ""),
                          (f.message or "")[:80])
    Console(width=200).print(table)


@failures_app.command("retry")
def failures_retry(ids: list[int] = typer.Argument(None, help="Failure ids; none = all.")):
    """Send failed articles back through the pipeline (and re-enable feeds a 410 disabled)."""
    from worker.store.db import session_scope
    from worker.store.health import retry_failures

    with session_scope(_database()) as session:
        retried = retry_failures(session, ids or None)
    try:
        from worker import tasks
        from worker.upkeep import NEXT_STEP

        for article_id, state in retried:
            tasks.STEP_TASKS[NEXT_STEP[state]].delay(article_id)
    except Exception as exc:  # noqa: BLE001 - the sweep re-enqueues them anyway
        console.print(f"[yellow]broker unreachable ({exc}); the sweep will pick them up")
    print(f"{len(retried)} articles sent back")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")):
    """Apply the migrations to the configured database."""
    from worker.store.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url(), revision)
    print(f"database at revision {revision}")


@places_app.command("backfill")
def places_backfill(page: int = typer.Option(500, min=1, help="Articles per transaction.")):
    """Give places and countries to the stored articles that have none (stored before
    places existed), from their stored text and entities; a `places` event for each
    article changed. Safe to run again: it then changes nothing."""
    from worker.nlp.placenames import load_gazetteer, use_cache_dir
    from worker.store.places import backfill_places

    url = _database()
    use_cache_dir(get_settings().data_dir / "cache")  # the place names the workers built
    read, changed = backfill_places(url, load_gazetteer(), page)
    print(f"{changed} articles given places ({read} done articles read)")


@app.command()
def export(since: int = typer.Option(0, help="Last event seq already seen; 0 is everything."),
           until: int = typer.Option(None, help="Last event seq to include."),
           fmt: str = typer.Option("jsonl", "--format", help="jsonl (one object per line)."),
           kind: str = typer.Option("articles", "--records",
                                    help="articles, events, stories or entities.")):
    """Print the articles changed after event SINCE, one JSON object per line, in seq order."""
    from worker.store import records
    from worker.store.db import session_scope

    if fmt != "jsonl":
        raise typer.BadParameter("only jsonl is supported")
    if kind not in ("articles", "events", "stories", "entities"):
        raise typer.BadParameter("--records must be articles, events, stories or entities")
    with session_scope(_database()) as session:
        if kind == "articles":
            rows = (dict(r, seq=seq) for seq, r in records.export_records(session, since, until))
        elif kind == "events":
            rows = iter(records.event_records(session, since, until, limit=10**9))
        elif kind == "stories":
            rows = records.story_records(session)
        else:
            rows = records.entity_records(session)
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


@app.command()
def trends(hours: int = typer.Option(24, min=1, help="The window: the last HOURS."),
           fmt: str = typer.Option("table", "--format", help="table or json (one per line)."),
           limit: int = typer.Option(20, min=1, help="How many, highest score first."),
           kind: str = typer.Option(None, help="entity or story (default: both).")):
    """Entities and stories rising most in the window over their baseline (7 days before)."""
    from worker.store.db import session_scope
    from worker.store.trends import trends as rising

    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    if kind not in (None, "entity", "story"):
        raise typer.BadParameter("--kind must be entity or story")
    with session_scope(_database()) as session:
        found = rising(session, hours=hours, limit=limit, kind=kind)
    if fmt == "json":
        for trend in found:
            sys.stdout.write(json.dumps(trend.record(), ensure_ascii=False) + "\n")
        return
    table = Table("kind", "id", "name", "count", "baseline", "score",
                  title=f"Rising over the last {hours} h")
    for t in found:
        name = f"{t.name} ({t.label})" if t.label else t.name
        table.add_row(t.kind, str(t.id), name, str(t.count), f"{t.baseline:g}", f"{t.score:g}")
    Console(width=200).print(table)


@app.command()
def extract(source: str = typer.Argument(..., help="A saved HTML file or an http(s) URL."),
            fmt: str = typer.Option("text", "--format", help="text (the body) or json.")):
    """Extract and annotate one page and print it; nothing is stored."""
    from worker.preview import preview

    record = preview(get_settings(), source)
    if fmt == "text":
        print(record["text"])
    else:
        print(json.dumps(record, ensure_ascii=False, indent=2))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _database_problem(url: str) -> str | None:
    """None when the database answers a query within seconds, else why not (no side effect)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from worker.settings import mask_url

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Connecting would create an empty file: a missing one is the answer.
        if parsed.database and not Path(parsed.database).is_file():
            return f"database: no SQLite file at {parsed.database}"
        connect_args: dict = {"timeout": 5}
    else:
        connect_args = {"connect_timeout": 5}
    engine = sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure is the reason to report
        return f"database {mask_url(url)} does not answer: {_first_line(exc)}"
    finally:
        engine.dispose()
    return None


def _broker_problem(settings) -> str | None:
    """None when the broker can take messages, else why not."""
    import os

    from worker.settings import mask_url

    url = settings.resolved_broker_url()
    if settings.embedded_broker:
        # The filesystem broker is a folder: it must exist, or be creatable, and be writable.
        folder = (settings.data_dir / "broker").resolve()
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
            return f"broker: folder {existing} is not writable"
        return None
    try:
        if url.startswith(("redis://", "rediss://")):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=5) as connection:
                connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure is the reason to report
        return f"broker {mask_url(url)} does not answer: {_first_line(exc)}"
    return None


@app.command()
def health():
    """Check that the database answers and the broker is reachable; exit 0 or 1, one line
    naming each of them that is down."""
    settings = get_settings()
    problems = [p for p in (_database_problem(settings.resolved_database_url()),
                            _broker_problem(settings)) if p]
    if problems:
        print(f"unhealthy: {'; '.join(problems)}")
        raise typer.Exit(1)
    print("ok: database answers, broker reachable")


@app.command()
def config():
    """Print the effective settings, secrets masked."""
    table = Table("setting", "value")
    for name, value in get_settings().masked().items():
        table.add_row(f"NEWSWORKER_{name.upper()}", value)
    Console().print(table)


if __name__ == "__main__":
    app()
