"""Name identity helpers (worker.nlp.names): strings in, skeletons and pairs out."""

from __future__ import annotations

import pytest

from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.names import acronym_pairs, close_family, person_name, skeleton
from worker.nlp.text import fold


@pytest.mark.parametrize("a, b", [("Zelensky", "Zelenskyy"), ("Zelensky", "Zelenski"),
                                  ("Navalny", "Navalnyï"), ("Volodymyr", "Volodimir"),
                                  ("Tchaïkovski", "Chaikovsky"), ("Khodorkovski", "Hodorkovsky")])
def test_transliterations_share_a_skeleton(a, b):
    assert skeleton(a) == skeleton(b)


def test_person_names_and_particles():
    assert person_name("volodymyr zelenskyy") == person_name("volodymyr zelensky")
    assert person_name("marine le pen").family == "lepen"
    assert person_name("le pen").given is None and person_name("le pen").family == "lepen"
    assert person_name("dominique de villepin").family == person_name("villepin").family
    assert person_name("jean-marie le pen").given == "jeanmarie"
    assert person_name("de") is None


def test_close_family_names():
    assert close_family("blinken", "blinkin")
    assert not close_family("macron", "micron")  # short names must be equal
    assert close_family(skeleton("Schwarzenegger"), skeleton("Shvarzeneger"))
    assert close_family("kouchnerova", "kuchnerovaa")  # two letters apart on a long name
    assert not close_family("martinez", "martineau")


def _org(name: str, text: str) -> CanonicalEntity:
    start = text.index(name)
    mention = RawMention("ORG", name, start, start + len(name), "")
    return CanonicalEntity("ORG", name, fold(name), (name,), (mention,))


def test_acronym_pairs_need_both_side_by_side_and_matching_initials():
    text = "L'Organisation mondiale de la santé (OMS) alerte. Selon l'OMS, tout va mal."
    pairs = acronym_pairs(text, [_org("Organisation mondiale de la santé", text),
                                 _org("OMS", text)])
    assert pairs == {"oms": "organisation mondiale de la sante"}
    reverse = "Le FMI (Fonds monétaire international) prévoit une baisse."
    assert acronym_pairs(reverse, [_org("FMI", reverse),
                                   _org("Fonds monétaire international", reverse)]) == \
        {"fmi": "fonds monetaire international"}
    wrong = "La Banque centrale européenne (Francfort) a parlé."
    assert acronym_pairs(wrong, [_org("Banque centrale européenne", wrong)]) == {}
    other = "Le Parti socialiste (LR) conteste."  # initials do not fit
    assert acronym_pairs(other, [_org("Parti socialiste", other)]) == {}
