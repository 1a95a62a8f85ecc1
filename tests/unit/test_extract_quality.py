"""Body quality on publisher-like pages: at least as complete and clean as bare trafilatura."""

from __future__ import annotations

import json

import pytest
import trafilatura

from tests.conftest import FIXTURES
from worker.extract import extract

PAGES = json.loads((FIXTURES / "pages" / "expected.json").read_text(encoding="utf-8"))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in text.replace("\n", " ").split(". ") if len(s.strip()) > 30]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_body_as_complete_and_clean_as_bare_trafilatura(name):
    raw = (FIXTURES / "pages" / name).read_bytes()
    ours = extract(raw, f"http://news.test/{name}").text
    # Bare trafilatura's body (its default output appends the reader comments after it).
    bare_body = trafilatura.extract(raw, include_comments=False) or ""
    flat = " ".join(ours.split())
    missing = [s for s in sentences(bare_body) if " ".join(s.split()) not in flat]
    assert not missing, missing[:3]
    for junk in PAGES[name]["must_not_contain"]:
        assert junk not in ours
    assert len(ours) <= len(trafilatura.extract(raw) or "") + 200  # no extra noise
    found = extract(raw)
    assert PAGES[name]["title"] == found.title
    # Only the paywalled page is flagged, not pages whose comments are "for subscribers".
    assert found.paywalled == PAGES[name].get("paywalled", False)


def test_metadata_of_a_publisher_page():
    raw = (FIXTURES / "pages" / "art01.html").read_bytes()
    found = extract(raw)
    expected = PAGES["art01.html"]
    assert found.published == expected["published"]
    assert list(found.authors) == expected["authors"]
    assert found.modified and found.image and found.site_name and found.description
    assert found.tags or found.categories


def test_english_page_is_detected_as_english():
    html = ("<html lang='en'><body><article><h1>Markets</h1>" + "<p>The central bank raised "
            "its key rate again on Thursday, saying inflation remained far too high for "
            "comfort, and markets fell across Europe.</p>" * 5 + "</article></body></html>")
    assert extract(html.encode()).language == "en"
