"""Stories' SQL: the shared LSH band index, candidates, story rows (choices live in dedup)."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from worker.store import repo
from worker.store.db import insert_many
from worker.store.models import Article, MinhashBand, Story

_LOCK_BANDS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")


def lock_bands(session: Session, keys: list[int]) -> None:
    """Serialise writers whose articles share a band, so both cannot start a new story.

    PostgreSQL: transaction-scoped advisory locks, taken in one global order (no deadlock)
    by one statement (unnest yields the sorted array in order). SQLite: the write
    transaction already holds the database lock.
    """
    if keys and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_BANDS, {"keys": sorted(set(keys))})


def candidates(session: Session, keys: list[int],
               article_id: int) -> list[tuple[int, bytes, int | None]]:
    """(id, MinHash signature, story id) of other articles sharing a band key."""
    return [tuple(row) for row in session.execute(
        select(Article.id, Article.minhash, Article.story_id)
        .where(Article.id.in_(select(MinhashBand.article_id)
                              .where(MinhashBand.band_key.in_(keys))),
               Article.id != article_id, Article.minhash.is_not(None)))]


def ensure_story(session: Session, article_id: int) -> int:
    """The article's story, creating one with it as representative if it has none."""
    story_id = session.scalar(select(Article.story_id).where(Article.id == article_id))
    if story_id is None:
        story_id = repo.new_story(session, article_id)
        session.execute(update(Article).where(Article.id == article_id)
                        .values(story_id=story_id))
    return story_id


def save_signature(session: Session, article_id: int, story_id: int, signature: bytes,
                   keys: list[int], joined: bool = True) -> None:
    """Put the article in its story and record its bands for later near-duplicates.

    The story's representative is its earliest article, whichever finished first; a
    story the article just started (`joined` False) has it as representative already.
    """
    conn = repo.core(session)
    conn.execute(update(Article).where(Article.id == article_id)
                 .values(story_id=story_id, minhash=signature))
    if joined:
        conn.execute(update(Story).where(Story.id == story_id,
                                         Story.representative_id > article_id)
                     .values(representative_id=article_id))
    insert_many(session, repo.insert_for(session, MinhashBand).on_conflict_do_nothing(),
                [{"band_key": k, "article_id": article_id} for k in keys])
