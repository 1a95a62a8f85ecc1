"""robots.txt rules as RFC 9309 reads them, parsed from the bytes a server sends."""

from worker.politeness import parse_robots

SITE = "https://news.test"

RULES = b"""# a comment
User-agent: *
Disallow: /private/
Allow: /private/public-*.html$
Disallow: /*.pdf$
Disallow: /search
Allow: /search/about
Crawl-delay: 4

User-agent: otherbot
Disallow: /
"""


def test_wildcards_and_end_anchor():
    rules = parse_robots(200, RULES)
    assert not rules.allows(f"{SITE}/report.pdf")
    assert rules.allows(f"{SITE}/report.pdf?page=2")  # $ anchors the end of the path+query
    assert rules.allows(f"{SITE}/private/public-note.html")
    assert not rules.allows(f"{SITE}/private/public-note.html.bak")


def test_the_longest_match_wins_whatever_the_order():
    rules = parse_robots(200, RULES)
    assert not rules.allows(f"{SITE}/private/notes.html")
    assert not rules.allows(f"{SITE}/search?q=x")
    assert rules.allows(f"{SITE}/search/about")
    reversed_order = parse_robots(200, b"User-agent: *\nAllow: /a/b\nDisallow: /a\n")
    assert reversed_order.allows(f"{SITE}/a/b/c") and not reversed_order.allows(f"{SITE}/a/c")


def test_allow_wins_a_tie():
    rules = parse_robots(200, b"User-agent: *\nDisallow: /page\nAllow: /page\n")
    assert rules.allows(f"{SITE}/page")


def test_our_own_group_replaces_the_star_group():
    rules = parse_robots(200, RULES + b"\nUser-agent: newsworker\nDisallow: /only-us/\n"
                                       b"Crawl-delay: 9\n")
    assert not rules.allows(f"{SITE}/only-us/x")
    assert rules.allows(f"{SITE}/private/notes.html")  # the * group no longer applies
    assert rules.crawl_delay == 9


def test_crawl_delay_of_the_star_group():
    assert parse_robots(200, RULES).crawl_delay == 4
    assert parse_robots(200, b"User-agent: *\nDisallow: /x\n").crawl_delay is None


def test_status_decides_when_there_are_no_rules():
    assert parse_robots(404, b"").allows(f"{SITE}/private/x")  # 4xx: no robots.txt
    assert parse_robots(403, b"").allows(f"{SITE}/x")
    for status in (500, 503, 429):  # the server is in trouble: nothing until a retry
        rules = parse_robots(status, b"")
        assert rules.unreachable and not rules.allows(f"{SITE}/x")


def test_odd_bodies_do_not_break_the_parser():
    assert parse_robots(200, b"").allows(f"{SITE}/x")
    assert parse_robots(200, b"<html><body>Not a robots file</body></html>").allows(f"{SITE}/x")
    latin = parse_robots(200, "User-agent: *\nDisallow: /caf\xe9\n".encode("latin-1"))
    assert latin.allows(f"{SITE}/other")
    crlf = parse_robots(200, b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /x\r\n")
    assert not crlf.allows(f"{SITE}/x/1") and crlf.allows(f"{SITE}/y")
