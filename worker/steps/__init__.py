"""The steps of an article's path, in order: poll (feed → entries), fetch (page → body),
annotate (body → entities, amounts, dates, quotes).

Each step is a plain function `run(ctx, id, ...) -> Outcome` that opens with one store
call claiming the row and counting the attempt, works outside any transaction, and
ends with one short transaction moving the row one state forward. Running a step twice
is harmless. Celery tasks (worker/tasks.py) and the in-process runner (worker/ingest.py)
call the same functions.
"""

from __future__ import annotations

import logging
import uuid
from enum import StrEnum

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import InterfaceError, OperationalError

from worker.store import repo
from worker.store.db import session_scope

log = logging.getLogger(__name__)

# A database that refuses connections is the caller's to retry (Celery backs off);
# anything else an attempt raises is recorded on the article and counted.
DATABASE_DOWN = (OperationalError, InterfaceError)


class Outcome(StrEnum):
    ADVANCED = "advanced"  # moved one state forward
    SKIPPED = "skipped"  # not in the expected state, or leased: another run has it
    FAILED = "failed"  # permanent failure, recorded with its reason
    RETRY = "retry"  # the attempt failed and was counted; try again later
    POSTPONED = "postponed"  # the site asked us to wait; the attempt is not counted


def local_owner() -> str:
    """A lease owner for a run outside Celery (whose task id is the owner there)."""
    return f"local-{uuid.uuid4().hex[:12]}"


def attempt_failed(db: str, article_ids: list[int], step: str, exc: BaseException) -> Outcome:
    """Record why an attempt failed; the claim counted it, the next claim may give up."""
    if isinstance(exc, SoftTimeLimitExceeded):
        message = f"time limit exceeded in {step}"
    else:
        message = f"{type(exc).__name__}: {exc}"
    log.warning("%s failed for %s: %s", step, article_ids, message)
    with session_scope(db) as session:
        repo.record_error(session, article_ids, message)
    return Outcome.RETRY


def postponed(db: str, article_ids: list[int], why: str) -> Outcome:
    """Give the attempt back: the site asked us to wait, the article is not at fault."""
    with session_scope(db) as session:
        repo.give_back(session, article_ids, why)
    return Outcome.POSTPONED
