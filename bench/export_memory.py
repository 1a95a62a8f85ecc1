"""Peak memory of `newsworker export --since 0` as the store grows (it must stay flat).

Fills a SQLite store with N done articles (text, entities, mentions, amounts, quotes,
events) by bulk inserts, then runs the real command in a child process and reads its
peak RSS. Usage: `python bench/export_memory.py 5000 50000`; prints one line per size.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, update

NEWSWORKER = str(Path(sys.executable).parent / "newsworker")
TEXT = ("Le conseil municipal de Lyon a voté jeudi un budget de 120 millions d'euros pour "
        "la rénovation des écoles, a annoncé la maire, Claire Devaux. ") * 12


def fill(db_url: str, count: int, chunk: int = 5000) -> None:
    from worker.store.db import session_scope
    from worker.store.migrate import upgrade
    from worker.store.models import Amount, Article, Entity, Event, EventCounter, Mention, Quote

    upgrade(db_url)
    now = datetime.now(UTC)
    with session_scope(db_url) as session:
        session.execute(insert(Entity), [
            {"id": i + 1, "label": label, "key": name.lower(), "name": name,
             "mention_count": 0, "article_count": 0}
            for i, (label, name) in enumerate([("LOC", "Lyon"), ("PER", "Claire Devaux")])])
    for start in range(0, count, chunk):
        ids = range(start + 1, min(count, start + chunk) + 1)
        with session_scope(db_url) as session:
            session.execute(insert(Article), [
                {"id": i, "url_key": hashlib.sha256(f"u{i}".encode()).hexdigest(),
                 "canonical_url": f"https://news.test/a/{i}", "url": f"https://news.test/a/{i}",
                 "state": "done", "state_changed_at": now, "title": f"Article {i}",
                 "text": TEXT, "body": TEXT, "language": "fr", "extraction": "page",
                 "discovered_at": now, "updated_at": now, "done_at": now} for i in ids])
            session.execute(insert(Mention), [
                {"article_id": i, "entity_id": e, "start": 0, "end": 4, "text": "Lyon",
                 "sentence": TEXT[:120]} for i in ids for e in (1, 2)])
            session.execute(insert(Amount), [
                {"article_id": i, "kind": "money", "start": 40, "end": 60,
                 "text": "120 millions d'euros", "value": 1.2e8, "currency": "EUR"} for i in ids])
            session.execute(insert(Quote), [
                {"article_id": i, "start": 0, "end": 20, "text": "Nous rénoverons",
                 "speaker": "Claire Devaux"} for i in ids])
            session.execute(insert(Event), [
                {"seq": i, "article_id": i, "kind": "done", "state": "done", "created_at": now}
                for i in ids])
    with session_scope(db_url) as session:
        session.execute(update(EventCounter).values(last_seq=count))


def export_peak_rss(folder: Path, db_url: str) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, lines) of `newsworker export --since 0` to a file."""
    env = {**os.environ, "NEWSWORKER_DATABASE_URL": db_url,
           "NEWSWORKER_DATA_DIR": str(folder)}
    out = folder / "export.jsonl"
    started = time.monotonic()
    with out.open("wb") as sink:
        subprocess.run([NEWSWORKER, "export", "--since", "0"], env=env, stdout=sink,
                       check=True, cwd=folder)
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = sum(1 for _ in out.open("rb"))
    return elapsed, peak, lines


def main(sizes: list[int]) -> list[str]:
    rows = []
    for size in sizes:
        # Each size in a fresh child, so the peak RSS read is that export's own.
        result = subprocess.run([sys.executable, __file__, "--one", str(size)],
                                capture_output=True, text=True, check=True)
        rows.append(result.stdout.strip())
        print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if sys.argv[1:2] == ["--one"]:
        size = int(sys.argv[2])
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'store.db'}"
            fill(url, size)
            seconds, peak, lines = export_peak_rss(Path(tmp), url)
        print(f"export of {lines} articles: {seconds:.1f} s, peak RSS {peak:.0f} MB")
    else:
        main([int(a) for a in sys.argv[1:]] or [5000, 50000])
