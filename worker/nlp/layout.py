"""Where a quotation sits on the page: opening a paragraph, alone on its line as a
subheading, repeating the words of another quotation."""

from __future__ import annotations

import re

from worker.nlp.entities import CanonicalEntity
from worker.nlp.quotes import QuoteSpan
from worker.nlp.text import SPACES, fold


def opens_paragraph(text: str, span: QuoteSpan) -> bool:
    lead = text.rfind("\n", 0, span.start) + 1
    return not text[lead:span.start - 1].strip(SPACES)


def _words(quote: str) -> str:
    return " ".join(re.findall(r"\w+", fold(quote)))


def _repeats(heading: str, quote: str) -> bool:
    """The heading's words, but for one at either end ('Il a peut-être été surpris' over
    '…Lui a peut-être été surpris'), run on in the quotation; at least three of them."""
    words = _words(heading).split()
    body = f" {_words(quote)} "
    for part in (words, words[1:], words[:-1]):
        if len(part) >= 3 and f" {' '.join(part)} " in body:
            return True
    return False


def subheading_speakers(text: str, spans: list[QuoteSpan],
                 speakers: list[CanonicalEntity | None]) -> list[CanonicalEntity | None]:
    """A quotation alone on its line is a subheading that repeats words of a quotation of
    the article («Une tâche difficile» over «…est une tâche difficile»): its speaker."""
    out = list(speakers)
    for i, span in enumerate(spans):
        if out[i] is not None or not _alone_on_line(text, span):
            continue
        sources = {speakers[j].key: speakers[j] for j, other in enumerate(spans)
                   if j != i and speakers[j] is not None and _repeats(span.text, other.text)}
        if len(sources) == 1:
            out[i] = next(iter(sources.values()))
    return out


def is_subheading(text: str, span: QuoteSpan) -> bool:
    """A quotation alone on its line without a final stop: « Nouvelles réformes »."""
    return _alone_on_line(text, span) and not re.search(r"[.!?…]\W*$", span.text)


def _alone_on_line(text: str, span: QuoteSpan) -> bool:
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.end)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    return line.strip(SPACES + "«»“”\"'.…!?") == text[span.start:span.end].strip(
        SPACES + "«»“”\"'.…!?")
