"""Realistic French article pages for the benchmark, generated from the hand-written texts.

Each page: a publisher template (menus, cookie banner, inline scripts, related links,
reader comments, footer) around a body of paragraphs drawn from the test texts, so that
bodies differ while reading like real French news. 20-150 KB per page.
"""

from __future__ import annotations

import json
import random
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
COMMENTS = ["Article très intéressant, merci.", "On nous prend vraiment pour des idiots.",
            "Et les contribuables dans tout ça ?", "Enfin une bonne nouvelle pour la région !",
            "Source ? Je demande à voir les chiffres.", "Toujours les mêmes qui paient."]


def paragraph_pool() -> list[str]:
    pool = []
    for folder in ("nlp_gold", "nlp_heldout"):
        for path in sorted((ROOT / "tests" / "fixtures" / folder).glob("*.json")):
            pool += json.loads(path.read_text(encoding="utf-8"))["text"].split("\n\n")
    return [p for p in pool if len(p) > 80]


def script_block(rng: random.Random, kb: int) -> str:
    lines = [f"window.dataLayer.push({{'event':'view','slot':{i},'ab':'{rng.random():.6f}'}});"
             for i in range(kb * 1024 // 60)]
    return "<script>window.dataLayer=window.dataLayer||[];" + "".join(lines) + "</script>"


def page(i: int, rng: random.Random, pool: list[str]) -> tuple[str, str]:
    name, body_class, menu = PUBLISHERS[i % len(PUBLISHERS)]
    paras = rng.sample(pool, rng.randint(5, 10))
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


def generate(count: int = 300, feeds: int = 10, seed: int = 7) -> dict:
    """{'pages': {path: html}, 'feeds': {path: [(title, path)]}}"""
    rng = random.Random(seed)
    pool = paragraph_pool()
    pages, feed_items = {}, {f"/feeds/{f}.rss": [] for f in range(feeds)}
    for i in range(count):
        title, html = page(i, rng, pool)
        path = f"/articles/{i}.html"
        pages[path] = html
        feed_items[f"/feeds/{i % feeds}.rss"].append((title, path))
    return {"pages": pages, "feeds": feed_items}


def rss(base: str, items: list[tuple[str, str]]) -> str:
    entries = "".join(f"<item><title>{escape(t)}</title><link>{base}{p}</link></item>"
                      for t, p in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>bench</title>{entries}</channel></rss>")
