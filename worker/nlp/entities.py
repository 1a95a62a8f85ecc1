"""Entity cleaning and canonical names: model noise out, short mentions joined to full forms."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

from worker.nlp import teams
from worker.nlp.text import fold

LABELS = ("PER", "LOC", "ORG", "MISC")
LEADING_DETERMINER = re.compile(
    r"^(?:l[’']|la\s|le\s|les\s|du\s|des\s|de\s+la\s|de\s+l[’']|d[’']|de\s|au\s|aux\s)",
    re.I)
# Courtesy titles are not part of a person's name: "M. Ferrand", "Me Sandrine Kohler".
PERSON_TITLE = re.compile(r"^(?:M\.|MM\.|Mme|Mmes|Mlle|Me|Mgr|Dr|Pr|Lady|Lord|Sir|Dame)\s+")
# Ranks before a person's name ("Colonel Barry"), not before a company ("General Electric").
RANK = re.compile(r"^(?:Colonel|Général|Commandant|Capitaine|Lieutenant|Sergent|Adjudant|"
                  r"Maréchal|Amiral)\s+(?=[A-ZÉ])")
# An office the model took into a person's name: "Premier ministre Bart De Wever".
OFFICE = re.compile(r"^(?:(?:Premi(?:er|ère)|Vice-[Pp]remier)\s+[Mm]inistre|Présidente?|"
                    r"Chancelière?|Ministre|Secrétaire\s+générale?)(?:\s+[a-zé][\w-]*){0,2}"
                    r"\s+(?=[A-ZÉ][a-zéèï])")
# A category noun the model took into an organisation's name: "le parti Islam".
ORG_CATEGORY = re.compile(r"^(?:parti|club|groupe|société|syndicat|mouvement|journal|"
                          r"quotidien|chaîne|cabinet|banque|agence)\s+(?=[A-ZÉ])")
# "Crystal Palace 3-0": a score the model took into a team's name.
TRAILING_SCORE = re.compile(r"\s+\(?\d{1,3}\s?[-–]\s?\d{1,3}\)?$")
# "la région Occitanie": the place is Occitanie.
# (Capitalised, "Région Sud" is the regional council, an organisation.)
PLACE_PREFIX = re.compile(r"^(?:région|département|ville|commune|province)\s+(?:de\s+|d[’'])?")
# A geographic feature's common noun is part of its name: "île de Batz", "océan Austral",
# "bande de Gaza", "mer Noire" (an administrative word is not: "région Occitanie").
FEATURE_HEADS = {"ile", "iles", "mer", "ocean", "golfe", "baie", "cap", "pointe", "detroit",
                 "lac", "mont", "monts", "massif", "bande", "presqu'ile", "archipel", "canal",
                 "banc", "col", "vallee", "foret", "plaine", "plateau", "desert", "delta",
                 "estuaire", "gorges", "glacier", "volcan", "parc"}
FEATURE_BEFORE = re.compile(
    r"\b(?:[îi]les?|mer|océan|golfe|baie|cap|pointe|détroit|lac|monts?|massif|bande|"
    r"presqu[’']île|archipel|canal|banc|col|vallée|forêt|plaine|plateau|désert|delta|"
    r"estuaire|gorges|glacier|volcan|parc\s+(?:national|naturel(?:\s+régional)?))\s+"
    r"(?:de\s+la\s+|de\s+l[’']|de\s+|d[’']|du\s+|des\s+)?$", re.I)
# A lower-case first word is only part of a name for institutions: "ministère de l'Économie".
INSTITUTION_HEADS = {
    "ministere", "tribunal", "cour", "musee", "centre", "agence", "institut", "universite",
    "conseil", "parquet", "prefecture", "federation", "chambre", "haute", "banque", "caisse",
    "commission", "office", "autorite", "fondation", "syndicat", "parti", "groupe", "stade",
    "olympique", "forces", "assurance", "sante", "comite", "direction", "secretariat",
    "theatre", "opera", "chu", "communaute", "region", "cpas", "bourse", "sous-prefecture",
}
# Heads of bodies that another body holds: "Conseil de sécurité des Nations unies".
BODY_HEADS = INSTITUTION_HEADS | {"assemblee", "haut-commissariat", "programme", "bureau",
                                  "organisation", "fonds", "secretariat", "departement"}
# First words of job titles: "ministre des Affaires étrangères" names a post, not a body.
TITLE_HEADS = {"ministre", "president", "presidente", "secretaire", "directeur", "directrice",
               "porte-parole", "depute", "deputee", "senateur", "senatrice", "maire", "chef"}
ORG_TAILS = {"capital", "batiment", "therapeutics", "group", "groupe", "sa", "sas", "holding",
             "technologies", "partners", "bank", "energies", "industries", "pharma", "airlines",
             "motors", "systems", "labs", "ventures", "assurances", "finance", "metropole",
             "organisation", "organization", "association", "foundation", "university", "tv",
             # company forms and trades: "Julie Entertainment", "Acme Productions"
             "entertainment", "productions", "production", "records", "studios", "studio",
             "media", "médias", "medias", "films", "consulting", "services", "solutions",
             "international", "corp", "inc", "ltd", "gmbh", "llc", "sarl", "sprl", "srl",
             "nv", "bv", "spa", "ag", "plc", "family", "agency", "company",
             # English names of public bodies: "Ottawa-Carleton District School Board"
             "board", "council", "committee", "authority", "department", "institute",
             "college", "bureau", "fund", "network", "airways", "news"}
# A noun just before a name that says it is an organisation: "la start-up Nebulys".
_ORG_NOUN = (
    r"(?:start-up|startup|entreprise|groupe|société|fonds|club|banque|assureur|constructeur|"
    r"cabinet|maison de ventes|maison|éditeur|laboratoire|géant|firme|syndicat|parti|agence|"
    r"quotidien|journal|chaîne|opérateur|compagnie|fabricant|équipementier|filiale|ONG|"
    r"association|fédération)")
ORG_CUE = re.compile(_ORG_NOUN + r"\s+(?:[a-zéèêà][\w-]*\s+){0,2}$", re.I)
# Where a person works is a company: "analyste chez Forrester", "économiste en chef chez X".
EMPLOYER_BEFORE = re.compile(
    r"\b(?:économiste|analyste|stratège|chercheu(?:r|se)|ingénieure?|directeur|directrice|"
    r"responsable|consultante?|salariée?|employée?|cadre|associée?|gérante?|trader|"
    r"experte?|spécialiste|dirigeante?|stagiaire|ouvri(?:er|ère)|technicien(?:ne)?|"
    r"vendeu(?:r|se)|porte-parole|PDG|patronne?|fondat(?:eur|rice)|présidente?|"
    r"conseill(?:er|ère)|développeu(?:r|se)|cheffe?)s?(?:\s+[a-zéèêà][\w-]*){0,2}"
    r"\s+chez\s+$", re.I)
# What publishes is a newspaper or a publisher: "parue dans L'Express", "révélé par X".
PUBLISHED_IN = re.compile(r"\b(?:paru|publié|révélé|rapporté|diffusé)(?:e|s|es)?\s+"
                          r"(?:dans|par)\s+$", re.I)
# The same noun in apposition after the name: "Golazo, son agence de management".
ORG_AFTER = re.compile(r"^\s*,\s*(?:son|sa|leur|le|la|l[’']|un|une)\s*" + _ORG_NOUN + r"\b",
                       re.I)
DEMONYM = re.compile(r"(?:ais|aise|aises|ois|oise|oises|ien|ienne|iens|iennes|and|ands)$")
# Endings shared by demonyms and some country names ("le Mexique"): only a demonym when
# plural ("les Britanniques") or in apposition to a name ("le Slovène Tadej Novak").
DEMONYM_OR_PLACE = re.compile(r"(?:ique|iques|ain|aine|ains|aines|ène|ènes|an|ane|ans|anes|"
                              r"ol|ole|ols|oles|one|ones)$")
# A name ends on a name, not on "et de la": "Conseil d'Etat et de la" is the Conseil d'Etat.
TRAILING_LINK = re.compile(r"(?:\s+(?:et|ou|de|du|des|la|le|les|à|au|aux|en|pour|sur|"
                           r"contre)|\s+[ld][’'])+\s*$")
TRAILING_JUNK = re.compile(r"[\s,;:.!?»«\"“”()\[\]'’-]+$")
# Words the French model tags as entities although they name no one in particular.
NOISE = {
    "etat", "etats", "gouvernement", "president", "presidente", "ministre", "premier ministre",
    "defense", "justice", "interieur", "m.", "mme", "monsieur", "madame", "dieu", "twitter",
    "le", "la", "les", "un", "une", "il", "elle", "nous", "vous", "ils", "on", "ce", "cette",
    "selon", "mais", "et", "ou", "donc", "or", "ni", "car", "a", "de", "du", "des", "en",
    "ndlr", "est", "ouest", "nord", "sud",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "photo", "afp photo",
}
LABEL_PREFERENCE = {"PER": 3, "ORG": 2, "LOC": 1, "MISC": 0}


@dataclass(frozen=True)
class RawMention:
    """A mention as the model (or the gazetteer) found it."""

    label: str
    text: str
    start: int
    end: int
    sentence: str


def is_demonym(name: str, before: str, after: str) -> bool:
    """'les Marseillais', "l'Allemand Friedrich Kessler": people of a place, not the place."""
    if " " in name or name.split("-")[0].endswith(("s", "x")) and "-" in name:
        return False  # "les Pyrénées-Atlantiques": a plural first part names a place
    determiner = re.search(r"(?:\bles|\bdes|\bun|\bune|\bl[’']|\ble|\bla)\s*$", before, re.I)
    if not determiner:
        return False
    if DEMONYM.search(name):
        return True
    plural = re.search(r"(?:\bles|\bdes)\s*$", before, re.I) and name.endswith("s")
    apposition = re.match(r"\s+[A-ZÉ]\w+\s+[A-ZÉ]", after)
    return bool(DEMONYM_OR_PLACE.search(name) and (plural or apposition))


GLUE = re.compile(r"\n|[()\[\]]|\.(?=[A-ZÉ][a-zé])|\s[-–]\s")
# A preposition opening a sentence is no part of the name after it: "A Toulouse, …".
LEADING_PREPOSITION = re.compile(r"^(?:À|A|Selon|Chez|Dans)\s+(?=[A-ZÉÈÎÔ])")
# Lower-case words other than links in a name: "Centre de lutte contre les criminalités
# numériques" has three; more than five is a clause the model read as one name.
LINK_WORDS = frozenset("de du des la le les et en au aux pour sur contre à d l un une".split())
MAX_LOWER_WORDS = 5
# Lower-case words at the end of a person's name are not part of it.
# Not particles: "Abou Bakr al-Baghdadi", "Tariq ibn Ziyad".
PERSON_TAIL = re.compile(r"(?<=[\w.])(?:\s+(?!(?:al|el|ad|ed|as|ash|at|ben|bin|ibn|ould|van|von|"
                         r"der|den|de|da|di|del|dos|das|du|la|le|ter|ten|y)(?:-|\s|$)|[dl][’'])"
                         r"[a-zàâçéèêëîïôûùüÿœ][\w’'-]*)+$")


def clean(text: str, label: str, sentence_start: bool = False) -> tuple[str, int] | None:
    """The mention without determiners, titles or punctuation, and the offset shift.

    None when the mention is model noise: stop words, numbers, lower-case words that are
    not institutions (demonyms such as "ukrainienne"), job titles.
    """
    # A capitalised article mid-sentence belongs to the name: "La Rochelle", "Le Monde".
    if sentence_start or text[:1].islower():
        stripped = LEADING_DETERMINER.sub("", text)
    else:
        stripped = text
    stripped = PERSON_TITLE.sub("", LEADING_PREPOSITION.sub("", stripped))
    if label in ("PER", "MISC"):
        stripped = OFFICE.sub("", stripped)
    if label == "PER":
        stripped = RANK.sub("", stripped)
    if label == "ORG":
        stripped = ORG_CATEGORY.sub("", stripped)
    if label == "LOC":
        stripped = PLACE_PREFIX.sub("", stripped)
    # Only the head was cut so far: that is the offset shift. Cuts at the tail (a second
    # line, a comma, a score) come after it and leave the start where it is.
    shift = len(text) - len(stripped)
    # Layout glue: a second line, a bracket, a sentence run into the next ("Maroc).Sur"),
    # a results table's " - " column.
    stripped = GLUE.split(stripped)[0]
    pair = ACRONYM_AND_DEMONYM.match(stripped)
    if pair and DEMONYM.search(pair.group("adj")):
        stripped = pair.group("acronym")
    stripped = TRAILING_JUNK.sub("", TRAILING_SCORE.sub("", stripped.split(",")[0]))
    stripped = TRAILING_JUNK.sub("", TRAILING_LINK.sub("", stripped))
    if label == "PER":
        # A person's name ends on a capitalised word: "Jean Martin grises" is the name and
        # the word after it. An initial keeps its full stop: "Yassin E.", as written.
        cut = PERSON_TAIL.sub("", stripped)
        if " " in cut:  # "Premier ministre" is not the name "Premier"
            stripped = cut
        after = shift + len(stripped)
        if re.search(r"(?:^|\s)[A-ZÉ]$", stripped) and text[after:after + 1] == ".":
            stripped += "."
    key = fold(stripped)
    if len(key) < 2 or not re.search(r"[^\W\d_]", key) or key in NOISE:
        return None
    first = key.split()[0]
    if first in TITLE_HEADS or re.fullmatch(r"(?:premier|premiere) ministre(?: [a-z-]+)*", key):
        return None  # an office, no one's name: "Premier ministre israélien"
    if not stripped[0].isupper() and not (label == "ORG" and first in INSTITUTION_HEADS) \
            and not (label == "LOC" and first in FEATURE_HEADS):
        return None
    if label == "PER" and re.search(r"\d", stripped):
        return None
    if sum(w[:1].islower() and w not in LINK_WORDS
           for w in re.split(r"[\s’']+", stripped)) > MAX_LOWER_WORDS:
        return None  # a clause, not a name: "Cour de l'impôt se récuse d'un dossier …"
    if label == "LOC" and re.match(r"^[ée]tats? [a-zé]", key) and not key.startswith("etats-"):
        return None  # "État américain", "l'État hébreu": a noun phrase, not a place name
    return stripped, shift


PARTY_ACRONYM = re.compile(r"[a-z]{1,4}(?:[&-][a-z]{1,4})+")
# The channels and stations of the French public broadcaster, named "France" + a number
# or a programme word, as written in an article with the region of a regional station:
# "France 3 Limousin", "France Bleu Isère" (the model often reads "France" alone, a place).
FRANCE_CHANNEL = re.compile(r"\bFrance\s(?:\d{1,2}|Bleu|Inter|Info|Culture|Musique|"
                            r"Télévisions?|Ô)(?![\w-])(?:\s[A-ZÉ][\w’'-]+(?=[\s,.;:)]))?")


# A sports ground named after a place or a person is a place ("Stade de France", "stade
# Pierre-Mauroy", "Allianz Arena"); "Stade rennais", an adjective after it, is the club.
VENUE = re.compile(r"^(?:stade\s+(?:de\s|du\s|des\s|d'|(?P<word>[^\s]+)$)"
                   r"|[\w\s'-]+\sarena$)")


def _venue(key: str) -> bool:
    m = VENUE.match(key)
    return bool(m) and not (m.group("word") and "-" not in m.group("word")
                            and DEMONYM_SUFFIX.search(m.group("word")))


# An English possessive ending a one-word name: a firm named after its founder. Read on
# the name as written: after an acronym ("DJ's") it is a plural.
POSSESSIVE = re.compile(r"^[A-ZÉ][\w.-]*[a-zé][\w.-]*[’']s$")


def relabel(label: str, key: str, before: str, after: str = "", written: str = "") -> str:
    """Correct the model's label from the name's own words and the noun just before it
    (`written`: the name as printed, when case matters)."""
    words = key.split()
    if PARTY_ACRONYM.fullmatch(key):
        return "ORG"  # CD&V, N-VA: parties and companies, never places
    if _venue(key):
        return "LOC"
    if label in ("PER", "MISC") and POSSESSIVE.search(written):
        return "ORG"  # "Christie's", "Moody's", "McDonald's": a house named after its founder
    if label in ("LOC", "MISC", "PER") and (
            words[0] in INSTITUTION_HEADS - {"sante", "haute"} or words[-1] in ORG_TAILS
            or ORG_CUE.search(before) or ORG_AFTER.match(after) or PUBLISHED_IN.search(before)
            or EMPLOYER_BEFORE.search(before)
            or (BROADCASTER_BEFORE.search(before) and re.match(r"\s*\)", after))):
        return "ORG"
    return label


@dataclass
class _Group:
    key: str
    labels: Counter
    forms: Counter
    mentions: list[RawMention]
    cued: bool = False  # the words around one of its mentions call it an organisation

    @property
    def label(self) -> str:
        return max(self.labels, key=lambda lb: (self.labels[lb], LABEL_PREFERENCE[lb]))

    @property
    def name(self) -> str:
        return max(self.forms, key=lambda f: (len(f.split()), self.forms[f], f))


def label_ok(label: str) -> bool:
    """Labels whose names may end in a possessive 's (Moody's, McDonald's)."""
    return label in ("ORG", "MISC", "PER")


