"""Text normalisation and fingerprints for duplicate detection. Pure functions."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import numpy as np
from datasketch import MinHash, MinHashLSH


@lru_cache(maxsize=4)  # the fetch step asks for the text hash and the shingles of one text
def normalize_text(text: str) -> str:
    """Lower-case, accent-folded, punctuation-free words: layout changes don't change it."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"\w+", folded))


def text_hash(text: str) -> str:
    """SHA-256 of the normalised text: equal for the same article under two URLs."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


# --- near duplicates: MinHash over word shingles, LSH bands stored in the database ---------

SHINGLE_WORDS = 5


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """Overlapping runs of `size` normalised words: what near-duplicates share."""
    words = normalize_text(text).split()
    if len(words) <= size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple:
    # datasketch draws them from its fixed seed at each MinHash(): the same every time,
    # so drawn once per process (with the scheme they belong to).
    blank = MinHash(num_perm=num_perm)
    return blank.permutations, blank.scheme


def signature(text: str, num_perm: int = 128) -> np.ndarray:
    """The MinHash signature (datasketch) of the text's shingles, as uint64 values."""
    permutations, scheme = _permutations(num_perm)
    minhash = MinHash(num_perm=num_perm, permutations=permutations, scheme=scheme)
    minhash.update_batch(list(shingles(text)))
    return minhash.hashvalues.astype(np.uint64)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


@lru_cache(maxsize=8)
def lsh_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) that datasketch finds best for this threshold."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def band_keys(sig: np.ndarray, threshold: float) -> list[int]:
    """One signed 63-bit key per band; articles sharing a key are candidate near-duplicates."""
    bands, rows = lsh_shape(threshold, len(sig))
    keys = []
    for band in range(bands):
        chunk = sig[band * rows:(band + 1) * rows].tobytes()
        digest = hashlib.blake2b(band.to_bytes(2, "big") + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)  # fits a PostgreSQL bigint
    return keys


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u8").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u8")


# --- identity decisions (their SQL is in store/) -------------------------------------------

def original_of(session, article_id: int, text_hash_value: str, canonical: str | None,
                current_canonical: str, known_as: list[str]) -> int | None:
    """The earlier article this one duplicates, or None if it is an original.

    Same page: the page names (rel=canonical) a URL another article already has; the
    article adopts a canonical URL on its own host otherwise. Same text: another
    article already has exactly this normalised text.
    """
    from worker.store import repo

    if canonical and canonical != current_canonical and \
            _host(canonical) == _host(current_canonical):  # no claiming another site's page
        owner = repo.adopt_canonical(session, article_id, canonical, known_as)
        if owner:
            return owner
    first = repo.claim_text(session, text_hash_value, article_id)
    return first if first != article_id else None


def assign_story(session, article_id: int, sig: np.ndarray, threshold: float) -> int:
    """Join the story of the most similar earlier article above `threshold`, or start one."""
    from worker.store import repo, stories

    keys = band_keys(sig, threshold)
    stories.lock_bands(session, keys)
    best, best_score = None, threshold
    for other_id, raw, story_id in stories.candidates(session, keys, article_id):
        score = similarity(sig, from_bytes(raw))
        if score >= best_score:
            best, best_score = (other_id, story_id), score
    if best is None:
        story_id = repo.new_story(session, article_id)
    else:
        story_id = best[1] or stories.ensure_story(session, best[0])
    stories.save_signature(session, article_id, story_id, to_bytes(sig), keys,
                           joined=best is not None)
    return story_id


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").lower()
