"""A large store: 100,000 stored articles bulk-loaded, then consumer queries timed.

The rows look like the service's own: each article done, with its URL, text hash, story,
MinHash signature and LSH bands, page record, about 30 mentions of a dozen entities
(popularity skewed like real news), amounts, dates, a quote and its four change events.
Rows go in through executemany (SQLite) or COPY (PostgreSQL): a minute, not hours.
Every URL is on 127.0.0.1 port 9 and every preloaded feed is disabled: nothing is fetched.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from pages import body_paragraphs, paragraph_pool, sentence_pool

ENTITIES = 20_000
FEEDS = 200
DAYS = 100  # the articles' done_at spread over the last 100 days: ~1,000 a day
LABELS = ("PER", "ORG", "LOC", "MISC")
EVENT_KINDS = ("discovered", "fetched", "extracted", "done")
CHUNK = 20_000

COLUMNS = {
    "feeds": ("id", "url", "name", "enabled", "in_file", "interval_seconds", "tags",
              "respect_robots", "adaptive", "consecutive_failures", "created_at", "updated_at"),
    "entities": ("id", "label", "key", "name", "mention_count", "article_count"),
    "stories": ("id", "representative_id", "created_at"),
    "articles": ("id", "url_key", "canonical_url", "url", "feed_id", "state", "state_changed_at",
                 "attempts", "entry_title", "entry_categories", "title", "authors", "published",
                 "site_name", "language", "categories", "tags", "text", "body", "extraction",
                 "paywalled", "text_hash", "minhash", "story_id", "discovered_at",
                 "updated_at", "done_at"),
    "article_urls": ("id", "url_key", "url", "article_id", "feed_id", "seen_at"),
    "pages": ("article_id", "url", "status", "headers", "fetched_at"),
    "text_hashes": ("text_hash", "article_id"),
    "minhash_bands": ("band_key", "article_id"),
    "mentions": ("article_id", "entity_id", "start", "end", "text", "sentence"),
    "amounts": ("article_id", "kind", "start", "end", "text", "value", "currency"),
    "date_mentions": ("article_id", "start", "end", "text", "value"),
    "quotes": ("article_id", "start", "end", "text", "speaker", "speaker_entity_id"),
    "events": ("seq", "article_id", "kind", "state", "created_at"),
}


class Generator:
    """Deterministic rows for `count` articles."""

    def __init__(self, count: int, now: datetime, sqlite: bool, seed: int = 11,
                 bands: int = 25) -> None:  # 25 bands: lsh_shape(0.5, 128)
        self.count, self.bands = count, bands
        # SQLite gets SQLAlchemy's own text format for stamps (naive UTC), made once here.
        self.stamp = _sqlite_stamp if sqlite else (lambda value: value)
        self.now = self.stamp(now)
        self._now = now
        self.rng = random.Random(seed)
        sentences = sentence_pool(paragraph_pool())
        # 400 distinct bodies, reused: only their size matters to the store.
        self.texts = ["\n\n".join(body_paragraphs(self.rng, sentences, self._words()))
                      for _ in range(400)]
        self.sentences = sentences
        # Zipf-like popularity: a few entities in many articles, most in a handful.
        self.cum_weights = list(itertools.accumulate(1 / (rank + 1) ** 1.1
                                                     for rank in range(ENTITIES)))
        self.story_of: dict[int, int] = {}
        self.story_bands: dict[int, list[int]] = {}

    def _words(self) -> int:
        return int(min(6000, max(150, math.exp(self.rng.gauss(math.log(650), 0.6)))))

    def done_at(self, i: int) -> datetime:
        # Article ids grow with time: the newest ones are the last day's.
        return self._now - timedelta(days=DAYS) * (1 - i / self.count) - timedelta(minutes=1)

    def feeds(self) -> Iterator[tuple]:
        for i in range(1, FEEDS + 1):
            yield (i, f"http://127.0.0.1:9/preload/{i}.rss", f"Preload {i}", False, False,
                   900, "[]", True, False, 0, self.now, self.now)

    def entities(self) -> Iterator[tuple]:
        for i in range(1, ENTITIES + 1):
            name = f"Entité {i}"
            yield (i, LABELS[i % 4], name.lower(), name, 0, 0)

    def stories(self) -> Iterator[tuple]:
        """One story per article that starts one; about 12 % of articles join an earlier one."""
        story = 0
        for i in range(1, self.count + 1):
            if i > 10 and self.rng.random() < 0.12:
                self.story_of[i] = self.story_of[self.rng.randint(max(1, i - 200), i - 1)]
            else:
                story += 1
                self.story_of[i] = story
                yield (story, i, self.stamp(self.done_at(i)))

    def articles(self) -> Iterator[tuple]:
        for i in range(1, self.count + 1):
            text = self.texts[i % len(self.texts)]
            done = self.done_at(i)
            stamp = self.stamp(done)
            url = f"http://127.0.0.1:9/preload/a/{i}"
            yield (i, _key(url), url, url, 1 + i % FEEDS, "done", stamp, 1, f"Titre {i}", "[]",
                   f"Titre de l'article {i}", '["Rédaction"]', done.isoformat(), "Preload",
                   "fr", "[]", "[]", text, text, "page", False,
                   hashlib.sha256(str(i).encode()).hexdigest(), self.rng.randbytes(1024),
                   self.story_of[i], self.stamp(done - timedelta(minutes=3)), stamp, stamp)

    def per_article(self) -> Iterator[tuple[str, tuple]]:
        """Rows of the per-article tables, tagged with their table."""
        rng = self.rng
        for i in range(1, self.count + 1):
            stamp, url = self.stamp(self.done_at(i)), f"http://127.0.0.1:9/preload/a/{i}"
            yield "article_urls", (i, _key(url), url, i, 1 + i % FEEDS, stamp)
            yield "pages", (i, url, 200, '{"content-type": "text/html"}', stamp)
            yield "text_hashes", (hashlib.sha256(str(i).encode()).hexdigest(), i)
            for key in self._bands(i):
                yield "minhash_bands", (key, i)
            yield from self._annotations(i, rng)
            for n, kind in enumerate(EVENT_KINDS):
                yield "events", (4 * (i - 1) + n + 1, i, kind, kind, stamp)

    def _bands(self, i: int) -> list[int]:
        # Near-duplicates in one story share most of their bands, as real ones do.
        story = self.story_of[i]
        own = [self.rng.getrandbits(63) for _ in range(self.bands)]
        if story in self.story_bands:
            shared = self.story_bands[story]
            return shared[: self.bands * 2 // 3] + own[self.bands * 2 // 3:]
        self.story_bands[story] = own
        return own

    def _annotations(self, i: int, rng: random.Random) -> Iterator[tuple[str, tuple]]:
        entities = set(rng.choices(range(1, ENTITIES + 1), cum_weights=self.cum_weights, k=12))
        for entity in entities:
            for n in range(rng.randint(1, 5)):
                sentence = rng.choice(self.sentences)
                yield "mentions", (i, entity, 100 * n, 100 * n + 14, f"Entité {entity}",
                                   sentence)
        for n in range(2):
            yield "amounts", (i, "money", 50 * n, 50 * n + 18, "3 millions d'euros", 3e6, "EUR")
            yield "date_mentions", (i, 70 * n, 70 * n + 12, "12 mars 2024", "2024-03-12")
        speaker = next(iter(entities))
        yield "quotes", (i, 10, 60, rng.choice(self.sentences), f"Entité {speaker}", speaker)


# --- writing ----------------------------------------------------------------------------------

def _key(url: str) -> str:  # repo.url_key: the indexed identity of a URL
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _sqlite_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Writer:
    """Rows to one database, buffered per table: executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.sqlite = url.startswith("sqlite")
        self.raw = self.engine.raw_connection()
        self.buffers: dict[str, list[tuple]] = {}
        if self.sqlite:
            # A big page cache: 2 million random LSH band keys thrash the default 2 MB one.
            self.raw.execute("PRAGMA synchronous=OFF")
            self.raw.execute("PRAGMA cache_size=-400000")

    def add(self, table: str, row: tuple) -> None:
        buffer = self.buffers.setdefault(table, [])
        buffer.append(row)
        if len(buffer) >= CHUNK:
            self.flush(table)

    def flush(self, table: str) -> None:
        rows, self.buffers[table] = self.buffers.get(table, []), []
        if not rows:
            return
        columns = COLUMNS[table]
        quoted = ", ".join(f'"{c}"' for c in columns)
        cursor = self.raw.cursor()
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
        else:
            with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cursor.close()

    def close(self) -> None:
        for table in list(self.buffers):
            self.flush(table)
        self.raw.commit()
        self.raw.close()


