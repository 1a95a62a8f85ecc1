"""Money amounts and percentages in French text, normalised: '2,2 milliards d'euros' → 2.2e9 EUR.

Written forms handled: digits with a multiplier and a currency word, sign or ISO code on
either side ("2,2 milliards d'euros", "1,5 Md€", "45 M$ US", "USD 10"); amounts in words
("un demi-milliard d'euros", "deux millions de dollars"); ranges ("entre 5 et 7 millions
d'euros"); several amounts of one sentence sharing one currency; negative amounts; prices
per unit ("1,50 euro le litre" is 1.5 EUR).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from text_to_num import text2num

from worker.nlp.text import SPACES, parse_number

_SP = f"[{SPACES}]"
# A number starts at a digit that does not continue another number ("2022 300" is two).
NUMBER = rf"(?<![\d,.])(?:\d{{1,3}}(?:[{SPACES}.]\d{{3}})+(?:,\d+)?|\d+(?:[,.]\d+)?)"
# French numbers in words, as text2num reads them: "deux", "vingt-cinq", "trois cents".
_UNIT_WORDS = ("un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|"
               "quatorze|quinze|seize|vingt|vingts|trente|quarante|cinquante|soixante|cent|"
               "cents")
NUMBER_WORDS = (rf"(?<![\w-])(?:{_UNIT_WORDS})(?:(?:-|{_SP}+)(?:et(?:-|{_SP}+))?"
                rf"(?:{_UNIT_WORDS}))*(?![\w-])")
MULTIPLIERS = {
    "mille": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "m": 1e6, "mln": 1e6,
    "milliard": 1e9, "milliards": 1e9, "md": 1e9, "mds": 1e9, "mrd": 1e9, "mrds": 1e9,
    "bn": 1e9, "g": 1e9, "billion": 1e12, "billions": 1e12,
}
# Multipliers that may stand right against a currency sign only: "5 G$" (Québec), not "5 g".
SIGN_ONLY = {"g"}
CURRENCIES = {
    "euro": "EUR", "euros": "EUR", "€": "EUR", "eur": "EUR",
    "dollar": "USD", "dollars": "USD", "$": "USD", "usd": "USD", "dollars américains": "USD",
    "dollars us": "USD", "$ us": "USD", "$us": "USD", "us $": "USD",
    "livre sterling": "GBP", "livres sterling": "GBP", "livre": "GBP", "livres": "GBP",
    "£": "GBP", "gbp": "GBP",
    "franc suisse": "CHF", "francs suisses": "CHF", "chf": "CHF",
    "yen": "JPY", "yens": "JPY", "¥": "JPY", "jpy": "JPY", "yuan": "CNY", "yuans": "CNY",
    "cny": "CNY", "rouble": "RUB", "roubles": "RUB", "rub": "RUB",
    "hryvnia": "UAH", "hryvnias": "UAH", "uah": "UAH",
    "dollars canadiens": "CAD", "dollar canadien": "CAD", "$ ca": "CAD", "$ can": "CAD",
    "$ cad": "CAD", "cad": "CAD",
    "dollars australiens": "AUD", "dollar australien": "AUD", "aud": "AUD",
    "dollars de taïwan": "TWD", "dollars taïwanais": "TWD", "dollar de taïwan": "TWD",
    "dollars de hong kong": "HKD", "dollars hongkongais": "HKD",
    "couronne": "SEK", "couronnes": "SEK", "couronnes suédoises": "SEK",
    "couronnes danoises": "DKK", "couronnes norvégiennes": "NOK", "couronnes tchèques": "CZK",
    "francs guinéens": "GNF", "franc guinéen": "GNF", "gnf": "GNF",
    "francs cfa": "XOF", "franc cfa": "XOF", "fcfa": "XOF", "f cfa": "XOF", "xof": "XOF",
    "xaf": "XAF", "francs congolais": "CDF", "francs rwandais": "RWF", "francs belges": "BEF",
    "francs français": "FRF", "roupies": "INR", "roupie": "INR", "inr": "INR",
    "réals": "BRL", "reais": "BRL", "brl": "BRL", "pesos": "MXN",
    "dinars": "TND", "dinar": "TND", "dinars tunisiens": "TND", "dinar tunisien": "TND",
    "dt": "TND", "tnd": "TND", "dinars algériens": "DZD", "dinar algérien": "DZD",
    "dzd": "DZD", "dirhams": "MAD", "dirham": "MAD", "mad": "MAD", "wons": "KRW",
    "shekels": "ILS", "livres turques": "TRY", "zlotys": "PLN", "forints": "HUF",
    "c$": "CAD", "ca$": "CAD", "a$": "AUD", "us$": "USD", "hk$": "HKD", "nt$": "TWD",
    "francs": "FRF", "franc": "FRF",  # see _franc
}
# "francs" alone: the Swiss franc in an article about Switzerland, the Belgian franc in
# one about Belgium only, else the French franc (CFA, Guinean … francs say which).
FRANCS = {"francs", "franc"}
SWISS = re.compile(r"\b(?:Suisse|suisses?|helvétiques?|Genève|Zurich|Lausanne|Berne|Bâle|"
                   r"Valais|Vaud|Neuchâtel|Tessin|Lucerne|Fribourg)\b")
BELGIAN = re.compile(r"\b(?:Belgique|belges?|Wallonie|wallon(?:ne)?s?|Flandres?|Liège|"
                     r"Charleroi|Namur|Anvers)\b")
FRENCH = re.compile(r"\b(?:France|français(?:e|es)?|Paris)\b")
ALGERIAN = re.compile(r"\b(?:Algérie|algérien(?:ne)?s?|Alger|Oran|Constantine)\b")
TUNISIAN = re.compile(r"\b(?:Tunisie|tunisien(?:ne)?s?|Tunis|Sfax|Sousse)\b")
# "dollars" alone: the dollar of the one dollar country the article is about, else USD.
DOLLAR_COUNTRIES = {
    "CAD": re.compile(r"\b(?:Canada|canadien(?:ne)?s?|Québec|québécois|Ontario|Ottawa|"
                      r"Montréal|Toronto|Alberta|Colombie-Britannique)\b"),
    "AUD": re.compile(r"\b(?:Australie|australien(?:ne)?s?|Sydney|Canberra|Melbourne)\b"),
}
USA = re.compile(r"\b(?:États-Unis|Etats-Unis|américain(?:e)?s?|Washington|New York|USA)\b")
# Typing slips in currency words: "francq guinéens".
TYPO = re.compile(r"\bfranc[a-z](?= )", re.I)
_MULT = "|".join(sorted(MULTIPLIERS, key=len, reverse=True))
_CUR = "|".join(re.escape(c).replace(r"\ ", f"{_SP}+")
                for c in sorted(CURRENCIES, key=len, reverse=True))
_HALF = rf"(?P<half>{_SP}+et{_SP}+demie?)?"  # "2 milliards et demi"
# "675 millions de dollars", "2,2 milliards d'euros", "15 €", "1,5 Md€", "un demi-milliard"
AMOUNT_AFTER = re.compile(
    rf"(?:(?P<num>{NUMBER})|(?P<words>{NUMBER_WORDS}))"
    rf"{_SP}*(?:(?P<demi>demi-)?(?P<mult>{_MULT})\.?{_HALF}{_SP}*)?"
    rf"(?:(?:de|d[’']){_SP}*)?(?P<cur>{_CUR})(?![\w])", re.I)
# "$675 millions", "€ 2,2 milliards", "USD 10"
AMOUNT_BEFORE = re.compile(
    rf"(?P<cur>[$€£]|USD|EUR|GBP|CHF){_SP}*(?P<num>{NUMBER})"
    rf"(?:{_SP}*(?P<mult>{_MULT})\b)?", re.I)
PERCENT = re.compile(rf"(?P<num>[-+−]?{NUMBER}){_SP}*(?:%|pour{_SP}?cent\b|pourcents?\b)", re.I)
# A minus sign right before an amount, after a space or an opening bracket: "-3 M€".
MINUS = re.compile(rf"(?:^|(?<=[\s(]))[-−–]{_SP}?$")


@dataclass(frozen=True)
class Amount:
    start: int
    end: int
    text: str
    value: float
    currency: str | None  # ISO 4217; None for a percentage
    kind: str  # "money" or "percent"


def _number(match: re.Match) -> float | None:
    """The number of a match, written in digits ("num") or in words ("words")."""
    if match.group("num"):
        return parse_number(match.group("num"))
    try:
        return float(text2num(" ".join(match.group("words").lower().split()), "fr"))
    except ValueError:  # words that do not make one number: "deux trois"
        return None


def _value(match: re.Match) -> float | None:
    value = _number(match)
    groups = match.re.groupindex
    mult = match.group("mult")
    if value is None:
        return None
    if mult:
        value *= MULTIPLIERS[mult.lower()]
    if "demi" in groups and match.group("demi"):
        value *= 0.5
    if "half" in groups and match.group("half") and mult:
        value += MULTIPLIERS[mult.lower()] / 2
    return value


def _franc(text: str) -> str:
    if SWISS.search(text):
        return "CHF"
    return "BEF" if BELGIAN.search(text) and not FRENCH.search(text) else "FRF"


def _dollar(text: str, at: int) -> str:
    """USD, unless the article is about one other dollar country more than the US.

    A country named once in passing, away from the amount ("une filiale au Canada"),
    does not make the article's dollars Canadian: it must be named in the amount's
    sentence or more than once, and more often than the United States.
    """
    sentence = _sentence(text, at)
    us = len(USA.findall(text))
    local = []
    for code, pattern in DOLLAR_COUNTRIES.items():
        named = len(pattern.findall(text))
        if named > us and (named > 1 or pattern.search(sentence)):
            local.append(code)
    return local[0] if len(local) == 1 else "USD"


def _sentence(text: str, at: int) -> str:
    """The sentence around offset `at` (cut at a full stop or a line break)."""
    start = max(text.rfind(". ", 0, at), text.rfind("\n", 0, at)) + 1
    ends = [i for i in (text.find(". ", at), text.find("\n", at)) if i >= 0]
    return text[start:min(ends) if ends else len(text)]


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
            currency = _currency(m, text)
            value = _value(m)
            if currency is None or value is None:
                continue
            start = m.start()
            sign = MINUS.search(text, 0, start) if pattern is AMOUNT_AFTER else None
            if sign:
                value, start = -value, sign.start()
            found.append(Amount(start, m.end(), text[start:m.end()], value, currency, "money"))
            taken.append((start, m.end()))
    found += _cents(text, taken)
    found += _inherited(text, found, taken)
    found += _range_starts(text, found)
    return sorted(found, key=lambda a: a.start)


# "15 centimes d'euro", "deux centimes par litre": a hundredth of the euro, or of the
# Swiss franc in an article about Switzerland.
CENTS = re.compile(rf"(?:(?P<num>{NUMBER})|(?P<words>{NUMBER_WORDS})){_SP}*centimes?"
                   rf"(?:{_SP}+(?P<of>d[’']euros?|de{_SP}+francs?))?(?![\w-])", re.I)


def _cents(text: str, taken: list[tuple[int, int]]) -> list[Amount]:
    out: list[Amount] = []
    if "centime" not in text.lower():  # the pattern is slow to fail on every number
        return out
    for m in CENTS.finditer(text):
        value = _number(m)
        if value is None or any(m.start() < e and s < m.end() for s, e in taken):
            continue
        of = (m.group("of") or "").lower()
        swiss = "franc" in of or (not of and SWISS.search(text) and not FRENCH.search(text))
        out.append(Amount(m.start(), m.end(), m.group(0), round(value / 100, 4),
                          "CHF" if swiss else "EUR", "money"))
        taken.append((m.start(), m.end()))
    return out


def _dinar(text: str) -> str:
    """The Tunisian dinar, unless the article is about Algeria and not Tunisia."""
    return "DZD" if ALGERIAN.search(text) and not TUNISIAN.search(text) else "TND"


def _currency(m: re.Match, text: str) -> str | None:
    """The ISO code of a matched amount's currency, or None when it is not money."""
    written = text[m.start("cur"):m.end("cur")]  # as printed (the scan fixes typos)
    if written[:1].isupper() and written[1:2].islower():
        return None  # "99 Francs", "Les 400 Euros": a title, not an amount
    word = " ".join(m.group("cur").lower().split())
    mult = (m.group("mult") or "").lower()
    if word in ("livre", "livres") and not mult:
        return None  # "3 livres": books
    if mult in SIGN_ONLY and not any(c in word for c in "$€£"):
        return None  # "5 g de sucre"
    if word in FRANCS:
        return _franc(text)
    currency = CURRENCIES[word]
    if currency == "USD" and word in ("dollar", "dollars", "$"):
        currency = _dollar(text, m.start())
    if word in ("dinar", "dinars"):
        currency = _dinar(text)
    return currency


