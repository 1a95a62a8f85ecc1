"""`newsworker web`: the JSON API, its OpenAPI document, the change stream, the token and
the read-only connection, on SQLite and PostgreSQL, over a store filled by a real ingest."""

from __future__ import annotations

import json
import re
import subprocess
import threading

import httpx
import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.conftest import clean_env
from tests.services import NEWSWORKER, ROOT
from tests.webroom import HOSTILE_FEED, HOSTILE_PARAGRAPH, WebServer, fill
from worker.jsonschemas import all_schemas
from worker.store import events
from worker.store.db import READER_POOL, dispose_all, get_reader, session_scope
from worker.store.models import Article, Entity, Quote

API_PATHS = {"/api/v1/articles", "/api/v1/articles/{article_id}", "/api/v1/entities",
             "/api/v1/entities/{entity_id}", "/api/v1/quotes", "/api/v1/stories",
             "/api/v1/stories/{story_id}", "/api/v1/feeds", "/api/v1/events",
             "/api/v1/events/stream"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, tmp_path_factory):
    """A database filled by a real ingest of the fake newsroom; its URL."""
    from tests.conftest import Site, empty_postgres

    folder = tmp_path_factory.mktemp(f"web-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'newsworker.db'}"
    else:
        url = empty_postgres(request.getfixturevalue("pg_server"))
    site = Site()
    try:
        fill(site, url, folder)
    finally:
        site.close()
    yield url
    dispose_all()


@pytest.fixture(scope="module")
def server(store, tmp_path_factory):
    web = WebServer(tmp_path_factory.mktemp("server"), store)
    yield web
    web.stop()


def _ids(store: str) -> dict:
    with session_scope(store) as s:
        article = s.scalar(sa.select(Article.id).join(Quote, Quote.article_id == Article.id)
                           .where(Quote.speaker.is_not(None)).limit(1))
        story = s.scalar(sa.select(Article.story_id).where(Article.id == article))
        entity = s.scalar(sa.select(Entity.id).order_by(Entity.article_count.desc()).limit(1))
    return {"article_id": article, "story_id": story, "entity_id": entity}


def test_openapi_describes_exactly_the_api_routes_and_each_answers(server, store):
    document = server.get("/api/v1/openapi.json").json()
    assert set(document["paths"]) == API_PATHS
    from worker.web.api import router

    assert {route.path for route in router.routes} == API_PATHS  # every route is described
    ids = _ids(store)
    for path in sorted(API_PATHS - {"/api/v1/events/stream"}):
        response = server.get(path.format(**ids))
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("application/json")
    assert server.get("/api/v1/articles/999999").status_code == 404


def _validator(name: str) -> Draft202012Validator:
    schemas = all_schemas()
    registry = Registry().with_resources(
        (file, Resource.from_contents(schema)) for file, schema in schemas.items())
    return Draft202012Validator(schemas[name], registry=registry)


def test_article_is_the_export_record_valid_against_the_schema(server, store):
    items = server.get("/api/v1/articles", params={"limit": 200}).json()["items"]
    assert len(items) >= 9
    validator = _validator("article.schema.json")
    quoted = 0
    for item in items:
        record = server.get(f"/api/v1/articles/{item['id']}").json()
        assert list(validator.iter_errors(record)) == []
        assert record["id"] == item["id"] and record["title"] == item["title"]
        quoted += any(q["speaker"] for q in record["quotes"])
    assert quoted >= 1


def test_search_filters_and_cursor_pages(server, store):
    everything = server.get("/api/v1/articles", params={"limit": 200}).json()
    ids = [a["id"] for a in everything["items"]]
    assert ids == sorted(ids, reverse=True) and everything["next"] is None
    pages, cursor = [], None
    while True:
        page = server.get("/api/v1/articles", params={"limit": 3, **(
            {"cursor": cursor} if cursor else {})}).json()
        pages += [a["id"] for a in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == ids
    # French stemming on PostgreSQL, accents folded on SQLite: both find "Kiev" articles.
    found = server.get("/api/v1/articles", params={"q": "kiev"}).json()["items"]
    assert found and all("kiev" in (a["title"] or "").lower() or
                         "kiev" in server.get(f"/api/v1/articles/{a['id']}").json()["text"].lower()
                         for a in found)
    assert server.get("/api/v1/articles", params={"q": "zzzqqqnotaword"}).json()["items"] == []
    hostile = server.get("/api/v1/articles", params={"tag": "hostile"}).json()["items"]
    assert len(hostile) == 1
    record = server.get(f"/api/v1/articles/{hostile[0]['id']}").json()
    assert HOSTILE_PARAGRAPH in record["text"]
    feeds = server.get("/api/v1/feeds").json()["items"]
    assert HOSTILE_FEED in {f["name"] for f in feeds}
    entity = _ids(store)["entity_id"]
    mentioning = server.get("/api/v1/articles", params={"entity": entity}).json()["items"]
    assert mentioning and len(mentioning) <= len(ids)
    detail = server.get(f"/api/v1/entities/{entity}").json()
    assert {a["id"] for a in detail["articles"]} == {a["id"] for a in mentioning}
    assert len(detail["per_day"]) == 30 and sum(n for _, n in detail["per_day"]) >= 1


def test_quotes_by_speaker_and_words(server, store):
    quotes = server.get("/api/v1/quotes", params={"limit": 200}).json()["items"]
    spoken = next(q for q in quotes if q["speaker"])
    word = spoken["speaker"].split()[-1][:5].lower()
    by_speaker = server.get("/api/v1/quotes", params={"speaker": word}).json()["items"]
    assert spoken["id"] in {q["id"] for q in by_speaker}
    assert all(word in q["speaker"].lower() for q in by_speaker)
    assert all(word in q["speaker"].lower() for q in by_speaker)
    longest = max(re.findall(r"\w+", spoken["text"]), key=len)
    by_words = server.get("/api/v1/quotes", params={"q": longest}).json()["items"]
    assert spoken["id"] in {q["id"] for q in by_words}
    assert all(longest.lower()[:4] in q["text"].lower() for q in by_words)  # stemmed on PG
    both = server.get("/api/v1/quotes", params={"q": longest, "speaker": word}).json()["items"]
    assert spoken["id"] in {q["id"] for q in both} and len(both) <= len(by_words)


def _stream(server: WebServer, lines: list[str], stop: threading.Event, **kwargs) -> None:
    with httpx.stream("GET", server.base + "/api/v1/events/stream", timeout=60,
                      **kwargs) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            lines.append(line)
            if stop.is_set():
                return


def _events(lines: list[str]) -> list[tuple[int, dict]]:
    ids = [int(line[4:]) for line in lines if line.startswith("id: ")]
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    return list(zip(ids, data, strict=True))


def _wait(condition, what: str, seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_event_stream_resumes_from_last_event_id_and_wakes_on_new_events(server, store):
    with session_scope(store) as s:
        last = s.scalar(sa.select(sa.func.max(events.Event.seq)))
        article = s.scalar(sa.select(Article.id).limit(1))
    assert last > 10
    lines: list[str] = []
    stop = threading.Event()
    first = threading.Thread(target=_stream, args=(server, lines, stop),
                             kwargs={"params": {"after": 0}}, daemon=True)
    first.start()
    _wait(lambda: len(_events(lines)) >= last, "the stream sends every stored event")
    got = _events(lines)
    assert [seq for seq, _ in got[:last]] == list(range(1, last + 1))
    assert all(seq == event["seq"] for seq, event in got)
    # A client that reconnects says where it was: it gets what followed, nothing twice.
    resumed: list[str] = []
    second = threading.Thread(target=_stream, args=(server, resumed, stop), daemon=True,
                              kwargs={"headers": {"Last-Event-ID": str(last - 3)},
                                      "params": {"after": 0}})
    second.start()
    _wait(lambda: len(_events(resumed)) >= 3, "the resumed stream")
    assert [seq for seq, _ in _events(resumed)[:3]] == [last - 2, last - 1, last]
    # A new event reaches both open streams (NOTIFY on PostgreSQL, polling on SQLite).
    with session_scope(store) as s:
        events.append_event(s, article, "test", "done")
    _wait(lambda: any(seq == last + 1 for seq, _ in _events(lines)), "new event, first")
    _wait(lambda: any(seq == last + 1 for seq, _ in _events(resumed)), "new event, second")
    assert _events(resumed)[-1][1]["kind"] == "test"
    stop.set()
    with session_scope(store) as s:  # one more line lets the readers see `stop`
        events.append_event(s, article, "test", "done")
    first.join(30)
    second.join(30)


def test_events_api_pages_after_a_seq(server, store):
    page = server.get("/api/v1/events", params={"after": 2, "limit": 5}).json()
    assert [e["seq"] for e in page["items"]] == [3, 4, 5, 6, 7] and page["next"] == 7


def test_pages_send_a_content_security_policy(server):
    for path in ("/", "/articles", "/api/v1/articles"):
        headers = server.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # no script at all
        assert headers["x-content-type-options"] == "nosniff"


def test_read_only_connection_refuses_writes(store):
    with get_reader(store).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Article)).scalar() > 0
        with pytest.raises(sa.exc.DBAPIError, match="(?i)read.?only"):
            conn.execute(sa.text("UPDATE articles SET title = 'changed'"))
        conn.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="(?i)read.?only"):
            conn.execute(sa.text("DELETE FROM events"))