JOB_TITLE = re.compile(r"\b(?:ministres?\s+(?:de\s+la|de\s+l[’']|des|du|de|chargée?\s+d[eu]s?)|"
                       r"procureure?s?\s+de\s+la)\s*$", re.I)
# "le MR bruxellois" (capitalised by the page): the party, not a new name.
ACRONYM_AND_DEMONYM = re.compile(r"^(?P<acronym>[A-Z][A-Z&-]{1,5})\s+(?P<adj>[A-ZÉ][a-zéèëï]+)$")


# A work's title is no person, place or body: "la série Baron Noir", "le réalisateur de
# Dobermann", "Ermites dans la taïga (1992)", "Alphonse Président (série, 10x26, OCS Max)".
_WORK = r"(?:film|série|websérie|téléfilm|feuilleton|documentaire|roman|livre|album|essai|" \
        r"pièce|chanson|spectacle|opéra|BD)"
WORK_BEFORE = re.compile(rf"(?:\b{_WORK}|\b(?:réalisateur|réalisatrice|auteur|autrice|"
                         r"scénariste|créateur|créatrice)\s+(?:de|du|d[’']))\s*$", re.I)
WORK_AFTER = re.compile(rf"^(?:\s+[a-zéèêàç][\w’'-]*){{0,5}}\s*\((?:{_WORK}\b|\d{{4}}\))",
                        re.I)
