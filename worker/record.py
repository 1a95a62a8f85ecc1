"""The article record consumers get (schemas/article.schema.json), built in one place.

`newsworker export` builds it from stored rows, `newsworker extract` from a page it has
just read; both call `article_record`, so the two shapes cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from worker.nlp.annotate import Annotations

ARTICLE_FIELDS = (
    "id", "state", "feed", "feed_id", "url", "canonical_url", "final_url", "title",
    "authors", "published", "modified", "site_name", "description", "language", "image",
    "categories", "tags", "feed_tags", "entry", "extraction", "paywalled", "text", "body",
    "text_hash", "duplicate_of", "story_id", "failure_reason", "discovered_at", "updated_at",
)


def mention(start: int, end: int, text: str, sentence: str | None) -> dict:
    return {"start": start, "end": end, "text": text, "sentence": sentence}


def entity(entity_id: int | None, label: str, name: str, key: str, mentions: list[dict],
           aliases: Iterable[str] = (), place: dict | None = None) -> dict:
    return {"id": entity_id, "label": label, "canonical_name": name, "key": key,
            "aliases": list(aliases), "place": place, "mentions": mentions}


def place(geonames_id: int | None, code: str | None, name: str, country: str,
          latitude: float | None, longitude: float | None, kind: str) -> dict:
    return {"geonames_id": geonames_id, "code": code, "name": name, "country": country,
            "latitude": latitude, "longitude": longitude, "kind": kind}


def amount(kind: str, text: str, value: float, currency: str | None, start: int,
           end: int) -> dict:
    return {"kind": kind, "text": text, "amount": value, "currency": currency,
            "start": start, "end": end}


def date(text: str, value: str, start: int, end: int) -> dict:
    return {"text": text, "value": value, "start": start, "end": end}


def quote(text: str, speaker: str | None, start: int, end: int) -> dict:
    return {"text": text, "speaker": speaker, "start": start, "end": end}


def annotations_of(ann: Annotations | None) -> dict:
    """The four annotation lists of a fresh NLP result (entities not stored: no id)."""
    if ann is None:
        return {"entities": [], "amounts": [], "dates": [], "quotes": [], "countries": []}
    places = {key: place(p.geonames_id, p.code, p.name, p.country, p.latitude, p.longitude,
                         p.kind) for key, p in ann.places.items()}
    return {
        "entities": [entity(None, e.label, e.name, e.key,
                            [mention(m.start, m.end, m.text, m.sentence) for m in e.mentions],
                            e.aliases, places.get(e.key) if e.label == "LOC" else None)
                     for e in ann.entities],
        "countries": list(ann.countries),
        "amounts": [amount(a.kind, a.text, a.value, a.currency, a.start, a.end)
                    for a in ann.amounts],
        "dates": [date(d.text, d.value, d.start, d.end) for d in ann.dates],
        "quotes": [quote(q.text, q.speaker, q.start, q.end) for q in ann.quotes],
    }


def article_record(fields: dict, annotations: dict) -> dict:
    """The record: every article field (None when unknown), then the annotations."""
    record = {name: fields.get(name) for name in ARTICLE_FIELDS}
    for name in ("authors", "categories", "tags", "feed_tags"):
        record[name] = list(record[name] or [])
    record.update(annotations)
    return record
