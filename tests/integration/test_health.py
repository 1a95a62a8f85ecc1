"""What the image runs, as plain processes: its HEALTHCHECK and its default command.

No container runs here, so the image's conditions are reproduced: the same environment
variables (data under one folder, the feeds file in the application folder) and an
application folder without write permission, which must stay untouched.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import clean_env, free_port
from tests.newsroom import serve_newsroom, write_feeds_file
from tests.services import states, wait_for

ROOT = Path(__file__).resolve().parents[2]
NEWSWORKER = str(Path(sys.executable).parent / "newsworker")


def newsworker(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([NEWSWORKER, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_health_ok_on_the_embedded_defaults(tmp_path):
    env = clean_env(NEWSWORKER_DATA_DIR=str(tmp_path / "data"))
    missing = newsworker("health", env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stdout.startswith("unhealthy: database: no SQLite file at ")
    assert not (tmp_path / "data" / "newsworker.db").exists()  # the check created nothing
    assert newsworker("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    result = newsworker("health", env=env, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "ok: database answers, broker reachable\n")


def test_health_names_a_database_that_does_not_answer(tmp_path):
    port = free_port()  # bound then released: nothing listens there
    env = clean_env(NEWSWORKER_DATA_DIR=str(tmp_path / "data"),
                    NEWSWORKER_DATABASE_URL=f"postgresql+psycopg://news:s3cret@127.0.0.1:{port}/x")
    result = newsworker("health", env=env, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"unhealthy: database postgresql+psycopg://news:***@127.0.0.1:"
                               f"{port}/x does not answer: ")
    assert "refused" in lines[0] and "s3cret" not in result.stdout + result.stderr


def test_health_checks_the_redis_broker(tmp_path, redis_url):
    env = clean_env(NEWSWORKER_DATA_DIR=str(tmp_path / "data"), NEWSWORKER_BROKER_URL=redis_url)
    assert newsworker("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    assert newsworker("health", env=env, cwd=tmp_path).returncode == 0
    env["NEWSWORKER_BROKER_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    result = newsworker("health", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: broker redis://127.0.0.1:")
    assert "refused" in result.stdout


def test_health_names_every_dependency_that_is_down(tmp_path):
    env = clean_env(NEWSWORKER_DATA_DIR=str(tmp_path / "data"),
                    NEWSWORKER_DATABASE_URL=f"postgresql+psycopg://news@127.0.0.1:{free_port()}/x",
                    NEWSWORKER_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = newsworker("health", env=env, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("unhealthy: database "), result.stdout
    assert "; broker redis://127.0.0.1:" in lines[0]


# --- the image's default command: `newsworker run`, embedded ----------------------------------

def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under folder with its size and modification time."""
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in folder.rglob("*")}


def _read_only_app(tmp_path: Path, feed_urls: list[str]) -> Path:
    """A copy of the application folder (package and feeds file) with no write bit left."""
    app = tmp_path / "app"
    shutil.copytree(ROOT / "worker", app / "worker",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", app / "schemas")
    write_feeds_file(app / "feeds.yaml", feed_urls)
    for path in [app, *app.rglob("*")]:
        if not path.is_symlink():
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
    return app


def _image_env(tmp_path: Path, app: Path) -> dict[str, str]:
    """The Dockerfile's environment, with the data folder and home in the test's folder."""
    return clean_env(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
                     PYTHONPATH=str(app),  # the package is imported from the read-only copy
                     HOME=str(tmp_path / "home"), NEWSWORKER_DATA_DIR=str(tmp_path / "data"),
                     NEWSWORKER_FEEDS_FILE=str(app / "feeds.yaml"),
                     NEWSWORKER_METRICS_PORT=str(free_port()),  # the image's is 9108
                     NEWSWORKER_SCHEDULER_TICK_SECONDS="1")  # the first poll without waiting


def test_default_command_writes_only_under_the_data_folder(site, tmp_path):
    app = _read_only_app(tmp_path, serve_newsroom(site))
    (tmp_path / "home").mkdir()
    env = _image_env(tmp_path, app)
    origin = subprocess.run([sys.executable, "-c", "import worker; print(worker.__file__)"],
                            env=env, cwd=app, capture_output=True, text=True, check=True)
    assert origin.stdout.startswith(str(app))
    before = {"app": _snapshot(app), "home": _snapshot(tmp_path / "home")}
    log = tmp_path / "run.log"
    proc = subprocess.Popen([NEWSWORKER, "run"], env=env, cwd=app, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    db_url = f"sqlite:///{tmp_path / 'data' / 'newsworker.db'}"
    try:
        done = lambda: states(db_url).get("done", 0) == 9  # noqa: E731
        wait_for(done, 240, what="9 articles done")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # as `docker stop` does
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text(errors="replace")
    assert "NEWSWORKER_USER_AGENT_CONTACT is not set" in text
    written = {p.name for p in (tmp_path / "data").iterdir()}
    assert {"newsworker.db", "broker", "metrics", "cache"} <= written  # cache: place names
    assert any(name.startswith("celerybeat-schedule") for name in written)
    changes = _changes(before, {"app": _snapshot(app), "home": _snapshot(tmp_path / "home")})
    assert changes == [], text[-3000:]


def _changes(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Paths created, removed or modified, as `folder/path`."""
    return sorted(f"{folder}/{path}" for folder in before
                  for path in set(before[folder]) | set(after[folder])
                  if before[folder].get(path) != after[folder].get(path))