# "Mark Strong (Kingsman)": what follows a person's name in brackets is a role, a party,
# a country or a club, never another person.
AFTER_A_PERSON = re.compile(r"[A-ZÉ][\w’'-]+\s+\($")


# A programme's credits end on its broadcaster: "(série, 10x26, OCS Max)".
BROADCASTER_BEFORE = re.compile(rf"\((?:[\w-]+\s+)?{_WORK}\b[^()]*,\s*$", re.I)


def is_work_title(before: str, after: str, label: str, name: str) -> bool:
    if WORK_BEFORE.search(before) or WORK_AFTER.match(after):
        return True
    # A person's name is not put in quotation marks on its own, a title is: «Vape Wave».
    alone_in_marks = (re.search(r"[«“]\s*$", before) and re.match(r"\s*[»”]", after)) or (
        re.search(r"(?:^|\s)['\"]$", before) and re.match(r"['\"](?:\W|$)", after))
    if alone_in_marks and any(w[:1].islower() and w not in LINK_WORDS for w in name.split()):
        return True  # « Party rock anthem »: a title's lower-case words, in its marks
    return label == "PER" and bool(AFTER_A_PERSON.search(before) or alone_in_marks)


def _group(mentions: list[RawMention], text: str) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for m in mentions:
        if JOB_TITLE.search(text[max(0, m.start - 40):m.start]):
            continue  # "ministre des Affaires étrangères": part of a job title
        m = _with_feature_head(m, text)
        before = text[max(0, m.start - 40):m.start]
        cleaned = clean(m.text, m.label, not before.strip() or before.rstrip()[-1] in ".!?»\n")
        if cleaned is None:
            continue
        name, shift = cleaned
        if re.match(r"[’']s\b", text[m.start + shift + len(name):]) and label_ok(m.label):
            name += text[m.start + shift + len(name):m.start + shift + len(name) + 2]
        key = fold(name)
        if m.label in ("LOC", "MISC") and is_demonym(name, before, text[m.end:m.end + 40]):
            continue
        if re.search(r"(?:maladie|syndrome|prix|loi)\s+(?:de\s+|d[’'])$", before, re.I):
            continue  # "maladie d'Alzheimer", "prix Goncourt": named after, not an entity
        if is_work_title(before, text[m.end:m.end + 30], m.label, m.text):
            continue
        label = relabel(m.label, key, before, text[m.end:m.end + 40], name)
        if label == "MISC" and OFFICE.match(m.text) and len(name.split()) > 1:
            label = "PER"  # "Premier ministre Bart De Wever": the office's holder
        if re.match(r"\s*[,(]\s*\d{1,3}\s*ans\b", text[m.end:m.end + 12]):
            label = "PER"  # "Aseel (11 ans)", "Zakaria Shehab, 37 ans": a person's age
        g = groups.setdefault(key, _Group(key, Counter(), Counter(), []))
        g.labels[label] += 1
        g.cued = g.cued or (label == "ORG" != m.label)
        g.forms[name] += 1
        g.mentions.append(RawMention(label, name, m.start + shift, m.start + shift + len(name),
                                     m.sentence))
    return groups


