"""Places: which real place each LOC entity of an article names, and the article's countries.

Pure functions over the text, its entities and the gazetteer (worker.nlp.placenames).
Precision first: a name that could be two places the article does not tell apart gets
no place. How a name is settled, in order:

1. A country's French name is that country ("États-Unis", "la France" as a national team
   too: a team named by its country stands for it).
2. A qualifier right after the name says where: "Paris (Texas)", "Paris, au Texas",
   "Gimel (VD)" (a Swiss canton or French department abbreviated after a village).
3. Otherwise one place must dominate the others: five times the population of any
   homonym in another country, or the capital; a small town abroad (under 100,000)
   needs its country named elsewhere in the article, and homonyms are settled by the
   countries the article names (Saint-Denis with the Stade de France is French).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from worker.nlp.entities import FEATURE_BEFORE, LOCATIVE, capitalised_by_position
from worker.nlp.placenames import Gazetteer, Place, name_key
from worker.nlp.teams import is_sports_report
from worker.nlp.text import fold

DOMINANCE = 5  # how many times more people than any homonym
ALTERNATE = 0.02  # what an alternate name weighs against a town's own name
KNOWN_ABROAD = 100_000  # a town this size is known without its country being named
REGION_CUE = re.compile(r"(?:\bÉtat|\bétat|\bprovince|\brégion|\bdépartement|\bcanton|"
                        r"\bcomté|\bLand)\s+(?:de\s+(?:la\s+|l[’'])?|du\s+|d[’'])?$")
CONTEXT_REACH = 100  # how much bigger a homonym outside the article's countries may be
VILLAGE = 5_000  # below this, a town needs its country named (or settled) in the article
HOME = {"FR", "BE", "CH", "LU", "MC"}  # small towns here are named without their country
# "Paris (Texas)", "Paris, Texas", "Paris, au Texas", "Gimel (VD)", "Lacanau (Gironde)".
QUALIFIER = re.compile(
    r"^\s*(?:\(\s*(?P<paren>[^()\n]{2,40}?)\s*\)|,\s*(?:(?:au|en|dans\s+l[ea']?|dans\s+le|"
    r"aux|dans\s+l[’'])\s*)?(?P<comma>[A-ZÉÈ][\w’'\-]+(?:\s+[A-ZÉÈ][\w’'\-]+)?))")
# Swiss news writes a village's canton after it in two capitals: "Gimel (VD)".
CANTON = re.compile(r"^[A-Z]{2}$")
DEPARTMENT_NUMBER = re.compile(r"^(?:\d{2}|2[AB]|97\d)$")


# "l'île de Man", "la pointe du Raz", "le mont Blanc" (FEATURE_BEFORE): the feature is named
# after the word, and a town of that name is another place.
# "Maison Blanche", "Quai d'Orsay", "Stade de France": a building or street by a common
# noun, which a small town's name may share ("Maison-Blanche" in Algeria).
LANDMARK_HEADS = {"maison", "palais", "quai", "place", "rue", "avenue", "boulevard", "stade",
                  "parc", "hotel", "tour", "pont", "gare", "aeroport", "chateau", "eglise",
                  "cathedrale", "musee", "prison", "camp", "plage", "pointe", "ile", "mont"}


@dataclass(frozen=True)
class Resolved:
    """An article's places by entity key, and its countries, most mentioned first."""

    places: dict[str, Place]
    countries: tuple[str, ...]


def _qualified(candidates: list[Place], qualifier: Place) -> list[Place]:
    """The candidates inside the place a qualifier names."""
    if qualifier.kind == "country":
        return [p for p in candidates if p.country == qualifier.country]
    code = qualifier.code or ""
    parent = code[:6] if code.startswith("FR-") else code
    return [p for p in candidates
            if p.kind == "city" and p.admin1 and (p.admin1 == code or p.admin1 == parent
                                                  or _region_of(code) == p.admin1)]


def _region_of(department: str) -> str | None:
    """The ISO code of a French department's region (pycountry knows the parent)."""
    import pycountry

    sub = pycountry.subdivisions.get(code=department)
    return getattr(sub, "parent_code", None) if sub else None


def _qualifier(text: str, end: int, gazetteer: Gazetteer, country: str | None) -> Place | None:
    """The place named right after a mention, as a qualifier, if any."""
    m = QUALIFIER.match(text[end:end + 60])
    if not m:
        return None
    raw = m.group("paren") or m.group("comma")
    if m.group("paren") and CANTON.match(raw):
        return gazetteer.by_code.get(f"CH-{raw}")
    if m.group("paren") and DEPARTMENT_NUMBER.match(raw):
        return gazetteer.by_code.get(f"FR-{raw}")
    found = [p for p, _ in gazetteer.candidates(raw) if p.kind in ("country", "region")]
    if country:
        found = [p for p in found if p.country == country] or found
    return found[0] if len(found) == 1 else None


