"""Who speaks a quotation: the dependency parse first (speech.py), then rules over the
article's entities, no guessing.

The parse names the subject of the verb of saying around the quotation; when it names
no entity, the rules below are tried, in order: an attribution inside the marks or right
after them ("», a déclaré X", "», a-t-il ajouté", "», indique le ministère"), then
before them in the same sentence
("Selon X, « … »", "X a déclaré : « … »", "Il a ajouté que « … »") or in the sentence
or paragraph just before when it reports speech, then the quotation just before when
only its attribution lies between (a new paragraph of the same speech too), then the
interviewee of a question-and-answer article; a subheading takes the speaker of the
quotation it repeats. A pronoun is the last person named before, of its gender; a role
("le maire") is the one person the article gave that role, "l'agence" the organisation
just named. Anything else: no speaker.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from worker.nlp.entities import CanonicalEntity
from worker.nlp.given_names import gender_of_given_name
from worker.nlp.layout import is_subheading, opens_paragraph, subheading_speakers
from worker.nlp.quotes import (
    SENTENCE_END,
    VERBS,
    QuoteSpan,
    attributed_after,
    quote_sentence_start,
)
from worker.nlp.text import SPACES, fold

DEBUG = bool(os.environ.get("NEWSWORKER_DEBUG_SPEAKERS"))
_S = f"[{SPACES}]"
_DET = r"(?:le|la|l[’']|les|un|une|ce|cette|cet)"
# A role noun phrase as the subject of the reporting verb: "le maire", "l'avocate de X".
ROLE_SUBJECT = re.compile(rf"^{_S}*(?:{_DET}){_S}*(?P<head>[a-zéèêàâîôûç][\w-]+)", re.I)
# Nouns for unnamed people: a quotation given to them has no named speaker.
UNNAMED = {"source", "sources", "proche", "proches", "entourage", "témoin", "témoins",
           "habitant", "habitante", "voisin", "voisine", "voisins", "frère", "sœur", "soeur",
           "père", "mère", "fils", "fille", "mari", "épouse", "femme", "homme", "ami", "amie",
           "victime", "responsable", "manifestant", "manifestante", "passant", "passante",
           "riverain", "riveraine", "policier", "policière", "enquêteur", "enquêtrice",
           "expert", "experte", "spécialiste", "observateur", "observatrice", "militant",
           "militante", "salarié", "salariée", "employé", "employée", "élève", "étudiant",
           "étudiante", "partie", "plaignant", "plaignante", "défense", "accusation",
           "internaute", "lecteur", "lectrice", "collègue", "confrère", "consœur"}
# Nouns that stand for an organisation named before: "l'agence de notation", "le groupe".
ORG_NOUNS = {"agence", "groupe", "societe", "entreprise", "firme", "constructeur", "banque",
             "syndicat", "parti", "club", "federation", "association", "ong", "compagnie",
             "institution", "organisation", "cabinet", "operateur", "laboratoire", "assureur",
             "fabricant", "chaine", "journal", "quotidien", "hebdomadaire", "mouvement"}
# A generic role covers the specific ones the article used: "le magistrat" is its judge.
HYPERNYMS = {
    "magistrat": {"juge", "procureur", "procureure", "président", "présidente", "magistrat",
                  "magistrate", "substitut"},
    "magistrate": {"juge", "procureure", "présidente", "magistrate"},
    "élu": {"maire", "député", "sénateur", "conseiller", "élu", "adjoint", "bourgmestre",
            "échevin", "président"},
    "élue": {"maire", "députée", "sénatrice", "conseillère", "élue", "adjointe",
             "bourgmestre", "échevine", "présidente"},
    "responsable": set(), "dirigeant": {"président", "directeur", "patron", "chef", "pdg"},
}
FEMININE_CUES = re.compile(r"(?:^|\s)(?:Mme|Madame|Mlle|la|une)\s*$")
MASCULINE_CUES = re.compile(r"(?:^|\s)(?:M\.|Monsieur|le|un)\s*$")
# A noun in apposition right after a name says the person's gender: "Janick Delva, femme
# de Pierre Eyen", "X, directrice de l'école", "X, comédien". Kinship words, and the
# endings French gives only to feminine (or only to masculine) nouns of persons; not the
# ordinals, which agree with the noun after them ("X, première victime").
FEMININE_APPOSITION = re.compile(
    r"^,\s*(?!premi|derni)(?:la\s+|une\s+|l[’'](?=\w+(?:trice|euse|ière|ienne|esse)\b))?"
    r"(?:femme|épouse|mère|fille|sœur|veuve|compagne|grand-mère|petite-fille|"
    r"\w{2,}(?:trice|euse|ière|ienne|esse))\b")
MASCULINE_APPOSITION = re.compile(
    r"^,\s*(?!premi|derni)(?:le\s+|un\s+|l[’'](?=\w+(?:teur|ien|ier)\b))?"
    r"(?:mari|époux|père|fils|frère|veuf|compagnon|grand-père|petit-fils|"
    r"\w{3,}(?:teur|ien|ier))\b")
PRONOUN = re.compile(r"-t-(?P<a>il|elle|on)|-(?P<b>il|elle|on)\b|\b(?P<c>lui|elle)\b", re.I)
BEFORE_CUE = re.compile(
    rf"(?:^|[.!?]{_S}+|\n)(?:(?:Mais|Et|Or){_S}+)?(?:[Ss]elon|[Dd][’']après|[Pp]our|"
    rf"[Dd]u{_S}+côté{_S}+d(?:e{_S}+|[’']|u{_S}+|es{_S}+)(?:la{_S}+|l[’'])?)"
    rf"{_S}*(?P<who>[^,.!?«“\"]{{2,120}}?),", re.M)
REPORTING_VERB = re.compile(
    rf"(?:\b(?:a|avait|ont|aurait){_S}+(?:\w+{_S}+)?)?\b(?:{VERBS})\b", re.I)
# An incise with an inverted pronoun before the quotation: ", concède-t-elle,".
INCISE_PRONOUN = re.compile(rf"\b(?:{VERBS})(?:-t)?-(?P<p>il|elle)\b", re.I)
# A sentence about someone's words or aims, then a colon: "Son message est clair :".
POSSESSIVE_COLON = re.compile(rf"^{_S}*(?:(?:Mais|Et|Or){_S}+)?(?:Son|Sa|Ses){_S}+"
                              rf"[^.!?:«»\n]*:{_S}*$")
REPORTING_BEFORE = re.compile(
    rf"\b(?:a|avait|ont|aurait)?{_S}*(?:{VERBS})\b|\b(?:dit|explique|affirme|déclare)\b|"
    rf":{_S}*$", re.I)


@dataclass(frozen=True)
class Speaker:
    entity: CanonicalEntity | None
    how: str  # which rule named it: after, incise, before, pronoun, role, previous, interview


class Context:
    """What the rules look up: mentions in text order, persons' roles and genders."""

    def __init__(self, text: str, entities: list[CanonicalEntity],
                 genders: dict[str, str]) -> None:
        self.text = text
        self.mentions = sorted(((m.start, m.end, e) for e in entities for m in e.mentions
                                if e.label in ("PER", "ORG")), key=lambda x: x[0])
        # Places are speakers only as the whole subject of a speech verb in the parse
        # ("Moscou a dénoncé", "la Maison-Blanche a réagi"): see speech._place_subject.
        self.places = [(m.start, m.end, e) for e in entities for m in e.mentions
                       if e.label == "LOC"]
        self.genders = genders
        self.roles = _roles(text, entities)
        self.quoted: list[tuple[int, int]] = []  # spans of quotations: not antecedents
        self.spoke: list[tuple[int, CanonicalEntity]] = []  # speakers found so far

    def _inside_quote(self, pos: int) -> bool:
        return any(s <= pos < e for s, e in self.quoted)

    def named_in(self, lo: int, hi: int, labels=("PER", "ORG")) -> list[CanonicalEntity]:
        return [e for s, _, e in self.mentions if lo <= s < hi and e.label in labels]

    def last_person(self, before: int, gender: str | None, floor: int = 0
                    ) -> CanonicalEntity | None:
        """The last person named (or heard) before `before`, of the pronoun's gender.

        Names inside quotations are not antecedents; a speaker of a known gender is
        preferred to a nearer one of unknown gender among the last three.
        """
        named = [(s, e) for s, _, e in self.mentions
                 if e.label == "PER" and floor <= s < before and not self._inside_quote(s)]
        named += [(s, e) for s, e in self.spoke if floor <= s < before and e.label == "PER"]
        candidates: list[tuple[int, CanonicalEntity]] = []
        for s, e in sorted(named, key=lambda x: x[0], reverse=True):
            if _unnamed_subject_between(self.text, s, before):
                break  # "Le frère de la plaignante, lui, …": someone unnamed speaks
            known = self.genders.get(e.key)
            if gender and known not in (None, gender):
                continue
            if all(c is not e for _, c in candidates):
                candidates.append((s, e))
            if len(candidates) == 3:
                break
        if not candidates:
            return None
        if gender == "Fem":  # "elle": a woman named a little earlier beats an unknown
            sure = [e for _, e in candidates if self.genders.get(e.key) == gender]
            if sure and self.genders.get(candidates[0][1].key) is None:
                return sure[0]
        return candidates[0][1]

    def last_org(self, before: int, reach: int = 600) -> CanonicalEntity | None:
        """The last organisation named (outside quotations) shortly before `before`."""
        named = [e for s, _, e in self.mentions if e.label == "ORG"
                 and before - reach <= s < before and not self._inside_quote(s)]
        return named[-1] if named else None

    def by_role(self, head: str, before: int) -> CanonicalEntity | None:
        """The entity the article gave this role to, if only one (or the latest)."""
        key = fold(head)
        wanted = {fold(h) for h in HYPERNYMS.get(head.lower(), set())} | {key}
        found = [(pos, e) for pos, role, e in self.roles if role in wanted and pos < before]
        orgs = [(s, e) for s, _, e in self.mentions
                if e.label == "ORG" and s < before and fold(e.name).split()[0] == key]
        found += orgs
        if not found:
            return None
        return max(found, key=lambda f: f[0])[1]