def _with_feature_head(m: RawMention, text: str) -> RawMention:
    """A place the model found without its feature noun gets it back: "bande de" Gaza."""
    if m.label != "LOC":
        return m
    head = FEATURE_BEFORE.search(text[max(0, m.start - 30):m.start])
    if not head:
        return m
    start = m.start - (len(head.group(0)))
    return RawMention(m.label, text[start:m.end], start, m.end, m.sentence)


# "contre l'antisémitisme", "pour la défense des animaux", up to the punctuation after it.
PURPOSE = re.compile(r"^\s+(?:contre|pour)\s+(?:(?:le|la|les|des|du)\s+|l[’'])?"
                     r"[a-zéèêàâîôûç][\w-]*(?:\s+[a-zéèêàâîôûç][\w-]*){0,2}(?=\s*[,.;:)])")


def _with_purpose(m: RawMention, text: str, lexicon) -> RawMention:
    """A body named by a common noun goes on over its purpose when the model stopped
    before it and nothing but punctuation follows: "Bureau national de vigilance" contre
    l'antisémitisme, "Ligue" contre le cancer."""
    if m.label != "ORG" or lexicon is None or not lexicon.is_common(m.text.split()[0]):
        return m
    purpose = PURPOSE.match(text[m.end:m.end + 60])
    if not purpose:
        return m
    end = m.end + purpose.end()
    return RawMention(m.label, text[m.start:end], m.start, end, m.sentence)


OF_A_BODY = re.compile(r"\s(?:de\s+la|de\s+l[’']|des|du|de|d[’'])\s*$")


def _bodies_of_bodies(mentions: list[RawMention], text: str) -> list[RawMention]:
    """A body the model cut from the body that holds it is one name: "Conseil de
    sécurité" + "des Nations unies", "Haut-Commissariat" + "des Nations unies"."""
    out: list[RawMention] = []
    for m in mentions:
        prev = out[-1] if out else None
        # the link word may close the first span ("Assemblée générale des"): all that
        # lies between the two spans belongs to it
        link = OF_A_BODY.search(text[prev.start:m.start]) if prev is not None else None
        if link is not None and prev.label == m.label == "ORG" \
                and prev.start + link.start() <= prev.end \
                and not re.search(r"\s(?:et|ou)$", text[prev.start:prev.start + link.start()]) \
                and fold(prev.text.split()[0]) in BODY_HEADS:
            out[-1] = RawMention("ORG", text[prev.start:m.end], prev.start, m.end,
                                 prev.sentence)
            continue
        out.append(m)
    return out


def _initials(key: str) -> str:
    return "".join(t[0] for t in re.split(r"[\s-]+", key) if t)


