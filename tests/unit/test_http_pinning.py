"""DNS pinning: the address that passed the private-network check is the one connected to.

The resolver is a stub (it stands for DNS); every connection these tests open goes to a
loopback address of a real local server. No test opens a connection anywhere else: the
public answers below are only ever checked, never connected to.
"""

from __future__ import annotations

import socket

import pytest

from worker.errors import FetchError
from worker.http import HttpClient
from worker.settings import Settings

PUBLIC = "93.184.216.34"


class StubResolver:
    """Answers from a script, one answer list per call for each name; records the calls."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, **_kwargs) -> list[tuple]:
        self.calls.append(host)
        script = self.answers[host]
        addresses = script.pop(0) if len(script) > 1 else script[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM,
                 socket.IPPROTO_TCP, "", (a, port)) for a in addresses]


def client_with(tmp_path, resolver, allow_private: bool) -> HttpClient:
    return HttpClient(Settings(data_dir=tmp_path, allow_private_networks=allow_private,
                               _env_file=None), resolver=resolver)


def test_the_checked_answer_is_the_target_and_dns_is_asked_once(tmp_path):
    # A rebinding name: public at the check, loopback at any later lookup.
    resolver = StubResolver({"news.example": [[PUBLIC], ["127.0.0.1"]]})
    client = client_with(tmp_path, resolver, allow_private=False)
    target = client.pin("http://news.example:8080/a", allow_private=False)
    assert (target.ip, target.host, target.port) == (PUBLIC, "news.example", 8080)
    assert target.addresses == (PUBLIC,)
    assert resolver.calls == ["news.example"]
    # The next hop resolves again and its own answer is checked: now refused.
    with pytest.raises(FetchError) as info:
        client.pin("http://news.example:8080/b", allow_private=False)
    assert info.value.reason == "blocked_address"
    assert resolver.calls == ["news.example", "news.example"]


def test_every_address_of_a_name_is_checked(tmp_path):
    resolver = StubResolver({"mixed.example": [[PUBLIC, "10.0.0.7"]]})
    client = client_with(tmp_path, resolver, allow_private=False)
    with pytest.raises(FetchError) as info:
        client.get("http://mixed.example/a", max_bytes=1000)
    assert info.value.reason == "blocked_address"
    assert resolver.calls == ["mixed.example"]


def test_the_request_goes_to_the_pinned_address_with_the_name_in_host(site, tmp_path):
    # The server listens on 127.0.0.1 only: a second lookup (127.0.0.2) would be refused.
    site.add("/page.html", "<p>ok</p>")
    port = int(site.base.rsplit(":", 1)[1])
    resolver = StubResolver({"news.example": [["127.0.0.1"], ["127.0.0.2"]]})
    client = client_with(tmp_path, resolver, allow_private=True)
    fetched = client.get(f"http://news.example:{port}/page.html", max_bytes=1000)
    assert fetched.status == 200 and fetched.body == b"<p>ok</p>"
    assert fetched.url == f"http://news.example:{port}/page.html"
    assert resolver.calls == ["news.example"]
    path, headers = site.requests[-1]
    assert path == "/page.html" and headers["Host"] == f"news.example:{port}"


def test_each_redirect_hop_is_resolved_once_and_pinned(site, tmp_path):
    port = int(site.base.rsplit(":", 1)[1])
    site.add("/hop", "", status=302, Location=f"http://other.example:{port}/final")
    site.add("/final", "done", "text/plain")
    resolver = StubResolver({"news.example": [["127.0.0.1"], ["127.0.0.2"]],
                             "other.example": [["127.0.0.1"], ["127.0.0.3"]]})
    client = client_with(tmp_path, resolver, allow_private=True)
    fetched = client.get(f"http://news.example:{port}/hop", max_bytes=1000)
    assert fetched.body == b"done" and fetched.redirects == (f"http://news.example:{port}/hop",)
    assert resolver.calls == ["news.example", "other.example"]
    assert [h["Host"] for _, h in site.requests] == [f"news.example:{port}",
                                                     f"other.example:{port}"]


def test_an_address_literal_is_not_resolved(site, tmp_path):
    site.add("/x", "x", "text/plain")
    resolver = StubResolver({})
    client = client_with(tmp_path, resolver, allow_private=True)
    assert client.get(site.url("/x"), max_bytes=10).body == b"x"
    assert resolver.calls == []


def test_a_name_that_does_not_resolve_is_a_transient_dns_failure(tmp_path):
    def failing(host, port, **_kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    client = client_with(tmp_path, failing, allow_private=True)
    with pytest.raises(FetchError) as info:
        client.get("http://nowhere.example/a", max_bytes=10)
    assert info.value.reason == "dns_failed" and info.value.transient
