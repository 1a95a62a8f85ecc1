from datetime import UTC, datetime

import pytest

from worker.errors import FeedError
from worker.feeds.parse import parse_feed
from worker.feeds.schedule import next_poll_at

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Le Journal</title>
<item><title>Premier</title><link>/articles/a.html?utm_source=rss</link>
<guid isPermaLink="false">g-a</guid>
<pubDate>Tue, 12 Mar 2024 08:15:00 +0100</pubDate><category>Politique</category>
<description>R\xc3\xa9sum\xc3\xa9 du premier</description></item>
<item><title>Sans lien</title><description>rien</description></item>
<item><title>Doublon</title><link>http://site.test/articles/a.html</link></item>
</channel></rss>"""


def test_rss_entries_are_absolute_canonical_and_keep_feed_fields():
    parsed = parse_feed(RSS, "http://site.test/rss.xml")
    assert parsed.title == "Le Journal"
    assert len(parsed.entries) == 1
    entry = parsed.entries[0]
    assert entry.link == "http://site.test/articles/a.html?utm_source=rss"
    assert entry.canonical_url == "http://site.test/articles/a.html"
    assert entry.guid == "g-a"
    assert entry.summary == "Résumé du premier"
    assert entry.categories == ("Politique",)
    assert entry.published == datetime(2024, 3, 12, 7, 15, tzinfo=UTC)
    assert parsed.skipped == {"no_link": 1, "repeated": 1}


def test_atom_content_is_kept():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>R</title>
    <entry><title>T</title><link href="http://s.test/x"/><id>urn:x</id>
    <updated>2024-03-01T10:00:00Z</updated><content type="html">&lt;p&gt;Corps&lt;/p&gt;</content>
    </entry></feed>"""
    entry = parse_feed(atom, "http://s.test/feed").entries[0]
    assert "Corps" in entry.content


@pytest.mark.parametrize("body", [b"", b"<html><body>not a feed</body></html>", b"\x00\x01\x02"])
def test_not_a_feed_raises_feed_error(body):
    with pytest.raises(FeedError) as info:
        parse_feed(body, "http://s.test/feed")
    assert info.value.reason == "feed_unparseable"


def test_backoff_grows_with_failures_and_honours_retry_after():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    plain = (next_poll_at(now, 600, jitter=0) - now).total_seconds()
    failed = (next_poll_at(now, 600, consecutive_failures=3, jitter=0) - now).total_seconds()
    capped = (next_poll_at(now, 600, consecutive_failures=30, jitter=0) - now).total_seconds()
    later = (next_poll_at(now, 600, retry_after=7200, jitter=0) - now).total_seconds()
    assert (plain, failed, capped, later) == (600, 4800, 6 * 3600, 7200)


def test_adaptive_interval_follows_the_publishing_rate():
    from worker.feeds.schedule import adaptive_interval

    busy = adaptive_interval(40, 900, 300, 7200)  # 40 new entries an hour
    quiet = adaptive_interval(2 / 24, 900, 300, 7200)  # 2 a day
    assert busy == 300 and quiet == 7200 and busy < quiet
    assert adaptive_interval(4, 900, 300, 7200) == 1800  # two new entries per poll
    assert adaptive_interval(None, 900, 300, 7200) == 900  # too few polls to tell
    assert adaptive_interval(0, 900, 300, 7200) == 1800  # nothing new: back off


def test_tracking_parameters_are_a_setting():
    feed = (b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
            b"<link>http://s.test/a?campaign=x&amp;id=1</link></item></channel></rss>")
    default = parse_feed(feed, "http://s.test/rss").entries[0]
    custom = parse_feed(feed, "http://s.test/rss", tracking=("campaign",)).entries[0]
    assert default.canonical_url == "http://s.test/a?campaign=x&id=1"
    assert custom.canonical_url == "http://s.test/a?id=1"