def _full_form(key: str, groups: dict[str, _Group],
               persons: list[tuple[str, list[str]]]) -> str | None:
    """The one longer person name containing this short form ('Blinken', 'Oliver'), if unique;
    or whose initials it is ('DSK' for Dominique Strauss-Kahn). `persons`: the keys of the
    person groups with their words, read once per article."""
    tokens = key.split()
    candidates = set()
    if len(tokens) == 1 and 2 <= len(key) <= 4 and any(
            f.isupper() for f in groups[key].forms):
        candidates = {k for k, words in persons if k != key
                      and len(words) > 1 and _initials(k) == key}
        if len(candidates) == 1:
            return candidates.pop()
    for other_key, other_tokens in persons:
        if len(other_tokens) <= len(tokens):
            continue
        n = len(tokens)
        # A surname, or a first name used alone further down the article.
        first = 0 if n == 1 else 1
        if any(other_tokens[i:i + n] == tokens for i in range(first, len(other_tokens) - n + 1)):
            candidates.add(other_key)
    return candidates.pop() if len(candidates) == 1 else None


@dataclass(frozen=True)
class CanonicalEntity:
    label: str
    name: str
    key: str  # accent-folded name; with the label, the entity's identity across articles
    aliases: tuple[str, ...]
    mentions: tuple[RawMention, ...]


DEMONYM_SUFFIX = re.compile(r"(?:ais|ois|ain|ien|éen|on|an|in|ène|ite|ol|and)(?:e|ne)?s?$")
RATING = re.compile(r"[A-Za-z]{1,4}\d{1,2}[a-z+-]?")
SENTENCE_OPENERS = ".!?…:;\n«“\"—–-"
# Plural team names the model takes for places or people: "les Hawks", "les Red Devils".
TEAM = re.compile(r"\bles\s+$")


LOCATIVE = re.compile(r"\b(?:à|dans|vers|depuis|près\s+de|habite\s+à)\s+$", re.I)


def capitalised_by_position(text: str, start: int) -> bool:
    """Capitalised by its place: first word of the text, a sentence, a quotation or a line."""
    before = text[:start].rstrip(SPACES_AND_QUOTES)
    return not before or before[-1] in SENTENCE_OPENERS or text[:start].endswith(("« ", "“"))


SPACES_AND_QUOTES = " \u00a0\u202f\t«“\""


# Competitions and other events are not annotated as places or bodies: "l'Euro en salle",
# "Mondial-1966", "Mémorial Van Damme", "Jeux olympiques", "European Company Games".
EVENT = re.compile(r"^(?:Mondial|Euro|M[ée]morial|Jeux|Coupe|Troph[ée]e|Championnats?|"
                   r"Tournoi|Rallye|Marathon|Biennale|Grand\s+Prix|Open\s+d)\b|"
                   r"(?:\bGames|\bCup|[-\s](?:19|20)\d\d)$|"
                   r"^[A-Z][a-z]{0,6}xit$")  # Brexit, Grexit: a country leaving the Union


# A text is no body or place: "Pacte de stabilité et de croissance", "Traité de Lisbonne",
# "Règlement général sur la protection des données".
DOCUMENT = re.compile(r"^(?:Pacte|Traité|Accords?|Charte|Loi|Code|Directive|Règlement|"
                      r"Protocole)\s+(?:de|du|des|d[’']|sur|pour|général|européen|européenne)\b")


STORM = re.compile(r"\b(?:tempête|ouragan|cyclone|typhon|tornade|dépression)"
                   r"(?:\s+tropicale)?\s+(?P<name>[A-ZÉ][\w-]+)")


@lru_cache(maxsize=8)  # asked once per name group of the same article
def storm_names(text: str) -> frozenset[str]:
    """The names this article gives to storms: "la tempête Ciaran", "l'ouragan Irma"."""
    return frozenset(fold(m.group("name")) for m in STORM.finditer(text))


def _is_noise(group: _Group, text: str, lexicon) -> bool:
    """Capitalised common words ('Tensions', 'Reçue'), all-caps subheadings ('AUSTÉRITÉ'),
    rating codes ('Baa1'), demonyms ('Bruxellois') and events are not entities."""
    name = group.name
    if group.label != "PER" and (EVENT.search(name) or DOCUMENT.match(name)):
        return True
    if group.key in storm_names(text):
        return True  # "la tempête Ciaran", then "Ciaran" alone: a storm, an event
    if " " in name:
        return False
    if RATING.fullmatch(name) and group.label != "ORG":
        return True
    if lexicon is None:
        return False
    word = name.split("-")[-1]
    if group.label in ("LOC", "MISC", "ORG") and lexicon.is_adjective(word) \
            and DEMONYM_SUFFIX.search(word.lower()):
        return True
    # Shouted words; a short one only with an accent, which no acronym carries ("TRÈS",
    # not "RAID").
    if name.isupper() and (len(name) >= 5 or not name.isascii()) and lexicon.is_common(name):
        return True
    if all(lexicon.is_adjective(w) for w in name.split("-")) and all(
            # "les Juifs", "des Wallons": people, not names ("les Pyrénées-Atlantiques" is one)
            re.search(r"\b(?:les|des|aux)\s+$", text[max(0, m.start - 5):m.start])
            for m in group.mentions):
        return True
    if all(_alone_on_line(text, m.start, m.end) for m in group.mentions):
        return True  # a one-word subheading ("Buzz")
    return lexicon.is_common(name) and all(
        capitalised_by_position(text, m.start) and not _title_in_marks(text, m.start, m.end)
        for m in group.mentions)


def _title_in_marks(text: str, start: int, end: int) -> bool:
    """Alone between quotation marks, a capitalised word is a title ("au « Monde »"), not
    the first word of a quoted sentence."""
    before = text[:start].rstrip(" \u00a0\u202f")
    if not before.endswith(("«", "“")) or not re.match(r"[\s\u00a0\u202f]*[»”]",
                                                        text[end:end + 3]):
        return False
    outside = before[:-1].rstrip(" \u00a0\u202f")
    return bool(outside) and outside[-1] not in SENTENCE_OPENERS  # mid-sentence: "au « Monde »"


