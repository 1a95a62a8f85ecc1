"""Realistic French article pages for the benchmark, generated from the hand-written texts.

Each page: a publisher template (menus, cookie banner, inline scripts, related links,
reader comments, footer) around a body of sentences drawn from the test texts, so that
bodies differ while reading like real French news. 20-150 KB per page.

Body lengths follow real French news: log-normal, median about 650 words, a few percent
past 2,000 (the shared corpus of real pages has a median near 900 and a tail to 6,700).
When `../shared/corpus/pages` exists, its real pages are added, each once, read from
there at run time (never copied into the repository).
"""

from __future__ import annotations

import json
import math
import random
import re
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PUBLISHERS = [
    ("Le Quotidien national", "article-body", ["Politique", "International", "Économie",
                                               "Société", "Culture", "Sport", "Idées"]),
    ("La Gazette du Sud-Ouest", "story__content", ["Bordeaux", "Toulouse", "Pau", "Faits divers",
                                                   "Rugby", "Loisirs"]),
    ("Info Continu", "entry-content", ["Direct", "France", "Monde", "Vidéos", "Météo"]),
    ("Les Nouvelles économiques", "content-article", ["Marchés", "Entreprises", "Finance",
                                                      "Bourse", "Immobilier", "Tech"]),
]
# The development corpus of real pages, next to the repository (never copied into it).
SHARED_PAGES = ROOT.parent / "shared" / "corpus" / "pages"
COMMENTS = ["Article très intéressant, merci.", "On nous prend vraiment pour des idiots.",
            "Et les contribuables dans tout ça ?", "Enfin une bonne nouvelle pour la région !",
            "Source ? Je demande à voir les chiffres.", "Toujours les mêmes qui paient."]


def paragraph_pool() -> list[str]:
    pool = []
    for folder in ("nlp_gold", "nlp_heldout"):
        for path in sorted((ROOT / "tests" / "fixtures" / folder).glob("*.json")):
            pool += json.loads(path.read_text(encoding="utf-8"))["text"].split("\n\n")
    return [p for p in pool if len(p) > 80]


def sentence_pool(pool: list[str]) -> list[str]:
    return [s for para in pool for s in re.split(r"(?<=[.!?»])\s+", para) if len(s) > 20]


def body_words(rng: random.Random) -> int:
    """A body length in words: log-normal around a 650-word median, clipped to 150-6,000."""
    return int(min(6000, max(150, math.exp(rng.gauss(math.log(650), 0.6)))))


def body_paragraphs(rng: random.Random, sentences: list[str], words: int) -> list[str]:
    """Paragraphs of 2-6 sentences, in a fresh order, until the body has `words` words.

    Shuffled sentences keep pages apart for the near-duplicate detector (their word
    shingles overlap little), while each sentence stays real French.
    """
    order: list[str] = []
    count = 0
    while count < words:
        batch = rng.sample(sentences, len(sentences))
        for sentence in batch:
            order.append(sentence)
            count += len(sentence.split())
            if count >= words:
                break
    paras, i = [], 0
    while i < len(order):
        size = rng.randint(2, 6)
        paras.append(" ".join(order[i:i + size]))
        i += size
    return paras


def script_block(rng: random.Random, kb: int) -> str:
    lines = [f"window.dataLayer.push({{'event':'view','slot':{i},'ab':'{rng.random():.6f}'}});"
             for i in range(kb * 1024 // 60)]
    return "<script>window.dataLayer=window.dataLayer||[];" + "".join(lines) + "</script>"


def page(i: int, rng: random.Random, pool: list[str], sentences: list[str]) -> tuple[str, str]:
    name, body_class, menu = PUBLISHERS[i % len(PUBLISHERS)]
    paras = body_paragraphs(rng, sentences, body_words(rng))
    title = paras[0].split(".")[0][:90]
    nav = "".join(f'<li><a href="/rubrique/{m.lower()}">{escape(m)}</a></li>' for m in menu * 3)
    related = "".join(f'<li><a href="/a/{rng.randint(1, 10**6)}">{escape(p.split(".")[0][:70])}'
                      "</a></li>" for p in rng.sample(pool, 8))
    comments = "".join(f'<div class="comment"><b>Lecteur{rng.randint(1, 999)}</b>'
                       f"<p>{rng.choice(COMMENTS)}</p></div>" for _ in range(rng.randint(3, 40)))
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paras)
    html = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>{escape(title)} | {escape(name)}</title>
<meta property="og:site_name" content="{escape(name)}">
<meta property="article:published_time" content="2024-03-{1 + i % 28:02d}T08:00:00+01:00">
<meta name="author" content="Rédaction {escape(name)}">
{script_block(rng, rng.randint(5, 90))}</head><body>
<div class="cookie-consent">{escape(name)} et ses partenaires utilisent des cookies.
<button>Accepter</button><button>Paramétrer</button></div>
<header><nav><ul>{nav}</ul></nav></header>
<main><article><h1>{escape(title)}</h1><div class="{body_class}">{body}</div></article>
<aside><h2>À lire aussi</h2><ul>{related}</ul></aside>
<section id="comments" class="comments"><h2>Réactions</h2>{comments}</section></main>
<footer><ul>{nav}</ul><p>© {escape(name)} — Mentions légales — CGU</p></footer>
{script_block(rng, rng.randint(2, 30))}</body></html>"""
    return title, html


def real_pages(folder: Path = SHARED_PAGES) -> dict[str, bytes]:
    """{file name: raw bytes} of the shared corpus's real pages; empty when it is absent."""
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.html"))}


def real_title(raw: bytes, fallback: str) -> str:
    found = re.search(rb"<title[^>]*>(.*?)</title>", raw, re.S | re.I)
    if not found:
        return fallback
    return " ".join(found.group(1).decode("utf-8", "replace").split())[:150] or fallback


def generate(count: int = 300, feeds: int = 10, seed: int = 7,
             real: dict[str, bytes] | None = None) -> dict:
    """{'pages': {path: html bytes}, 'feeds': {path: [(title, path)]}}

    `count` generated pages plus each real page once (`real`, default: the shared corpus).
    """
    rng = random.Random(seed)
    pool = paragraph_pool()
    sentences = sentence_pool(pool)
    pages, feed_items = {}, {f"/feeds/{f}.rss": [] for f in range(feeds)}
    items: list[tuple[str, str, bytes]] = []
    for i in range(count):
        title, html = page(i, rng, pool, sentences)
        items.append((title, f"/articles/{i}.html", html.encode("utf-8")))
    for name, raw in (real_pages() if real is None else real).items():
        items.append((real_title(raw, name), f"/real/{name}", raw))
    for i, (title, path, raw) in enumerate(items):
        pages[path] = raw
        feed_items[f"/feeds/{i % feeds}.rss"].append((title, path))
    return {"pages": pages, "feeds": feed_items}


def rss(base: str, items: list[tuple[str, str]]) -> str:
    entries = "".join(f"<item><title>{escape(t)}</title><link>{base}{p}</link></item>"
                      for t, p in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>bench</title>{entries}</channel></rss>")
