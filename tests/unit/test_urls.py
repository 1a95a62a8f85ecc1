from hypothesis import given
from hypothesis import strategies as st

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


def test_relative_link_resolved_against_feed():
    assert resolve("/articles/a.html", "http://site.test/rss/une.xml") == \
        "http://site.test/articles/a.html"


urls = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}/{path}{query}{frag}",
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(["www.Example.fr", "m.site.test", "news.test", "127.0.0.1"]),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.text(alphabet="abcé/-_~%20.", max_size=30),
    st.sampled_from(["", "?utm_source=x", "?b=2&a=1", "?a=&gclid=1", "?q=caf%C3%A9"]),
    st.sampled_from(["", "#frag"]),
)


@given(urls)
def test_canonicalize_is_idempotent(url):
    once = canonicalize(url)
    assert canonicalize(once) == once