def _unnamed_subject_between(text: str, lo: int, hi: int) -> bool:
    for m in re.finditer(rf"(?:^|[.!?]{_S}+|\n)(?:Le|La|L[’']|Un|Une|Son|Sa){_S}*"
                         r"(?P<noun>[a-zéèêœ][\w-]+)", text[lo:hi]):
        if m.group("noun").lower() in UNNAMED:
            return True
    return False


ROLE_NOUN = r"[a-zéèêàâîôûç][\w-]+"
# "le procureur de la République de Paris, X": the role's complement may lie between, but
# not another noun phrase ("du journaliste à son entraîneur, X": X is the coach).
_FILLER = (rf"(?:{_S}+(?!(?:à|au|aux|son|sa|ses|leur|leurs|pour|avec|contre|par|et|qui)\b)"
           rf"[^,.;«»\s]+){{0,8}}")
APPOSITION_BEFORE = re.compile(rf"\b(?:le|la|l[’']|du|de{_S}+la|au)\s*(?P<role>{ROLE_NOUN})"
                               rf"{_FILLER},?{_S}*$", re.I)
APPOSITION_AFTER = re.compile(rf"^,?{_S}*(?:(?:le|la|l[’']|un|une|ce|cette){_S}*)?"
                              rf"(?:(?:nouveau|nouvelle|ancien|ancienne|jeune){_S}+)?"
                              rf"(?P<role>{ROLE_NOUN})", re.I)


