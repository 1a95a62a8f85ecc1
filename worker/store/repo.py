"""Repository functions: every read and write the pipeline and the CLI make.

Writes are upserts behind unique constraints, so concurrent workers on many machines
cannot create duplicates; state changes are conditional updates, so a task run twice
moves an article at most once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.store.db import insert_many
from worker.store.events import append_event, append_events
from worker.store.models import (
    Article,
    ArticleUrl,
    Failure,
    Feed,
    Page,
    Story,
    TextHash,
)

ACTIVE_STATES = ("discovered", "fetched", "extracted")


def now() -> datetime:
    return datetime.now(UTC)


def url_key(url: str) -> str:
    """The indexed identity of a URL of any length (sha256 hex)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def core(session: Session):
    """The session's connection, in its transaction, for an UPDATE of rows the session
    holds no objects of (the pipeline's state changes): it skips the ORM's bulk-update
    bookkeeping (autoflush, matching loaded objects), about half of such a statement's
    Python time, on statements every article runs several times."""
    return session.connection()


def insert_for(session: Session, table):
    """INSERT with ON CONFLICT support for the session's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


# --- articles ------------------------------------------------------------------------------

def _remember_urls(session: Session, article_id: int, feed_id: int | None,
                   urls: list[str]) -> None:
    """Record URLs the article is known by; a URL already known keeps its first article."""
    stamp = now()
    insert_many(
        session,
        insert_for(session, ArticleUrl).on_conflict_do_nothing(index_elements=[ArticleUrl.url_key]),
        [{"url_key": url_key(url), "url": url, "article_id": article_id, "feed_id": feed_id,
          "seen_at": stamp} for url in dict.fromkeys(urls)])


def discover_article(session: Session, feed_id: int, entry,
                     feed_tags: tuple[str, ...] = ()) -> int | None:
    """Record a feed entry as an article in state `discovered`; its id if it is new.

    Identity is the canonical URL (unique through its hash): a second feed, or a second
    poll, listing the same article only records the extra link.
    """
    stamp = now()
    stmt = insert_for(session, Article).values(
        url_key=url_key(entry.canonical_url), canonical_url=entry.canonical_url,
        url=entry.link, feed_id=feed_id, state="discovered", state_changed_at=stamp,
        entry_guid=entry.guid, entry_title=entry.title, entry_summary=entry.summary,
        entry_content=entry.content, entry_published=entry.published,
        entry_categories=list(entry.categories), feed_tags=list(feed_tags),
        discovered_at=stamp, updated_at=stamp,
    ).on_conflict_do_nothing(index_elements=[Article.url_key]).returning(Article.id)
    new_id = session.execute(stmt).scalar_one_or_none()
    article_id = new_id or session.scalar(
        select(Article.id).where(Article.url_key == url_key(entry.canonical_url)))
    _remember_urls(session, article_id, feed_id, [entry.canonical_url, entry.link])
    if new_id:
        append_event(session, new_id, "discovered", "discovered")
    elif feed_tags:
        add_feed_tags(session, article_id, feed_tags)
    return new_id


def add_feed_tags(session: Session, article_id: int, tags: tuple[str, ...]) -> None:
    """A second feed listing the article adds its tags (feeds.yaml) to the article's."""
    current = session.scalar(select(Article.feed_tags).where(Article.id == article_id)) or []
    merged = list(dict.fromkeys([*current, *tags]))
    if merged != current:
        session.execute(update(Article).where(Article.id == article_id)
                        .values(feed_tags=merged))


def known_urls(session: Session, urls: list[str]) -> dict[str, tuple[int, datetime | None]]:
    """{URL: (article id, entry date)} for the URLs some article is already known by.

    Goes through every URL an article was seen under (feed links, rel=canonical, AMP
    variants), not only its canonical URL.
    """
    if not urls:
        return {}
    keys = {url_key(u): u for u in urls}
    rows = session.execute(
        select(ArticleUrl.url_key, Article.id, Article.entry_published)
        .join(Article, Article.id == ArticleUrl.article_id)
        .where(ArticleUrl.url_key.in_(list(keys))))
    return {keys[key]: (article_id, published) for key, article_id, published in rows}


