"""Page bytes → clean article body and metadata, with trafilatura. No I/O, no SQL."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import charset_normalizer
import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.xml import xmltotxt

from worker.errors import ExtractionError

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:]+)""", re.I)
# A paywall shows as a box whose class or id says so, or as the teaser's closing words.
# (Not anywhere on the page: "les commentaires sont réservés aux abonnés" is no paywall.)
PAYWALL_BOX = re.compile(r"""(?:class|id)\s*=\s*["'][^"']*(?:paywall|premium-wall|"""
                         r"""subscriber-only|abo-wall|article--locked|locked-content)""", re.I)
PAYWALL_TEASER = re.compile(r"(?:la suite est réservée|cet article est réservé aux abonnés|"
                            r"pour lire la suite|abonnez-vous pour lire)", re.I)


@dataclass(frozen=True)
class Extracted:
    """What a page yields: the body as text and structured, and its metadata."""

    text: str
    body: str  # Markdown or trafilatura XML, see settings.body_format
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None  # ISO 8601, with time zone when the page gives one
    modified: str | None = None
    site_name: str | None = None
    description: str | None = None
    language: str | None = None
    image: str | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    canonical_url: str | None = None
    paywalled: bool = False
    encoding: str | None = None


def _charset_from_headers(headers: dict[str, str]) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([\w\-:]+)", headers.get("content-type", ""), re.I)
    return match.group(1) if match else None


def _valid_codec(name: str | None) -> str | None:
    if not name:
        return None
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(body: bytes, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """Bytes → text: the HTTP charset, then the page's meta charset, then detection.

    A declared charset that cannot decode the bytes cleanly is not trusted: a page
    served as UTF-8 but written in windows-1252 would otherwise come out as mojibake.
    """
    head = body[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace"), "utf-8"
    meta = META_CHARSET.search(head)
    candidates = [_valid_codec(_charset_from_headers(headers or {})),
                  _valid_codec(meta.group(1).decode("ascii", "ignore") if meta else None)]
    for codec in candidates:
        if codec is None:
            continue
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        # latin-1 family decode anything; only trust them if the bytes are not UTF-8.
        if codec in ("latin_1", "iso8859-1", "cp1252", "iso8859-15") and _is_utf8(body):
            return body.decode("utf-8"), "utf-8"
        return text, codec
    if _is_utf8(body):
        return body.decode("utf-8"), "utf-8"
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        return str(best), best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8"


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(b > 0x7F for b in body)


def _meta(tree, *names: str) -> str | None:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            found = tree.xpath(f'//meta[@{attr}="{name}"]/@content')
            if found and found[0].strip():
                return found[0].strip()
    return None


def _json_ld(tree) -> list[dict]:
    items: list[dict] = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        for item in stack:
            if isinstance(item, dict):
                items.extend(item.get("@graph", []) if "@graph" in item else [item])
    return [i for i in items if isinstance(i, dict)]


def _iso_date(value: str | None) -> str | None:
    """Normalise a page's date to ISO 8601, keeping its time zone."""
    if not value:
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def _page_facts(tree) -> dict:
    ld = [i for i in _json_ld(tree)
          if str(i.get("@type", "")).endswith(("Article", "NewsArticle", "ReportageNewsArticle"))]
    first = ld[0] if ld else {}
    free = str(first.get("isAccessibleForFree", "true")).lower()
    canonical = tree.xpath('//link[@rel="canonical"]/@href')
    return {
        "published": _iso_date(_meta(tree, "article:published_time", "datePublished",
                                     "og:article:published_time")
                               or first.get("datePublished")),
        "modified": _iso_date(_meta(tree, "article:modified_time", "og:updated_time",
                                    "dateModified") or first.get("dateModified")),
        "canonical": (canonical[0].strip() if canonical else None) or _meta(tree, "og:url"),
        "paywalled": free in ("false", "0", "no"),
        "html_lang": (tree.xpath("/html/@lang") or [None])[0],
        "tags": tuple(t.strip() for t in tree.xpath('//meta[@property="article:tag"]/@content')
                      if t.strip()),
    }


def detect_language(text: str, html_lang: str | None = None) -> str | None:
    """ISO 639-1 code from the text itself (py3langid); the page's lang attribute breaks ties."""
    if len(text) >= 40:
        import py3langid

        lang, _ = py3langid.classify(text[:5000])
        return lang
    if html_lang:
        return html_lang.split("-")[0].lower()
    return None


def extract(html: bytes, url: str | None = None, headers: dict[str, str] | None = None,
            body_format: str = "markdown") -> Extracted:
    """Clean the page: main text without menus, comments or boilerplate, plus metadata.

    Raises ExtractionError when the bytes are not an HTML page trafilatura can read.
    The text may be short (paywall, JavaScript page): the caller decides on fallbacks.
    """
    decoded, encoding = decode_html(html, headers)
    if "\x00" in decoded[:2048]:
        raise ExtractionError("binary content, not an HTML page", reason="not_html")
    try:
        tree = lxml_html.document_fromstring(decoded)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}", reason="bad_html") from exc
    facts = _page_facts(tree)
    # Formatting off: with it, trafilatura keeps more page furniture (bylines) in the body;
    # the Markdown body is rendered from the same clean tree below.
    document = trafilatura.bare_extraction(
        tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
        include_formatting=False, include_images=False)
    if document is None or document.body is None:
        return _empty(tree, facts, encoding)
    text = xmltotxt(document.body, include_formatting=False).strip()
    if body_format == "xml":
        body = etree.tostring(document.body, encoding="unicode")
    else:
        body = xmltotxt(document.body, include_formatting=True).strip()
    return Extracted(
        text=text, body=body, title=document.title,
        authors=_split_authors(document.author),
        published=facts["published"] or _iso_date(document.date),
        modified=facts["modified"], site_name=document.sitename,
        description=document.description,
        language=detect_language(text, facts["html_lang"]), image=document.image,
        categories=tuple(document.categories or ()),
        tags=tuple(dict.fromkeys([*facts["tags"], *(document.tags or ())])),
        canonical_url=facts["canonical"],
        paywalled=facts["paywalled"] or bool(PAYWALL_BOX.search(decoded))
        or bool(PAYWALL_TEASER.search(text[-400:])),
        encoding=encoding,
    )


def _empty(tree, facts: dict, encoding: str) -> Extracted:
    title = (tree.xpath("//title/text()") or [None])[0]
    return Extracted(text="", body="", title=title.strip() if title else None,
                     published=facts["published"], modified=facts["modified"],
                     canonical_url=facts["canonical"], paywalled=facts["paywalled"],
                     language=facts["html_lang"], encoding=encoding)


def _split_authors(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    parts = re.split(r";|,| et | and ", value)
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
