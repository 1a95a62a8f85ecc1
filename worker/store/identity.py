"""One identity per person or organisation across articles and spellings (entity_variants).

Every form an entity is seen under is a row of `entity_variants`, with the reason it
joined. A new form joins a stored entity only on evidence:

- the same form (label and folded key) seen before;
- a person with the same given name and the same family name once transliteration is
  normalised ("Zelenskyy" / "Zelensky"), or one typo apart on a long family name;
- a surname alone when exactly one full name with that family name is known;
- an acronym its article pairs with a full name ("Organisation mondiale de la santé
  (OMS)"), and later the same acronym in an article about the same country; the entity
  an acronym had alone before joins too, when each of its articles would now take the
  acronym for that full name (join_bare_acronyms).

Never on a shared surname between two given names, never an acronym across countries.
A join keeps the older entity's id: new forms point at it; stored duplicates are merged
into the oldest (merge_entities), with a change event for every article it touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from worker.nlp.names import PersonName, close_family, person_name
from worker.store.db import one_of
from worker.store.models import Entity, EntityAlias, EntityVariant, Mention, Quote

LABELS = ("LOC", "MISC", "ORG", "PER")  # all of them: lets the unique index serve the probe
NO_COUNTRY = "*"  # an acronym paired in an article about no country we could tell
REASONS = {
    "first": "first seen",
    "same": "same name",
    "spelling": "same given name, same family name once transliteration is normalised",
    "typo": "same given name, family name one or two letters apart",
    "surname": "surname alone, one full name known with it",
    "paired": "paired with its full name in the article",
    "acronym": "acronym paired with this name in an article about the same country",
    "bare": "paired with this name in an article about the same country as the articles "
            "where it stood alone before",
}


@dataclass
class Variant:
    label: str
    key: str
    form: str
    stored_key: str  # the key of the entity row it belongs to
    reason: str
    person: PersonName | None = None
    country: str = ""


@dataclass
class Resolution:
    """Per article {(label, key): stored key}, and the new forms to record."""

    keys: list[dict[tuple[str, str], str]] = field(default_factory=list)
    variants: dict[tuple[str, str, str], Variant] = field(default_factory=dict)
    # (acronym key, key of the entity it had alone, key of the full name it is now paired
    # with): stored entities join_bare_acronyms may join once the batch is stored.
    bare_acronyms: list[tuple[str, str, str]] = field(default_factory=list)


def _known_forms(session: Session, keys: set[str]) -> dict[tuple[str, str], list[tuple]]:
    """{(label, key): [(country, entity key)]} of the stored forms among `keys`."""
    found: dict[tuple[str, str], list[tuple]] = {}
    if not keys:
        return found
    for label, key, country, entity_key in session.execute(
            select(EntityVariant.label, EntityVariant.key, EntityVariant.country, Entity.key)
            .join(Entity, Entity.id == EntityVariant.entity_id)
            .where(EntityVariant.label.in_(LABELS),
                   one_of(session, EntityVariant.key, sorted(keys)))):
        found.setdefault((label, key), []).append((country, entity_key))
    return found


def _stored_people(session: Session, people: list[PersonName]) -> list[tuple]:
    """(given, family, entity key) of stored persons that could be one of `people`:
    same family name skeleton, or the same given name and a family name starting alike
    (one indexed range per person, in one statement)."""
    if not people:
        return []
    families = sorted({p.family for p in people})
    ranges = [and_(EntityVariant.given == p.given, EntityVariant.family >= p.family[:3],
                   EntityVariant.family < p.family[:3] + "\uffff")
              for p in sorted({p for p in people if p.given}, key=lambda p: (p.given, p.family))]
    query = (select(EntityVariant.given, EntityVariant.family, Entity.key)
             .join(Entity, Entity.id == EntityVariant.entity_id)
             .where(EntityVariant.label == "PER",
                    or_(one_of(session, EntityVariant.family, families), *ranges)))
    return list(session.execute(query).all())


def _person_match(person: PersonName, known: list[tuple]) -> tuple[str, str] | None:
    """(entity key, reason) of the one stored person this name is, if exactly one."""
    if person.given is None:  # a surname alone: the one full name with that family name
        full = {k for g, f, k in known if g and f == person.family}
        return (full.pop(), "surname") if len(full) == 1 else None
    same = {k for g, f, k in known if g == person.given and f == person.family}
    if len(same) == 1:
        return same.pop(), "spelling"
    if same:
        return None
    close = {k for g, f, k in known if g == person.given and close_family(f, person.family)}
    return (close.pop(), "typo") if len(close) == 1 else None


def _acronym_match(forms: list[tuple], countries: tuple[str, ...]) -> str | None:
    """The organisation a bare acronym names in an article about `countries`."""
    paired = [(c, k) for c, k in forms if c]
    if countries:
        same = {k for c, k in paired if c in countries}
    else:
        same = {k for _, k in paired}
    return same.pop() if len(same) == 1 else None


def resolve_identities(session: Session, batch: list) -> Resolution:
    """Which stored entity each entity of these articles is (see the module docstring).

    `batch`: (article id, Annotations) pairs. Articles are taken in order, so a form
    first seen earlier in the batch is known to the later articles.
    """
    entities = [(ann, e) for _, ann in batch for e in ann.entities]
    forms = _known_forms(session, {e.key for _, e in entities}
                         | {k for _, ann in batch for k in getattr(ann, "pairs", {})})
    # Only the forms never seen need their name taken apart (most are known).
    people = {e.key: person_name(e.key) for _, e in entities
              if e.label == "PER" and ("PER", e.key) not in forms}
    known_people = _stored_people(session, [p for p in people.values() if p])
    out = Resolution()
    for _, ann in batch:
        keys: dict[tuple[str, str], str] = {}
        pairs = dict(getattr(ann, "pairs", {}) or {})
        countries = tuple(getattr(ann, "countries", ()) or ())
        for e in sorted(ann.entities, key=lambda e: e.key in pairs):  # full names first
            keys[(e.label, e.key)] = _resolve_one(e, forms, known_people, people, pairs,
                                                  countries, keys, out)
        out.keys.append(keys)
    return out


def _resolve_one(e, forms, known_people, people, pairs, countries, keys, out) -> str:
    label, key = e.label, e.key
    person = people.get(key) if label == "PER" else None
    if label == "ORG" and key in pairs and ("ORG", pairs[key]) in keys:
        stored = keys[("ORG", pairs[key])]
        country = countries[0] if countries else NO_COUNTRY
        found = forms.get((label, key), [])
        if all(c != country for c, _ in found):  # a pairing new to this country
            out.bare_acronyms += [(key, k, stored) for c, k in found if c == "" and k != stored]
        _remember(out, forms, Variant(label, key, e.name, stored, "paired", None, country))
        return stored
    found = forms.get((label, key), [])
    if label == "ORG" and " " not in key:
        stored = _acronym_match(found, countries)
        if stored:
            _remember(out, forms, Variant(label, key, e.name, stored, "acronym", None,
                                          countries[0] if countries else NO_COUNTRY))
            return stored
    plain = [k for c, k in found if c == ""]
    if plain:
        return plain[0]
    match = _person_match(person, known_people) if person else None
    stored, reason = match if match else (key, "first")
    _remember(out, forms, Variant(label, key, e.name, stored, reason, person))
    if person:  # later articles of the batch know this person too
        known_people.append((person.given, person.family, stored))
    return stored


def _remember(out: Resolution, forms: dict, variant: Variant) -> None:
    out.variants.setdefault((variant.label, variant.key, variant.country), variant)
    forms.setdefault((variant.label, variant.key), []).append(
        (variant.country, variant.stored_key))


def variant_rows(resolution: Resolution, ids: dict[tuple[str, str], int]) -> list[dict]:
    """entity_variants rows of the new forms, in one global order (label, key, country)."""
    now = datetime.now(UTC)
    rows = []
    for (label, key, country), v in sorted(resolution.variants.items()):
        entity_id = ids.get((label, v.stored_key))
        if entity_id is None:
            continue
        rows.append({"entity_id": entity_id, "label": label, "key": key, "form": v.form,
                     "given": v.person.given if v.person else None,
                     "family": v.person.family if v.person else None,
                     "country": country, "reason": REASONS[v.reason], "created_at": now})
    return rows


def merge_entities(session: Session, keep_id: int, drop_ids: list[int],
                   notify: bool = True) -> list[int]:
    """Merge stored duplicates into the entity kept (the oldest); the articles touched.

    Mentions, quotes' speakers, aliases and forms move to the kept id; counts add up
    (an article mentioning both counts once); an `entities` event for each article
    touched, unless `notify` is False (the caller emits them).
    """
    from worker.store.events import append_events

    drop_ids = [i for i in drop_ids if i != keep_id]
    if not drop_ids:
        return []
    touched = sorted(set(session.scalars(
        select(Mention.article_id).where(Mention.entity_id.in_(drop_ids)))))
    session.execute(update(Mention).where(Mention.entity_id.in_(drop_ids))
                    .values(entity_id=keep_id))
    session.execute(update(Quote).where(Quote.speaker_entity_id.in_(drop_ids))
                    .values(speaker_entity_id=keep_id))
    session.execute(update(EntityVariant).where(EntityVariant.entity_id.in_(drop_ids))
                    .values(entity_id=keep_id))
    kept_aliases = set(session.scalars(select(EntityAlias.alias)
                                       .where(EntityAlias.entity_id == keep_id)))
    session.execute(delete(EntityAlias).where(EntityAlias.entity_id.in_(drop_ids),
                                              EntityAlias.alias.in_(kept_aliases)))
    session.execute(update(EntityAlias).where(EntityAlias.entity_id.in_(drop_ids))
                    .values(entity_id=keep_id))
    mentions, articles = session.execute(
        select(func.count(), func.count(func.distinct(Mention.article_id)))
        .where(Mention.entity_id == keep_id)).one()
    session.execute(update(Entity).where(Entity.id == keep_id)
                    .values(mention_count=mentions, article_count=articles))
    from worker.store.trends import move_days

    move_days(session, keep_id, drop_ids)
    session.execute(delete(Entity).where(Entity.id.in_(drop_ids)))
    if notify:
        append_events(session, touched, "entities", "done")
    return touched


def join_stored_people(session: Session) -> list[int]:
    """Merge stored persons that are one by the rules above (same given name, same family
    skeleton), each group into its oldest entity; the articles whose entities changed.
    For stores made before entity_variants (migration 0010)."""
    groups: dict[tuple[str, str], set[int]] = {}
    for entity_id, given, family in session.execute(
            select(EntityVariant.entity_id, EntityVariant.given, EntityVariant.family)
            .where(EntityVariant.label == "PER", EntityVariant.given.is_not(None))):
        groups.setdefault((given, family), set()).add(entity_id)
    touched: set[int] = set()
    for ids in groups.values():
        if len(ids) > 1:
            touched |= set(merge_entities(session, min(ids), sorted(ids)))
    return sorted(touched)


def join_bare_acronyms(session: Session, resolution: Resolution,
                       stored_now: list[int]) -> list[int]:
    """Join the entities acronyms had alone ("OMS" of older articles) with the full names
    articles of this batch paired them with; the articles whose entities changed.

    A join needs every article of the bare entity to take the acronym for that full name
    by the rule later articles follow (_acronym_match: the pairing's country among the
    article's, or an article about no country and one pairing known): "PS" of Belgian
    articles never joins the French Parti socialiste. The older id is kept, named by the
    full name; the bare form then stands for it only where the pairing does. Call after
    the batch is stored (its mentions and daily counts move along); `stored_now`, the
    batch's articles, get their own events.
    """
    from worker.store.events import append_events

    changed: set[int] = set()
    for acronym, bare_key, full_key in resolution.bare_acronyms:
        ids = dict(session.execute(select(Entity.key, Entity.id).where(
            Entity.label == "ORG", Entity.key.in_([bare_key, full_key]))).all())
        bare, full = ids.get(bare_key), ids.get(full_key)
        if bare is None or full is None or bare == full:
            continue  # joined already (an earlier pairing of the batch)
        if _bare_articles_agree(session, bare, acronym, full_key):
            changed |= _join_bare(session, acronym, bare, full)
    append_events(session, sorted(changed - set(stored_now)), "entities", "done")
    return sorted(changed)


def _bare_articles_agree(session: Session, bare_id: int, acronym: str, full_key: str) -> bool:
    """Would every article of the bare entity now take the acronym for the full name?"""
    from worker.store.models import ArticleCountry

    forms = _known_forms(session, {acronym}).get(("ORG", acronym), [])
    countries: dict[int, list[str]] = {}
    for article_id, country in session.execute(
            select(Mention.article_id, ArticleCountry.country).distinct()
            .outerjoin(ArticleCountry, ArticleCountry.article_id == Mention.article_id)
            .where(Mention.entity_id == bare_id)):
        found = countries.setdefault(article_id, [])
        if country:
            found.append(country)
    return all(_acronym_match(forms, tuple(c)) == full_key for c in countries.values())


def _join_bare(session: Session, acronym: str, bare_id: int, full_id: int) -> set[int]:
    """Merge into the older of the two; the articles whose entity id or name changed."""
    keep, drop = min(bare_id, full_id), max(bare_id, full_id)
    full = session.execute(select(Entity.key, Entity.name).where(Entity.id == full_id)).one()
    changed = set(merge_entities(session, keep, [drop], notify=False))
    if keep == bare_id:  # the older id reads as what the acronym stands for
        session.execute(update(Entity).where(Entity.id == keep)
                        .values(key=full.key, name=full.name, surname=None))
        changed |= set(session.scalars(select(Mention.article_id)
                                       .where(Mention.entity_id == keep)))
    # The acronym alone names it no more everywhere, only where it was paired with it.
    session.execute(delete(EntityVariant).where(
        EntityVariant.label == "ORG", EntityVariant.key == acronym, EntityVariant.country == ""))
    session.execute(update(EntityVariant).where(
        EntityVariant.label == "ORG", EntityVariant.key == acronym,
        EntityVariant.entity_id == keep).values(reason=REASONS["bare"]))
    return changed
