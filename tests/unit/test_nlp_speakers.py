"""Quotation marks, scare quotes, incises, speakers and currencies on written examples."""

from __future__ import annotations

import pytest

from worker.nlp import annotate
from worker.nlp.money import find_money
from worker.nlp.quotes import find_quote_spans


def test_curly_and_straight_quotes_are_found():
    text = ('Il a dit “Nous reviendrons ici dès demain matin”. '
            'Elle a ajouté "Nous ne lâcherons rien du tout".')
    assert [q.text for q in find_quote_spans(text)] == [
        "Nous reviendrons ici dès demain matin", "Nous ne lâcherons rien du tout"]


def test_scare_quotes_and_titles_are_not_quotations():
    text = ("Le « maillon faible » de la zone euro, selon “The Wall Street Journal”, "
            "et le film « Les Choses de la vie ».")
    assert find_quote_spans(text) == []


def test_short_quote_attributed_by_a_verb_is_kept():
    (quote,) = find_quote_spans("« Ça ira », a-t-il assuré.")
    assert quote.text == "Ça ira"


def test_incise_splits_a_quotation():
    text = ("« Nous avons perdu deux mètres de plage, explique le maire. "
            "C’est préoccupant. »")
    assert [q.text for q in find_quote_spans(text)] == [
        "Nous avons perdu deux mètres de plage", "C’est préoccupant."]


def test_testimony_over_paragraphs_opened_by_guillemets_is_one_quotation():
    text = ("« Le pire, c’est la nuit, on ne dort plus du tout.\n\n"
            "« La nuit, je tiens mes enfants serrés dans mes bras. »")
    (quote,) = find_quote_spans(text)
    assert quote.text.startswith("Le pire") and quote.text.endswith("dans mes bras.")


@pytest.mark.parametrize("text, value, currency", [
    ("entre 50 millions et 100 millions d'euros", 50e6, "EUR"),
    ("une dette de 140 millions de francs guinéens", 140e6, "GNF"),
    ("Au Canada, le fisc réclame 6 millions de dollars", 6e6, "CAD"),
    ("un contrat de 10 millions de dollars de Taïwan", 10e6, "TWD"),
    ("une amende de 5 000 couronnes suédoises", 5000, "SEK"),
])
def test_currencies_and_inherited_currency(text, value, currency):
    assert (find_money(text)[0].value, find_money(text)[0].currency) == (value, currency)


def test_books_are_not_pounds():
    assert find_money("Elle a écrit 3 livres sur la question.") == []


@pytest.fixture(scope="module")
def annotated():
    text = ("Le procureur de Paris, François Molins, a tenu une conférence de presse jeudi. "
            "« Le suspect a tiré une trentaine de coups de feu sur les policiers », "
            "a-t-il expliqué.\n\n"
            "Christine Lagarde, directrice générale du FMI, était à Washington. "
            "« Les tensions commerciales représentent une menace », a-t-elle estimé.\n\n"
            "« Nous suivons la situation de très près », indique la préfecture de Gironde.\n\n"
            "Le frère de la victime, lui, insiste. « C’est une femme merveilleuse et "
            "travailleuse », ajoute-t-il.\n\n"
            "Tensions à Washington. Selon Christine Lagarde, « la croissance va ralentir "
            "cette année ».")
    (ann,) = annotate([text])
    return ann


def test_speakers_in_both_directions_pronouns_and_organisations(annotated):
    speakers = {q.text[:20]: q.speaker for q in annotated.quotes}
    assert speakers == {
        "Le suspect a tiré un": "François Molins",
        "Les tensions commerc": "Christine Lagarde",
        "Nous suivons la situ": "préfecture de Gironde",
        "C’est une femme merv": None,  # the brother is not named: no speaker
        "la croissance va ral": "Christine Lagarde",
    }


def test_capitalised_common_words_are_not_entities(annotated):
    names = {e.name for e in annotated.entities}
    assert "Tensions" not in names
    assert {"François Molins", "Christine Lagarde", "Washington"} <= names
