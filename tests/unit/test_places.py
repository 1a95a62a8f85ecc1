"""The place resolver (worker.nlp.places): strings in, places out, on the packages' data."""

from __future__ import annotations

import re

import pytest

from worker.nlp.entities import CanonicalEntity, RawMention
from worker.nlp.placenames import load_gazetteer, name_key
from worker.nlp.places import resolve
from worker.nlp.text import fold


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


def _places(text: str, gazetteer, *names: str, label: str = "LOC"):
    """Resolve the given names (each found in `text`) as the article's LOC entities."""
    entities = []
    for name in names:
        spans = [m.span() for m in re.finditer(re.escape(name), text)]
        assert spans, name
        mentions = tuple(RawMention(label, name, s, e, "") for s, e in spans)
        entities.append(CanonicalEntity(label, name, fold(name), (name,), mentions))
    return resolve(text, entities, gazetteer)


@pytest.mark.parametrize("name, country, kind", [
    ("Londres", "GB", "city"), ("Pékin", "CN", "city"), ("Le Caire", "EG", "city"),
    ("Bruxelles", "BE", "city"), ("Gironde", "FR", "region"), ("États-Unis", "US", "country"),
    ("Etats-Unis", "US", "country"), ("Kiev", "UA", "city"), ("Anvers", "BE", "city"),
    ("Angleterre", "GB", "region"), ("Allemagne", "DE", "country"),
])
def test_french_forms(gazetteer, name, country, kind):
    text = f"Des représentants sont arrivés à {name} mardi pour une réunion."
    place = _places(text, gazetteer, name).places[fold(name)]
    assert (place.country, place.kind) == (country, kind)
    assert place.latitude is not None and place.longitude is not None


def test_department_is_a_french_region_with_its_code(gazetteer):
    place = _places("Les pompiers de la Gironde sont intervenus.", gazetteer,
                    "Gironde").places["gironde"]
    assert (place.code, place.country, place.geonames_id) == ("FR-33", "FR", None)


def test_paris_is_in_france_unless_the_text_says_texas(gazetteer):
    plain = _places("Le sommet se tiendra à Paris en juin.", gazetteer, "Paris")
    assert plain.places["paris"].country == "FR" and plain.places["paris"].capital
    for text in ("Une tornade a frappé Paris (Texas) dimanche.",
                 "Une tornade a frappé Paris, au Texas, dimanche.",
                 "Une tornade a frappé Paris, Texas, dimanche."):
        texas = _places(text, gazetteer, "Paris")
        assert texas.places["paris"].country == "US", text
        assert texas.places["paris"].admin1 == "US-TX"
    # Texas named elsewhere in the article does not move Paris.
    far = _places("Le Texas vote. Plus tard, le président était à Paris.", gazetteer,
                  "Texas", "Paris")
    assert far.places["paris"].country == "FR"


def test_the_articles_countries_settle_homonyms(gazetteer):
    alone = _places("Les supporters attendaient à Victoria.", gazetteer, "Victoria")
    assert "victoria" not in alone.places  # a dozen Victorias: no guess
    canadian = _places("Après Calgary, la tournée passe par Victoria.", gazetteer,
                       "Calgary", "Victoria")
    assert canadian.places["victoria"].country == "CA"
    belgian = _places("En Belgique, Bruges et Bruxelles votent.", gazetteer, "Belgique",
                      "Bruges", "Bruxelles")
    assert belgian.places["bruges"].country == "BE"


def test_swiss_canton_after_a_village(gazetteer):
    swiss = _places("Un incendie s'est déclaré à Gimel (VD) dans la nuit.", gazetteer, "Gimel")
    assert swiss.places["gimel"].country == "CH"
    assert swiss.places["gimel"].admin1 == "CH-VD"


def test_features_buildings_and_unknown_names_get_no_place(gazetteer):
    text = ("Le ferry a quitté l'île de Man. La Maison Blanche a réagi. "
            "À Trumpland, rien. Au Quai d'Orsay, silence.")
    found = _places(text, gazetteer, "Man", "Maison Blanche", "Trumpland", "Quai d'Orsay")
    assert found.places == {}
    assert found.countries == ()


def test_a_small_town_abroad_needs_its_country(gazetteer):
    # Lisbon (Maine) and a dozen other small towns: Lisbonne is Portugal's capital.
    assert _places("Le sommet de Lisbonne.", gazetteer,
                   "Lisbonne").places["lisbonne"].country == "PT"
    # Villages of France are named without their country only in a French article.
    assert "pommerit jaudy" not in {name_key(p.name) for p in _places(
        "Rien à signaler à Pommerit-Jaudy.", gazetteer, "Pommerit-Jaudy").places.values()}
    french = _places("En France, la tempête a touché Pommerit-Jaudy.", gazetteer, "France",
                     "Pommerit-Jaudy")
    assert french.places["pommerit-jaudy"].country == "FR"


def test_countries_ranked_by_mentions_of_their_places(gazetteer):
    text = ("La Chine et Pékin ont répondu. Washington attend. Pékin insiste. "
            "Les États-Unis hésitent.")
    found = _places(text, gazetteer, "Chine", "Pékin", "Washington", "États-Unis")
    assert found.countries == ("CN", "US")
    assert found.places["washington"].kind == "city"  # the capital, not the state


def test_only_loc_entities_are_resolved(gazetteer):
    assert _places("Paris a gagné 2-0.", gazetteer, "Paris", label="ORG").places == {}
