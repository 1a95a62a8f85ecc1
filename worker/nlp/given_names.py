"""The gender a given name usually carries, from the nomquamgender package's data.

"« … », a-t-il averti" is not Claire Le Floc'h's: a pronoun's gender rules out a person
whose first name is almost always the other gender's. The data (Van Buskirk et al., MIT
licence) counts some 720,000 given names across many countries with the share of women
bearing each. Only names seen often and borne by one gender in at least 95 cases out of
100 are kept: "Claire" is a woman's, "Thomas" a man's; "Dominique", "Camille", "Jean"
(a woman's name in English) and "Andrea" (a man's in Italian) stay unknown.

The package's code needs pandas; only its data file is read, found without importing it.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from functools import lru_cache
from pathlib import Path

from worker.nlp.text import fold

log = logging.getLogger(__name__)

MIN_COUNT = 100  # bearers counted: rarer names say too little
SURE = 0.05  # at most this share of the other gender
# One entry of name_data.json: "claire": [sources, count, share of women, ...]
ENTRY = re.compile(r'"([a-z]+)": \[\d+, (\d+), ([\d.]+)')


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """'Fem' or 'Masc' per folded given name; empty when the data is not installed.

    The 22 MB file is scanned with a pattern rather than loaded as JSON: a dict of
    720,000 lists would hold some 250 MB while it is built."""
    spec = importlib.util.find_spec("nomquamgender")
    if spec is None or not spec.submodule_search_locations:
        log.warning("nomquamgender is not installed: no gender from given names")
        return {}
    data = Path(next(iter(spec.submodule_search_locations))) / "name_data.json"
    table = {}
    for m in ENTRY.finditer(data.read_text(encoding="utf-8")):
        count, women = int(m.group(2)), float(m.group(3))
        if count >= MIN_COUNT and (women >= 1 - SURE or women <= SURE):
            table[m.group(1)] = "Fem" if women >= 1 - SURE else "Masc"
    return table


def gender_of_given_name(name: str) -> str | None:
    """'Fem', 'Masc' or None for a person's full name ("Claire Le Floc'h").

    A single word may be a surname ("Martin"), so it says nothing; of a compound given
    name, the first part decides ("Marie-Christine")."""
    words = name.split()
    if len(words) < 2:
        return None
    first = fold(words[0].split("-")[0])
    return _table().get(first) if first.isalpha() else None