def _weight(place: Place, primary: bool) -> float:
    # An alternate name counts for little: "Victoria" is a town of that name before it is
    # Hong Kong's old name, while "Londres" is London in any French text.
    return place.population * (3 if place.capital else 1) * (1 if primary else ALTERNATE)


def _dominant(candidates: list[tuple[Place, bool]]) -> Place | None:
    """The one place that outweighs every homonym, if any; the capital among same names."""
    best, primary = max(candidates, key=lambda c: _weight(*c))
    if any(_weight(best, primary) < DOMINANCE * _weight(p, pr)
           for p, pr in candidates if p is not best):
        return None
    return best


def _choose(candidates: list[tuple[Place, bool]], context: Counter,
            region_cue: bool) -> Place | None:
    """The place these candidates (homonyms) stand for, or None when it is a guess."""
    countries = {p.country: p for p, _ in candidates if p.kind == "country"}
    if countries:
        return next(iter(countries.values())) if len(countries) == 1 else None
    candidates = _region_or_city(candidates, region_cue)
    if not candidates:
        return None
    pick = _dominant(candidates)
    named = [(p, pr) for p, pr in candidates if context[p.country]]
    local = _dominant(named) if named else None
    # The countries the article names settle homonyms: "Bruges" in a Belgian article is
    # Brugge, not the Gironde's Bruges; but not against a town a hundred times bigger
    # ("Paris" in an article about the United States is still Paris).
    if local is not None and (pick is None or (
            local is not pick and _weight_of(local, candidates) * CONTEXT_REACH
            >= _weight_of(pick, candidates))):
        pick = local
    if pick is None:
        return None
    if pick.kind == "city" and not pick.capital and not context[pick.country] and (
            pick.population < VILLAGE or (pick.population < KNOWN_ABROAD
                                          and pick.country not in HOME)):
        return None  # a village, or a small town abroad, whose country goes unnamed
    return pick


def _weight_of(place: Place, candidates: list[tuple[Place, bool]]) -> float:
    return max(_weight(p, primary) for p, primary in candidates if p is place)


def _region_or_city(candidates: list[tuple[Place, bool]], region_cue: bool
                    ) -> list[tuple[Place, bool]]:
    """A region with a city's name ("New York", "Québec") is the city unless the text says
    "l'État de", "la province de"; a region-only name stays a region."""
    regions = [c for c in candidates if c[0].kind == "region"]
    if region_cue:
        return regions or candidates
    big_cities = {p.country for p, _ in candidates
                  if p.kind == "city" and p.population >= KNOWN_ABROAD}
    return [c for c in candidates if c[0].kind != "region" or c[0].country not in big_cities]


def _candidates(gazetteer: Gazetteer, names: Sequence[str]) -> list[tuple[Place, bool]]:
    for name in names:
        found = gazetteer.candidates(name)
        if found:
            return found
    return []


def resolve(text: str, entities: Sequence, gazetteer: Gazetteer) -> Resolved:
    """Places of the LOC entities of one article (CanonicalEntity-like: label, key, name,
    aliases, mentions), and the article's countries ranked by mentions of their places."""
    locations = [e for e in entities if e.label == "LOC"]
    options = {e.key: _candidates(gazetteer, (e.name, *e.aliases)) for e in locations}
    # The countries named outright (and towns beyond doubt) are the article's context.
    context: Counter = Counter()
    own: dict[str, str] = {}  # what each name adds to the context: not evidence for itself
    for e in locations:
        places = [p for p, _ in options[e.key]]
        sure = [p for p in places if p.kind == "country"] or (
            places if len({p.country for p in places}) == 1 else [])
        if sure:
            context[sure[0].country] += len(e.mentions)
            own[e.key] = sure[0].country
    resolved: dict[str, Place] = {}
    for e in locations:
        others = context.copy()
        if e.key in own:
            others[own[e.key]] -= len(e.mentions)
        candidates = options[e.key]
        if not candidates or not e.mentions:
            continue
        if _feature_or_landmark(text, e):
            continue
        first = e.mentions[0]
        qualifier = _qualifier(text, first.end, gazetteer, None)
        if qualifier is not None:
            inside = _qualified([p for p, _ in candidates], qualifier)
            if inside:  # the qualifier names the country: it is the context
                candidates = [c for c in candidates if c[0] in inside]
                others[qualifier.country] += 1
        cue = any(REGION_CUE.search(text[max(0, m.start - 25):m.start]) for m in e.mentions)
        pick = _choose(candidates, +others, cue)
        if pick is not None:
            resolved[e.key] = pick
    return Resolved(resolved, rank_countries(locations, resolved))