def _roles(text: str, entities: list[CanonicalEntity]) -> list[tuple[int, str, CanonicalEntity]]:
    """(position, role noun, person): "le maire X", "X, avocate de…", "Me X" (avocat)."""
    roles = []
    for ent in entities:
        if ent.label != "PER":
            continue
        for m in ent.mentions:
            before = text[max(0, m.start - 80):m.start]
            found = APPOSITION_BEFORE.search(before)
            if found:
                roles.append((m.start, fold(found.group("role")), ent))
            if re.search(r"\bMe\s*$", before):
                roles.append((m.start, "avocat", ent))
            after = APPOSITION_AFTER.match(text[m.end:m.end + 60])
            if after and text[m.end:m.end + 1] == "," and not _subject_of_next_verb(
                    text, m.end + after.end()):
                roles.append((m.start, fold(after.group("role")), ent))
    return roles


# "Après le discours de X, le Premier ministre a défendu …": the noun phrase after the
# comma is the subject of the next verb, not X's apposition; "X, le maire qui a …" is.
NEXT_VERB = re.compile(rf"^[^,.;:!?()«»]*?{_S}(?:a|ont|avait|avaient|est|sont|était|sera|"
                       rf"va|vont|doit|peut|s[’'](?:est|était)|se)(?:{_S}|$)")


