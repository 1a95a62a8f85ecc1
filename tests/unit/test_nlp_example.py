"""The shared example article: what a consumer must find in it."""

from __future__ import annotations

from datetime import date

from tests.newsroom import example_text
from worker.nlp import annotate


def test_example_article_annotations():
    text = example_text()
    (ann,) = annotate([text], [date(2022, 9, 8)])
    entities = {(e.label, e.name) for e in ann.entities}
    persons = {name for label, name in entities if label == "PER"}
    assert persons == {"Anthony Blinken", "Joe Biden", "Volodymyr Zelensky", "Lloyd Austin"}
    assert {("LOC", p) for p in ("Ukraine", "États-Unis", "Kiev", "Pologne", "Grande-Bretagne")} \
        <= entities
    assert {("ORG", "OTAN"), ("ORG", "Congrès")} <= entities
    money = {(a.value, a.currency) for a in ann.amounts if a.kind == "money"}
    assert money == {(675e6, "USD"), (2.2e9, "USD"), (15.2e9, "USD")}
    assert {d.value for d in ann.dates} == {"2022-04-24"}
    quotes = {q.text: q.speaker for q in ann.quotes}
    assert "aussi longtemps que possible" in quotes
    statement = next(q for q in quotes if q.startswith("Le président Joe Biden"))
    assert statement.endswith("souveraine de l’Ukraine")
    assert quotes[statement] == "Anthony Blinken"
    assert any(q.endswith("675 millions de dollars") for q in quotes)
    for e in ann.entities:
        for m in e.mentions:
            assert text[m.start:m.end] == m.text
            assert m.text in m.sentence
