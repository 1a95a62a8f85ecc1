"""Text normalisation and fingerprints for duplicate detection. Pure functions."""

from __future__ import annotations

import hashlib
import re
import unicodedata


def normalize_text(text: str) -> str:
    """Lower-case, accent-folded, punctuation-free words: layout changes don't change it."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"\w+", folded))


def text_hash(text: str) -> str:
    """SHA-256 of the normalised text: equal for the same article under two URLs."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
