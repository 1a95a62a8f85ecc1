"""The annotate step's batches on the real SQLite file and the real PostgreSQL: a message
fills a model pass with waiting articles, and a message whose article an earlier batch
took does nothing (real spaCy model)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from worker.context import make_context
from worker.settings import Settings
from worker.steps import Outcome, annotate
from worker.store.db import session_scope
from worker.store.models import Article, Event, Mention

TEXT = ("Le président Emmanuel Macron a reçu mardi à Paris la présidente de la Commission "
        "européenne, Ursula von der Leyen. « Nous devons agir vite », a-t-elle déclaré.")


def _extracted(db_url: str, count: int) -> list[int]:
    now = datetime.now(UTC)
    with session_scope(db_url) as session:
        articles = [Article(canonical_url=f"https://presse.test/{n}",
                            url=f"https://presse.test/{n}", state="extracted",
                            state_changed_at=now, discovered_at=now, updated_at=now,
                            language="fr", text=f"{TEXT} Dépêche numéro {n}.")
                    for n in range(count)]
        session.add_all(articles)
        session.flush()
        return [a.id for a in articles]


def test_a_message_fills_its_batch_and_a_stale_one_does_nothing(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=db_url, nlp_batch_size=3,
                        _env_file=None)
    ctx = make_context(settings, read_feeds=False)
    ids = _extracted(db_url, 5)

    first = annotate.run(ctx, ids[0], owner="task-1")
    assert first == {i: Outcome.ADVANCED for i in ids[:3]}  # itself and the two oldest

    stale = annotate.run(ctx, ids[1], owner="task-2")  # its article went with task-1
    assert stale == {}
    with session_scope(db_url) as session:
        waiting = dict(session.execute(select(Article.id, Article.attempts)
                                       .where(Article.state == "extracted")).all())
        done_events = session.scalars(select(Event.article_id)
                                      .where(Event.kind == "done").order_by(Event.seq)).all()
        mentioned = set(session.scalars(select(Mention.article_id).distinct()))
    assert waiting == {ids[3]: 0, ids[4]: 0}  # untouched: no attempt counted on them
    assert done_events == ids[:3]  # one event each, in the batch's order
    assert mentioned == set(ids[:3])

    rest = annotate.run(ctx, ids[4], owner="task-3")
    assert rest == {ids[4]: Outcome.ADVANCED, ids[3]: Outcome.ADVANCED}
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Article)
                              .where(Article.state == "done")) == 5