def request_refetch(session: Session, article_id: int, entry) -> bool:
    """A done article whose feed entry was updated goes back to `discovered`, same row."""
    stamp = now()
    moved = session.execute(
        update(Article).where(Article.id == article_id, Article.state.in_(("done", "failed")))
        .values(state="discovered", state_changed_at=stamp, updated_at=stamp,
                entry_title=entry.title, entry_summary=entry.summary,
                entry_content=entry.content, entry_published=entry.published,
                failure_reason=None, attempts=0, last_error=None)).rowcount
    if moved:
        append_event(session, article_id, "refetch", "discovered")
    return bool(moved)


def annotation_inputs(session: Session, article_ids: list[int]):
    """What the annotate step reads of these articles, in one query, by id (rows with id,
    language, text, published, entry_published): not the body, page or entry columns."""
    if not article_ids:
        return []
    return session.execute(
        select(Article.id, Article.language, Article.text, Article.published,
               Article.entry_published)
        .where(Article.id.in_(article_ids)).order_by(Article.id)).all()


def fetch_job(session: Session, article_id: int):
    """What the fetch step reads of an article and its feed, in one query (a row with
    url, canonical_url, entry_title, entry_content, entry_summary, state,
    respect_robots, strip_params; the feed's columns are None without a feed)."""
    return session.execute(
        select(Article.url, Article.canonical_url, Article.entry_title, Article.entry_content,
               Article.entry_summary, Article.state, Feed.respect_robots, Feed.strip_params)
        .outerjoin(Feed, Feed.id == Article.feed_id).where(Article.id == article_id)).one()


@dataclass
class Claim:
    """Articles a step may work on now, and those that ran out of attempts (now failed)."""

    ids: list[int] = field(default_factory=list)
    exhausted: dict[int, str] = field(default_factory=dict)  # id: failure reason


def unfinished_marker(step: str) -> str:
    return f"started {step}, never finished"


def claim_articles(session: Session, ids: list[int], states: tuple[str, ...], step: str,
                   owner: str, lease_seconds: float, max_attempts: int) -> Claim:
    """Lease these articles to `owner` for `step` and count one attempt on each.

    An article already leased to someone else, or no longer in `states`, is left out:
    another run has it. One that used its `max_attempts` is failed here with the reason
    of its last attempt (`DataError: …`), or `killed in STEP N times` when no attempt
    came back (a worker that died or a task killed by its time limit).
    """
    stamp = now()
    free = (Article.lease_until.is_(None)) | (Article.lease_until < stamp) | \
        (Article.lease_owner == owner)
    mine = (Article.id.in_(ids), Article.state.in_(states), free)
    claim = Claim()
    claim.ids = sorted(core(session).scalars(
        update(Article).where(*mine, Article.attempts < max_attempts)
        .values(attempts=Article.attempts + 1, lease_owner=owner,
                lease_until=stamp + timedelta(seconds=lease_seconds),
                last_error=unfinished_marker(step))
        .returning(Article.id)).all())
    if len(claim.ids) == len(set(ids)):
        return claim  # the usual case: every article claimed, none out of attempts
    spent = session.execute(select(Article.id, Article.attempts, Article.last_error)
                            .where(*mine, Article.attempts >= max_attempts,
                                   Article.id.not_in(claim.ids))).all()
    for article_id, attempts, last_error in spent:
        killed = not last_error or last_error == unfinished_marker(step)
        reason = f"killed in {step} {attempts} times" if killed else last_error
        if fail_article(session, article_id, step, reason[:200], reason):
            claim.exhausted[article_id] = reason
    return claim