def _subject_of_next_verb(text: str, end: int) -> bool:
    segment = NEXT_VERB.match(text[end:end + 80])
    return bool(segment) and not re.search(r"\b(?:qui|que|qu[’']|dont|où)\b", segment.group(0))


COMPLEMENT = re.compile(rf"(?:\b(?:de|du|des|à|au|aux|par|avec|contre|sur|chez|vers|dans|"
                        rf"en)|\bd[’']|\bl[’']a|\bles|\bà{_S}+l[’']|\bde{_S}+la){_S}*$", re.I)


def complement(text: str, start: int) -> bool:
    """A name that completes a noun ("l'avocate de Yassin E.") is not the subject."""
    before = text[max(0, start - 12):start]
    return bool(COMPLEMENT.search(before)) and not re.search(
        rf"(?:\bla|\ble|\bl[’']){_S}*$", before)


# "La présidente de la BCE": the body completes the role, it is not who speaks.
ROLE_OF = re.compile(rf"[a-zéèêàç][\w-]+{_S}+(?:de{_S}+la|de{_S}+l[’']|du|des){_S}*$")


def subject_in(ctx: Context, lo: int, hi: int) -> Speaker | None:
    """The speaker named in an attribution region ("le procureur Vincent Edel, qui…")."""
    region = ctx.text[lo:hi]
    stop = SENTENCE_END.search(region)
    hi = lo + stop.start() if stop else hi
    region = ctx.text[lo:hi]
    # A name inside a quotation is what was said, never who said it.
    named = [e for s, _, e in ctx.mentions if lo <= s < hi and not complement(ctx.text, s)
             and not ROLE_OF.search(ctx.text[lo:s]) and not ctx._inside_quote(s)]
    persons = [e for e in named if e.label == "PER"]
    if persons:
        return Speaker(persons[0], "named")
    if named:
        return Speaker(named[0], "named")
    pron = re.match(rf"{_S}*(?P<p>il|elle|lui|lui-même|elle-même|celui-ci|celle-ci)(?![\w-])",
                    region, re.I)
    if pron:
        gender = "Fem" if pron.group("p").lower().startswith(("elle", "celle")) else "Masc"
        who = ctx.last_person(lo, gender)
        return Speaker(who, "pronoun") if who else None
    demonstrative = re.match(rf"{_S}*(?P<d>ce|cet|cette){_S}+[a-zéè]", region, re.I)
    if demonstrative:  # "affirme ce père de quatre enfants": the person just named
        gender = "Fem" if demonstrative.group("d").lower() == "cette" else "Masc"
        who = ctx.last_person(lo, gender)
        return Speaker(who, "pronoun") if who else None
    role = ROLE_SUBJECT.match(region)
    if role:
        head = role.group("head")
        rest = region[role.end():]
        if fold(head) in ORG_NOUNS:  # "l'agence de notation": the organisation just named
            who = ctx.last_org(lo)
            return Speaker(who, "role") if who else None
        if head.lower() in UNNAMED or re.match(
                rf"{_S}+(?:de|du|des|d[’']){_S}*(?:la{_S}+|l[’'])?[a-zé]", rest):
            return Speaker(None, "unnamed")  # "l'avocat de la partie civile": which one?
        who = ctx.by_role(head, lo)
        return Speaker(who, "role") if who else None
    return None


def _after(ctx: Context, span: QuoteSpan) -> Speaker | None:
    m = attributed_after(ctx.text, span.end)
    if not m:
        return None
    start = span.end + 1 + m.end()
    pron = m.group("pron1") or m.group("pron2")
    if pron:
        if "on" in pron.lower():
            return Speaker(None, "on")
        gender = "Fem" if "elle" in pron.lower() else "Masc"
        who = ctx.last_person(span.start, gender)
        return Speaker(who, "pronoun") if who else Speaker(None, "pronoun")
    stop = SENTENCE_END.search(ctx.text, start)
    end = stop.start() if stop else len(ctx.text)
    new_sentence = "." in m.group(0) or span.text.rstrip().endswith((".", "!", "?", "…"))
    if m.group("selon") and new_sentence and "," in ctx.text[start:end]:
        # "« … ». Selon le PAM, la famine menace": a new sentence with its own
        # statement; only a bare "« … ». Selon X." sources the quotation.
        return None
    found = subject_in(ctx, start, end)
    return found or Speaker(None, "after")


