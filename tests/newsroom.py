"""A fake newsroom on the local test server: fixture feeds and pages, plus the example article."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

from tests.conftest import FIXTURES, Site, need_shared


def example_text() -> str:
    """The shared example article (a test that needs it skips without ../shared)."""
    return (need_shared("examples") / "blinken-kiev-fr.txt").read_text(encoding="utf-8")


def example_page(base: str) -> str:
    """The shared example article inside ordinary publisher boilerplate."""
    paragraphs = "".join(f"<p>{p}</p>\n" for p in example_text().split("\n\n"))
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


# --- syndication: the same dispatch republished by other outlets ---------------------------

OUTLETS = {
    "lejournal": ("Le Journal", ["Accueil", "Politique", "Économie", "Monde", "Sport"]),
    "lequotidien": ("Le Quotidien du Sud", ["À la une", "Région", "Faits divers", "Culture"]),
    "infoexpress": ("Info Express", ["Direct", "France", "International", "Vidéos", "Podcasts"]),
}


def gold_texts(folder: str = "nlp_gold") -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((FIXTURES / folder).glob("*.json"))]


def outlet_page(outlet: str, base: str, path: str, title: str, paragraphs: list[str],
                published: str) -> str:
    """An article page in the outlet's own boilerplate: menu, related links, footer."""
    name, menu = OUTLETS[outlet]
    nav = "".join(f'<li><a href="/{m.lower()}">{m}</a></li>' for m in menu)
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    related = "".join(f'<li><a href="/r/{i}">{name} : lire notre dossier numéro {i}</a></li>'
                      for i in range(6))
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:site_name" content="{name}">
<meta property="article:published_time" content="{published}">
<link rel="canonical" href="{base}{path}"></head><body>
<header><div class="logo">{name}</div><nav><ul>{nav}</ul></nav></header>
<div class="cookies">{name} utilise des cookies. Accepter / Refuser</div>
<main><article><h1>{title}</h1>{body}</article>
<aside class="related"><h2>À lire aussi</h2><ul>{related}</ul></aside></main>
<footer><p>© {name} — Mentions légales — Contact — Publicité</p></footer></body></html>"""


def rss(items: list[tuple[str, str]]) -> str:
    entries = "".join(f"<item><title>{escape(t)}</title><link>{escape(u)}</link></item>"
                      for t, u in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>t</title>{entries}</channel></rss>")


def syndicated_newsroom(site: Site, copies_of: int = 10) -> dict:
    """Originals on one outlet; for the first `copies_of`, republished copies elsewhere.

    Copy A: new title, one paragraph appended. Copy B: last paragraph removed, other
    boilerplate. Distinct articles (the rest of the gold set, the held-out set and the
    example, several on the same topics) must stay apart. Returns the feeds and the
    clusters of page paths.
    """
    clusters: list[list[str]] = []
    feeds: dict[str, list[tuple[str, str]]] = {o: [] for o in OUTLETS}
    docs = gold_texts() + gold_texts("nlp_heldout")
    for i, doc in enumerate(docs):
        paras = doc["text"].split("\n\n")
        title = paras[0][:70]
        path = f"/lejournal/{i}.html"
        site.add(path, outlet_page("lejournal", site.base, path, title, paras, doc["published"]))
        feeds["lejournal"].append((title, site.url(path)))
        cluster = [path]
        if i < copies_of:
            a = f"/lequotidien/{i}.html"
            site.add(a, outlet_page("lequotidien", site.base, a, "Dépêche : " + title[:50],
                                    paras + ["(Avec AFP) Notre rédaction reviendra sur ce "
                                             "sujet dans notre édition de demain."],
                                    doc["published"]))
            b = f"/infoexpress/{i}.html"
            site.add(b, outlet_page("infoexpress", site.base, b, title.upper(), paras[:-1],
                                    doc["published"]))
            feeds["lequotidien"].append((title, site.url(a) + "?utm_source=rss&xtor=RSS-1"))
            feeds["infoexpress"].append((title, site.url(b) + "?at_medium=feed"))
            cluster += [a, b]
        clusters.append(cluster)
    feed_urls = [site.add(f"/feeds/{o}.rss", rss(items), "application/rss+xml")
                 for o, items in feeds.items()]
    return {"feeds": feed_urls, "clusters": clusters}


# --- the world desk: places in their French forms, one person under three spellings -------

WORLD = FIXTURES / "world"


def world_page(base: str, name: str, published: str) -> str:
    """A fixture text of the world desk (first line: title) as a publisher's page."""
    title, *paragraphs = WORLD.joinpath(f"{name}.txt").read_text(encoding="utf-8").split("\n")
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs if p.strip())
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>{escape(title)}</title>
<meta property="article:published_time" content="{published}">
<meta property="og:site_name" content="Le Journal Test">
<link rel="canonical" href="{base}/monde/{name}.html"></head>
<body><header><nav><a href="/">Accueil</a> <a href="/monde">Monde</a></nav></header>
<main><article><h1>{escape(title)}</h1>
{body}</article></main>
<footer>© Le Journal Test</footer></body></html>"""


def serve_world_desk(site: Site, published: str, reprise: bool = False) -> str:
    """Serve the world desk's pages (dated `published`, ISO 8601) and its feed; its URL.
    `reprise`: the first page is also republished under another address (`-reprise`)."""
    items = []
    for i, path in enumerate(sorted(WORLD.glob("*.txt"))):
        name = path.stem
        title = path.read_text(encoding="utf-8").split("\n", 1)[0]
        for copy in (name, f"{name}-reprise") if i == 0 and reprise else (name,):
            page = world_page(site.base, name, published).replace(f"/{name}.html", f"/{copy}.html")
            site.add(f"/monde/{copy}.html", page)
            items.append(f"<item><title>{escape(title)}</title><link>{site.base}/monde/"
                         f"{copy}.html</link><guid>monde-{copy}</guid></item>")
    feed = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Monde</title><link>{site.base}/monde</link>{''.join(items)}</channel></rss>")
    return site.add("/feeds/world.rss", feed, "application/rss+xml")