def claimable_batch(session: Session, article_id: int, size: int, owner: str) -> list[int]:
    """This article and up to `size - 1` fresh extracted ones, for one model pass; none
    if the article no longer waits (annotated, or in another run's batch): each waiting
    article has a message of its own, so a stale message has nothing to add.

    Only articles that never failed an attempt share a batch: one that may be poison
    runs alone, so it cannot use up the attempts of innocent articles.
    """
    stamp = now()
    attempts = session.scalar(select(Article.attempts).where(
        Article.id == article_id, Article.state == "extracted",
        Article.lease_until.is_(None) | (Article.lease_until < stamp)
        | (Article.lease_owner == owner)))
    if attempts is None:
        return []
    if attempts or size <= 1:
        return [article_id]
    others = session.scalars(select(Article.id).where(
        Article.state == "extracted", Article.id != article_id, Article.attempts == 0,
        Article.lease_until.is_(None) | (Article.lease_until < stamp))
        .order_by(Article.id).limit(size - 1)).all()
    return [article_id, *others]


def advance(session: Session, article_id: int, from_state: str, to_state: str,
            event: str | None = None, **fields) -> bool:
    """Move an article one state forward if it is still in `from_state`; False if not.

    This is the claim that makes tasks idempotent: a second run finds the state moved.
    The attempt count and the lease end with the step.
    """
    stamp = now()
    moved = core(session).execute(
        update(Article).where(Article.id == article_id, Article.state == from_state)
        .values(state=to_state, state_changed_at=stamp, updated_at=stamp, attempts=0,
                lease_until=None, lease_owner=None, last_error=None, **fields)
    ).rowcount
    if moved:
        append_event(session, article_id, event or to_state, to_state)
    return bool(moved)


def advance_many(session: Session, article_ids: list[int], from_state: str, to_state: str,
                 **fields) -> set[int]:
    """`advance` for a batch, the same fields for each: one UPDATE and one event INSERT
    instead of two statements per article; the ids that moved."""
    if not article_ids:
        return set()
    stamp = now()
    moved = core(session).scalars(
        update(Article).where(Article.id.in_(article_ids), Article.state == from_state)
        .values(state=to_state, state_changed_at=stamp, updated_at=stamp, attempts=0,
                lease_until=None, lease_owner=None, last_error=None, **fields)
        .returning(Article.id)).all()
    append_events(session, sorted(moved), to_state, to_state)
    return set(moved)


def record_error(session: Session, article_ids: list[int], error: str) -> None:
    """An attempt failed in a way worth retrying: keep the state, free the lease.

    The attempt was counted by the claim; the next claim decides whether one is left.
    """
    session.execute(update(Article).where(Article.id.in_(article_ids)).values(
        last_error=error[:2000], lease_until=None, lease_owner=None))


def give_back(session: Session, article_ids: list[int], why: str) -> None:
    """Free the lease and uncount the attempt: the site asked to wait (429, busy host)."""
    session.execute(update(Article).where(Article.id.in_(article_ids), Article.attempts > 0)
                    .values(attempts=Article.attempts - 1, last_error=why[:2000],
                            lease_until=None, lease_owner=None))


def release(session: Session, article_ids: list[int], owner: str) -> None:
    """Give back leases at once (an interrupted batch) instead of at their expiry."""
    session.execute(update(Article).where(Article.id.in_(article_ids),
                                          Article.lease_owner == owner)
                    .values(lease_until=None, lease_owner=None))


def fail_article(session: Session, article_id: int, stage: str, reason: str,
                 message: str) -> bool:
    """Mark an article failed with its reason and file a dead letter; False if already final."""
    stamp = now()
    moved = session.execute(
        update(Article).where(Article.id == article_id, Article.state.in_(ACTIVE_STATES))
        .values(state="failed", failure_reason=reason, last_error=message[:2000],
                lease_until=None, lease_owner=None, state_changed_at=stamp,
                updated_at=stamp)).rowcount
    if moved:
        session.add(Failure(article_id=article_id, stage=stage, reason=reason,
                            message=message[:2000], created_at=stamp))
        append_event(session, article_id, "failed", "failed")
    return bool(moved)