def test_token_guards_every_page_and_call(store, tmp_path):
    web = WebServer(tmp_path / "guarded", store, "--host", "127.0.0.1",
                    NEWSWORKER_WEB_TOKEN="s3cret-token")
    try:
        for path in ("/", "/articles", "/feeds", "/api/v1/articles", "/api/v1/openapi.json",
                     "/api/v1/events/stream"):
            refused = web.get(path)
            assert refused.status_code == 401, path
            assert web.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert web.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert web.get("/api/v1/feeds",
                       headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert 'name="token"' in web.get("/feeds").text  # the login form
        with httpx.Client(base_url=web.base, timeout=30) as browser:
            wrong = browser.post("/login", data={"token": "nope", "next": "/feeds"})
            assert wrong.status_code == 401 and not browser.cookies
            signed = browser.post("/login", data={"token": "s3cret-token", "next": "/feeds"})
            assert signed.status_code == 303 and signed.headers["location"] == "/feeds"
            assert "httponly" in signed.headers["set-cookie"].lower()
            assert "s3cret-token" not in signed.headers["set-cookie"]
            assert browser.get("/feeds").status_code == 200
            assert browser.get("/api/v1/articles").status_code == 200
            offsite = browser.post("/login", data={"token": "s3cret-token",
                                                   "next": "//evil.example/"})
            assert offsite.headers["location"] == "/"
    finally:
        web.stop()


def test_refuses_a_public_address_without_a_token(store, tmp_path):
    env = clean_env(NEWSWORKER_DATABASE_URL=store, NEWSWORKER_DATA_DIR=str(tmp_path))
    result = subprocess.run([NEWSWORKER, "web", "--host", "0.0.0.0", "--port", "1"], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "NEWSWORKER_WEB_TOKEN" in result.stderr


def test_many_streams_share_one_listening_connection(server, store):
    if not store.startswith("postgresql"):
        pytest.skip("LISTEN connections exist on PostgreSQL only")
    stop = threading.Event()
    streams = [[] for _ in range(12)]
    threads = [threading.Thread(target=_stream, args=(server, lines, stop), daemon=True,
                                kwargs={"params": {"after": 0}}) for lines in streams]
    for thread in threads:
        thread.start()
    _wait(lambda: all(_events(lines) for lines in streams), "every stream started")
    name = sa.engine.make_url(store).database
    engine = sa.create_engine(store)
    with engine.connect() as conn:
        listening, reading = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE application_name = 'newsworker-listen'), "
            "count(*) FILTER (WHERE application_name = 'newsworker-reader') "
            "FROM pg_stat_activity WHERE datname = :db"), {"db": name}).one()
    engine.dispose()
    # The server's one listener, and its pool of short reads; not a connection per client.
    assert listening == 1
    assert reading <= READER_POOL + 1  # + this test process's own reader, if it made one
    stop.set()
    with session_scope(store) as s:
        events.append_event(s, 1, "test", "done")
    for thread in threads:
        thread.join(30)


def test_web_on_a_missing_database_says_so_and_creates_nothing(tmp_path):
    missing = tmp_path / "nothing-here.db"
    env = clean_env(NEWSWORKER_DATABASE_URL=f"sqlite:///{missing}",
                    NEWSWORKER_DATA_DIR=str(tmp_path / "var"))
    result = subprocess.run([NEWSWORKER, "web", "--port", "1"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no SQLite database" in result.stderr and "db upgrade" in result.stderr
    assert not missing.exists()
