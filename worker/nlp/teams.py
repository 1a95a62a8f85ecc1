"""Sports reports name teams by their city ("Atlanta a battu Philadelphie") or nickname
("les Hawks"): organisations there, not places. Only applied to texts that read as a
sports report (scores and the vocabulary of matches), so a city elsewhere stays a place."""

from __future__ import annotations

import re

# "(118-104)", "3-0"; not an age bracket ("les 18-24 ans").
SCORE = re.compile(r"\b\d{1,3}\s?[-–]\s?\d{1,3}\b(?!\s*ans\b)")
SPORT_WORDS = re.compile(
    r"\b(?:match|matchs|matches|championnat|saison|victoire|défaite|buts?|points|entraîneur|"
    r"joueurs?|club|équipe|quart-temps|mi-temps|play-offs|finale|demi-finale|classement|"
    r"coach|rencontre|score|tournoi|série)\b", re.I)
# Words an election or a market report does not use ("victoire", "points" they do).
MATCH_WORDS = {"match", "matchs", "matches", "championnat", "entraîneur", "joueur", "joueurs",
               "quart-temps", "mi-temps", "play-offs", "buts", "tournoi", "coach"}
_DET = r"(?:(?:un|une|le|la|les|l[’']|des|du|d[’'])\s*)?"
# A team is beaten, met or faced: "ont battu Utah", "face à Philadelphie", "contre Philly".
BEFORE_TEAM = re.compile(
    r"(?:\bbattu|\bbattre|\bbat|\bcontre|\bface\s+à|\bdevant|\bdominé|\baffronte[rz]?|"
    r"\breçoit|\brecevra|\breçu\s+par|\bl[’']avance\s+d[e’']|\bvictoire\s+d[e’']|"
    r"\bdéfaite\s+d[e’']|\bsuccès\s+d[e’']|\bcome-back\s+d[e’'])\s*" + _DET + "$", re.I)
# A team scores, leads or wins: "Crystal Palace 3-0", "Atlanta menait", "s'est imposé".
AFTER_TEAM = re.compile(
    r"^\.?\s*(?:\(?\d{1,3}\s?[-–]\s?\d{1,3}\b|à\s+\d{1,3}\s?[-–]\s?\d{1,3}\b|"
    r"(?:a|avait|ont)\s+(?:\w+\s+)?(?:battu|remonté|gagné|perdu|mené|égalisé|dominé|concédé|"
    r"renversé|éliminé|écrasé)\b|s[’']est\s+(?:\w+\s+)?imposée?s?\b|s[’']impose\b|"
    r"l[’']emporte\b|menait\b|mène\b|mènent\b|menaient\b)", re.I)
# A player's action has its minute: "Dembélé à la 57e", "(Dembélé, 53e)", "Mbappé (29e)".
MINUTE_AFTER = re.compile(r"^\s*(?:,\s*|\(\s*|à\s+la\s+)\d{1,3}e\b")
# "l'équipe de France a battu…": the team is the whole phrase, the country stays a place.
TEAM_OF = re.compile(r"\b(?:équipe|sélection)\s+(?:de\s+|d[’'])$", re.I)
# "les Hawks", "des Clippers", "aux Sixers": a plural nickname.
PLURAL_TEAM = re.compile(r"\b(?:les|des|aux)\s+$", re.I)


def is_sports_report(text: str) -> bool:
    """Several scores and at least three words of the vocabulary of matches, one of them
    only sports use."""
    words = {w.lower() for w in SPORT_WORDS.findall(text)}
    return len(SCORE.findall(text)) >= 2 and len(words) >= 3 and bool(words & MATCH_WORDS)


def plays_as_team(text: str, start: int, end: int) -> bool:
    """The mention at [start, end) beats, meets, leads or scores: a team."""
    before = text[max(0, start - 30):start]
    if TEAM_OF.search(before):
        return False
    after = text[end:end + 40]
    return bool(BEFORE_TEAM.search(before) or AFTER_TEAM.match(after))


def plays_a_minute(text: str, end: int) -> bool:
    """The mention ending at `end` is given a minute of the match: a player."""
    return bool(MINUTE_AFTER.match(text[end:end + 20]))


def plural_nickname(text: str, start: int) -> bool:
    return bool(PLURAL_TEAM.search(text[max(0, start - 6):start]))