def stuck_articles(session: Session, states: tuple[str, ...], older_than: datetime,
                   limit: int = 500) -> dict[str, list[int]]:
    """{state: ids} of unleased articles left in a state since `older_than`; their clocks
    restart, so a long queue is not flooded with copies at every sweep."""
    stamp = now()
    rows = session.execute(select(Article.id, Article.state).where(
        Article.state.in_(states), Article.state_changed_at < older_than,
        Article.lease_until.is_(None) | (Article.lease_until < stamp))
        .order_by(Article.id).limit(limit)).all()
    if rows:
        session.execute(update(Article).where(Article.id.in_([r.id for r in rows]))
                        .values(state_changed_at=stamp))
    out: dict[str, list[int]] = {}
    for article_id, state in rows:
        out.setdefault(state, []).append(article_id)
    return out


def save_page(session: Session, article_id: int, url: str, status: int,
              headers: dict[str, str], body: bytes | None) -> None:
    keep = {k: v for k, v in headers.items()
            if k in ("content-type", "etag", "last-modified", "content-language")}
    stmt = insert_for(session, Page).values(article_id=article_id, url=url, status=status,
                                            headers=keep, body=body, fetched_at=now())
    core(session).execute(stmt.on_conflict_do_update(
        index_elements=[Page.article_id],
        set_=dict(url=url, status=status, headers=keep, body=body, fetched_at=now())))


def get_page(session: Session, article_id: int) -> Page | None:
    return session.get(Page, article_id)


def adopt_canonical(session: Session, article_id: int, canonical_url: str,
                    known_as: list[str]) -> int | None:
    """Make `canonical_url` (the page's rel=canonical) the article's identity.

    Returns the id of another article that already owns it (this one is then its
    duplicate), else None. The URLs it was known by stay in `article_urls`, so the next
    poll of the same entry finds it.
    """
    owner = session.scalar(select(ArticleUrl.article_id)
                           .where(ArticleUrl.url_key == url_key(canonical_url)))
    if owner is not None and owner != article_id:
        return owner
    try:
        with session.begin_nested():
            session.execute(update(Article).where(Article.id == article_id).values(
                canonical_url=canonical_url, url_key=url_key(canonical_url)))
    except IntegrityError:  # another worker adopted it first: that article is the one
        return session.scalar(select(Article.id)
                              .where(Article.url_key == url_key(canonical_url)))
    _remember_urls(session, article_id, None, [canonical_url, *known_as])
    return None


def claim_text(session: Session, text_hash: str, article_id: int) -> int:
    """The first article with this text; inserting it if this one is the first.

    The insert answers with the row when it made it (the usual case: one statement);
    only a text already claimed costs the read of its owner.
    """
    inserted = core(session).execute(
        insert_for(session, TextHash).values(text_hash=text_hash, article_id=article_id)
        .on_conflict_do_nothing(index_elements=[TextHash.text_hash])
        .returning(TextHash.article_id)).scalar_one_or_none()
    if inserted is not None:
        return inserted
    return session.scalar(select(TextHash.article_id).where(TextHash.text_hash == text_hash))


def new_story(session: Session, representative_id: int) -> int:
    return session.connection().execute(
        insert(Story).values(representative_id=representative_id, created_at=now())
        .returning(Story.id)).scalar_one()


def articles_in_state(session: Session, state: str, limit: int = 1000) -> list[int]:
    return list(session.scalars(select(Article.id).where(Article.state == state)
                                .order_by(Article.id).limit(limit)))


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Article.state, func.count()).group_by(Article.state))
    return {state: n for state, n in rows}


def article_states(session: Session, ids: list[int]) -> list[tuple[int, str, int | None]]:
    """(id, state, duplicate_of) of these articles."""
    if not ids:
        return []
    return [tuple(r) for r in session.execute(
        select(Article.id, Article.state, Article.duplicate_of_id).where(Article.id.in_(ids)))]