def _feature_or_landmark(text: str, entity) -> bool:
    head = fold(entity.name).split(" ")[0]
    return head in LANDMARK_HEADS or all(
        FEATURE_BEFORE.search(text[max(0, m.start - 20):m.start]) for m in entity.mentions)


def known_places(entities: list, text: str, gazetteer: Gazetteer) -> list:
    """Names the gazetteer knows, relabelled from how they are written, whatever the model
    said (CanonicalEntity in, CanonicalEntity out):
    - a country's name is a place ("les Pays-Bas ne continuent pas à torpiller…"), except
      in a sports report, where "la France" is its team;
    - so is a one-word name coordinated with a place ("entre Pékin et Washington"), and a
      person's name the gazetteer knows, always after "à", "dans", "vers" ("à Khan Younès");
    - a name behind a capitalised article mid-sentence that the gazetteer does not know
      is a title ("propriétaire de La Provence", "La Voix du Nord"), not a place ("à La
      Rochelle" is one): a newspaper or a company, an organisation;
    - a dispatch's dateline names a place ("DAKAR (AFP) –")."""
    sports = is_sports_report(text)
    places = [m for e in entities if e.label == "LOC" for m in e.mentions]
    out = []
    for e in entities:
        found = gazetteer.candidates(e.name)
        first = found[0][0] if found and found[0][1] else None  # under its own name
        if e.label in ("ORG", "PER", "MISC") and first is not None and (
                (not sports and first.kind == "country")
                or (" " not in e.name and len(e.aliases) == 1 and _large(first)
                    and any(_coordinated(text, m, p) for m in e.mentions for p in places))):
            e = replace(e, label="LOC")
        elif e.label == "PER" and found and all(
                LOCATIVE.search(text[max(0, m.start - 12):m.start]) for m in e.mentions):
            e = replace(e, label="LOC")  # "à Khan Younès où il s'était mis à l'abri"
        elif e.label != "LOC" and first is not None and any(
                _dateline(text, m) for m in e.mentions):
            e = replace(e, label="LOC")  # "DAKAR (AFP) –": where the dispatch was filed
        elif e.label == "LOC" and not found and _title(text, e):
            e = replace(e, label="ORG")
        out.append(e)
    return out


# What follows the place of a dispatch's dateline: an agency in brackets, a dash, a comma.
DATELINE_AFTER = re.compile(r"\s*(?:\([\w .-]{2,30}\)\s*)?[-–—,]")


def _dateline(text: str, mention) -> bool:
    """A name in capitals opening the article or a paragraph, then an agency or a dash:
    'DAKAR (AFP) –', 'GENÈVE –'."""
    opens = mention.start == 0 or text[mention.start - 1] == "\n"
    return opens and mention.text.isupper() and bool(DATELINE_AFTER.match(text, mention.end))


def _large(place: Place) -> bool:
    return place.kind in ("country", "region") or place.population >= 100_000


def _coordinated(text: str, a, b) -> bool:
    """'Pékin et Washington', 'Lyon, Marseille': two names joined by 'et', 'ou' or a comma."""
    first, second = (a, b) if a.end <= b.start else (b, a)
    return bool(re.fullmatch(r"\s*(?:,|et|ou|,\s*et)\s*", text[first.end:second.start]))


TITLE_ARTICLE = re.compile(r"^(?:La|Le|Les|L[’'])\s*")


def _title(text: str, entity) -> bool:
    """Every mention opens with a capitalised article in the middle of a sentence."""
    return bool(TITLE_ARTICLE.match(entity.name)) and all(
        text[m.start:m.start + 1].isupper() and not capitalised_by_position(text, m.start)
        for m in entity.mentions)


def rank_countries(locations: Sequence, places: dict[str, Place]) -> tuple[str, ...]:
    """Countries by the mentions of their places; ties go to the one named first."""
    count: Counter = Counter()
    first: dict[str, int] = {}
    for e in locations:
        place = places.get(e.key)
        if place is None or not e.mentions:
            continue
        count[place.country] += len(e.mentions)
        first.setdefault(place.country, e.mentions[0].start)
        first[place.country] = min(first[place.country], e.mentions[0].start)
    return tuple(sorted(count, key=lambda c: (-count[c], first[c])))


__all__ = ["Resolved", "resolve", "rank_countries", "name_key"]
