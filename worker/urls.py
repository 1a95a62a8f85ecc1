"""URL canonicalisation: one form per article, whatever link led to it."""

from __future__ import annotations

import fnmatch
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from worker.settings import DEFAULT_TRACKING_PARAMS

DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str, patterns: tuple[str, ...] = DEFAULT_TRACKING_PARAMS) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, p) for p in patterns)


def _clean_path(path: str) -> str:
    # Re-quote so that %7E and ~ (and other equivalent spellings) end up the same.
    path = quote(unquote(path), safe="/:@!$&'()*+,;=~-._")
    if not path:
        return "/"
    # A trailing slash is the same page on every publisher we know; keep the root's.
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def canonicalize(url: str, tracking: tuple[str, ...] = DEFAULT_TRACKING_PARAMS) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters.

    Query parameters that remain are sorted so that their order does not matter.
    Idempotent: canonicalize(canonicalize(u)) == canonicalize(u).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if host.startswith("m.") or host.startswith("amp."):
        host = host.split(".", 1)[1]
    netloc = host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    path = _clean_path(parts.path)
    if path.endswith("/amp") and len(path) > 4:
        path = path[: -len("/amp")] or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not is_tracking_param(k, tracking)]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, quote_via=quote), ""))


def resolve(link: str, base: str) -> str:
    """Make a feed's (possibly relative) link absolute against the feed URL."""
    return urljoin(base, link.strip())


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
