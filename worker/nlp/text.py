"""Small text helpers shared by the NLP rules: folding and French spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Non-breaking and narrow non-breaking spaces sit inside guillemets and before % or €.
SPACES = "\u00a0\u202f\u2009\u2007 "
APOSTROPHES = "’'ʼ`"


_APOSTROPHE = re.compile(f"[{APOSTROPHES}]")
_WHITESPACE = re.compile(r"[\s\u00a0\u202f]+")


def fold(name: str) -> str:
    """Accent-folded, lower-cased, single-spaced key: 'Élisabeth  Borne' → 'elisabeth borne'."""
    # The rules fold the same words and names over and over (a profile of the annotation
    # counted 1,700 folds per article): short strings are remembered.
    return _fold_short(name) if len(name) <= 64 else _fold(name)


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = _APOSTROPHE.sub("'", stripped)
    stripped = _WHITESPACE.sub(" ", stripped)
    return stripped.strip().lower()


_fold_short = lru_cache(maxsize=1 << 16)(_fold)


def parse_number(raw: str) -> float:
    """'2,2' → 2.2, '1 500' → 1500, '1.500.000' → 1500000, '3.5' → 3.5."""
    cleaned = re.sub(f"[{SPACES}]", "", raw)
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif cleaned.count(".") > 1 or re.fullmatch(r"\d{1,3}\.\d{3}", cleaned):
        cleaned = cleaned.replace(".", "")
    return float(cleaned)


_UPPER = "A-ZÉÈÊËÀÂÄÎÏÔÖÛÜÇ"
_LOWER = "a-zéèêëàâäîïôöûüçñ"
# A given name, then a family name in capitals, as results tables and signatures write
# them: "Dawa SHERPA", "François D'HAENE", "Tofol CASTAER BERNAT".
SHOUTED_FAMILY_NAME = re.compile(
    rf"\b(?P<given>[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?)"
    rf"(?P<family>(?:[ \u00a0]+[{_UPPER}](?:[{_UPPER}]|['’-](?=[{_UPPER}])){{2,}})+)\b")


# Capitalised at a sentence start, never a given name.
FUNCTION_WORDS = frozenset(
    "le la les un une des du de au aux et ou mais à en ce cet cette ces son sa ses leur "
    "leurs notre nos votre vos mon ma mes selon pour par avec chez dans sans sur sous vers "
    "entre contre depuis après avant pendant lors quand si comme chaque tout toute tous "
    "toutes".split())


def soften_shouted_names(text: str, is_common=lambda word: False) -> str:
    """The text with family names in capitals after a given name written in title case.

    The statistical model reads "Dawa SHERPA" as a place or an acronym, "Dawa Sherpa" as a
    person. Same length, so offsets into the original text stay valid. A capitalised
    common word ("Le PSG", "Selon NASA") is no given name and is left alone.
    """
    def soften(m: re.Match) -> str:
        given = m.group("given")
        if given.lower() in FUNCTION_WORDS or is_common(given):
            return m.group(0)
        family = m.group("family")
        softened = re.sub(rf"[{_UPPER}][{_UPPER}'’-]+",
                          lambda w: w.group(0)[0] + w.group(0)[1:].lower(), family)
        return m.group("given") + softened

    return SHOUTED_FAMILY_NAME.sub(soften, text)
