"""Direct quotations in « », “ ” and "…", without titles of works or scare quotes.

French typography: « opens, » closes; a quotation that runs over several paragraphs
opens each new paragraph with » (or, in some newsrooms, with « again, closing only at
the end). Narrow or non-breaking spaces sit inside the guillemets. Belgian and Canadian
sites and the wires use “ ” or straight double quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.nlp.text import SPACES

# A quotation of 1-3 words is a scare quote ("le « maillon faible »") unless a reporting
# verb attributes it right after its closing mark: « Ça ira », a-t-il dit.
MIN_WORDS = 4
VERBS = (
    "déclaré|affirmé|dit|ajouté|expliqué|souligné|indiqué|estimé|assuré|précisé|martelé|"
    "insisté|lancé|confié|rappelé|poursuivi|conclu|réagi|commenté|averti|prévenu|reconnu|"
    "annoncé|répondu|jugé|dénoncé|regretté|écrit|tweeté|déploré|fustigé|promis|admis|"
    "observé|noté|résumé|tranché|plaidé|nuancé|relevé|détaillé|répété|réitéré|confirmé|"
    "raconté|témoigné|mentionné|asséné|dévoilé|analysé|anticipé|avancé|ironisé|glissé|"
    "renchéri|insisté|interrogé|demandé|souri|soupiré|protesté|objecté|répliqué|rétorqué|"
    "fait valoir|fait savoir|fait remarquer|mis en garde|prévenu|signalé|argué|"
    "martèle|déclare|affirme|dit|ajoute|explique|souligne|indique|estime|pointe|"
    "assure|précise|insiste|lance|confie|rappelle|poursuit|conclut|réagit|commente|avertit|"
    "reconnaît|annonce|répond|juge|dénonce|regrette|écrit|déplore|promet|admet|observe|note|"
    "résume|tranche|plaide|détaille|répète|confirme|raconte|témoigne|analyse|anticipe|"
    "prévient|met en garde|s[’']étonne|s[’']interroge|s[’']indigne|s[’']inquiète|"
    "s[’']emporte|se souvient|se remémore|se félicite|se réjouit|se désole|s[’']agace|"
    "s[’']amuse|concède|avance|ironise|glisse|renchérit|tempère|nuance|relève|souffle|"
    "soupire|sourit|proteste|objecte|réplique|rétorque|fait valoir|fait savoir|argue|"
    "signale|mentionne|titre|rapporte|cite|complète|résume|certifie|jure|reprend|"
    "s[’']est félicité|s[’']est étonné|s[’']est interrogé|s[’']est indigné|s[’']est inquiété|"
    "s[’']est réjoui|s[’']est emporté|s[’']est souvenu|s[’']est défendu|se défend|tient à"
)
_S = f"[{SPACES}]"
_PRON = r"-t-(?:il|elle|on)|-(?:il|elle|ils|elles|on)\b"
# After the quote: "», a déclaré X", "», selon X", "», a-t-il ajouté", "», s'indigne X",
# "», a néanmoins tenu à rassurer X" is beyond this; an adverb may sit after the auxiliary,
# a translation in parentheses after the closing mark: « Errare humanum est » (…), lance X.
AFTER = re.compile(
    rf"^{_S}*(?:\([^()\n]{{1,160}}\){_S}*)?[,.]?{_S}*"
    rf"(?:(?P<aux>a|avait|ont|aurait|avaient)(?P<pron1>-t-(?:il|elle|on)|-(?:il|elle|on)\b)?"
    rf"(?:{_S}+(?:aussi|encore|alors|déjà|également|ensuite|enfin|néanmoins|pourtant|"
    rf"toutefois|même|lui-même|elle-même|d[’']ailleurs|ainsi))?{_S}+)?"
    rf"(?:(?P<verb>{VERBS})(?:e|es|s)?(?P<pron2>{_PRON})?"
    rf"|(?P<selon>selon|d[’']après))(?![\w])", re.I)
# "M. Passos Coelho", "Yassin E. a dit": a title or an initial is no sentence end.
SENTENCE_END = re.compile(r"(?<!\b[A-ZÉ])(?<!\bMM)(?<!\b[DP]r)[.!?…](?=[\s»”\"])|\n")
# Nouns that introduce a title, not speech: le film « … », l'émission "…".
WORK_CUE = re.compile(
    r"(?:film|livre|ouvrage|roman|essai|chanson|album|émission|série|spectacle|pièce|"
    r"exposition|opération|plan|programme|dispositif|rapport|documentaire|magazine|journal|"
    r"quotidien|hebdomadaire|revue|titre|titré|intitulée?s?|baptisée?s?|nommée?s?|surnommée?s?|"
    r"dénommée?s?|slogan|hashtag|mot-clé|rubrique|chaîne|page|compte|blog|site)"
    rf"{_S}*(?:[\w’'-]+{_S}+)?$", re.I)
WINDOW = 160

OPENERS = {"«": "»", "“": "”", "\"": "\""}


@dataclass(frozen=True)
class QuoteSpan:
    start: int  # offset of the quote's first character (inside the marks)
    end: int  # offset just past its last character (the closing mark is at `end`)
    text: str  # paragraphs joined with one space, without the continuation marks
    mark: str = "«"
    # An attribution inside the marks ("…, explique X. …") split the quotation: where it is.
    incise: tuple[int, int] | None = None


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each non-empty paragraph (text between newlines)."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def _lead(text: str, start: int, end: int) -> int:
    """Offset of the paragraph's first non-space character."""
    chunk = text[start:end]
    return start + len(chunk) - len(chunk.lstrip(SPACES))


