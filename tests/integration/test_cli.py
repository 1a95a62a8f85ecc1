"""The `newsworker` command, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.main import get_command

from tests.conftest import clean_env
from tests.newsroom import serve_newsroom, write_feeds_file
from worker.cli import app

ROOT = Path(__file__).resolve().parents[2]
NEWSWORKER = str(Path(sys.executable).parent / "newsworker")


def run(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    full_env = clean_env(**(env or {}))
    return subprocess.run([NEWSWORKER, *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=300)


def test_help_lists_every_command():
    out = run("--help").stdout
    for command in ("run", "ingest", "feeds", "db", "export", "extract", "config"):
        assert command in out
    assert set(get_command(app).commands) >= {"run", "ingest", "feeds", "db", "export",
                                               "extract", "config"}


def test_repository_feeds_file_is_valid():
    result = run("feeds", "check", "feeds.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_feeds_check_reports_each_problem_with_its_line(tmp_path):
    bad = tmp_path / "feeds.yaml"
    bad.write_text("defaults:\n  interval_seconds: 5\nfeeds:\n  - name: A\n    url: ftp://x\n"
                   "  - url: http://ok.test/rss\n    colour: blue\n", encoding="utf-8")
    result = run("feeds", "check", str(bad))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith(f"{bad}:2:") and "interval_seconds" in line for line in lines)
    assert any(line.startswith(f"{bad}:5:") and "ftp://x" in line for line in lines)
    assert any(line.startswith(f"{bad}:6:") and "'name' is a required property" in line
               for line in lines)
    assert any(f"{bad}:7:" in line and "colour" in line for line in lines)


def test_feeds_check_reports_broken_yaml(tmp_path):
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - name: A\n    url: [unclosed\n", encoding="utf-8")
    result = run("feeds", "check", str(bad))
    assert result.returncode == 1 and "not valid YAML" in result.stdout


def test_config_masks_secrets(tmp_path):
    result = run("config", env={"NEWSWORKER_DATABASE_URL":
                                "postgresql+psycopg://news:s3cret@db:5432/news",
                                "NEWSWORKER_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0
    assert "s3cret" not in result.stdout and "news:***@db" in result.stdout


def test_ingest_twice_then_export(site, tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site))
    env = {"NEWSWORKER_DATA_DIR": str(tmp_path / "var")}
    first = run("ingest", "--once", "--feeds", str(feeds), env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    second = run("ingest", "--once", "--feeds", str(feeds), env=env)
    assert second.returncode == 0
    exported = run("export", "--since", "0", env=env)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 9 and all(r["state"] == "done" for r in records)
    seqs = [r["seq"] for r in records]
    assert seqs == sorted(seqs)
    example = next(r for r in records if "blinken" in r["url"])
    labels = {(e["label"], e["canonical_name"]) for e in example["entities"]}
    persons = {name for label, name in labels if label == "PER"}
    assert persons == {"Anthony Blinken", "Joe Biden", "Volodymyr Zelensky", "Lloyd Austin"}
    assert {("LOC", p) for p in ("Ukraine", "États-Unis", "Kiev", "Pologne",
                                 "Grande-Bretagne")} <= labels
    assert {("ORG", "OTAN"), ("ORG", "Congrès")} <= labels
    dollars = {a["amount"] for a in example["amounts"] if a["currency"] == "USD"}
    assert dollars == {675e6, 2.2e9, 15.2e9}
    quotes = {q["text"]: q["speaker"] for q in example["quotes"]}
    assert "aussi longtemps que possible" in quotes
    opening = next(q for q in quotes if q.startswith("Le président Joe Biden"))
    assert quotes[opening] == "Anthony Blinken"
    assert any(q.endswith("675 millions de dollars") for q in quotes)
    # --since the last seq: nothing more
    tail = run("export", "--since", str(seqs[-1]), env=env)
    assert tail.stdout == ""


def test_extract_one_saved_page_prints_text_and_json(tmp_path):
    page = ROOT / "tests" / "fixtures" / "pages" / "art01.html"
    text = run("extract", str(page), "--format", "text")
    assert text.returncode == 0 and len(text.stdout) > 1000
    data = json.loads(run("extract", str(page), "--format", "json").stdout)
    assert data["text"].strip() == text.stdout.strip()
    assert data["entities"] and all("canonical_name" in e for e in data["entities"])


def test_migrations_keep_data_on_sqlite_and_commands_refuse_an_old_schema(site, tmp_path):
    """Upgrading a database that has data loses none of it (SQLite rebuilds tables)."""
    import sqlite3

    from worker.store.migrate import upgrade

    feeds = write_feeds_file(tmp_path / "feeds.yaml", serve_newsroom(site)[-1:])
    db = tmp_path / "var" / "newsworker.db"
    db.parent.mkdir(parents=True)
    upgrade(f"sqlite:///{db}", "0001")
    env = {"NEWSWORKER_DATA_DIR": str(tmp_path / "var")}
    assert run("status", env=env).returncode == 2  # behind: a clear refusal, not a traceback
    assert "newsworker db upgrade" in run("status", env=env).stderr
    assert run("ingest", "--once", "--feeds", str(feeds), env=env).returncode == 0
    # Down past the migration that rebuilds the feeds table, and up again.
    from alembic import command

    from worker.store.migrate import alembic_config

    command.downgrade(alembic_config(f"sqlite:///{db}"), "0002")
    upgrade(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        polls = conn.execute("SELECT count(*) FROM polls").fetchone()[0]
        linked = conn.execute("SELECT count(*) FROM articles WHERE feed_id IS NOT NULL"
                              ).fetchone()[0]
    assert polls == 1 and linked == 1
    status = run("feeds", "status", env=env)
    assert status.returncode == 0 and "Feed 0" in status.stdout and " ok " in status.stdout
