"""Small text helpers shared by the NLP rules: folding and French spaces."""

from __future__ import annotations

import re
import unicodedata

# Non-breaking and narrow non-breaking spaces sit inside guillemets and before % or €.
SPACES = "\u00a0\u202f\u2009\u2007 "
APOSTROPHES = "’'ʼ`"


def fold(name: str) -> str:
    """Accent-folded, lower-cased, single-spaced key: 'Élisabeth  Borne' → 'elisabeth borne'."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = re.sub(f"[{APOSTROPHES}]", "'", stripped)
    stripped = re.sub(r"[\s\u00a0\u202f]+", " ", stripped)
    return stripped.strip().lower()


def parse_number(raw: str) -> float:
    """'2,2' → 2.2, '1 500' → 1500, '1.500.000' → 1500000, '3.5' → 3.5."""
    cleaned = re.sub(f"[{SPACES}]", "", raw)
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif cleaned.count(".") > 1 or re.fullmatch(r"\d{1,3}\.\d{3}", cleaned):
        cleaned = cleaned.replace(".", "")
    return float(cleaned)
