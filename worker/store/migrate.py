"""Alembic, driven from code so that `newsworker db upgrade` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`; safe to run on every start."""
    command.upgrade(alembic_config(url), revision)


def pending(url: str, read_only: bool = False) -> str | None:
    """None if the database is at the latest revision, else a message saying what to do.

    `read_only`: asked through the read-only engine (the web server never writes)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from worker.store.db import get_engine, get_reader

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    try:
        engine = get_reader(url) if read_only else get_engine(url)
    except FileNotFoundError as exc:
        return f"{exc}: run `newsworker db upgrade` (or `make run`) first"
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return None
    return (f"the database is at revision {current or 'none'}, this version needs {head}: "
            f"run `newsworker db upgrade`")
