"""Engines and sessions. One engine per database URL per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (consumers, the CLI) work while a worker writes; busy_timeout makes
    # concurrent writers wait for the lock instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # A ping before each checkout: a connection the server dropped (a restart, an outage)
    # is replaced before a step uses it, instead of failing a statement after the step
    # has counted its attempt (without it, an 8 s outage used up articles' attempts).
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """One short transaction: committed on success, rolled back on any error."""
    session = _factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@lru_cache(maxsize=8)
def _bookkeeping_engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         isolation_level="AUTOCOMMIT",
                         connect_args={"options": "-c synchronous_commit=off"})


@lru_cache(maxsize=8)
def _sequencer_engine(url: str) -> Engine:
    return create_engine(url, pool_size=2, max_overflow=2, isolation_level="AUTOCOMMIT")


def sequencer(engine: Engine) -> Engine:
    """The engine that gives committed events their seqs (store/events.py), right after
    each writer's commit. PostgreSQL: autocommit, since its work is one statement (no
    BEGIN, COMMIT or ROLLBACK round trips), and no ping before each checkout: a
    sequencing that fails on a dropped connection leaves its rows to the next writer's
    sequencing or the sweep, and the pool replaces the connection. SQLite: the engine."""
    if engine.dialect.name != "postgresql":
        return engine
    return _sequencer_engine(engine.url.render_as_string(hide_password=False))


@contextmanager
def bookkeeping(url: str) -> Iterator[Connection]:
    """A connection for one-statement records that a later run redoes if they are lost (a
    feed poll's claim and outcome): the poll path most feeds take, a 304, costs three
    statements instead of two transactions of four or five round trips each.

    On PostgreSQL each statement commits on its own (no BEGIN, no COMMIT) and without
    waiting for the disk (an fsync, about 3 ms here). A server crash may lose the last
    of them, never corrupt anything: the feed is polled again. Nothing that puts events
    in the change feed goes through here. On SQLite: one ordinary transaction.
    """
    if url.startswith("sqlite"):
        with get_engine(url).begin() as conn:
            yield conn
    else:
        with _bookkeeping_engine(url).connect() as conn:
            yield conn


def _sqlite_reader_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA query_only=ON")  # a second lock on top of the read-only open
    cursor.close()


READER_POOL = 5  # connections kept open by a reading process (the web server, a consumer)


@lru_cache(maxsize=8)
def get_reader(url: str) -> Engine:
    """An engine that cannot write, for the web pages and the API.

    SQLite: the file opened read-only (URI `mode=ro`); a missing file is an error, not a
    new empty database. PostgreSQL: every transaction of its connections is READ ONLY
    (`default_transaction_read_only`), so a write fails in the server, whatever the SQL.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no SQLite database at {path}")
        engine = create_engine(f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true",
                               connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_reader_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=READER_POOL, max_overflow=10,
                         connect_args={"options": "-c default_transaction_read_only=on",
                                       "application_name": "newsworker-reader"})


@contextmanager
def reading(url: str) -> Iterator[Session]:
    """A session on the read-only engine of `url`: one short transaction, never committed."""
    session = _reader_factory(url)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@lru_cache(maxsize=8)
def _reader_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_reader(url), expire_on_commit=False)


def dispose_all() -> None:
    """Forget engines and sessions (after a fork, or when a test swaps databases)."""
    _factory.cache_clear()
    _reader_factory.cache_clear()
    get_reader.cache_clear()
    get_engine.cache_clear()
    _bookkeeping_engine.cache_clear()
    _sequencer_engine.cache_clear()


def insert_many(bind, stmt, rows: list[dict]) -> None:
    """Execute an INSERT for many rows as multi-row INSERT statements.

    A RETURNING clause makes SQLAlchemy batch the rows into one multi-row VALUES per
    thousand rows ("insertmanyvalues"); without it psycopg sends one INSERT per row (a
    pipeline, but a query each), which cost more than the rest of an article's write.
    Run on the session's connection: the ORM's bulk path would make an object of each row.
    """
    if rows:
        conn = bind.connection() if isinstance(bind, Session) else bind
        conn.execute(stmt.returning(*stmt.table.primary_key.columns), rows).close()


def unnest_insert(conn: Connection, table, rows: list[dict], tail: str = ""):
    """PostgreSQL: insert many rows as one array per column (`INSERT … SELECT FROM
    unnest(…)`), followed by `tail` (ON CONFLICT, RETURNING). The statement's text is the
    same for any number of rows, so psycopg converts it once and the server prepares it;
    a multi-row VALUES of a few hundred rows cost psycopg 20-50 ms per statement in
    placeholder conversion alone. Rows go in in list order (unnest keeps it)."""
    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    types = {c.name: c.type.compile(dialect=conn.dialect) for c in table.columns}
    arrays = ", ".join(f"CAST(:{c} AS {types[c]}[])" for c in columns)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"SELECT * FROM unnest({arrays}) {tail}")
    return conn.execute(text(sql), {c: [row[c] for row in rows] for c in columns})


def copy_rows(session: Session, table, rows: list[dict]) -> None:
    """Append rows to a table with no conflicts to resolve (an article's mentions, amounts,
    dates, quotes): COPY on PostgreSQL, in the session's transaction (2-3 times cheaper
    than a multi-row INSERT); a multi-row INSERT elsewhere."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        insert_many(conn, table.insert(), rows)
        return
    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def one_of(session: Session, column, values: list):
    """`column IN values` as one bound array on PostgreSQL (`= ANY(:array)`): one
    parameter, a statement cached whatever the number of values; IN elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
