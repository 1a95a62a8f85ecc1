"""Processes and servers the fault tests start, stop, kill and restart."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from tests.conftest import clean_env, free_port, need_service
from worker.store.db import session_scope
from worker.store.models import Article

ROOT = Path(__file__).resolve().parents[1]
NEWSWORKER = str(Path(sys.executable).parent / "newsworker")


def service_env(tmp_path: Path, feeds: Path, db_url: str, broker: str = "",
                **extra: str) -> dict[str, str]:
    return clean_env(NEWSWORKER_DATA_DIR=str(tmp_path / "var"), NEWSWORKER_DATABASE_URL=db_url,
                     NEWSWORKER_BROKER_URL=broker, NEWSWORKER_FEEDS_FILE=str(feeds),
                     NEWSWORKER_SCHEDULER_TICK_SECONDS="1", NEWSWORKER_LOG_LEVEL="INFO",
                     NEWSWORKER_METRICS_PORT="0",
                     **{"NEWSWORKER_WEB_PORT": "0", **extra})  # `run` starts no web server


class Proc:
    """A `newsworker` process with its log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.popen: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.popen = subprocess.Popen([NEWSWORKER, *self.args], env=self.env, cwd=ROOT,
                                      stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM to the main process, as `docker stop` does; SIGKILL to all if it hangs."""
        if not self.alive():
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.popen.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def states(db_url: str) -> dict[str, int]:
    """Articles by state; empty while the service has not created its tables yet."""
    try:
        with session_scope(db_url) as session:
            return dict(session.execute(select(Article.state, func.count())
                                        .group_by(Article.state)).all())
    except DBAPIError:
        return {}


def wait_for(condition, timeout: float, procs: list[Proc] = (), what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for proc in procs:
            assert proc.alive(), f"{proc.args} died:\n{proc.tail()}"
        time.sleep(0.5)
    last = getattr(condition, "last", None)
    raise AssertionError(f"timed out waiting for {what} (last: {last})\n" +
                         "\n".join(p.tail() for p in procs))


def keep_alive(seconds: float, procs: list[Proc]) -> None:
    """Let `seconds` pass, failing as soon as one of the processes dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.alive(), f"{proc.args} died:\n{proc.tail()}"
        time.sleep(0.5)


class RedisServer:
    """A private redis-server (no persistence) that a test may restart."""

    def __init__(self, tmp_path: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            need_service("redis-server", "the binary is needed to restart Redis in a test")
        self.port = free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir()
        self.popen: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.popen = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


class PgProxy:
    """A TCP proxy in front of PostgreSQL that can refuse connections for a while."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port, self.port = target_port, free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        """Close the port and cut every open connection: the database is 'down'."""
        listener, self._listener = self._listener, None
        if listener:
            listener.close()
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class PgServer:
    """A private PostgreSQL server (initdb in a temporary folder) that a test may restart.

    Run as the `postgres` user when the tests run as root (the server refuses root)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        found = bins[-1] if bins else shutil.which("pg_ctl")
        if found is None:
            need_service("PostgreSQL server", "initdb and pg_ctl are needed to restart it")
        self.bin = Path(found).parent
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
        self.root = Path(tempfile.mkdtemp(prefix="newsworker-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "run"
        self.sockets.mkdir()
        if self.user is not None:
            for path in (self.root, self.sockets):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "news")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/news"

    def _run(self, tool: str, *args: str) -> None:
        kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid} if self.user else {}
        subprocess.run([str(self.bin / tool), *args], check=True, capture_output=True,
                       cwd=self.root, **kwargs)

    def _ctl(self, *args: str) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} "
                   "-c fsync=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "-t", "60", *args)

    def start(self) -> None:
        self._ctl("start")

    def halt(self) -> None:
        """Fast shutdown: every session cut, new ones refused until `start`."""
        self._ctl("stop", "-m", "fast")

    def terminate_backends(self) -> int:
        """pg_terminate_backend on every client session but this one's."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return len(conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"))
                    .all())
        finally:
            engine.dispose()

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def scrape(port: int) -> dict[str, float]:
    """The samples a worker's metrics endpoint serves, by name (labels included)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
