"""Entities in context: teams named by their city, short forms, titles and ranks (issue 11)."""

from __future__ import annotations

from worker.nlp import annotate
from worker.nlp.teams import is_sports_report


def entities_of(text: str) -> set[tuple[str, str]]:
    (ann,) = annotate([text])
    return {(e.label, e.name) for e in ann.entities if e.label != "MISC"}


SPORTS = (
    "Les Celtics ont largement battu Denver (112-98) pour égaliser dans la série. "
    "Denver menait pourtant à la mi-temps. Dans l’autre match, Miami s’est imposé face à "
    "Chicago (101-99) au terme d’une rencontre tendue, et l’entraîneur a salué ses joueurs.")


def test_a_sports_report_is_told_from_other_news():
    assert is_sports_report(SPORTS)
    assert not is_sports_report("Le conseil municipal de Denver a voté le budget (2024-2025).")


def test_cities_that_play_are_teams_in_a_sports_report():
    found = entities_of(SPORTS)
    assert {("ORG", "Denver"), ("ORG", "Chicago"), ("ORG", "Celtics")} <= found
    assert not {e for e in found if e[0] == "LOC" and e[1] in ("Denver", "Chicago")}


def test_the_same_city_is_a_place_outside_sports():
    found = entities_of("Le maire de Denver a inauguré une école. Il vit à Denver depuis "
                        "vingt ans et a battu le record de longévité municipale.")
    assert ("LOC", "Denver") in found and ("ORG", "Denver") not in found


def test_scores_and_line_breaks_are_not_part_of_a_name():
    found = entities_of("Aston Villa avait battu plus tôt Crystal Palace 3-0 à domicile, "
                        "dans un match de championnat serré (2-1 à la pause).\n"
                        "Manchester United\nConfiant, le club prépare la suite.")
    names = {name for _, name in found}
    assert "Crystal Palace" in names
    assert not any("\n" in n or "3-0" in n for n in names)


def test_category_noun_rank_and_pair_of_parties():
    found = entities_of(
        "Le parti Islam a présenté des candidats à Bruxelles. Le Colonel Diallo, "
        "commandant de la garnison, a réagi. Le PS et le MR ont signé un accord PS-MR.")
    names = {name for _, name in found}
    assert "Islam" in names and "parti Islam" not in names
    assert "Colonel Diallo" not in names
    assert "PS-MR" not in names


def test_a_city_opening_a_club_name_is_the_club_in_a_sports_report():
    (ann,) = annotate([SPORTS + " Manchester United a battu Arsenal (2-0). Mais cela n’a pas "
                       "suffi pour Manchester, toujours troisième du championnat."])
    manchester = [e for e in ann.entities if e.key.startswith("manchester")]
    assert [(e.label, e.name) for e in manchester] == [("ORG", "Manchester United")]


def test_an_election_with_age_brackets_is_no_sports_report():
    assert not is_sports_report(
        "Victoire nette : le maire gagne 6 points chez les 18-24 ans et 4 points chez les "
        "25-34 ans, malgré la défaite de son camp aux régionales lors de la saison passée.")
