"""feeds.yaml checks: a big file's one bad feed is found with its line, and the quick
per-feed check accepts exactly what the JSON schema accepts."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from worker.feeds.file import check_text
from worker.jsonschemas import load_schema


def feeds_text(count: int, odd_one: str | None = None, at: int = -1) -> str:
    lines = ["defaults:", "  interval_seconds: 600", "  tags: [presse]", "feeds:"]
    for i in range(count):
        lines += [f"  - name: Flux {i}", f"    url: http://rédaction{i % 50}.test/f/{i}.rss"]
        if i == at and odd_one:
            lines.append(f"    {odd_one}")
    return "\n".join(lines) + "\n"


def test_a_big_valid_file_passes():
    data, problems = check_text(feeds_text(5000))
    assert problems == [] and len(data["feeds"]) == 5000


def test_one_bad_feed_among_thousands_is_reported_with_its_line():
    data, problems = check_text(feeds_text(5000, "interval_seconds: 5", at=4321))
    assert data is None
    line = 4 + 2 * 4321 + 3  # the header, two lines a feed, then the odd line
    assert [(p.line, p.path) for p in problems] == [(line, "feeds/4321/interval_seconds")]
    assert problems[0].message == "5 is less than the minimum of 60"


def test_an_unknown_key_points_at_its_own_line():
    _, problems = check_text(feeds_text(300, "colour: bleu", at=200))
    assert [(p.line, p.path) for p in problems] == [(4 + 2 * 200 + 3, "feeds/200/colour")]
    assert "colour" in problems[0].message


def test_problems_outside_the_feeds_and_repeated_urls():
    _, problems = check_text("defaults:\n  interval_seconds: 5\nfeeds: []\n")
    assert [(p.line, p.path) for p in problems] == [(2, "defaults/interval_seconds"), (3, "feeds")]
    _, problems = check_text(feeds_text(3) + "  - name: Encore\n    url: http://rédaction1.test/f/1.rss\n")
    assert [(p.line, p.path, p.message) for p in problems] == [
        (12, "feeds/3/url", "same URL as feed #1")]


def test_empty_null_and_broken_files():
    assert [p.message for p in check_text("")[1]] == ["the file is empty"]
    assert [(p.line, p.message) for p in check_text("~\n")[1]] == [
        (1, "None is not of type 'object'")]
    _, problems = check_text("feeds:\n  - name: A\n    url: [unclosed\n")
    assert problems[0].message.startswith("not valid YAML") and problems[0].line == 4


EDGE_FEEDS = [
    {"name": "A", "url": "https://a.test/rss"},
    {"name": "A", "url": "ftp://a.test/rss"},
    {"name": " ", "url": "http://a.test/rss"},
    {"name": "", "url": "http://a.test/rss"},
    {"name": 12, "url": "http://a.test/rss"},
    {"url": "http://a.test/rss"},
    {"name": "A"},
    {"name": "A", "url": "http://a.test/rss", "interval_seconds": 60},
    {"name": "A", "url": "http://a.test/rss", "interval_seconds": 59},
    {"name": "A", "url": "http://a.test/rss", "interval_seconds": 86401},
    {"name": "A", "url": "http://a.test/rss", "interval_seconds": 600.0},
    {"name": "A", "url": "http://a.test/rss", "interval_seconds": 600.5},
    {"name": "A", "url": "http://a.test/rss", "interval_seconds": True},
    {"name": "A", "url": "http://a.test/rss", "interval_seconds": "600"},
    {"name": "A", "url": "http://a.test/rss", "enabled": 1},
    {"name": "A", "url": "http://a.test/rss", "enabled": False, "adaptive": True,
     "respect_robots": False},
    {"name": "A", "url": "http://a.test/rss", "tags": ["x", "y"]},
    {"name": "A", "url": "http://a.test/rss", "tags": ["x", "x"]},
    {"name": "A", "url": "http://a.test/rss", "tags": [""]},
    {"name": "A", "url": "http://a.test/rss", "tags": "x"},
    {"name": "A", "url": "http://a.test/rss", "strip_params": ["utm_*", "ref"]},
    {"name": "A", "url": "http://a.test/rss", "strip_params": [3]},
    {"name": "A", "url": "http://a.test/rss", "colour": "bleu"},
    ["name", "url"],
    "http://a.test/rss",
    None,
]


@pytest.mark.parametrize("feed", EDGE_FEEDS, ids=[json.dumps(f) for f in EDGE_FEEDS])
def test_the_quick_check_agrees_with_the_schema(feed):
    document = {"feeds": [{"name": "Z", "url": "http://z.test/rss"}, feed]}
    expected = Draft202012Validator(load_schema("feeds.schema.json")).is_valid(document)
    data, problems = check_text(yaml.safe_dump(document, allow_unicode=True))
    assert (problems == []) is expected
    assert all(p.path.startswith("feeds/1") and p.line for p in problems)