def _is_intertitle(text: str, start: int, end: int) -> bool:
    """A short line without final punctuation or quotation marks: a subheading."""
    line = text[start:end].strip(SPACES)
    return (len(line.split()) <= 12 and not re.search(r"[.:;,]$", line)
            and not re.search("[«»“”\"]", line))


def _continues(text: str, paras: list[tuple[int, int]], k: int) -> bool:
    """Does paragraph k+1 (or k+2, past a subheading) open with a guillemet?"""
    for j in (k + 1, k + 2):
        if j >= len(paras):
            return False
        lead = _lead(text, *paras[j])
        if text[lead:lead + 1] in "«»":
            return True
        if not _is_intertitle(text, *paras[j]):
            return False
    return False


def _reversed(text: str, start: int, end: int, opener_is_continuation: bool) -> bool:
    """Some pages swap the guillemets (» … «): the paragraph's first mark is a » that
    is not the continuation mark opening the paragraph."""
    marks = [c for c in text[start:end] if c in "«»"]
    if opener_is_continuation:
        marks = marks[1:]
    return len(marks) >= 2 and marks[0] == "»" and marks[1] == "«"


def _guillemet_spans(text: str) -> list[list[tuple[int, int]]]:
    """Pieces (start, end) of every « … » quotation, a quotation over several paragraphs
    being one list of pieces."""
    found: list[list[tuple[int, int]]] = []
    pieces: list[tuple[int, int]] = []
    open_at: int | None = None
    paras = _paragraphs(text)
    for k, (p_start, p_end) in enumerate(paras):
        first = _lead(text, p_start, p_end)
        starts_open = text.startswith("»", first)
        if starts_open or (open_at is not None and text.startswith("«", first)):
            open_at = first + 1  # the quotation goes on (or starts) here
        elif open_at is not None and not _is_intertitle(text, p_start, p_end):
            pieces, open_at = [], None  # the previous paragraph's quotation never closed
        elif open_at is not None:
            continue  # a subheading inside a long testimony
        opening, closing = ("»", "«") if _reversed(text, p_start, p_end, starts_open) \
            else ("«", "»")
        i = open_at if open_at is not None and open_at > p_start else p_start
        while i < p_end:
            ch = text[i]
            if ch == opening and open_at is None:
                open_at = i + 1
            elif ch == closing and open_at is not None:
                pieces.append((open_at, i))
                found.append(pieces)
                pieces, open_at = [], None
            i += 1
        if open_at is not None:
            if _continues(text, paras, k):
                pieces.append((open_at, p_end))
            else:
                pieces, open_at = [], None
    return found