def _incise(ctx: Context, span: QuoteSpan) -> Speaker | None:
    lo, hi = span.incise
    m = re.match(rf",?{_S}*(?:{VERBS})(?P<pron>-t-(?:il|elle)|-(?:il|elle))?", ctx.text[lo:hi],
                 re.I)
    if not m:
        return None
    if m.group("pron"):
        gender = "Fem" if "elle" in m.group("pron") else "Masc"
        who = ctx.last_person(span.start, gender)
        return Speaker(who, "pronoun") if who else None
    return subject_in(ctx, lo + m.end(), hi) or Speaker(None, "incise")


def _before(ctx: Context, span: QuoteSpan) -> Speaker | None:
    """"Selon X, « … »", "Pour X, « … »", "X a déclaré : « … »" in the quote's sentence."""
    opening = span.start - 1
    lo = quote_sentence_start(ctx.text, opening)
    if lo >= opening - 1 and ctx.text[max(0, lo - 3):lo].rstrip(SPACES + "\n").endswith(":"):
        # "…, cité par le Wall Street Journal :¶“Gaza…”": the sentence before the colon.
        lo = quote_sentence_start(ctx.text, lo - 3)
    region = ctx.text[lo:opening]
    if not region.strip(SPACES) and ctx.text[max(0, lo - 1):lo] in (".", ""):
        # « … » opening a sentence right after "X a expliqué le déroulement de l'assaut."
        previous = quote_sentence_start(ctx.text, max(0, lo - 2))
        if "\n" not in ctx.text[previous:lo] and REPORTING_VERB.search(ctx.text[previous:lo]):
            lo, region = previous, ctx.text[previous:opening]
    elif not region.strip(SPACES) and ctx.text[max(0, lo - 1):lo] == "\n" \
            and not is_subheading(ctx.text, span):
        # A paragraph of quotation after "Le juge Bocock ajoute qu'il…": that sentence
        # speaks if it reports speech and quotes nothing itself.
        end = ctx.text[:lo].rstrip(SPACES + "\n")
        previous = quote_sentence_start(ctx.text, len(end) - 1)
        sentence = ctx.text[previous:len(end)]
        if REPORTING_VERB.search(sentence) and not re.search("[«»“”\"]", sentence):
            lo, region = previous, ctx.text[previous:opening]
    cue = BEFORE_CUE.search(ctx.text, max(0, lo - 2), opening)
    if cue:
        found = _cue_head(ctx, cue) or subject_in(ctx, cue.start("who"), cue.end("who"))
        if found and found.entity:
            return found
    if not REPORTING_BEFORE.search(region) and not region.rstrip(SPACES).endswith(":"):
        return None
    incise = INCISE_PRONOUN.search(region)
    if incise:  # "Certes, concède-t-elle, les faits sont là, mais c'est « … »"
        gender = "Fem" if incise.group("p").lower() == "elle" else "Masc"
        who = ctx.last_person(lo, gender)
        if who:
            return Speaker(who, "pronoun")
    verbs = list(REPORTING_VERB.finditer(region))
    if verbs:
        verb = verbs[-1]  # the subject just before the last reporting verb
        clause = region[:verb.start()]
        cut = max(clause.rfind(","), -1) + 1
        found = subject_in(ctx, lo + cut, lo + verb.start())
        if found and (found.entity or found.how == "unnamed"):
            return found  # "l'avocat de la partie civile a dit": someone, not a name
        pron = re.search(rf"\b(?P<p>il|elle){_S}+(?:ne{_S}+|n[’']|l[’']|lui{_S}+)?$", clause,
                         re.I)
        if pron:  # "…, dont il ne cite pas le nom quand il dénonce « … »": the topic
            gender = "Fem" if pron.group("p").lower() == "elle" else "Masc"
            who = ctx.last_person(lo, gender)
            return Speaker(who, "pronoun") if who else None
    if POSSESSIVE_COLON.match(region):  # "Ses ambitions sont claires : « … »": the topic
        who = ctx.last_person(lo, None)
        return Speaker(who, "pronoun") if who else None
    subject = re.match(rf"{_S}*(?:(?:Mais|Et|Puis){_S}+)?(?P<p>Il|Elle)\b", region)
    if subject:
        gender = "Fem" if subject.group("p") == "Elle" else "Masc"
        who = ctx.last_person(lo, gender)
        return Speaker(who, "pronoun") if who else None
    named = [e for s, _, e in ctx.mentions if lo <= s < opening
             and not complement(ctx.text, s) and not ctx._inside_quote(s)]
    persons = [e for e in named if e.label == "PER"]
    if persons:
        return Speaker(persons[-1], "before")
    if named:
        return Speaker(named[-1], "before")
    return subject_in(ctx, lo, opening)


