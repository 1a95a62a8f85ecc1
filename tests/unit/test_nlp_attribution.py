"""Speakers named after, before and around the quotation, on written examples (issue 11)."""

from __future__ import annotations

import pytest

from worker.nlp import annotate


def speakers_of(text: str) -> dict[str, str | None]:
    (ann,) = annotate([text])
    return {q.text[:24]: q.speaker for q in ann.quotes}


@pytest.fixture(scope="module")
def report() -> dict[str, str | None]:
    text = (
        "Le ministre Bernard Castellan était à Lyon lundi. « Nous tiendrons nos "
        "engagements jusqu’au bout de cette législature », avait-il martelé.\n\n"
        "« Nos engagements jusqu’au bout »\n\n"
        "La sénatrice Mme Odile Marchetti a répondu dans la soirée. « Le budget de la région "
        "ne suffira pas à couvrir ces dépenses », a souligné Odile Marchetti.\n\n"
        "« Nous demanderons une rallonge à l’État dès le mois prochain. »\n\n"
        "« Alea jacta est » (le sort en est jeté), lance le procureur Henri Vasseur "
        "devant la cour d’appel.\n\n"
        "Certes, concède-t-elle, les comptes ont été tenus, mais c’est « une erreur de "
        "calcul qui coûtera cher aux contribuables ».")
    return speakers_of(text)


def test_pronoun_after_an_auxiliary_without_t(report):
    assert report["Nous tiendrons nos engag"] == "Bernard Castellan"


def test_subheading_takes_the_speaker_of_the_quotation_it_repeats(report):
    assert report["Nos engagements jusqu’au"] == "Bernard Castellan"


def test_new_paragraph_after_an_attribution_keeps_the_speaker(report):
    assert report["Nous demanderons une ral"] == "Odile Marchetti"


def test_translation_in_parentheses_before_the_attribution(report):
    assert report["Alea jacta est"] == "Henri Vasseur"


def test_inverted_pronoun_incise_before_the_quotation(report):
    assert report["une erreur de calcul qui"] == "Odile Marchetti"


def test_title_is_no_sentence_end_and_celui_ci_is_the_last_named():
    found = speakers_of(
        "« Les salaires augmenteront de deux pour cent cette année », a assuré M. Jacques "
        "Perrin, le directeur.\n\n"
        "Le débat opposait Claire Dumas et Jacques Perrin. Dans un entretien, celui-ci "
        "avait affirmé que la réforme était « un progrès attendu par tous les salariés ».")
    assert found == {"Les salaires augmenteron": "Jacques Perrin",
                     "un progrès attendu par t": "Jacques Perrin"}


def test_organisation_named_by_its_kind_and_after_a_cue():
    found = speakers_of(
        "L’agence Fitch Ratings a abaissé la note du pays. L’agence de notation estime que "
        "la dette restera « difficile à financer sur les marchés pendant deux ans ».\n\n"
        "Du côté de la Fédération française de football, on estime « qu’il faut attendre "
        "la fin de la saison ».")
    assert found == {"difficile à financer sur": "Fitch Ratings",
                     "qu’il faut attendre la f": "Fédération française de football"}


def test_paragraph_of_quotation_after_a_reported_sentence():
    found = speakers_of(
        "Le juge Armand Leclerc ajoute qu’il tient à la transparence des audiences.\n\n"
        "« Je ne siégerai pas dans cette affaire tant que l’enquête n’est pas close. »")
    assert found == {"Je ne siégerai pas dans ": "Armand Leclerc"}


def test_unattributed_subheading_stays_without_speaker():
    found = speakers_of(
        "« Un avenir incertain pour tous »\n\n"
        "Les habitants attendent la décision du conseil municipal depuis des mois.")
    assert found == {"Un avenir incertain pour": None}