def preload(url: str, count: int) -> dict:
    """Bulk-load `count` articles into the migrated, empty database at `url`."""
    started = time.perf_counter()
    writer = Writer(url)
    gen = Generator(count, datetime.now(UTC), writer.sqlite)
    for table, rows in (("feeds", gen.feeds()), ("entities", gen.entities()),
                        ("stories", gen.stories()), ("articles", gen.articles())):
        for row in rows:
            writer.add(table, row)
        writer.flush(table)
    counts: dict[str, int] = {}
    for table, row in gen.per_article():
        writer.add(table, row)
        counts[table] = counts.get(table, 0) + 1
    writer.close()
    _finish(writer.engine, count)
    writer.engine.dispose()
    return {"seconds": time.perf_counter() - started, "rows": counts}


def _finish(engine: sa.Engine, count: int) -> None:
    """Counters and sequences past the loaded ids; entity counts; statistics (PostgreSQL)."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE event_counter SET last_seq = :n"), {"n": 4 * count})
        conn.execute(sa.text(
            "UPDATE entities SET mention_count = c.m, article_count = c.a FROM "
            "(SELECT entity_id, count(*) AS m, count(DISTINCT article_id) AS a FROM mentions "
            "GROUP BY entity_id) AS c WHERE entities.id = c.entity_id"))
        if engine.dialect.name == "postgresql":
            for table in ("feeds", "entities", "stories", "articles", "article_urls",
                          "minhash_bands", "mentions", "amounts", "date_mentions", "quotes"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load; the service itself writes row by row.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


# --- consumer queries -------------------------------------------------------------------------

QUERIES = {
    "articles mentioning an entity, last 24 h": (
        "SELECT a.id, a.title, a.done_at FROM articles a WHERE a.done_at >= :since "
        "AND EXISTS (SELECT 1 FROM mentions m WHERE m.article_id = a.id "
        "AND m.entity_id = :entity) ORDER BY a.done_at DESC LIMIT 100"),
    "articles of a story": (
        "SELECT a.id, a.title, a.done_at FROM articles a WHERE a.story_id = :story "
        "ORDER BY a.id"),
    "events after a seq (1,000)": (
        "SELECT seq, article_id, kind, state, created_at FROM events "
        "WHERE seq > :seq ORDER BY seq LIMIT 1000"),
}


def _params(name: str, rng: random.Random, count: int, now: datetime) -> dict:
    if name.startswith("articles mentioning"):
        # Half popular entities (thousands of mentions), half from the long tail.
        entity = rng.randint(1, 50) if rng.random() < 0.5 else rng.randint(51, ENTITIES)
        return {"entity": entity, "since": now - timedelta(hours=24)}
    if name.startswith("articles of"):
        return {"story": rng.randint(1, int(count * 0.85))}
    return {"seq": rng.randint(0, 4 * count - 1000)}


def _explain(conn, sql: str, params: dict) -> str:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(sa.text("EXPLAIN " + sql), params).scalars().all()
    else:
        rows = [r[-1] for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql), params)]
    return "\n".join(rows)


def query_latencies(url: str, count: int, runs: int = 200) -> dict[str, dict]:
    """p50/p95/max of each consumer query, and its plan (with the popular-entity case)."""
    rng, now = random.Random(5), datetime.now(UTC)
    engine = sa.create_engine(url)
    out: dict[str, dict] = {}
    with engine.connect() as conn:
        for name, sql in QUERIES.items():
            statement = sa.text(sql)
            timings = []
            for _ in range(runs):
                params = _params(name, rng, count, now)
                started = time.perf_counter()
                conn.execute(statement, params).all()
                timings.append(1000 * (time.perf_counter() - started))
            plan_params = _params(name, random.Random(1), count, now)
            if "entity" in plan_params:
                plan_params["entity"] = 1  # the most mentioned one
            timings.sort()
            out[name] = {"p50": statistics.median(timings),
                         "p95": timings[int(0.95 * len(timings)) - 1], "max": timings[-1],
                         "plan": _explain(conn, sql, plan_params)}
            conn.rollback()
    engine.dispose()
    return out


def database_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return int(size)


def fresh_pg(admin_url: str, name: str) -> str:
    """A new empty PostgreSQL database `name` (dropped first if it exists); its URL."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg(admin_url: str, name: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


if __name__ == "__main__":  # a quick look: BENCH_STORE_ARTICLES articles, SQLite or PostgreSQL
    import sys
    import tempfile

    from worker.store.migrate import upgrade

    n = int(os.environ.get("BENCH_STORE_ARTICLES", "10000"))
    pg_admin = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_pg(pg_admin, "newsworker_bench_store") if pg_admin else \
            f"sqlite:///{tmp}/store.db"
        upgrade(db)
        print(preload(db, n))
        print(database_bytes(db) / n, "bytes per article")
        for query, result in query_latencies(db, n).items():
            print(query, {k: v for k, v in result.items() if k != "plan"})
            print(result["plan"])
        if pg_admin:
            from worker.store.db import dispose_all

            dispose_all()
            drop_pg(pg_admin, "newsworker_bench_store")
