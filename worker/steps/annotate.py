"""Step 3, the text: entities, amounts, dates and quotes, then the article is `done`.

Several waiting articles share one model pass (a batch leased to this run), which is
where the NER's throughput comes from; an article whose earlier attempt failed runs
alone, so a poison text cannot use up the attempts of the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from worker import logs, metrics
from worker.context import Context
from worker.nlp import annotate
from worker.steps import DATABASE_DOWN, Outcome, attempt_failed, local_owner
from worker.store import repo
from worker.store.annotations import save_annotations, save_batch
from worker.store.db import session_scope

log = logging.getLogger(__name__)
STEP = "annotate"


@dataclass(frozen=True)
class Text:
    article_id: int
    text: str
    day: date | None  # the article's date, to resolve "mardi" or "le 3 mars"


def run(ctx: Context, article_id: int, owner: str | None = None) -> dict[int, Outcome]:
    """Annotate this article, with other waiting ones in the same model pass."""
    return run_batch(ctx, [article_id], owner or local_owner(), fill=True)


def run_batch(ctx: Context, article_ids: list[int], owner: str,
              fill: bool = False) -> dict[int, Outcome]:
    """Claim these articles (counting an attempt on each), annotate, store each.
    `fill`: add waiting articles up to a batch, chosen in the claim's transaction."""
    with session_scope(ctx.db) as session:
        if fill:
            article_ids = repo.claimable_batch(session, article_ids[0],
                                               ctx.settings.nlp_batch_size, owner)
        results = {article_id: Outcome.SKIPPED for article_id in article_ids}
        if not article_ids:
            return results
        claim = repo.claim_articles(session, article_ids, ("extracted",), STEP, owner,
                                    ctx.settings.stuck_after_seconds, ctx.settings.max_attempts)
        results.update({i: Outcome.FAILED for i in claim.exhausted})
        todo = _texts(ctx, session, claim.ids, results)
    if not todo:
        return results
    try:
        with metrics.timed("annotate"):
            annotations = _annotate(ctx, todo)
        results.update(_store_batch(ctx, todo, annotations))
    except DATABASE_DOWN:
        raise
    except Exception as exc:  # noqa: BLE001 - counted; the next claim may give up
        pending = [t.article_id for t in todo if results[t.article_id] is Outcome.SKIPPED]
        attempt_failed(ctx.db, pending, STEP, exc)
        results.update({i: Outcome.RETRY for i in pending})
    except BaseException:
        # Interrupted (worker shutdown): free the batch at once, not at lease expiry.
        _release(ctx, [t.article_id for t in todo], owner)
        raise
    return results


def _texts(ctx: Context, session, ids: list[int], results: dict[int, Outcome]) -> list[Text]:
    """The texts to annotate; articles in another language are done without entities."""
    todo = []
    for article in repo.annotation_inputs(session, ids):
        if article.language not in ctx.settings.accepted_languages:
            # Stored with its language, but the French model would only invent entities.
            moved = repo.advance(session, article.id, "extracted", "done", done_at=repo.now())
            results[article.id] = Outcome.ADVANCED if moved else Outcome.SKIPPED
        else:
            todo.append(Text(article.id, article.text or "", _article_date(article)))
    return todo


def _annotate(ctx: Context, todo: list[Text]) -> list:
    """One model pass for the batch; if it fails, each text alone, so one bad text fails alone."""
    texts, days = [t.text for t in todo], [t.day for t in todo]
    try:
        return annotate(texts, days, model=ctx.settings.spacy_model,
                        batch_size=ctx.settings.nlp_batch_size,
                        ner=ctx.settings.ner_component)
    except Exception:  # noqa: BLE001
        log.exception("NLP batch failed, retrying the articles one by one")
    out: list = []
    for text, day in zip(texts, days, strict=True):
        try:
            out.extend(annotate([text], [day], model=ctx.settings.spacy_model,
                                ner=ctx.settings.ner_component))
        except Exception as exc:  # noqa: BLE001
            out.append(exc)
    return out


def _store_batch(ctx: Context, todo: list[Text], annotations: list) -> dict[int, Outcome]:
    """The batch's annotations in one transaction (one commit, one change-feed sequencing
    for the batch); if that fails, each article in its own, so one bad row fails alone."""
    try:
        with metrics.timed("write"), session_scope(ctx.db) as session:
            outcomes = _save_all(session, todo, annotations)
    except DATABASE_DOWN:
        raise
    except Exception:  # noqa: BLE001 - retried one by one below
        log.exception("storing the batch failed, storing the articles one by one")
        outcomes = {}
        for item, ann in zip(todo, annotations, strict=True):
            try:
                with metrics.timed("write"), session_scope(ctx.db) as session:
                    outcomes[item.article_id] = _save(session, item.article_id, ann)
            except DATABASE_DOWN:
                raise
            except Exception as exc:  # noqa: BLE001 - this article's attempt, counted
                outcomes[item.article_id] = attempt_failed(ctx.db, [item.article_id], STEP, exc)
    for item, ann in zip(todo, annotations, strict=True):
        if outcomes[item.article_id] is Outcome.ADVANCED:
            with logs.ids(article_id=item.article_id):
                log.info("annotated: %d entities, %d amounts, %d quotes", len(ann.entities),
                         len(ann.amounts), len(ann.quotes))
            metrics.ARTICLES.labels("done").inc()
    return outcomes


def _save_all(session, todo: list[Text], annotations: list) -> dict[int, Outcome]:
    """The batch's results, in the caller's transaction: state changes, then one write of
    all the annotations (shared entity rows in one global order: no deadlock)."""
    outcomes = {item.article_id: _save(session, item.article_id, ann)
                for item, ann in zip(todo, annotations, strict=True) if isinstance(ann, Exception)}
    annotated = {item.article_id: ann for item, ann in zip(todo, annotations, strict=True)
                 if not isinstance(ann, Exception)}
    moved = repo.advance_many(session, list(annotated), "extracted", "done", done_at=repo.now())
    outcomes.update({i: Outcome.ADVANCED if i in moved else Outcome.SKIPPED for i in annotated})
    save_batch(session, [(i, ann) for i, ann in annotated.items() if i in moved])
    return outcomes


def _save(session, article_id: int, ann) -> Outcome:
    """One article's result, in the caller's transaction."""
    if isinstance(ann, Exception):
        failed = repo.fail_article(session, article_id, STEP, "nlp_crashed",
                                   f"{type(ann).__name__}: {ann}")
        return Outcome.FAILED if failed else Outcome.SKIPPED
    if not repo.advance(session, article_id, "extracted", "done", done_at=repo.now()):
        return Outcome.SKIPPED
    save_annotations(session, article_id, ann)
    return Outcome.ADVANCED


def _article_date(article) -> date | None:
    if article.published:
        try:
            return datetime.fromisoformat(article.published).date()
        except ValueError:
            pass
    return article.entry_published.date() if article.entry_published else None


def _release(ctx: Context, article_ids: list[int], owner: str) -> None:
    try:
        with session_scope(ctx.db) as session:
            repo.release(session, article_ids, owner)
    except Exception:  # noqa: BLE001 - the database may be the reason we are here
        log.warning("could not release the leases of %s; they expire by themselves",
                    article_ids)
