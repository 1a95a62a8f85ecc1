"""A feed's bytes into entries (feedparser), with absolute canonical links. No I/O."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax import SAXException

import feedparser

from worker.errors import FeedError
from worker.settings import DEFAULT_TRACKING_PARAMS
from worker.urls import canonicalize, is_http_url, resolve


@dataclass(frozen=True)
class Entry:
    """One item of a feed, as the feed tells it."""

    link: str
    canonical_url: str
    guid: str | None
    title: str | None
    summary: str | None
    content: str | None
    published: datetime | None
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[Entry]
    skipped: dict[str, int] = field(default_factory=dict)


def _entry_date(raw) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = raw.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def _entry_content(raw) -> str | None:
    contents = raw.get("content") or []
    for item in contents:
        if item.get("value"):
            return item["value"]
    return None


def _to_entry(raw, base_url: str, tracking: tuple[str, ...]) -> Entry | None:
    link = raw.get("link") or ""
    guid = raw.get("id") or None
    if not link and guid and is_http_url(guid):
        link = guid  # RSS guid isPermaLink: the guid is the link
    if not link:
        return None
    url = resolve(link, base_url)
    if not is_http_url(url):
        return None
    return Entry(
        link=url,
        canonical_url=canonicalize(url, tracking=tracking),
        guid=guid,
        title=(raw.get("title") or None),
        summary=(raw.get("summary") or None),
        content=_entry_content(raw),
        published=_entry_date(raw),
        categories=tuple(t.get("term") for t in raw.get("tags") or [] if t.get("term")),
        authors=tuple(a.get("name") for a in raw.get("authors") or [] if a.get("name")),
    )


def parse_feed(body: bytes, base_url: str, max_entries: int = 500,
               content_type: str | None = None,
               tracking: tuple[str, ...] = DEFAULT_TRACKING_PARAMS) -> ParsedFeed:
    """Parse RSS/Atom bytes into entries with absolute, canonical links.

    Raises FeedError when the bytes are not a feed at all. A feed with recoverable
    errors (feedparser's "bozo" flag) still yields the entries it could read.
    """
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True,
                              resolve_relative_uris=True)
    if parsed.bozo and not parsed.entries and not parsed.feed:
        raise FeedError(f"not a feed: {parsed.get('bozo_exception')}", reason="feed_unparseable")
    if not parsed.get("version") and not parsed.entries:
        raise FeedError("no RSS or Atom document found", reason="feed_unparseable")
    entries: list[Entry] = []
    skipped: dict[str, int] = {}
    seen: set[str] = set()
    for raw in parsed.entries[:max_entries]:
        entry = _to_entry(raw, base_url, tracking)
        if entry is None:
            skipped["no_link"] = skipped.get("no_link", 0) + 1
        elif entry.canonical_url in seen:
            skipped["repeated"] = skipped.get("repeated", 0) + 1
        else:
            seen.add(entry.canonical_url)
            entries.append(entry)
    if parsed.bozo and isinstance(parsed.get("bozo_exception"), SAXException) and not entries:
        # Broken XML that yields nothing usable is a failure, not an empty feed.
        raise FeedError(f"invalid feed: {parsed.get('bozo_exception')}",
                        reason="feed_unparseable")
    if len(parsed.entries) > max_entries:
        skipped["over_limit"] = len(parsed.entries) - max_entries
    return ParsedFeed(title=parsed.feed.get("title"), entries=entries, skipped=skipped)