BARE = re.compile(rf"(?:(?P<num>{NUMBER})|(?P<words>{NUMBER_WORDS})){_SP}*"
                  rf"(?P<mult>millions?|milliards?|mille)(?![\w’'])"
                  rf"(?!{_SP}*(?:de|d[’']))", re.I)
# The first number of a range whose second carries the multiplier and the currency:
# "entre 5 et 7 millions d'euros", "de 5 à 7 millions d'euros", "5 à 7 M€".
RANGE_START = re.compile(
    rf"(?:\bentre{_SP}+(?:(?P<num>{NUMBER})|(?P<words>{NUMBER_WORDS})){_SP}+et"
    rf"|(?:(?P<num2>{NUMBER})|(?P<words2>{NUMBER_WORDS})){_SP}*(?:à|-|–))"
    rf"{_SP}*$", re.I)


def _inherited(text: str, found: list[Amount], taken: list[tuple[int, int]]) -> list[Amount]:
    """Bare amounts ("50 millions") sharing the currency of an amount in the same sentence."""
    out = []
    for m in BARE.finditer(text):
        if any(m.start() < e and s < m.end() for s, e in taken):
            continue
        sentence = [a for a in found if not re.search(r"[.!?]\s", text[min(a.end, m.end()):
                                                                       max(a.start, m.start())])]
        currencies = {a.currency for a in sentence}
        value = _value(m)
        if len(currencies) == 1 and value is not None:
            out.append(Amount(m.start(), m.end(), m.group(0), value, currencies.pop(), "money"))
    return out