def _paired_spans(text: str, opening: str, closing: str) -> list[list[tuple[int, int]]]:
    """“ … ” or "…" pairs inside one paragraph; an unpaired mark is left alone."""
    found = []
    for p_start, p_end in _paragraphs(text):
        open_at = None
        for i in range(p_start, p_end):
            ch = text[i]
            if ch == opening and open_at is None:
                open_at = i + 1
            elif ch == closing and open_at is not None:
                found.append([(open_at, i)])
                open_at = None
    return found


def _span(text: str, pieces: list[tuple[int, int]], mark: str) -> QuoteSpan:
    parts = [text[s:e].strip(SPACES + "\n") for s, e in pieces]
    return QuoteSpan(pieces[0][0], pieces[-1][1], " ".join(p for p in parts if p), mark)


def attributed_after(text: str, end: int) -> re.Match | None:
    """The reporting verb right after a quotation's closing mark, if any."""
    return AFTER.match(text[end + 1:end + 1 + WINDOW])


def _is_title(words: list[str]) -> bool:
    """“The Wall Street Journal”, "Standard TV": every word capitalised."""
    significant = [w for w in words if len(w) > 3 or w[:1].isupper()]
    return len(significant) >= 2 and all(w[:1].isupper() for w in significant)


def _keep(text: str, span: QuoteSpan) -> bool:
    """Speech, not a title of a work nor a scare quote."""
    words = span.text.split()
    if not words:
        return False
    if len(words) <= 6 and _is_title(words):
        return False
    if len(words) <= 8 and WORK_CUE.search(text[max(0, span.start - 40):span.start - 1]):
        return False
    if len(words) < MIN_WORDS:
        return span.text[:1].isupper() and attributed_after(text, span.end) is not None
    return True


INCISE = re.compile(
    rf",{_S}+(?:(?P<verb>{VERBS})(?:{_PRON})?)(?P<who>{_S}+[^.!?]{{2,140}}?)?[.!?]{_S}+"
    r"(?=[A-ZÉÀÇ])")


def _split_incise(text: str, span: QuoteSpan) -> list[QuoteSpan]:
    """« Notre crainte…, explique Alexandra Teixeira, chargée de communication. Il y a… »:
    two quotations around the attribution, both with the incise as their attribution."""
    m = INCISE.search(text, span.start, span.end)
    if not m or "\n" in text[span.start:m.start()]:
        return [span]
    incise = (m.start() + 1, m.end())
    first = QuoteSpan(span.start, m.start(), text[span.start:m.start()].strip(SPACES),
                      span.mark, incise)
    rest = text[m.end():span.end].strip(SPACES)
    if not rest:
        return [first]
    second = QuoteSpan(m.end(), span.end, " ".join(rest.split()), span.mark, incise)
    return [first, second]


def find_quote_spans(text: str) -> list[QuoteSpan]:
    """Quotations in « », “ ” and "…", in text order.

    A paragraph that opens with » (or « while a quotation is open) continues it; an
    opening « whose paragraph ends unclosed, with no guillemet opening the next paragraph,
    is dropped rather than guessed. Marks inside a longer quotation are left to it.
    """
    spans = [_span(text, p, "«") for p in _guillemet_spans(text)]
    for opening, closing in (("“", "”"), ("\"", "\"")):
        for pieces in _paired_spans(text, opening, closing):
            s, e = pieces[0][0], pieces[-1][1]
            if not any(q.start <= s and e <= q.end for q in spans):
                spans.append(_span(text, pieces, opening))
    out = []
    for span in sorted(spans, key=lambda q: q.start):
        if _keep(text, span):
            out.extend(_split_incise(text, span))
    return out


def quote_sentence_start(text: str, opening: int) -> int:
    """Start of the sentence in which a quotation opens (at offset `opening`)."""
    before = text[max(0, opening - WINDOW * 2):opening]
    boundaries = list(SENTENCE_END.finditer(before))
    return opening - len(before) + (boundaries[-1].end() if boundaries else 0)
