"""The pages as a reader sees them, in Debian's headless Chromium: every page of a server
over a store filled by a real ingest; titles, a highlighted entity, a quote with its
speaker, the charts, and hostile markup that shows as text and never runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, Site
from tests.webroom import HOSTILE_FEED, HOSTILE_PARAGRAPH, WebServer, fill

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _need_chromium() -> None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        why = "headless Chromium is needed (apt-get install chromium chromium-driver)"
        if IN_CI:
            pytest.fail(f"{why}; .ci/run installs it")
        pytest.skip(why)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'newsworker.db'}"
    site = Site()
    try:
        fill(site, url, folder)
    finally:
        site.close()
    web = WebServer(folder / "server", url)
    yield web
    web.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1200,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The Debian driver, named explicitly: selenium-manager never downloads one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, server: WebServer, path: str):
    from selenium.webdriver.common.by import By

    browser.get(server.base + path)
    assert browser.title.endswith("· newsworker"), (path, browser.title)  # no script renamed it
    assert browser.find_elements(By.CSS_SELECTOR, "header.top nav a")
    # A blocked resource or a refused inline script would show here as a CSP error.
    problems = [entry["message"] for entry in browser.get_log("browser")
                if entry["level"] == "SEVERE"]
    assert problems == [], (path, problems)
    return By


def _api(server: WebServer, path: str, **params):
    return httpx.get(server.base + path, params=params, timeout=30).json()


def test_every_page_shows_what_was_ingested(browser, server):
    articles = _api(server, "/api/v1/articles", limit=200)["items"]
    assert len(articles) >= 9
    by = _open(browser, server, "/articles")
    shown = [e.text for e in browser.find_elements(by.CSS_SELECTOR, "ol.articles a.title")]
    assert shown == [a["title"] for a in articles[:50]]
    for path in ("/", "/feeds", "/entities", "/quotes", "/stories", "/stories?order=recent",
                 "/articles?q=kiev", f"/feeds/{articles[0]['feed_id']}",
                 f"/stories/{articles[0]['story_id']}"):
        _open(browser, server, path)
    story = browser.find_elements(by.CSS_SELECTOR, "ol.timeline li a")
    assert story and story[0].text


def test_article_page_marks_entities_and_quotes_with_their_speaker(browser, server):
    quoted = next(q for q in _api(server, "/api/v1/quotes", limit=200)["items"]
                  if q["speaker"])
    record = _api(server, f"/api/v1/articles/{quoted['article_id']}")
    by = _open(browser, server, f"/articles/{quoted['article_id']}")
    assert browser.find_element(by.TAG_NAME, "h1").text == record["title"]
    marks = browser.find_elements(by.CSS_SELECTOR, ".body mark.ent")
    entity = record["entities"][0]
    labelled = {(m.get_attribute("data-label"), m.text) for m in marks}
    assert (entity["label"], entity["mentions"][0]["text"]) in labelled
    # Highlighted: the label's colour is not the page's background.
    colour = marks[0].value_of_css_property("background-color")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    speakers = [c.text for c in browser.find_elements(by.CSS_SELECTOR, ".body .quote cite")]
    assert quoted["speaker"] in speakers
    listed = browser.find_elements(by.CSS_SELECTOR, "ul.quotes li")
    assert any(quoted["speaker"] in li.text and quoted["text"][:30] in li.text for li in listed)
    urls = browser.find_element(by.CSS_SELECTOR, "ul.urls").text
    assert record["canonical_url"] in urls


def test_charts_are_drawn(browser, server):
    by = _open(browser, server, "/")
    bars = browser.find_elements(by.CSS_SELECTOR, "svg.bars rect.bar")
    assert len(bars) == 48  # one an hour
    assert any(float(b.get_attribute("height")) > 0 for b in bars)  # the ingest just now
    assert browser.find_element(by.CSS_SELECTOR, "svg.bars").size["height"] > 50
    entity = _api(server, "/api/v1/entities", limit=1)["items"][0]
    _open(browser, server, f"/entities/{entity['id']}")
    bars = browser.find_elements(by.CSS_SELECTOR, "svg.bars rect.bar")
    assert len(bars) == 30  # one a day
    assert sum(float(b.get_attribute("height")) > 0 for b in bars) >= 1
    co = browser.find_elements(by.CSS_SELECTOR, "mark.ent a")
    assert co


def test_hostile_markup_shows_as_text_and_never_runs(browser, server):
    by = _open(browser, server, "/feeds")
    assert HOSTILE_FEED in browser.find_element(by.CSS_SELECTOR, "table.feeds").text
    assert not browser.find_elements(by.CSS_SELECTOR, "table.feeds b, table.feeds script")
    hostile = _api(server, "/api/v1/articles", tag="hostile")["items"][0]
    _open(browser, server, f"/articles/{hostile['id']}")
    assert "<script>" in browser.find_element(by.TAG_NAME, "h1").text
    assert "onerror=" in browser.find_element(by.TAG_NAME, "h1").text
    assert HOSTILE_PARAGRAPH in browser.find_element(by.CSS_SELECTOR, ".body").text
    assert browser.find_elements(by.CSS_SELECTOR, "main img, main script") == []
    # Had any of it run, the title would be one of the "pwned-…" values it sets.
    title = _api(server, f"/api/v1/articles/{hostile['id']}")["title"]
    assert browser.execute_script("return document.title") == f"{title} · newsworker"
    _open(browser, server, "/articles?tag=hostile")
    assert "<script>" in browser.find_element(by.CSS_SELECTOR, "ol.articles").text
