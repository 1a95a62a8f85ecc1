"""`newsworker extract`: one page through extraction and annotation, nothing stored.

The result has the shape of the export record, so what you try is what you will get.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from worker import record
from worker.context import make_context
from worker.extract import extract
from worker.http import PAGE_TYPES
from worker.nlp import annotate
from worker.nlp.placenames import use_cache_dir
from worker.settings import Settings
from worker.urls import canonicalize, is_http_url


def _load(settings: Settings, source: str) -> tuple[bytes, str | None, dict[str, str]]:
    if not is_http_url(source):
        return Path(source).read_bytes(), None, {}
    ctx = make_context(settings)
    try:
        page = ctx.http.get(source, max_bytes=settings.max_page_bytes, allowed_types=PAGE_TYPES,
                            allow_private=ctx.allow_private, respect_robots=True)
    finally:
        ctx.close()
    return page.body, page.url, page.headers


def preview(settings: Settings, source: str) -> dict:
    """The article record of one saved page or URL, annotated if its language is accepted."""
    body, url, headers = _load(settings, source)
    found = extract(body, url, headers, settings.body_format)
    link = found.canonical_url or url
    canonical = canonicalize(link, tracking=settings.tracking_params) if link else None
    fields = {**{name: getattr(found, name) for name in record.ARTICLE_FIELDS
                 if hasattr(found, name)},
              "url": url or source, "final_url": url, "extraction": "page",
              "canonical_url": canonical}
    ann = None
    use_cache_dir(settings.data_dir / "cache", write=False)  # nothing stored: only read
    if found.text and found.language in settings.accepted_languages:
        day = datetime.fromisoformat(found.published).date() if found.published else None
        ann = annotate([found.text], [day], model=settings.spacy_model,
                       ner=settings.ner_component)[0]
    return record.article_record(fields, record.annotations_of(ann))
