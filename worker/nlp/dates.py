"""Absolute dates in French text, resolved with the article's own date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from worker.nlp.text import SPACES

MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}
_SP = f"[{SPACES}]+"
_MONTH = "|".join(MONTHS)
DAY_MONTH = re.compile(
    rf"\b(?:(?:le|du|au|depuis le|jusqu[’']au){_SP})?(?P<day>1er|[12]\d|3[01]|0?[1-9])"
    rf"{_SP}(?P<month>{_MONTH})(?:{_SP}(?P<year>(?:19|20)\d\d))?\b", re.I)
MONTH_YEAR = re.compile(rf"\b(?:(?:en|depuis|d[’']|de){_SP}?)?(?P<month>{_MONTH}){_SP}"
                        rf"(?P<year>(?:19|20)\d\d)\b", re.I)


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    text: str
    value: str  # ISO: YYYY-MM-DD, or YYYY-MM for a month


FUTURE = re.compile(
    r"\b(?:\w+(?:era|eront|erait|eraient|ira|iront|irait|iraient)|sera|seront|serait|aura|"
    r"auront|fera|feront|prochaine?s?|doit|doivent|devrait|devraient|prévue?s?|attendue?s?|"
    r"d[’']ici)\b", re.I)


def _resolve(day: int, month: int, year: int | None, published: date | None,
             future: bool = False) -> date | None:
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            return None
    if published is None:
        return None
    # An undated day is the latest one on or before the article's date ("le 28 février" in
    # a November article), or the first one after it when its sentence speaks of the future.
    candidates = []
    for y in (published.year - 1, published.year, published.year + 1):
        try:
            candidates.append(date(y, month, day))
        except ValueError:
            continue
    if future:
        ahead = [d for d in candidates if d >= published]
        return min(ahead) if ahead else None
    behind = [d for d in candidates if d <= published]
    return max(behind) if behind else None


def _speaks_of_future(text: str, start: int, end: int) -> bool:
    """Whether the date's clause uses the future or conditional, or says "prochain"."""
    left = max(text.rfind(".", 0, start) + 1, start - 50)
    right = text.find(".", end)
    right = min(right if right >= 0 else len(text), end + 25)
    return bool(FUTURE.search(text[left:right]))


def find_dates(text: str, published: date | None = None) -> list[DateMention]:
    """Day-month(-year) and month-year dates; a date without a year takes the article's."""
    out: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    for m in DAY_MONTH.finditer(text):
        day = 1 if m.group("day").lower() == "1er" else int(m.group("day"))
        year = int(m.group("year")) if m.group("year") else None
        resolved = _resolve(day, MONTHS[m.group("month").lower()], year, published,
                            _speaks_of_future(text, m.start(), m.end()))
        if resolved:
            out.append(DateMention(m.start(), m.end(), m.group(0), resolved.isoformat()))
            taken.append((m.start(), m.end()))
    for m in MONTH_YEAR.finditer(text):
        if any(m.start() < e and s < m.end() for s, e in taken):
            continue
        value = f"{int(m.group('year')):04d}-{MONTHS[m.group('month').lower()]:02d}"
        out.append(DateMention(m.start(), m.end(), m.group(0), value))
    return sorted(out, key=lambda d: d.start)
