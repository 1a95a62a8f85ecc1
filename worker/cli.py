"""The `newsworker` command."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from worker.settings import get_settings

app = typer.Typer(help="French news feeds in, clean annotated deduplicated articles out.",
                  no_args_is_help=True, add_completion=False)
feeds_app = typer.Typer(help="Check and list the feeds of feeds.yaml.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(db_app, name="db")
console = Console(stderr=True)


def _logging() -> None:
    level = getattr(logging, get_settings().log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise


@app.command()
def run(role: str = typer.Option("all", help="all (worker + scheduler), worker or beat."),
        queues: str = typer.Option("io,nlp", help="Queues a worker consumes."),
        concurrency: int = typer.Option(0, help="Worker processes; 0 means one per core.")):
    """Start the service: migrate, then run the Celery worker and/or its scheduler."""
    from worker.celery_app import app as celery
    from worker.store.db import dispose_all
    from worker.store.migrate import upgrade

    if role not in ("all", "worker", "beat"):
        raise typer.BadParameter("role must be all, worker or beat")
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())
    dispose_all()  # the worker forks: no pooled connection may cross into the children
    level = settings.log_level.upper()
    if role == "beat":
        celery.start(["beat", "-l", level])
        return
    argv = ["worker", "-Q", queues, "-l", level, "-n", f"newsworker-{role}@%h"]
    if concurrency:
        argv += ["-c", str(concurrency)]
    if role == "all":
        argv.append("-B")
    celery.worker_main(argv)


@app.command()
def ingest(once: bool = typer.Option(True, "--once/--no-once",
                                     help="One pass, in-process, no broker (the only mode)."),
           feeds: Path = typer.Option(None, "--feeds", help="Feeds file (default: setting).")):
    """Poll every enabled feed once and process what it brings, in this process."""
    from worker.feedsfile import FeedsFileError
    from worker.ingest import ingest_once

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
    from worker.feedsfile import FeedsFileError, load

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
    from worker.feedsfile import load

    table = Table("name", "url", "interval (s)", "tags", "enabled")
    for f in load(path or get_settings().feeds_file).feeds:
        table.add_row(f.name, f.url, str(f.interval_seconds), ", ".join(f.tags),
                      "yes" if f.enabled else "no")
    Console().print(table)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")):
    """Apply the migrations to the configured database."""
    from worker.store.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url(), revision)
    print(f"database at revision {revision}")


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
    with session_scope(get_settings().resolved_database_url()) as session:
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
def extract(source: str = typer.Argument(..., help="A saved HTML file or an http(s) URL."),
            fmt: str = typer.Option("text", "--format", help="text (the body) or json.")):
    """Extract and annotate one page and print it; nothing is stored."""
    from worker.tryout import try_page

    settings = get_settings()
    record = try_page(settings, source)
    if fmt == "text":
        print(record["text"])
    else:
        print(json.dumps(record, ensure_ascii=False, indent=2))


@app.command()
def config():
    """Print the effective settings, secrets masked."""
    table = Table("setting", "value")
    for name, value in get_settings().masked().items():
        table.add_row(f"NEWSWORKER_{name.upper()}", value)
    Console().print(table)


if __name__ == "__main__":
    app()
