"""URL canonicalisation: one form per article, whatever link led to it, and never one form
for two articles.

Only changes that cannot select different content are made: case of scheme and host, the
default port, percent-encoding of unreserved characters, dot segments, pure tracking
parameters, the fragment, parameter order. A few publisher conventions are folded too
(www./m./amp. host, /amp suffix, trailing slash): they only join URLs that rel=canonical
would join anyway.

courlan.normalize_url was measured on real shapes and is NOT used: it drops `ref`, `source`,
`eid`, `session`... (two articles merge), drops `a=` blank parameters, rewrites `;` to
`%3B`, collapses `//` and turns punycode hosts into Unicode. IDN hosts go through the `idna`
package (the one httpx uses), so the host is the one the client connects to.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import idna

DEFAULT_PORTS = {"http": 80, "https": 443}
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
SUB_DELIMS = "!$&'()*+,;="
PATH_SAFE = UNRESERVED | frozenset(SUB_DELIMS + ":@/")
QUERY_SAFE = PATH_SAFE | frozenset("?")
HEX = frozenset("0123456789abcdefABCDEF")
FOLDED_HOST_PREFIXES = ("www.", "m.", "amp.")
_DOT_SEGMENT = re.compile(r"(^|/)\.\.?(/|$)")


def is_tracking_param(name: str, patterns: Iterable[str]) -> bool:
    """Whether the (decoded, lower-cased) parameter name matches one of the glob patterns."""
    lowered = unquote(name).lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def normalize_percent(text: str, safe: frozenset[str]) -> str:
    """One spelling per character: unreserved escapes decoded, other escapes upper-cased,
    characters outside `safe` escaped as UTF-8, a stray `%` escaped as %25.

    Escaped reserved characters (%2F, %3F, %26, %3D, %23) stay escaped: decoding them
    would change what the URL means.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%" and text[i + 1:i + 3] and all(c in HEX for c in text[i + 1:i + 3]):
            decoded = chr(int(text[i + 1:i + 3], 16))
            out.append(decoded if decoded in UNRESERVED else "%" + text[i + 1:i + 3].upper())
            i += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{b:02X}" for b in char.encode("utf-8", errors="surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: /a/./b/../c is /a/c (what every client requests)."""
    if not _DOT_SEGMENT.search(path):
        return path
    segments: list[str] = []
    parts = path.split("/")
    for index, segment in enumerate(parts):
        last = index == len(parts) - 1
        if segment == "..":
            if len(segments) > 1:
                segments.pop()
            if last:
                segments.append("")
        elif segment == ".":
            if last:
                segments.append("")
        else:
            segments.append(segment)
    return "/".join(segments) if segments and segments[0] == "" else "/" + "/".join(segments)


def _clean_path(path: str) -> str:
    path = _remove_dot_segments(normalize_percent(path, PATH_SAFE)) or "/"
    # A trailing slash and an /amp suffix are the same page on every publisher we know.
    # Repeated until nothing changes, so that a second pass has nothing left to do.
    while True:
        before = path
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        if len(path) > 4 and path.endswith("/amp"):
            path = path[: -len("/amp")] or "/"
        if path == before:
            return path


def _ascii_host(host: str) -> str:
    """Lower-case ASCII host; IDN hosts in punycode as httpx sends them."""
    host = host.rstrip(".")
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return host.lower()  # not a valid IDN: left as written, the same every time


def _fold_host(host: str) -> str:
    """www.x.fr, m.x.fr and amp.x.fr are x.fr; never down to a bare top-level domain."""
    while True:
        prefix = next((p for p in FOLDED_HOST_PREFIXES if host.startswith(p)), None)
        rest = host[len(prefix):] if prefix else ""
        if not prefix or "." not in rest.strip("."):
            return host
        host = rest


def _netloc(scheme: str, parts) -> str:
    host = _ascii_host(parts.hostname or "")
    try:
        host = ipaddress.ip_address(host).compressed
    except ValueError:
        host = _fold_host(host)
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    port = parts.port  # may raise ValueError: the caller keeps such a URL as it is
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return netloc


def _clean_query(query: str, strip: tuple[str, ...]) -> str:
    """Tracking parameters dropped; the others kept as written (`a` and `a=` differ, `+` is
    not turned into a space) and sorted by name, equal names keeping their order."""
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        if is_tracking_param(name, strip):
            continue
        name = normalize_percent(name, QUERY_SAFE - {"="})
        kept.append((name, name + sep + normalize_percent(value, QUERY_SAFE)))
    kept.sort(key=lambda item: item[0])
    return "&".join(piece for _, piece in kept)


def canonicalize(url: str, strip: Iterable[str] = (), *,
                 tracking: Iterable[str] | None = None) -> str:
    """The identity of the page at `url`: two URLs with one canonical form are one article.

    Drops the settings' tracking parameters (or `tracking` when given) plus the feed's
    `strip` patterns (globs). Idempotent: canonicalize(canonicalize(u)) == canonicalize(u).
    A URL that is not http(s) or cannot be parsed is returned as it is (stripped).
    """
    url = url.strip()
    if tracking is None:
        from worker.settings import get_settings

        tracking = get_settings().tracking_params
    patterns = (*tracking, *strip)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return url
        netloc = _netloc(scheme, parts)
    except ValueError:
        return url
    return urlunsplit((scheme, netloc, _clean_path(parts.path),
                       _clean_query(parts.query, patterns), ""))


def resolve(link: str, base: str) -> str:
    """Make a feed's (possibly relative) link absolute against the feed URL."""
    return urljoin(base, link.strip())


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
