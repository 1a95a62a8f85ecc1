"""`newsworker extract`: one page through extraction and annotation, nothing stored."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from worker.extract import extract
from worker.http import PAGE_TYPES, HttpClient
from worker.nlp import annotate
from worker.nlp.annotate import Annotations
from worker.settings import Settings
from worker.urls import canonicalize, is_http_url


def _load(settings: Settings, source: str) -> tuple[bytes, str | None, dict[str, str]]:
    if is_http_url(source):
        client = HttpClient(settings)
        try:
            page = client.get(source, max_bytes=settings.max_page_bytes, allowed_types=PAGE_TYPES)
        finally:
            client.close()
        return page.body, page.url, page.headers
    return Path(source).read_bytes(), None, {}


def annotations_json(ann: Annotations) -> dict:
    """Entities, amounts, dates and quotes in the shape of the export record."""
    return {
        "entities": [{"label": e.label, "canonical_name": e.name, "key": e.key,
                      "aliases": list(e.aliases),
                      "mentions": [{"start": m.start, "end": m.end, "text": m.text,
                                    "sentence": m.sentence} for m in e.mentions]}
                     for e in ann.entities],
        "amounts": [{"kind": a.kind, "text": a.text, "amount": a.value, "currency": a.currency,
                     "start": a.start, "end": a.end} for a in ann.amounts],
        "dates": [asdict(d) for d in ann.dates],
        "quotes": [{"text": q.text, "speaker": q.speaker, "start": q.start, "end": q.end}
                   for q in ann.quotes],
    }


def try_page(settings: Settings, source: str) -> dict:
    body, url, headers = _load(settings, source)
    found = extract(body, url, headers, settings.body_format)
    link = found.canonical_url or url
    record = {"url": url,
              "canonical_url": canonicalize(link, settings.tracking_params) if link else None,
              **{k: v for k, v in asdict(found).items() if k != "canonical_url"}}
    record["authors"] = list(found.authors)
    if found.text and found.language in settings.accepted_languages:
        day = datetime.fromisoformat(found.published).date() if found.published else None
        ann = annotate([found.text], [day], model=settings.spacy_model)[0]
        record.update(annotations_json(ann))
    else:
        record.update({"entities": [], "amounts": [], "dates": [], "quotes": []})
    return record