ParseReader = Callable[["Context", int, QuoteSpan], "Speaker | None"]
# The parse's answer when it shows a rule's reading wrong: no speaker, the rules not asked.
VETO = "parse-veto"


def _found(ctx: Context, i: int, span: QuoteSpan, parsed: ParseReader | None
           ) -> Speaker | None:
    """The parse's speaker when it names one, else the rules'.

    Measured on both halves of the development pages (issue 22), the parse first and the
    rules first gave the same figures; the parse reads constructions no rule was written
    for (a subject far from its verb, control, relative clauses, a colon), so it leads.
    """
    parse = parsed(ctx, i, span) if parsed is not None else None
    if parse is not None and (parse.entity is not None or parse.how == VETO):
        return parse
    rules = (_incise(ctx, span) if span.incise else None) or _after(ctx, span) \
        or _before(ctx, span)
    if DEBUG:
        print(f"   rules={rules} parse={parse}")
    return rules or parse


def _cue_head(ctx: Context, cue: re.Match) -> Speaker | None:
    """'Du côté du Standard, …', 'Pour la CGT, …': the name right after the cue is the
    speaker, although a preposition precedes it."""
    lead = re.match(rf"(?:(?:le|la|les|l[’']){_S}*)?", ctx.text[cue.start("who"):], re.I)
    head = cue.start("who") + lead.end()
    named = [e for s, _, e in ctx.mentions if s == head]
    return Speaker(named[0], "named") if named else None


# "le vice-président de la Commission": a body named as a complement speaks no quotation.
OF_BEFORE = re.compile(rf"\b(?:de|du|des|d[’'])(?:{_S}+la|{_S}+l[’'])?{_S}*$", re.I)


def _adjacent(ctx: Context, prev: QuoteSpan, prev_speaker: CanonicalEntity | None,
              span: QuoteSpan) -> bool:
    """Nothing but the previous quotation's own attribution lies between the two."""
    if prev_speaker is None:
        return False
    gap = ctx.text[prev.end + 1:span.start - 1]
    if len(gap) > 260 or ("\n" in gap and not _attribution_only(ctx.text, prev, gap, span)):
        return False
    others = [e for s, _, e in ctx.mentions if prev.end <= s < span.start
              and e is not prev_speaker and not complement(ctx.text, s)
              and not (e.label == "ORG" and OF_BEFORE.search(ctx.text[max(0, s - 8):s]))]
    if others:
        return False
    # A new sentence about someone else ("Il dit avoir", "Le frère…") breaks the chain.
    return not _unnamed_subject_between(ctx.text, prev.end, span.start)


def _attribution_only(text: str, prev: QuoteSpan, gap: str, span: QuoteSpan) -> bool:
    """The paragraph of the previous quotation ends with it and its own attribution
    (« … », a-t-il ajouté.¶« … »): a new paragraph of the same speech."""
    head, _, tail = gap.partition("\n")
    if tail.strip(SPACES + "\n") or is_subheading(text, span):
        return False
    m = attributed_after(text, prev.end)
    if m is None or m.end() > len(head):
        return False
    rest = head[m.end():].rstrip(SPACES)
    return not SENTENCE_END.search(rest[:-1])


def _interviewee(ctx: Context, spans: list[QuoteSpan]) -> CanonicalEntity | None:
    """In a question-and-answer article (answers in guillemets, questions ending in '?'),
    the person the article names most outside the answers (whom the answers name is
    talked about), the first named of those named as often: the introduction names
    whom the article interviews."""
    paras = [p.strip(SPACES) for p in ctx.text.split("\n") if p.strip(SPACES)]
    answers = sum(1 for p in paras if p[:1] in "«“\"" and p.rstrip(". ")[-1:] in "»”\"")
    questions = sum(1 for p in paras if p[:1] not in "«“\"" and p.endswith(("?", "…")))
    if answers < 3 or questions < 2:
        return None
    outside = [e for s, _, e in ctx.mentions if e.label == "PER" and not ctx._inside_quote(s)]
    counts = Counter(e.key for e in outside)
    if not counts:
        return None
    most = max(counts.values())
    return next(e for e in outside if counts[e.key] == most)  # mentions are in text order


