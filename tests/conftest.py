"""Shared fixtures: a real local HTTP server, real SQLite and PostgreSQL databases, Redis.

Under CI (CI=true) a missing PostgreSQL or Redis fails the tests that need them;
elsewhere those tests skip with a one-line reason.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def _find_shared() -> Path | None:
    """The project's shared/ folder beside the clone (or above it), if there is one."""
    if os.environ.get("NEWSWORKER_SHARED"):
        return Path(os.environ["NEWSWORKER_SHARED"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "examples").is_dir():
            return parent / "shared"
    return None


SHARED = _find_shared()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("NEWSWORKER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("NEWSWORKER_TEST_REDIS", "redis://127.0.0.1:6379/15")


# Tests write nothing inside the repository: no Hypothesis example database there.
try:
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("newsworker", database=None)
    hypothesis_settings.load_profile("newsworker")
except ImportError:  # pragma: no cover - hypothesis is in the dev extras
    pass

# Every request of the tests goes to one host (127.0.0.1): no politeness delay there.
os.environ["NEWSWORKER_PER_HOST_DELAY_SECONDS"] = "0"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: no inherited NEWSWORKER_* but the test defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWORKER_")}
    env["NEWSWORKER_PER_HOST_DELAY_SECONDS"] = "0"
    env.update(extra)
    return env


def need_shared(part: str = "examples") -> Path:
    """shared/PART beside the clone; a test without it skips (fails under CI, where it is)."""
    if SHARED is None or not (SHARED / part).exists():
        if IN_CI:
            pytest.fail(f"shared/{part} is required under CI (set NEWSWORKER_SHARED)")
        pytest.skip(f"shared/{part} is not beside this clone (optional development material)")
    return SHARED / part


def need_service(name: str, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{name} is required under CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


# --- the local HTTP server ------------------------------------------------------------------

@dataclass
class Route:
    status: int = 200
    body: bytes | Callable[[], bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Callable | None = None  # (request handler) -> None, for special cases


class Site:
    """A real HTTP server on 127.0.0.1 whose routes tests set up."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path
                site.hits[path] = site.hits.get(path, 0) + 1
                site.requests.append((path, dict(self.headers)))
                route = site.routes.get(path) or site.routes.get(path.split("?")[0])
                if route is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                elif route.handler:
                    route.handler(self)
                else:
                    body = route.body() if callable(route.body) else route.body
                    self._send(route.status, body, route.headers)

            def _send(self, status, body, headers) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8",
            status: int = 200, **headers: str) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(status, data, {"Content-Type": content_type, **headers})
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


# --- databases ------------------------------------------------------------------------------

@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsworker.db'}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not available"
        admin.dispose()
        need_service("PostgreSQL", f"cannot connect to {PG_ADMIN_URL}: {type(exc).__name__}")
    name = f"newsworker_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    from worker.store.db import dispose_all

    dispose_all()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_postgres(url: str) -> str:
    """The PostgreSQL database at `url`, migrated and emptied (sequences restarted)."""
    import sqlalchemy as sa

    from worker.store.db import get_engine
    from worker.store.migrate import upgrade

    upgrade(url)
    engine = get_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' "
            "AND tablename NOT IN ('alembic_version', 'event_counter')")).scalars().all()
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(sa.text("UPDATE event_counter SET last_seq = 0"))
    return url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """The session's PostgreSQL database, migrated and emptied for this test."""
    return empty_postgres(pg_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Each integration test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
        from worker.store.migrate import upgrade

        upgrade(url)
        return url
    return request.getfixturevalue("pg_url")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        need_service("Redis", f"cannot connect to {REDIS_URL}: {type(exc).__name__}")
    client.flushdb()
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str):
    """Settings for a test: its own data folder, private networks allowed (local server)."""
    from worker.settings import Settings

    return Settings(data_dir=tmp_path / "var", database_url=sqlite_url,
                    allow_private_networks=True, _env_file=None)
