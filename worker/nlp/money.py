"""Money amounts and percentages in French text, normalised: '2,2 milliards d'euros' → 2.2e9 EUR."""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.nlp.text import SPACES, parse_number

# A number starts at a digit that does not continue another number ("2022 300" is two).
NUMBER = rf"(?<![\d,.])(?:\d{{1,3}}(?:[{SPACES}.]\d{{3}})+(?:,\d+)?|\d+(?:[,.]\d+)?)"
MULTIPLIERS = {
    "mille": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "m": 1e6, "mln": 1e6,
    "milliard": 1e9, "milliards": 1e9, "md": 1e9, "mds": 1e9, "mrd": 1e9, "mrds": 1e9,
    "bn": 1e9, "billion": 1e12, "billions": 1e12,
}
CURRENCIES = {
    "euro": "EUR", "euros": "EUR", "€": "EUR", "eur": "EUR",
    "dollar": "USD", "dollars": "USD", "$": "USD", "usd": "USD", "dollars américains": "USD",
    "livre sterling": "GBP", "livres sterling": "GBP", "livre": "GBP", "livres": "GBP",
    "£": "GBP", "gbp": "GBP",
    "franc suisse": "CHF", "francs suisses": "CHF", "chf": "CHF",
    "yen": "JPY", "yens": "JPY", "¥": "JPY", "yuan": "CNY", "yuans": "CNY",
    "rouble": "RUB", "roubles": "RUB", "hryvnia": "UAH", "hryvnias": "UAH",
    "dollars canadiens": "CAD", "dollar canadien": "CAD",
}
_SP = f"[{SPACES}]"
_MULT = "|".join(sorted(MULTIPLIERS, key=len, reverse=True))
_CUR = "|".join(re.escape(c) for c in sorted(CURRENCIES, key=len, reverse=True))
# "675 millions de dollars", "2,2 milliards d'euros", "15 €", "1,5 Md€"
AMOUNT_AFTER = re.compile(
    rf"(?P<num>{NUMBER}){_SP}*(?:(?P<mult>{_MULT})\.?{_SP}*)?(?:(?:de|d[’']){_SP}*)?"
    rf"(?P<cur>{_CUR})(?![\w])", re.I)
# "$675 millions", "€ 2,2 milliards", "USD 10"
AMOUNT_BEFORE = re.compile(
    rf"(?P<cur>[$€£]|USD|EUR|GBP|CHF){_SP}*(?P<num>{NUMBER})"
    rf"(?:{_SP}*(?P<mult>{_MULT})\b)?", re.I)
PERCENT = re.compile(rf"(?P<num>[-+−]?{NUMBER}){_SP}*(?:%|pour{_SP}?cent\b|pourcents?\b)", re.I)


@dataclass(frozen=True)
class Amount:
    start: int
    end: int
    text: str
    value: float
    currency: str | None  # ISO 4217; None for a percentage
    kind: str  # "money" or "percent"


def _value(match: re.Match) -> float:
    value = parse_number(match.group("num"))
    mult = match.group("mult")
    if mult:
        value *= MULTIPLIERS[mult.lower()]
    return value


def find_money(text: str) -> list[Amount]:
    """Every amount with a currency, in text order, without overlaps."""
    found: list[Amount] = []
    taken: list[tuple[int, int]] = []
    for pattern in (AMOUNT_AFTER, AMOUNT_BEFORE):
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            currency = CURRENCIES[m.group("cur").lower()]
            found.append(Amount(m.start(), m.end(), m.group(0), _value(m), currency, "money"))
            taken.append((m.start(), m.end()))
    return sorted(found, key=lambda a: a.start)


def find_percents(text: str) -> list[Amount]:
    out = []
    for m in PERCENT.finditer(text):
        value = parse_number(m.group("num").lstrip("+-−"))
        if m.group("num")[0] in "-−":
            value = -value
        out.append(Amount(m.start(), m.end(), m.group(0), value, None, "percent"))
    return out
