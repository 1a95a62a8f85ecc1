"""Retention: drop old raw pages, old poll records and, if asked, old articles.

Stories and events stay whole.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from worker.store import events, trends
from worker.store.annotations import clear_annotations
from worker.store.models import Article, Page, Poll, Story, TextHash

FINAL_STATES = ("done", "failed")


def drop_raw_pages(session: Session, older_than: datetime) -> int:
    """Forget the HTML of finished articles fetched before `older_than`."""
    finished = select(Article.id).where(Article.state.in_(FINAL_STATES))
    return session.execute(
        update(Page).where(Page.fetched_at < older_than, Page.body.is_not(None),
                           Page.article_id.in_(finished)).values(body=None)).rowcount


def delete_articles(session: Session, older_than: datetime, limit: int = 1000) -> int:
    """Delete finished articles discovered before `older_than`.

    Each gets a `deleted` event (the sequence goes on) and leaves the daily counts of
    trends; a story that loses its representative gets its oldest remaining article
    instead, or goes if empty.
    """
    ids = session.scalars(select(Article.id).where(Article.discovered_at < older_than,
                                                   Article.state.in_(FINAL_STATES))
                          .order_by(Article.id).limit(limit)).all()
    if not ids:
        return 0
    story_ids = set(session.scalars(select(Article.story_id).where(
        Article.id.in_(ids), Article.story_id.is_not(None))))
    days = trends.counted_days(session, list(ids))
    for article_id in ids:
        clear_annotations(session, article_id, *days.get(article_id, (None, None)))
        events.append_event(session, article_id, "deleted", "deleted")
    session.execute(update(Article).where(Article.duplicate_of_id.in_(ids))
                    .values(duplicate_of_id=None))
    session.execute(delete(TextHash).where(TextHash.article_id.in_(ids)))
    session.execute(delete(Article).where(Article.id.in_(ids)))
    for story_id in story_ids:
        first = session.scalar(select(func.min(Article.id)).where(Article.story_id == story_id))
        if first is None:
            session.execute(delete(Story).where(Story.id == story_id))
        else:
            session.execute(update(Story).where(Story.id == story_id)
                            .values(representative_id=first))
    return len(ids)


def delete_polls(session: Session, older_than: datetime) -> int:
    """Forget the poll records started before `older_than` (one indexed range delete)."""
    return session.execute(delete(Poll).where(Poll.started_at < older_than)).rowcount


def apply_retention(session: Session, now: datetime, raw_html_days: int,
                    article_days: int, poll_days: int = 0) -> dict[str, int]:
    done = {"pages": 0, "articles": 0, "polls": 0}
    if raw_html_days:
        done["pages"] = drop_raw_pages(session, now - timedelta(days=raw_html_days))
    if article_days:
        done["articles"] = delete_articles(session, now - timedelta(days=article_days))
    if poll_days:
        done["polls"] = delete_polls(session, now - timedelta(days=poll_days))
    return done