def _alone_on_line(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    return line.strip(SPACES_AND_QUOTES + ".") == text[start:end]


def _team_label(group: _Group, text: str, lexicon, sports: bool) -> str:
    """'les Hawks' (a plural that is no French word) names a team: an organisation; in a
    sports report, so does a city that beats, meets or leads ('Atlanta menait'), and a
    name given a minute of the match is a player's ('Dembélé à la 57e')."""
    name = group.name
    if sports and " " not in name and any(teams.plays_a_minute(text, m.end)
                                          for m in group.mentions):
        return "PER"  # "Dembélé à la 57e": a player
    if sports and group.label in ("LOC", "MISC") and any(
            teams.plays_as_team(text, m.start, m.end) for m in group.mentions):
        return "ORG"
    if lexicon is None or "-" in name or lexicon.is_common(name.split()[-1]):
        return group.label
    plural = teams.plural_nickname if sports else (
        lambda text, start: TEAM.search(text[max(0, start - 6):start]))
    if group.label in ("LOC", "PER", "MISC") and name.endswith("s") and any(
            plural(text, m.start) for m in group.mentions):
        return "ORG"
    return group.label


def _first_spellings(groups: dict[str, _Group]) -> dict[str, str]:
    """'Wim Vandeven' further down is 'Wim Van de Ven': a person's name written again with
    the same letters, its words joined or split otherwise, joins the first spelling."""
    by_letters: dict[str, list[str]] = defaultdict(list)
    for key, g in groups.items():
        if g.label == "PER":
            by_letters[re.sub(r"[\s\-’'.]", "", key)].append(key)
    joins = {}
    for keys in by_letters.values():
        first = min(keys, key=lambda k: groups[k].mentions[0].start)
        joins.update({k: first for k in keys if k != first})
    return joins


def _org_short_forms(groups: dict[str, _Group], lexicon, sports: bool) -> dict[str, str]:
    """'l'Union' for 'Union européenne', 'Manchester' for 'Manchester United' (a sports
    report): one word that opens exactly one longer organisation name is its short form.
    A place stays a place unless it is a common noun or a team's city."""
    orgs = [k for k, g in groups.items() if g.label == "ORG" and len(k.split()) > 1]
    found = {}
    for key, g in groups.items():
        if " " in key or g.label == "ORG" or (g.label == "PER" and not sports):
            continue  # an organisation's own acronym or name stays itself ('MR', 'MR bruxellois')
        # (In a sports report a club's first word read as a person is still its short form.)
        heads = [o for o in orgs if o.split()[0] == key]
        if len(heads) != 1:
            continue
        if g.label == "LOC" and not (sports or (lexicon and lexicon.is_common(key))):
            continue
        if g.labels["PER"] and not sports:
            continue  # read as a person somewhere: a first name ("Julie" of "Julie Records")
        g.labels["ORG"] += sum(g.labels.values()) + 1
        found[key] = heads[0]
    return found


def _pair_of_names(key: str, groups: dict[str, _Group]) -> bool:
    """'PS-MR' when the PS and the MR are both named: two bodies, not a third one."""
    parts = key.split("-")
    return len(parts) == 2 and " " not in key and all(p in groups for p in parts)


TITLE_AFTER = re.compile(r"^\s*,\s*(?:(?:le|la|l[’']|un|une)\s*)?"
                         r"(?:(?:nouveau|nouvelle|ancien|ancienne|ex-)\s*)?(?P<title>[\w-]+)")
# "… le secrétaire du Parti socialiste X": a title's complement naming a body.
TITLE_COMPLEMENT = re.compile(r"\s+(?:du|de\s+la|de\s+l[’']|des|de)\s*[A-ZÉ][\w’'-]*"
                              r"(?:\s+[a-zéèê][\w-]+)?\s*$")


def _titled_before(before: str) -> bool:
    """The words before a name end on a person's title: "la sénatrice", "le ministre
    délégué", "le secrétaire du Parti socialiste" (but "le président du" X: X is a body)."""
    complement = TITLE_COMPLEMENT.search(before)
    for part in (before, before[:complement.start()] if complement else None):
        words = re.split(r"[\s’']+", part.strip()) if part else []
        if words and fold(words[-1]) in TITLE_HEADS:
            return True
        if len(words) >= 2 and fold(words[-2]) in TITLE_HEADS and words[-1][:1].islower() \
                and words[-1] not in LINK_WORDS:
            return True
    return False


# A noun for what a person does, by endings French gives such nouns and rarely a thing's:
# "animatrice", "journaliste", "comédien", "infirmière" (not "-teur", "-euse", "-ier":
# "adaptateur", "tondeuse", "fichier"; not the ordinals "première", "dernière").
AGENT_NOUN = re.compile(r"(?!premi|derni)\w{3,}(?:trice|iste|ienne|ien|ière)")


def _persons_by_title(groups: dict[str, _Group], text: str, lexicon) -> None:
    """'Pouria Amirshahi, député socialiste', 'le ministre Jean Dupont': a two- or three-word
    name next to a person's title is a person's, whatever label the model gave it. A
    first name alone the model could not place (MISC) is a person's when a noun for what
    a person does stands in apposition: "Julie, animatrice sur NRJ"."""
    for g in groups.values():
        words = g.name.split()
        if len(words) == 1 and g.label == "MISC" and words[0].istitle():
            # First names are often common words too ("Julie", "Rose"): a capital away
            # from a sentence's start is the evidence instead of the lexicon.
            if any(_agent_after(text, m.end) and not capitalised_by_position(text, m.start)
                   for m in g.mentions):
                g.labels["PER"] += sum(g.labels.values()) + 1
            continue
        if g.label == "PER" or not 2 <= len(words) <= 3 or not all(w[:1].isupper() for w in words) \
                or (lexicon is not None and lexicon.is_common(words[0])):
            continue
        for m in g.mentions:
            after = TITLE_AFTER.match(text[m.end:m.end + 40])
            if (after and fold(after.group("title")) in TITLE_HEADS) or _titled_before(
                    text[max(0, m.start - 50):m.start]):
                g.labels["PER"] += sum(g.labels.values()) + 1
                break


def _agent_after(text: str, end: int) -> bool:
    after = TITLE_AFTER.match(text[end:end + 40])
    return bool(after) and (fold(after.group("title")) in TITLE_HEADS
                            or AGENT_NOUN.fullmatch(after.group("title").lower()) is not None)


def _persons_by_surname(groups: dict[str, _Group], lexicon) -> None:
    """'Jelle Van Damme' tagged MISC is a person when 'Van Damme' alone is one: a full
    name ending with a person's name (2 to 4 capitalised words, the first no common
    word as in 'Tempête Ciaran') is that person's."""
    persons = {k for k, g in groups.items() if g.label == "PER"}
    for key, g in groups.items():
        words = key.split()
        if g.label not in ("MISC", "ORG", "LOC") or not 2 <= len(words) <= 4 \
                or not all(w[:1].isupper() for w in g.name.split()) \
                or (lexicon is not None and lexicon.is_common(g.name.split()[0])):
            continue
        if any(" ".join(words[i:]) in persons for i in range(1, len(words))):
            g.labels["PER"] += sum(g.labels.values()) + 1


# Words that do not stand before a person's name: "en France", "la France", "au Mali".
ARTICLE_BEFORE = re.compile(r"\b(?:[Ee]n|[Ll]a|[Ll]e|[Ll]es|[Aa]u|[Aa]ux|[Dd]u|[Dd]es|l[’'])\s*$")


def canonicalize_mentions(mentions: list[RawMention], text: str,
                          lexicon=None) -> list[CanonicalEntity]:
    """Merge an article's mentions into entities: 'Blinken' joins 'Anthony Blinken'.

    A short form joins the one longer person name containing it; a short form the model
    labelled otherwise ('Ferraz' as ORG) joins too when it is a single word. With a
    lexicon (worker.nlp.model.Lexicon), capitalised common words are dropped.
    """
    groups = _group([_with_purpose(m, text, lexicon) for m in _bodies_of_bodies(mentions, text)],
                    text)
    groups = {k: g for k, g in groups.items() if not _is_noise(g, text, lexicon)
              and not _pair_of_names(k, groups)}
    for g in groups.values():
        if g.label == "PER" and " " not in g.key and all(
                LOCATIVE.search(text[max(0, m.start - 12):m.start]) for m in g.mentions):
            g.labels["LOC"] += sum(g.labels.values()) + 1  # "habite à Jabalia": a place
    for g in groups.values():
        if g.cued and g.label == "MISC":
            # "le cabinet Dentons", then "Dentons" read as an unknown name: an organisation
            g.labels["ORG"] += sum(g.labels.values()) + 1
    sports = teams.is_sports_report(text)
    for g in groups.values():
        team = _team_label(g, text, lexicon, sports)
        if team != g.label:
            g.labels[team] += sum(g.labels.values()) + 1
    _persons_by_title(groups, text, lexicon)
    _persons_by_surname(groups, lexicon)
    short_forms = _org_short_forms(groups, lexicon, sports)
    spellings = _first_spellings(groups)
    merged: dict[str, list[_Group]] = defaultdict(list)
    persons = [(k, k.split()) for k, g in groups.items() if g.label == "PER"]
    for key, group in groups.items():
        target = _full_form(key, groups, persons) or short_forms.get(key) or spellings.get(key)
        if target and group.label != "PER" and len(key.split()) > 1:
            target = None  # a multi-word place or body is not a person's surname
        if target and groups[target].label == "PER" and any(
                ARTICLE_BEFORE.search(text[max(0, m.start - 8):m.start]) for m in group.mentions):
            target = None  # "en France", "toute la France": not David France
        merged[target or key].append(group)
    entities = []
    for key, parts in merged.items():
        head = groups[key]
        labels = Counter()
        forms = Counter()
        all_mentions: list[RawMention] = []
        for part in parts:
            labels.update(part.labels)
            forms.update(part.forms)
            all_mentions.extend(part.mentions)
        label = "PER" if head.label == "PER" else max(
            labels, key=lambda lb: (labels[lb], LABEL_PREFERENCE[lb]))
        entities.append(CanonicalEntity(
            label=label, name=head.name, key=key,
            aliases=tuple(sorted(forms)),
            mentions=tuple(sorted(all_mentions, key=lambda m: m.start))))
    return sorted(entities, key=lambda e: e.mentions[0].start)


_CAP = r"[A-ZÉÈÀÂÎÔÛÇ][\w’'\-]*"
# An adjective of an institution's name, whole word: "correctionnel", "étrangères",
# "européenne". Not a participle ("publiée", "saisi"): a name does not go on over a verb.
_ADJ = (r"(?:[a-zéèêàîôûç][\w\-]*"
        r"(?:ique|al|ale|aux|el|elle|ien|ienne|éen|éenne|aire|ier|ière|ère|if|ive|ois|oise|"
        r"ais|aise|ome|ain|aine)s?(?![\w-])"
        # nationalities with other endings: "ministère russe de la Défense"
        r"|(?:russe|belge|suisse|turque?|grecque|grec|tchèque|slovaque|arabe|kurde|"
        r"allemande?|espagnole?|mongole?|serbe|croate|slovène|malgache)s?(?![\w-]))")
_LINK = r"(?:\s+(?:de\s+la|de\s+l[’']|du|des|de|d[’']|et)\s*|\s+)"
_HEAD = (r"(?:[Mm]inistère|"
         r"[Tt]ribunal(?:\s+(?:correctionnel|administratif|judiciaire|de commerce))?|"
         r"[Cc]our\s+d[’']appel|[Mm]usée|[Cc]entre\s+hospitalier(?:\s+universitaire)?|"
         r"[Aa]gence\s+de\s+l[’']eau|[Aa]gence|[Ii]nstitut|[Uu]niversité|"
         r"[Cc]onseil\s+(?:régional|départemental|municipal)|(?:[Ss]ous-)?[Pp]réfecture|"
         r"[Cc]our\s+d[’']assises|[Pp]arquet|[Cc]ommission|[Cc]omité|CHU|[Tt]héâtre|"
         r"[Cc]ommunauté\s+(?:d[’']agglomération|de\s+communes))")
INSTITUTION = re.compile(rf"(?<![\w-]){_HEAD}(?:\s+{_ADJ}){{0,3}}(?:{_LINK}{_CAP}(?:\s+{_ADJ})*)+")


# People who belong to a body, then the body by its acronym: "les policiers du RAID",
# "le négociateur du RAID", "le secrétaire général de la CGT". Common-noun acronyms
# (le PIB, la TVA) are not what people belong to.
MEMBER_OF = re.compile(
    r"\b(?:policiers?|fonctionnaires?|membres?|militant(?:e|s|es)?|agent(?:e|s|es)?|"
    r"dirigeant(?:e|s|es)?|négociat(?:eur|rice)s?|porte-parole|présidente?s?|secrétaires?|"
    r"direct(?:eur|rice)s?|salarié(?:e|s|es)?|élu(?:e|s|es)?|adhérent(?:e|s|es)?|"
    r"représentant(?:e|s|es)?|responsables?|chefs?|patron(?:ne)?s?|délégué(?:e|s|es)?|"
    r"syndicalistes?|soldats?|combattant(?:e|s|es)?|hommes|enquêt(?:eur|rice)s?|"
    r"gendarmes?|député(?:e|s|es)?|sénat(?:eur|rice)s?|candidat(?:e|s|es)?|"
    r"chercheu(?:r|se)s?|expert(?:e|s|es)?|fondat(?:eur|rice)s?|"
    r"(?:secrétaire|directeur|directrice|président|présidente)\s+général(?:e)?)"
    r"\s+(?:du|de\s+la|de\s+l[’']|des)\s*"
    r"(?P<body>[A-Z][A-Z&]{1,6})(?![\w’'-])")


def find_institutions(text: str) -> list[tuple[int, int, str]]:
    """Institution names the model splits or misses: 'tribunal correctionnel de Lyon',
    'les policiers du RAID'."""
    found = [(m.start(), m.end(), m.group(0)) for m in INSTITUTION.finditer(text)]
    found += [(m.start("body"), m.end("body"), m.group("body")) for m in MEMBER_OF.finditer(text)
              if not any(s <= m.start("body") < e for s, e, _ in found)]
    found += [(m.start(), m.end(), m.group(0)) for m in FRANCE_CHANNEL.finditer(text)
              if not any(s <= m.start() < e for s, e, _ in found)]
    return sorted(found)


# A name defined by its acronym in brackets right after it, "Service départemental
# d'incendie et de secours (SDIS)": the acronym's letters are the initials of the name's
# words, small link words aside (the abbreviation-definition test of Schwartz & Hearst,
# made strict: every word's initial, in order, and nothing more).
DEFINED = re.compile(r"\(\s*(?P<acronym>[A-Z]{2,8})\s*\)")
_WORD = re.compile(r"[^\W\d_]+")
ACRONYM_LINKS = {"de", "du", "des", "la", "le", "les", "l", "d", "et", "à", "a", "au", "aux",
                 "en", "pour", "sur", "par", "of", "the", "and", "for"}


def _defined_name(text: str, bracket: int, acronym: str) -> tuple[int, int] | None:
    """(start, end) of the name the bracketed acronym at `bracket` abbreviates, if any."""
    line_start = max(text.rfind("\n", 0, bracket), text.rfind(". ", 0, bracket)) + 1
    words = list(_WORD.finditer(text, line_start, bracket))
    if not words or text[words[-1].end():bracket].strip():
        return None  # the bracket does not follow a word: "(…) (CGT)", "2024 (CGT)"
    letters = acronym.lower()
    for first in range(len(words) - 1, max(-1, len(words) - 3 * len(letters) - 2), -1):
        content = [w.group() for w in words[first:] if w.group().lower() not in ACRONYM_LINKS]
        initials = "".join(w[0].lower() for w in content)
        if initials == letters and words[first].group()[0].isupper() \
                and words[first].group().lower() not in ACRONYM_LINKS:
            return words[first].start(), words[-1].end()
        if len(initials) > len(letters):
            return None
    return None


def defined_acronyms(text: str, mentions: list[RawMention]) -> list[RawMention]:
    """Names defined by a bracketed acronym, and the acronym, when the model saw a name
    there (its label is kept): the model often cuts such a name at a link word ("Service
    départemental d'incendie") or drops the acronym. Without the model's word that a
    name is there, "Intelligence artificielle (IA)" at a sentence's start stays nothing."""
    found = []
    for m in DEFINED.finditer(text):
        span = _defined_name(text, m.start(), m.group("acronym"))
        if span is None:
            continue
        seen = [x for x in mentions
                if x.start < span[1] and span[0] < x.end or x.start == m.start("acronym")]
        # The label comes from a model name at the name's first word or at the acronym; a
        # place named inside it ("… du traité sur l'Antarctique (RCTA)") is not what it is.
        heads = [x for x in seen if x.start in (span[0], m.start("acronym"))]
        if not heads or any(x.start < span[0] for x in seen):
            continue  # no model word for it, or the model's name begins further back
        label = Counter(x.label for x in heads).most_common(1)[0][0]
        if all(x.start != span[0] for x in heads) and label != "ORG":
            continue  # the acronym alone read as a place or a person ("… (RCTA)"): noise
        # The acronym is what the name is: both take the name's corrected label.
        label = relabel(label, fold(text[span[0]:span[1]]), text[max(0, span[0] - 60):span[0]])
        sentence = seen[0].sentence
        found.append(RawMention(label, text[span[0]:span[1]], span[0], span[1], sentence))
        found.append(RawMention(label, m.group("acronym"), m.start("acronym"),
                                m.end("acronym"), sentence))
    return found


# A capitalised word, hyphenated or with an apostrophe, right after a name.
_NEXT_NAME_WORD = re.compile(r" ([A-ZÉÈÀÂÎÔÛÇ][a-zàâçéèêëîïôûùüÿœ’'-]+)(?![\w’'-])")


def stretched_persons(mentions: list[RawMention], text: str, lexicon) -> list[RawMention]:
    """A person's name the model cut before its last word: "le Premier ministre Ousmane"
    Sonko. A capitalised word right after it, one space away, that French does not use as
    a common word and the model gave no label of its own, is the rest of the name."""
    if lexicon is None:
        return mentions
    starts = {m.start for m in mentions}
    out = []
    for m in mentions:
        nxt = _NEXT_NAME_WORD.match(text, m.end) if m.label == "PER" else None
        if nxt and nxt.start(1) not in starts and not lexicon.is_common(nxt.group(1)) \
                and not capitalised_by_position(text, nxt.start(1)):
            m = RawMention("PER", text[m.start:nxt.end()], m.start, nxt.end(), m.sentence)
        out.append(m)
    return out
