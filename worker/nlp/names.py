"""What makes two written names one person or one organisation: pure helpers, no SQL.

A person's name splits into a given name and a family name; both are folded and their
transliterations normalised, so "Volodymyr Zelensky", "Volodymyr Zelenskyy" and
"Volodymyr Zelenski" share one skeleton (volodimir, zelenski), as do "Navalny" and
"Navalnyï". Particles: "de"/"du"/"d'" drop ("de Villepin" is Villepin alone), the others
are part of the family name ("Le Pen", "Van Damme").

An acronym joins an organisation's full name only when an article pairs them:
"Organisation mondiale de la santé (OMS)" or "l'OMS (Organisation mondiale de la santé)".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from worker.nlp.text import fold

DROPPED_PARTICLES = {"de", "d'", "du", "des"}
PARTICLES = DROPPED_PARTICLES | {"le", "la", "van", "von", "der", "den", "da", "di", "del",
                                 "al", "el", "ben", "bin", "ter", "ten", "mac"}
# One spelling per sound, in this order: Cyrillic and Arabic names reach French news
# through English, German and French transliterations.
TRANSLITERATIONS = (
    ("yy", "i"), ("iy", "i"), ("yi", "i"), ("ij", "i"), ("y", "i"), ("ii", "i"),
    ("tch", "ch"), ("tsch", "ch"), ("sch", "sh"), ("kh", "h"), ("ck", "k"), ("ph", "f"),
    ("w", "v"), ("ou", "u"), ("dj", "j"), ("dzh", "j"), ("zh", "j"),
)
ACRONYM = re.compile(r"[A-Z][A-Za-z&]{1,9}")
# "Organisation mondiale de la santé (OMS)"
FULL_THEN_ACRONYM = r"\s*\(\s*({acronym})\s*\)"


def skeleton(word: str) -> str:
    """A name part folded, joined, its transliterations and double letters normalised."""
    out = re.sub(r"[\s'’\-.]", "", fold(word))
    for written, sound in TRANSLITERATIONS:
        out = out.replace(written, sound)
    return re.sub(r"(.)\1+", r"\1", out)


@dataclass(frozen=True)
class PersonName:
    given: str | None  # skeleton of the first name; None for a surname alone
    family: str  # skeleton of the family name


def person_name(key: str) -> PersonName | None:
    """Given and family name skeletons of a person's folded key ('marine le pen')."""
    words = key.replace("’", "'").split()
    if not words:
        return None
    if words[0] in PARTICLES or len(words) == 1:
        given, rest = None, words
    else:
        given, rest = words[0], words[1:]
    rest = [w for w in rest if w not in DROPPED_PARTICLES]
    if not rest:
        return None
    family = skeleton("".join(rest))
    return PersonName(skeleton(given) if given else None, family) if family else None


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Levenshtein distance, cut off above `limit` (the only distances we act on)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def close_family(a: str, b: str) -> bool:
    """Family names one typo apart (two for long ones); short names must be equal."""
    if a == b:
        return True
    if min(len(a), len(b)) < 7:
        return False
    return edit_distance(a, b) <= (2 if min(len(a), len(b)) >= 10 else 1)


def _initials(name: str) -> str:
    words = [w for w in re.split(r"[\s\-’']+", name) if w]
    return "".join(w[0] for w in words if w[0].isupper() or len(w) > 3).upper()


def acronym_pairs(text: str, entities: Sequence) -> dict[str, str]:
    """{acronym key: full name key} for the organisations an article names both ways,
    side by side in brackets. The acronym must match the name's initials (the capitals,
    or the words of four letters and more), so a bracketed country or city never joins."""
    orgs = [e for e in entities if e.label == "ORG"]
    pairs: dict[str, str] = {}
    for e in orgs:
        if " " not in e.name:
            continue
        initials = _initials(e.name)
        for m in e.mentions:
            after = re.match(r"\s*\(\s*([A-Z][A-Za-z&]{1,9})\s*\)", text[m.end:m.end + 16])
            acronym = after.group(1) if after else None
            if acronym and _fits(acronym, initials):
                pairs[fold(acronym)] = e.key
    for e in orgs:  # "l'OMS (Organisation mondiale de la santé)"
        if " " in e.name or not e.name.isupper():
            continue
        for m in e.mentions:
            inside = re.match(r"\s*\(([^()]{5,120})\)", text[m.end:m.end + 124])
            if not inside:
                continue
            full = next((o for o in orgs if fold(o.name) == fold(inside.group(1).strip())),
                        None)
            if full is not None and _fits(e.name, _initials(full.name)):
                pairs[e.key] = full.key
    return pairs


def _fits(acronym: str, initials: str) -> bool:
    """'OMS' of 'Organisation Mondiale de la Santé' (initials 'OMS'); 'UE' of 'Union
    européenne'; a subsequence of the initials, first letter first, covers most usage."""
    acronym = acronym.upper()
    if not initials or acronym[0] != initials[0]:
        return False
    it = iter(initials)
    return len(acronym) >= 2 and all(ch in it for ch in acronym)
