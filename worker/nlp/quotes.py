"""Direct quotations in French guillemets, with their speaker when a reporting verb names one.

French typography: « opens, » closes; a quotation that runs over several paragraphs
opens each new paragraph with ». Narrow or non-breaking spaces sit inside the guillemets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.nlp.text import SPACES

MIN_WORDS = 4
VERBS = (
    "déclaré|affirmé|dit|ajouté|expliqué|souligné|indiqué|estimé|assuré|précisé|martelé|"
    "insisté|lancé|confié|rappelé|poursuivi|conclu|réagi|commenté|averti|prévenu|reconnu|"
    "annoncé|répondu|jugé|dénoncé|regretté|écrit|tweeté|déploré|fustigé|promis|admis|"
    "observé|noté|résumé|tranché|plaidé|nuancé|relevé|détaillé|répété|réitéré|confirmé|"
    "raconté|témoigné|martèle|déclare|affirme|dit|ajoute|explique|souligne|indique|estime|"
    "assure|précise|insiste|lance|confie|rappelle|poursuit|conclut|réagit|commente|avertit|"
    "reconnaît|annonce|répond|juge|dénonce|regrette|écrit|déplore|promet|admet|observe|note|"
    "résume|tranche|plaide|détaille|répète|confirme|raconte|témoigne|s'est félicité|s’est félicité"
)
_S = f"[{SPACES}]"
# After the quote: "», a déclaré X", "», selon X", "», a-t-il ajouté", "», s'indigne X"
AFTER = re.compile(
    rf"^{_S}*[,.]?{_S}*(?:(?P<aux>a|avait|ont|aurait)(?P<pron1>-t-(?:il|elle|on))?{_S}+)?"
    rf"(?:s[’']{_S}*(?:est{_S}+|était{_S}+)?)?"
    rf"(?:(?P<verb>{VERBS})(?:e|es|s)?(?P<pron2>-t-(?:il|elle|on)|-(?:il|elle|ils|elles))?"
    rf"|(?P<selon>selon|d[’']après))\b", re.I)
SENTENCE_END = re.compile(r"[.!?…]\s|\n")
WINDOW = 160


@dataclass(frozen=True)
class QuoteSpan:
    start: int  # offset of the quote's first character (inside the guillemets)
    end: int
    text: str  # paragraphs joined with one space, without the continuation »


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each non-empty paragraph (text between newlines)."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def find_quote_spans(text: str) -> list[QuoteSpan]:
    """Balanced « … » spans; a paragraph that opens with » continues (or opens) a quotation.

    An opening « whose paragraph ends unclosed, with no » opening the next paragraph,
    is dropped rather than guessed.
    """
    spans: list[QuoteSpan] = []
    pieces: list[tuple[int, int]] = []
    open_at: int | None = None
    for p_start, p_end in _paragraphs(text):
        first = p_start + len(text[p_start:p_end]) - len(text[p_start:p_end].lstrip(SPACES))
        if text.startswith("»", first):
            open_at = first + 1  # continuation mark: the quotation goes on, or starts here
        elif open_at is not None:
            pieces, open_at = [], None  # the previous paragraph's quotation never closed
        i = open_at if open_at is not None and open_at > p_start else p_start
        while i < p_end:
            ch = text[i]
            if ch == "«" and open_at is None:
                open_at = i + 1
            elif ch == "»" and open_at is not None:
                pieces.append((open_at, i))
                spans.append(_span(text, pieces))
                pieces, open_at = [], None
            i += 1
        if open_at is not None:
            pieces.append((open_at, p_end))
    return [s for s in spans if len(s.text.split()) >= MIN_WORDS]


def _span(text: str, pieces: list[tuple[int, int]]) -> QuoteSpan:
    parts = [text[s:e].strip(SPACES + "\n") for s, e in pieces]
    return QuoteSpan(pieces[0][0], pieces[-1][1], " ".join(p for p in parts if p))


def speaker_window(text: str, span: QuoteSpan) -> tuple[str, int, int]:
    """Where to look for the speaker: ('after'|'before'|'pronoun'|'none', start, end).

    'after': a reporting verb follows the quotation, the speaker is named after it, in
    the same sentence. 'pronoun': "a-t-il déclaré", the last person named before.
    'before': the speaker is named earlier in the quotation's own sentence.
    """
    after_start = span.end + 1
    after = text[after_start: after_start + WINDOW]
    m = AFTER.match(after)
    if m:
        if m.group("pron1") or m.group("pron2"):
            return "pronoun", 0, span.start
        rest_start = after_start + m.end()
        stop = SENTENCE_END.search(text, rest_start)
        return "after", rest_start, stop.start() if stop else len(text)
    opening = max(0, span.start - 1)
    before = text[max(0, opening - WINDOW * 2):opening]
    boundaries = list(SENTENCE_END.finditer(before))
    sentence_start = opening - len(before) + (boundaries[-1].end() if boundaries else 0)
    return "before", sentence_start, opening