def _range_starts(text: str, found: list[Amount]) -> list[Amount]:
    """"entre 5 et 7 millions d'euros": 5 millions too, in the second amount's currency."""
    out = []
    for amount in found:
        head = re.match(rf"[-−–]?{_SP}*(?P<num>{NUMBER}|{NUMBER_WORDS})", amount.text, re.I)
        m = RANGE_START.search(text, max(0, amount.start - 60), amount.start)
        if not head or not m or any(a.start < m.end() and m.start() < a.end for a in found):
            continue
        first = m.group("num") or m.group("num2")
        words = m.group("words") or m.group("words2")
        try:
            low = parse_number(first) if first else float(text2num(words.lower(), "fr"))
            top = parse_number(head.group("num")) if head.group("num")[0].isdigit() \
                else float(text2num(head.group("num").lower(), "fr"))
        except ValueError:
            continue
        if top == 0 or low >= top:
            continue  # not the low end of a range ("2019 à 5 millions" is no range)
        group = next(g for g in ("num", "words", "num2", "words2") if m.group(g))
        start, end = m.start(group), m.end(group)
        out.append(Amount(start, end, text[start:end], low * amount.value / top,
                          amount.currency, "money"))
    return out


def find_percents(text: str) -> list[Amount]:
    out = []
    for m in PERCENT.finditer(text):
        value = parse_number(m.group("num").lstrip("+-−"))
        if m.group("num")[0] in "-−":
            value = -value
        out.append(Amount(m.start(), m.end(), m.group(0), value, None, "percent"))
    return out
