"""The pages' pure helpers: marked paragraphs, bar charts, search words, the token."""

from __future__ import annotations

from worker.store.search import fts5_query
from worker.web import auth
from worker.web.render import Mark, QuoteSpan, amount_text, bar_chart, paragraphs


def _flat(nodes) -> str:
    out = []
    for n in nodes:
        if n.quote:
            out.append("[" + _flat(n.children) + f"|{n.quote.speaker}]")
        elif n.mark:
            out.append(f"<{n.mark.label}:{n.text}>")
        else:
            out.append(n.text)
    return "".join(out)


def test_paragraphs_nest_marks_inside_quotes_and_keep_every_character():
    text = "Emmanuel Macron a dit « la France paiera 3 millions » hier.\nDeuxième ligne à Paris."
    def span(part: str) -> tuple[int, int]:
        return text.index(part), text.index(part) + len(part)

    marks = [Mark(*span("Emmanuel Macron"), "entity", "PER"),
             Mark(*span("France"), "entity", "LOC"),
             Mark(*span("3 millions"), "amount", "money"), Mark(*span("Paris"), "entity", "LOC")]
    quotes = [QuoteSpan(*span("« la France paiera 3 millions »"), "Emmanuel Macron")]
    out = paragraphs(text, marks, quotes)
    assert [_flat(p) for p in out] == [
        "<PER:Emmanuel Macron> a dit [« la <LOC:France> paiera <money:3 millions> »|Emmanuel "
        "Macron] hier.", "Deuxième ligne à <LOC:Paris>."]


def test_overlapping_or_straddling_marks_are_dropped_not_garbled():
    text = "Le Parlement européen vote.\nFin."
    marks = [Mark(3, 21, "entity", "ORG"), Mark(13, 21, "entity", "MISC"),  # inside the first
             Mark(22, 30, "entity", "LOC")]  # across the line break
    out = paragraphs(text, marks, [])
    assert [_flat(p) for p in out] == ["Le <ORG:Parlement européen> vote.", "Fin."]


def test_markup_in_text_stays_text():
    out = paragraphs("<script>alert(1)</script>", [Mark(8, 13, "entity", "PER")], [])
    assert _flat(out[0]) == "<script><PER:alert>(1)</script>"  # nodes hold raw text only


def test_bar_chart_scales_to_the_largest_value():
    chart = bar_chart([("a", 0), ("b", 5), ("c", 10)], width=300, height=102)
    assert [b.height for b in chart.bars] == [0, 50, 100]
    assert chart.bars[2].y == 2 and chart.top == 10 and chart.total == 15
    assert bar_chart([], 100, 50).bars == []
    assert {b.height for b in bar_chart([("x", 0)] * 3).bars} == {0}


def test_amounts_read_as_numbers():
    assert amount_text({"amount": 675e6, "currency": "USD", "kind": "money"}) \
        == "675\u202f000\u202f000 USD"
    assert amount_text({"amount": 12.5, "currency": None, "kind": "percent"}) == "12.5 %"


def test_search_words_become_quoted_fts5_terms():
    assert fts5_query('Kiev "aide" OR NEAR(x') == '"Kiev" "aide" "OR" "NEAR" "x"'
    assert fts5_query("  ") is None and fts5_query('"*"') is None


def test_token_checks():
    assert auth.authorized("", None, None)
    assert auth.authorized("t0k", "Bearer t0k", None)
    assert not auth.authorized("t0k", "Bearer t0", None)
    assert not auth.authorized("t0k", "Basic t0k", None)
    assert auth.authorized("t0k", None, auth.cookie_value("t0k"))
    assert not auth.authorized("t0k", None, "t0k")
    assert auth.is_loopback("127.0.0.1") and auth.is_loopback("::1")
    assert auth.is_loopback("localhost") and not auth.is_loopback("0.0.0.0")
    assert not auth.is_loopback("192.168.1.10") and not auth.is_loopback("example.org")
    assert auth.safe_next("/feeds?x=1") == "/feeds?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", None, ""):
        assert auth.safe_next(bad) == "/"
