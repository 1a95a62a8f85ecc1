"""A store for the web tests, filled by a real ingest of the fake newsroom (tests/newsroom.py)
plus one hostile feed and page, and a `newsworker web` process serving it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import Site, free_port
from tests.newsroom import serve_newsroom
from tests.services import Proc, service_env

# Stored strings that would run if a page put them in as markup.
HOSTILE_FEED = '<script>document.title="pwned-feed"</script> Hostile <b>feed</b>'
HOSTILE_TITLE = ('<script>document.title="pwned-title"</script>Alerte '
                 '<img src=x onerror="document.title=\'pwned-img\'">')
HOSTILE_PARAGRAPH = ('Le texte contient <img src=x onerror="document.title=\'pwned-body\'"> '
                     'et <script>document.title="pwned-script"</script> sans effet.')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_page(base: str) -> str:
    filler = " ".join(["La commune a présenté son budget annuel lors du conseil municipal, "
                       "réuni jeudi soir en présence des habitants du quartier."] * 4)
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>{_escape(HOSTILE_TITLE)}</title>
<link rel="canonical" href="{base}/articles/hostile.html"></head><body><main><article>
<h1>{_escape(HOSTILE_TITLE)}</h1><p>{filler}</p><p>{_escape(HOSTILE_PARAGRAPH)}</p><p>{filler}</p>
</article></main></body></html>"""


def serve_hostile(site: Site) -> str:
    """The hostile page and its feed; the feed URL."""
    site.add("/articles/hostile.html", hostile_page(site.base))
    item = (f"<item><title>{_escape(_escape(HOSTILE_TITLE))}</title>"
            f"<link>{site.base}/articles/hostile.html</link></item>")
    return site.add("/feeds/hostile.rss", '<?xml version="1.0" encoding="utf-8"?>'
                    f'<rss version="2.0"><channel><title>h</title>{item}</channel></rss>',
                    "application/rss+xml")


def feeds_file(path: Path, urls: list[str], hostile: str) -> Path:
    lines = ["defaults:", "  allow_private_networks: true", "  interval_seconds: 60", "feeds:"]
    for i, url in enumerate(urls):
        lines += [f"  - name: Feed {i}", f"    url: {url}", "    tags: [test]"]
    name = HOSTILE_FEED.replace("'", "''")
    lines += [f"  - name: '{name}'", f"    url: {hostile}", "    tags: [hostile]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fill(site: Site, db_url: str, folder: Path) -> None:
    """A real ingest (poll, fetch, extract, annotate) of the newsroom into `db_url`."""
    from worker.ingest import ingest_once
    from worker.settings import Settings

    urls = serve_newsroom(site)
    path = feeds_file(folder / "feeds.yaml", urls, serve_hostile(site))
    settings = Settings(data_dir=folder / "var", database_url=db_url,
                        allow_private_networks=True, per_host_delay_seconds=0, _env_file=None)
    ingest_once(settings, path)


class WebServer:
    """`newsworker web` on a free loopback port, as a user starts it."""

    def __init__(self, folder: Path, db_url: str, *args: str, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self.proc = Proc(["web", "--port", str(self.port), *args],
                         service_env(folder, folder / "feeds.yaml", db_url, **env),
                         folder / f"web-{self.port}.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.alive(), self.proc.tail()
            try:
                httpx.get(self.base + "/static/style.css", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"newsworker web did not answer:\n{self.proc.tail()}")

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.base + path, timeout=30, **kwargs)

    def stop(self) -> None:
        self.proc.stop()
