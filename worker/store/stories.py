"""Stories: clusters of near-duplicate articles, found through the shared LSH band index."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from worker import dedup
from worker.store import repo
from worker.store.models import Article, MinhashBand


def _lock_bands(session: Session, keys: list[int]) -> None:
    """Serialise writers whose articles share a band, so both cannot start a new story.

    PostgreSQL: transaction-scoped advisory locks, taken in one global order (no deadlock).
    SQLite: the write transaction already holds the database lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted(set(keys)):
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def ensure_story(session: Session, article_id: int) -> int:
    """The article's story, creating one with it as representative if it has none."""
    article = session.get(Article, article_id)
    if article.story_id is None:
        article.story_id = repo.new_story(session, article_id)
        session.flush()
    return article.story_id


def assign_story(session: Session, article_id: int, sig: np.ndarray, threshold: float) -> int:
    """Join the story of the most similar earlier article above `threshold`, or start one.

    Also records this article's bands, so that later near-duplicates find it.
    """
    keys = dedup.band_keys(sig, threshold)
    _lock_bands(session, keys)
    candidates = session.execute(
        select(Article.id, Article.minhash, Article.story_id)
        .where(Article.id.in_(select(MinhashBand.article_id)
                              .where(MinhashBand.band_key.in_(keys))),
               Article.id != article_id, Article.minhash.is_not(None))).all()
    best, best_score = None, threshold
    for other_id, raw, story_id in candidates:
        score = dedup.similarity(sig, dedup.from_bytes(raw))
        if score >= best_score:
            best, best_score = (other_id, story_id), score
    article = session.get(Article, article_id)
    if article.story_id is None:
        article.story_id = (best[1] or ensure_story(session, best[0])) if best else \
            repo.new_story(session, article_id)
    article.minhash = dedup.to_bytes(sig)
    for key in keys:
        session.execute(repo.insert_for(session, MinhashBand)
                        .values(band_key=key, article_id=article_id)
                        .on_conflict_do_nothing())
    session.flush()
    return article.story_id
