"""Article identity: one canonical URL per article, never one for two articles."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from worker.feeds.file import load
from worker.settings import DEFAULT_TRACKING_PARAMS
from worker.urls import canonicalize, resolve


def test_tracking_parameters_fragments_and_case_are_dropped():
    url = "HTTPS://WWW.LeMonde.fr:443/international/article/x.html?utm_source=rss&xtor=RSS-3&id=4#top"
    assert canonicalize(url) == "https://lemonde.fr/international/article/x.html?id=4"


def test_query_order_default_port_trailing_slash_and_mobile_host():
    a = canonicalize("http://m.example.fr:80/a/b/?z=1&a=2&fbclid=XYZ")
    b = canonicalize("http://example.fr/a/b?a=2&z=1")
    assert a == b == "http://example.fr/a/b?a=2&z=1"


def test_non_default_port_is_kept():
    assert canonicalize("http://127.0.0.1:8080/x/") == "http://127.0.0.1:8080/x"
    assert canonicalize("http://x.fr:443/a") == "http://x.fr:443/a"  # 443 is not http's


def test_parameters_that_may_select_content_keep_two_articles_apart():
    assert canonicalize("https://x.fr/view.php?ref=101") == "https://x.fr/view.php?ref=101"
    assert canonicalize("https://x.fr/view.php?ref=202") == "https://x.fr/view.php?ref=202"
    for name in ("ref", "from", "origin", "share", "partner", "cmp", "fs", "id", "source"):
        assert f"{name}=1" in canonicalize(f"https://x.fr/a?{name}=1"), name


def test_default_list_drops_only_pure_tracking():
    url = ("https://x.fr/a?utm_source=rss&utm_medium=x&fbclid=1&gclid=2&dclid=3&msclkid=4"
           "&mc_cid=5&mc_eid=6&xtor=RSS-1&at_medium=7&_ga=8&igshid=9&p=2")
    assert canonicalize(url, tracking=DEFAULT_TRACKING_PARAMS) == "https://x.fr/a?p=2"


def test_feed_strip_patterns_are_added_to_the_settings_list():
    url = "https://x.fr/a?ref=rss&from_home=1&fs=1&utm_source=x&page=2"
    assert canonicalize(url, ["ref", "from_*"]) == "https://x.fr/a?fs=1&page=2"
    assert canonicalize(url, ("REF",)) == "https://x.fr/a?from_home=1&fs=1&page=2"


def test_escaped_reserved_characters_are_kept_unreserved_ones_decoded():
    assert canonicalize("https://x.fr/a%2Fb%3Fc%23d") == "https://x.fr/a%2Fb%3Fc%23d"
    assert canonicalize("https://x.fr/a/b?c") != canonicalize("https://x.fr/a%2Fb%3Fc")
    assert canonicalize("https://x.fr/s?q=a%26b%3Dc") == "https://x.fr/s?q=a%26b%3Dc"
    assert canonicalize("https://x.fr/%7euser/caf%c3%a9") == \
        canonicalize("https://x.fr/~user/café") == "https://x.fr/~user/caf%C3%A9"
    assert canonicalize("https://x.fr/%41%2d") == "https://x.fr/A-"


def test_query_spellings_that_servers_tell_apart_are_kept():
    assert canonicalize("https://x.fr/s?q=a+b") != canonicalize("https://x.fr/s?q=a%2Bb")
    assert canonicalize("https://x.fr/s?flag") != canonicalize("https://x.fr/s?flag=")
    # Repeated names keep their order: ?a=2&a=1 may be a list.
    assert canonicalize("https://x.fr/s?b=1&a=2&a=1") == "https://x.fr/s?a=2&a=1&b=1"
    assert canonicalize("https://x.fr/a;jsessionid=1") == "https://x.fr/a;jsessionid=1"


def test_idn_host_has_one_spelling_and_folding_stops_at_a_registrable_name():
    assert canonicalize("https://www.Bücher.de/a") == canonicalize("https://xn--bcher-kva.de/a")
    assert canonicalize("https://xn--bcher-kva.de/a") == "https://xn--bcher-kva.de/a"
    assert canonicalize("https://m.fr/a") == "https://m.fr/a"
    assert canonicalize("https://amp.www.lefigaro.fr/x/amp") == "https://lefigaro.fr/x"
    assert canonicalize("https://x.fr/a/./b/../c") == "https://x.fr/a/c"


def test_other_schemes_and_unparseable_urls_are_left_alone():
    assert canonicalize("mailto:a@x.fr") == "mailto:a@x.fr"
    assert canonicalize("http://[::1/a") == "http://[::1/a"


def test_relative_link_resolved_against_feed():
    assert resolve("/articles/a.html", "http://site.test/rss/une.xml") == \
        "http://site.test/articles/a.html"


def test_feeds_file_strip_params_reach_the_feed_spec(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("defaults:\n  strip_params: [xtref]\nfeeds:\n"
                    "  - name: A\n    url: https://a.fr/rss\n    strip_params: [ref, 'from_*']\n"
                    "  - name: B\n    url: https://b.fr/rss\n", encoding="utf-8")
    a, b = load(path).feeds
    assert a.strip_params == ("xtref", "ref", "from_*")
    assert b.strip_params == ("xtref",)


# --- the property: canonicalize is idempotent on odd URLs ------------------------------------

ODD = "aZé~-._/%2F%3f%7e%C3%A9%zz%;:@!$&'()*+,=[] \\ü?"
hosts = st.one_of(
    st.sampled_from(["www.Example.fr", "m.site.test", "news.test", "127.0.0.1", "[::1]",
                     "[2001:DB8::0001]", "Bücher.de", "xn--bcher-kva.de", "WWW.M.AMP.x.fr",
                     "m.fr", "a_b.fr", "trailing.dot.", "ＥＸＡＭＰＬＥ.fr", "xn--zz.fr",
                     "user:pw@www.x.fr", "www.", "É.fr"]),
    st.lists(st.text(alphabet="abcÉéß-_0xn", min_size=1, max_size=8), min_size=1,
             max_size=4).map(".".join),
)
pieces = st.text(alphabet=ODD, max_size=12)
queries = st.lists(st.tuples(st.sampled_from(["utm_source", "ref", "A", "a", "%61", "ns_fee",
                                              "at_x", "q", ""]),
                             st.sampled_from(["", "="]), pieces), max_size=5).map(
    lambda items: "&".join(k + s + v for k, s, v in items))
urls = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}/{path}"
                                                  f"{'?' + query if query else ''}{frag}",
    st.sampled_from(["http", "https", "HTTP", "hTtPs"]),
    hosts,
    st.sampled_from(["", ":80", ":443", ":8080", ":0443", ":"]),
    st.lists(st.one_of(pieces, st.sampled_from([".", "..", "amp", ""])), max_size=6).map(
        "/".join),
    queries,
    st.sampled_from(["", "#frag", "#"]),
)


@settings(max_examples=500)
@given(urls)
@example("http://m.www.x.fr/a/amp/amp/")
@example("http://x.fr/a/%2e%2E/b")
def test_canonicalize_is_idempotent(url):
    once = canonicalize(url, ["a"])
    assert canonicalize(once, ["a"]) == once


@given(st.text(max_size=60))
def test_canonicalize_is_idempotent_on_any_text(text):
    once = canonicalize(text)
    assert canonicalize(once) == once
