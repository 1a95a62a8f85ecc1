"""An outage is two lines per role, whichever of its processes meets it."""

from __future__ import annotations

import logging
import time

import pytest

from worker import outage
from worker.outage import Outage, QuietOutages


@pytest.fixture
def role_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(outage.FOLDER_ENV, str(tmp_path))
    return tmp_path


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "worker.outage"]


def test_two_processes_of_a_role_log_one_start_and_one_end(role_folder, caplog):
    main, child = Outage("broker", "waiting"), Outage("broker", "waiting")  # two processes
    with caplog.at_level(logging.WARNING, "worker.outage"):
        child.begin(ConnectionError("Error 111 connecting to 127.0.0.1:6379"))
        main.begin(ConnectionError("Connection closed by server."))
        child.begin(ConnectionError("again"))  # the same process, the same outage
        main.end()
        child.end()
    assert lines(caplog)[0] == ("broker unreachable (ConnectionError: Error 111 connecting "
                                "to 127.0.0.1:6379): waiting")
    assert len(lines(caplog)) == 2 and lines(caplog)[1].startswith("broker back after ")
    assert not list(role_folder.glob("outage-*"))


def test_a_new_outage_after_the_end_is_logged_again(role_folder, caplog):
    database = Outage("database", "retrying")
    with caplog.at_level(logging.WARNING, "worker.outage"):
        database.end()  # nothing was down: nothing to say
        for _ in range(2):
            database.begin(None)
            database.end()
    assert [m.split(" (")[0].split(" after")[0] for m in lines(caplog)] == \
        ["database unreachable", "database back", "database unreachable", "database back"]


def test_celery_lines_about_the_outage_are_folded_into_it(role_folder, monkeypatch):
    monkeypatch.setattr(outage, "BROKER", Outage("broker", "waiting"))
    monkeypatch.setattr(outage, "DATABASE", Outage("database", "retrying"))
    quiet = QuietOutages()

    def record(name: str, msg: str, *args, exc: BaseException | None = None):
        exc_info = (type(exc), exc, None) if exc else None
        return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info)

    lost = record("celery.worker.consumer.consumer",
                  "consumer: Connection to broker lost. Trying to re-establish the connection...",
                  exc=ConnectionError("Connection closed by server."))
    assert not quiet.filter(lost) and outage.BROKER.since is not None
    assert not quiet.filter(record("celery.worker.consumer.consumer",
                                   "consumer: Cannot connect to %s: %s.\n%s", "redis://", "x", ""))
    assert not quiet.filter(record("celery.beat", "Message Error: %s\n%s",
                                   "Couldn't apply scheduled task tick: refused", []))
    retry = record("celery.app.trace", "Task %(name)s[%(id)s] retry: %(exc)s",
                   {"name": "t", "id": "1", "exc": "x"})
    assert not quiet.filter(retry)  # while something is down
    assert quiet.filter(record("celery.worker.strategy", "Task %s received", "t"))
    assert quiet.filter(record("worker.steps.fetch", "Connection to broker lost"))  # ours
    outage.BROKER.end()
    assert quiet.filter(retry)  # nothing down: a retry is worth its line


def test_a_process_that_did_not_see_the_outage_may_end_it(role_folder, caplog):
    gone, other = Outage("database", "retrying"), Outage("database", "retrying")
    with caplog.at_level(logging.WARNING, "worker.outage"):
        gone.begin(None)  # this process is then recycled: it never sees the end
        other.end()
        other.begin(None)  # the next outage has its first line
    assert [m.split(" (")[0].split(" after")[0] for m in lines(caplog)] == \
        ["database unreachable", "database back", "database unreachable"]


def test_a_success_begun_before_the_outage_does_not_end_it(role_folder, caplog):
    failing, finishing = Outage("database", "retrying"), Outage("database", "retrying")
    with caplog.at_level(logging.WARNING, "worker.outage"):
        started = time.time() - 1  # a task that began before the database went away...
        failing.begin(None)
        finishing.end(started)  # ...and ended just after: it proves nothing
        assert len(lines(caplog)) == 1 and list(role_folder.glob("outage-*"))
        finishing.end()  # one begun after the outage began
    assert len(lines(caplog)) == 2 and not list(role_folder.glob("outage-*"))