def attribute(text: str, spans: list[QuoteSpan], entities: list[CanonicalEntity],
              genders: dict[str, str], parsed: ParseReader | None = None
              ) -> list[CanonicalEntity | None]:
    """One speaker (or None) per quotation, in the order given.

    `parsed` reads the speaker of quotation i from the dependency parse (speech.py).
    """
    ctx = Context(text, entities, genders)
    ctx.quoted = [(q.start, q.end) for q in spans]
    interviewee = _interviewee(ctx, spans)
    speakers: list[CanonicalEntity | None] = []
    for i, span in enumerate(spans):
        found = _found(ctx, i, span, parsed)
        who = found.entity if found else None
        if who is None and (found is None or found.how in ("after", "incise")) and i:
            prev = spans[i - 1]
            if _adjacent(ctx, prev, speakers[-1], span):
                who = speakers[-1]
        if who is None and found is None and interviewee and opens_paragraph(text, span):
            who = interviewee
        if who is None and found is None and opens_paragraph(text, span) \
                and len(span.text.split()) >= 15 and (not i or spans[i - 1].end < span.start - 400):
            para_start = text.rfind("\n", 0, span.start - 1)
            prev_para = text.rfind("\n", 0, max(0, para_start - 1))
            persons = ctx.named_in(prev_para + 1, para_start, ("PER",))
            who = persons[-1] if persons else None
        speakers.append(who)
        if who is not None:
            ctx.spoke.append((span.end, who))
        if DEBUG:
            print(f"SPK {found.how if found else '-':9} {who.name if who else None!s:20} "
                  f"{span.text[:50]!r}")
    return subheading_speakers(text, spans, _continued_backwards(text, spans, speakers))


# "« … », a-t-elle ajouté", "poursuit-il", "conclut X": the speaker said something just
# before.
GOES_ON = re.compile(r"[\s»”\"]*,?\s*(?:(?:a|avait)(?:-t-(?:il|elle))?\s+|[\w-]*\s+)?"
                     r"(?:ajout|poursui|continu|renchéri|enchaîn|complét|conclu)", re.I)


def _continued_backwards(text: str, spans: list[QuoteSpan],
                         speakers: list[CanonicalEntity | None]) -> list[CanonicalEntity | None]:
    """A quotation with no speaker, right before one whose verb says its speaker goes on
    ("« Nous ne voterons pas ce budget. » « Il n'y a rien », a-t-elle ajouté"), is that
    speaker's too: nothing but the marks and blank stands between them."""
    out = list(speakers)
    for i in range(len(spans) - 1, 0, -1):
        prev, span = spans[i - 1], spans[i]
        if out[i] is not None and out[i - 1] is None \
                and re.fullmatch(r"[\s«»“”\".,!?…]*", text[prev.end:span.start]) \
                and GOES_ON.match(text, span.end):
            out[i - 1] = out[i]
    return out


def person_genders(text: str, entities: list[CanonicalEntity]) -> dict[str, str]:
    """'Masc' or 'Fem' per person key, from a title or determiner just before a mention
    (Mme, M., la juge) or a noun in apposition just after it ("X, directrice de")."""
    genders: dict[str, str] = {}
    for ent in entities:
        if ent.label != "PER":
            continue
        votes: Counter = Counter()
        for m in ent.mentions:
            before = text[max(0, m.start - 30):m.start]
            after = text[m.end:m.end + 40]
            if FEMININE_CUES.search(before) or FEMININE_APPOSITION.match(after):
                votes["Fem"] += 1
            elif MASCULINE_CUES.search(before) or MASCULINE_APPOSITION.match(after):
                votes["Masc"] += 1
        if votes:
            top = votes.most_common(2)
            if len(top) == 1 or top[0][1] > top[1][1]:
                genders[ent.key] = top[0][0]
        if ent.key not in genders:  # the text says nothing: what the given name says
            given = gender_of_given_name(ent.name)
            if given:
                genders[ent.key] = given
    return genders
