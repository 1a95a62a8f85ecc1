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
    "dollars australiens": "AUD", "dollar australien": "AUD",
    "dollars de taïwan": "TWD", "dollars taïwanais": "TWD", "dollar de taïwan": "TWD",
    "dollars de hong kong": "HKD", "dollars hongkongais": "HKD",
    "couronne": "SEK", "couronnes": "SEK", "couronnes suédoises": "SEK",
    "couronnes danoises": "DKK", "couronnes norvégiennes": "NOK", "couronnes tchèques": "CZK",
    "francs guinéens": "GNF", "franc guinéen": "GNF", "francs cfa": "XOF", "franc cfa": "XOF",
    "francs congolais": "CDF", "francs rwandais": "RWF", "francs belges": "BEF",
    "francs français": "FRF", "roupies": "INR", "roupie": "INR", "réals": "BRL", "reais": "BRL",
    "pesos": "MXN", "dinars": "TND", "dirhams": "MAD", "dirham": "MAD", "wons": "KRW",
    "shekels": "ILS", "livres turques": "TRY", "zlotys": "PLN", "forints": "HUF",
    "c$": "CAD", "ca$": "CAD", "a$": "AUD", "us$": "USD", "hk$": "HKD", "nt$": "TWD",
}
# "dollars" alone: the dollar of the one dollar country the article is about, else USD.
DOLLAR_COUNTRIES = {
    "CAD": re.compile(r"\b(?:Canada|canadien(?:ne)?s?|Québec|québécois|Ontario|Ottawa|"
                      r"Montréal|Toronto|Alberta|Colombie-Britannique)\b"),
    "AUD": re.compile(r"\b(?:Australie|australien(?:ne)?s?|Sydney|Canberra|Melbourne)\b"),
}
USA = re.compile(r"\b(?:États-Unis|Etats-Unis|américain(?:e)?s?|Washington|New York|USA)\b")
# Typing slips in currency words: "francq guinéens".
TYPO = re.compile(r"\bfranc[a-z](?= )", re.I)
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


def _dollar(text: str) -> str:
    """USD, unless the article is about one other dollar country and not the US."""
    local = [code for code, pattern in DOLLAR_COUNTRIES.items() if pattern.search(text)]
    return local[0] if len(local) == 1 and not USA.search(text) else "USD"


def find_money(text: str) -> list[Amount]:
    """Every amount with a currency, in text order, without overlaps.

    "3 livres" alone are books: a pound needs a multiplier, "sterling" or £. An amount
    without currency ("entre 50 millions et 100 millions d'euros", "325 milliards
    contre 347 milliards de dollars") takes the one of the amount next to it in the sentence.
    """
    scan = TYPO.sub("francs", text)  # same length: offsets stay those of `text`
    found: list[Amount] = []
    taken: list[tuple[int, int]] = []
    for pattern in (AMOUNT_AFTER, AMOUNT_BEFORE):
        for m in pattern.finditer(scan):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            word = " ".join(m.group("cur").lower().split())
            if word in ("livre", "livres") and not m.group("mult"):
                continue  # "3 livres": books
            currency = CURRENCIES[word]
            if currency == "USD" and word in ("dollar", "dollars", "$"):
                currency = _dollar(text)
            found.append(Amount(m.start(), m.end(), text[m.start():m.end()], _value(m),
                                currency, "money"))
            taken.append((m.start(), m.end()))
    found += _inherited(text, found, taken)
    return sorted(found, key=lambda a: a.start)


BARE = re.compile(rf"(?P<num>{NUMBER}){_SP}*(?P<mult>millions?|milliards?|mille)(?![\w’'])"
                  rf"(?!{_SP}*(?:de|d[’']))", re.I)


def _inherited(text: str, found: list[Amount], taken: list[tuple[int, int]]) -> list[Amount]:
    """Bare amounts ("50 millions") sharing the currency of an amount in the same sentence."""
    out = []
    for m in BARE.finditer(text):
        if any(m.start() < e and s < m.end() for s, e in taken):
            continue
        sentence = [a for a in found if not re.search(r"[.!?]\s", text[min(a.end, m.end()):
                                                                       max(a.start, m.start())])]
        currencies = {a.currency for a in sentence}
        if len(currencies) == 1:
            out.append(Amount(m.start(), m.end(), m.group(0), _value(m), currencies.pop(),
                              "money"))
    return out


def find_percents(text: str) -> list[Amount]:
    out = []
    for m in PERCENT.finditer(text):
        value = parse_number(m.group("num").lstrip("+-−"))
        if m.group("num")[0] in "-−":
            value = -value
        out.append(Amount(m.start(), m.end(), m.group(0), value, None, "percent"))
    return out
