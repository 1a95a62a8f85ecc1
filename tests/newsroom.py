"""A fake newsroom on the local test server: fixture feeds and pages, plus the example article."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLES, FIXTURES, Site

EXAMPLE_TEXT = (EXAMPLES / "blinken-kiev-fr.txt").read_text(encoding="utf-8")


def example_page(base: str) -> str:
    """The shared example article inside ordinary publisher boilerplate."""
    paragraphs = "".join(f"<p>{p}</p>\n" for p in EXAMPLE_TEXT.split("\n\n"))
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Blinken à Kiev : 675 millions de dollars d’aide militaire</title>
<meta property="article:published_time" content="2022-09-08T14:05:00+02:00">
<meta property="og:site_name" content="Euronews">
<link rel="canonical" href="{base}/articles/blinken-kiev.html"></head>
<body><header><nav><a href="/">Accueil</a> <a href="/monde">Monde</a> <a href="/eco">Économie</a>
</nav></header><div class="cookie-banner">Nous utilisons des cookies.</div>
<main><article><h1>Blinken à Kiev : 675 millions de dollars d’aide militaire</h1>
{paragraphs}</article></main>
<aside><h3>À lire aussi</h3><ul><li><a href="/x">Le G7 se réunit à Berlin</a></li></ul></aside>
<footer>© Euronews - Mentions légales</footer></body></html>"""


def example_feed(base: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Monde</title><link>{base}/</link>
<item><title>Blinken à Kiev</title>
<link>{base}/articles/blinken-kiev.html?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">monde-blinken</guid>
<pubDate>Thu, 08 Sep 2022 12:05:00 GMT</pubDate>
<description>Le secrétaire d’État américain annonce une aide militaire.</description></item>
</channel></rss>"""


def expected_pages() -> dict:
    return json.loads((FIXTURES / "pages" / "expected.json").read_text(encoding="utf-8"))


def serve_newsroom(site: Site) -> list[str]:
    """Serve every fixture page and feed; the feed URLs."""
    for page in sorted((FIXTURES / "pages").glob("*.html")):
        charset = "windows-1252" if expected_pages()[page.name]["encoding"] != "utf-8" \
            else "utf-8"
        site.add(f"/articles/{page.name}", page.read_bytes(), f"text/html; charset={charset}")
    feeds = []
    for feed in sorted((FIXTURES / "feeds").glob("*")):
        body = feed.read_text(encoding="utf-8").replace("{base}", site.base)
        kind = "application/atom+xml" if feed.suffix == ".atom" else "application/rss+xml"
        feeds.append(site.add(f"/feeds/{feed.name}", body, kind))
    site.add("/articles/blinken-kiev.html", example_page(site.base))
    feeds.append(site.add("/feeds/monde.rss", example_feed(site.base), "application/rss+xml"))
    return feeds


def write_feeds_file(path: Path, urls: list[str], allow_private: bool = True) -> Path:
    lines = ["defaults:", f"  allow_private_networks: {str(allow_private).lower()}",
             "  interval_seconds: 60", "feeds:"]
    for i, url in enumerate(urls):
        lines += [f"  - name: Feed {i}", f"    url: {url}", "    tags: [test]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
