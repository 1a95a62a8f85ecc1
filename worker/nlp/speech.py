"""Who speaks a quotation, read from the dependency parse of the clause around it.

The speech verb is the one that governs the quotation (« … » as its object, its
complement clause or a parenthetical: "X a déclaré : « … »", "« … », estime X",
"« … », a-t-il dit") or a verb of saying in the same clause; "selon X" names its source
too. Its subject is the speaker: through coordination ("X s'est levé et a dit"), a verb
it governs ("X a tenu à préciser"), a relative clause ("X, qui a déclaré") and a pronoun
(the last person named before, of its gender). The subject is matched with the article's
entities; a name inside a quotation, or a medium, platform or document as the place of
the words ("sur Telegram", "dans un entretien au Monde", "selon un communiqué"), is not
a speaker — the one who speaks through it is, when the clause names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from spacy.tokens import Token

from worker.nlp.entities import CanonicalEntity
from worker.nlp.parse import Clause
from worker.nlp.quotes import QuoteSpan, attributed_after
from worker.nlp.speakers import ROLE_SUBJECT, VETO, Context, Speaker, complement, subject_in
from worker.nlp.text import fold

# Verbs of saying, thinking aloud and writing (infinitives, accents folded).
SPEECH_LEMMAS = {fold(w) for w in (
    "dire déclarer affirmer ajouter estimer indiquer préciser souligner expliquer assurer "
    "confier prévenir reconnaître répondre annoncer avertir commenter conclure confirmer "
    "dénoncer déplorer détailler écrire insister juger lancer marteler noter observer "
    "plaider poursuivre raconter rappeler réagir regretter relever répéter réitérer résumer "
    "rétorquer répliquer souffler témoigner trancher tweeter admettre promettre avancer "
    "glisser ironiser concéder nuancer arguer exclamer interroger demander inquiéter "
    "indigner étonner féliciter réjouir protester objecter renchérir mentionner signaler "
    "confesser avouer clamer crier hurler murmurer soupirer sourire décrire évoquer "
    "certifier jurer reprendre compléter tempérer analyser pointer prédire considérer "
    "penser croire espérer craindre redouter accuser fustiger saluer exhorter réclamer "
    "menacer rassurer défendre justifier déclarer qualifier raconter résumer lâcher "
    "tonner s'emporter emporter agacer désoler amuser souvenir remémorer expliciter "
    "révéler dévoiler citer titrer rapporter publier poster partager commenter "
    "asséner anticiper").split()}
# Verbs of saying in two words: "fait savoir", "met en garde".
PHRASES = {"faire": ("savoir", "valoir", "remarquer", "observer"), "mettre": ("en garde",)}
# Forms the suffix rules below do not bring back to their infinitive.
IRREGULAR = [
    (re.compile(r"^(?:re)?di(?:t|ts|s|sait|saient|ra|sent|ront)$"), "dire"),
    (re.compile(r"^(?:d[ée]cr|[ée]cr|d[ée]cri)(?:it|ivait|ira|ivent|iront)$"), "ecrire"),
    (re.compile(r"^reconn(?:u|ue|a[iî]t|aissait|aîtra)$"), "reconnaitre"),
    (re.compile(r"^r[ée]pond(?:u|ait|ra|ent)?$"), "repondre"),
    (re.compile(r"^pr[ée]vien(?:t|dra|nent)$|^pr[ée]venu$"), "prevenir"),
    (re.compile(r"^conclu(?:t|ra)?$"), "conclure"),
    (re.compile(r"^(?:pro|ad)(?:met|mis|mettait|mettra)$"), "promettre"),
    (re.compile(r"^poursui(?:t|vi|vait|vra)$"), "poursuivre"),
    (re.compile(r"^(?:avert|r[ée]ag)(?:i|it|issait|ira)$"), "avertir"),
    (re.compile(r"^souri(?:t|ait|ra)?$"), "sourire"),
    (re.compile(r"^(?:re)?pri(?:s|t)$|^reprend(?:ait|ra)?$"), "reprendre"),
    (re.compile(r"^(?:cr)?oi(?:t|sait)$|^cru$"), "croire"),
    (re.compile(r"^crai(?:nt|gnait)$"), "craindre"),
    (re.compile(r"^fai(?:t|sait|ra)$"), "faire"),
    (re.compile(r"^m(?:et|ettait|ettra|is)$"), "mettre"),
]
SUFFIXES = (("ées", "er"), ("és", "er"), ("ée", "er"), ("é", "er"), ("aient", "er"),
            ("ait", "er"), ("era", "er"), ("eront", "er"), ("ent", "er"), ("es", "er"),
            ("e", "er"), ("a", "er"))
# Nouns for where words were said or written: not a speaker, their author may be one.
CHANNELS = {fold(w) for w in (
    "communiqué communiqués déclaration texte lettre courrier message messages note rapport "
    "document tweet tweets post publication vidéo entretien interview interviews émission "
    "journal quotidien hebdomadaire chaîne radio télévision antenne plateau site compte "
    "réseau réseaux page blog tribune éditorial conférence discours livre ouvrage "
    "mémoire mémoires courriel mail mails réponse propos "
    # documents: "», souligne l'arrêt", "selon l'étude de l'Insee"
    "arrêt jugement décision avis ordonnance étude enquête sondage bilan").split()}
# Subjects that name no one: the quotation has no named speaker.
NOBODY = {"on", "ils", "elles", "nous", "je", "j", "j'", "vous", "tu", "certains",
          "beaucoup", "plusieurs", "d'autres", "personne", "chacun", "tous", "aucun"}
PRONOUNS = {"il": "Masc", "elle": "Fem", "lui": "Masc", "celui-ci": "Masc", "celle-ci": "Fem",
            "lui-même": "Masc", "elle-même": "Fem"}
# Relations under which a verb takes the quotation as what was said.
GOVERNS = {"ccomp", "obj", "parataxis", "xcomp", "advcl", "conj", "dep", "obl:arg", "obl",
           "obl:mod", "nsubj", "appos", "acl", "nmod"}
ATTACHED = {"parataxis", "advcl", "dep", "conj", "acl", "acl:relcl", "xcomp"}
# What may stand between the closing mark and an incise's verb: "», s'est-il réjoui".
INCISE_WORDS = {"a", "avait", "ont", "aurait", "avaient", "est", "était", "s'", "s’", "se",
                "-t", "t"}


def lemmas(word: str, forms: Callable[[str], list[str]] | None = None) -> frozenset[str]:
    """Possible infinitives of a verb form, accents folded ("confié" -> "confier")."""
    return _lemmas(word, forms)


# Every token of every clause around a quotation is asked whether it is a verb of saying:
# the same few hundred words, remembered.
@lru_cache(maxsize=1 << 15)
def _lemmas(word: str, forms: Callable[[str], list[str]] | None) -> frozenset[str]:
    w = fold(word).strip("-")
    found = {fold(f) for f in (forms(w) if forms else [w])} | {w}
    for suffix, ending in SUFFIXES:
        if w.endswith(fold(suffix)) and len(w) > len(suffix) + 2:
            found.add(w[:-len(suffix)] + ending)
            break
    if w.endswith("it") and len(w) > 4:
        found.add(w[:-1] + "r")  # "avertit" -> "avertir"
    if w.endswith("i") and len(w) > 4:
        found.add(w + "r")  # "averti" -> "avertir"
    for pattern, lemma in IRREGULAR:
        if pattern.match(w):
            found.add(lemma)
    return frozenset(found)


def says(token: Token, forms=None) -> bool:
    """A verb of saying: by its form ("a déclaré", "insiste-t-elle")."""
    word = token.text.split("-")[0] if "-" in token.text[1:] else token.text
    found = lemmas(word, forms)
    if found & SPEECH_LEMMAS:
        return True
    phrases = found & PHRASES.keys()
    if not phrases:  # most words: no need to read the words after
        return False
    following = " ".join(t.text.lower() for t in token.doc[token.i + 1:token.i + 3])
    return any(following.startswith(rest) for verb in phrases for rest in PHRASES[verb])


def _speech_verbs(clause: Clause, forms) -> list[tuple[Token, str]]:
    """(verb, how) of the verbs of saying around the quotation, nearest first: the verb
    right after the closing mark ("», estime X"), a verb that governs the quotation or
    stands as its incise, a verb of saying whose clause holds it."""
    verbs: list[tuple[Token, str]] = []
    # Asked of every token: read once. A token outside the quotation governs it when one
    # of the quotation's words hangs on it.
    quoted = {t.i for t in clause.doc if clause.in_quote(t)}
    governing = {t.head.i for t in clause.doc if t.i in quoted and not t.is_punct
                 and t.dep_ in GOVERNS and t.head.i not in quoted}
    # "X a été clair : « … »": a colon introduces what the clause's subject says.
    colon = clause.doc.text[:clause.quote[0]].rstrip().endswith(":")
    for tok in clause.doc:
        if tok.i in quoted or tok.is_punct:
            continue
        governs = tok.i in governing
        attached = tok.head.i in quoted and tok.dep_ in ATTACHED and tok.head is not tok
        speech = says(tok, forms) and not _passive(tok)
        if _incise_position(tok, clause) and (
                speech or governs or attached or _inverted_pronoun_after(tok)):
            verbs.append((tok, "incise"))
        elif speech and (governs or attached or any(q.i in quoted for q in tok.subtree)):
            verbs.append((tok, "governs"))
        elif governs or attached:
            up = next((a for a in list(tok.ancestors)[:2]
                       if not clause.in_quote(a) and says(a, forms)), None)
            if up is not None:
                verbs.append((up, "governs"))
            elif _has_subject(tok) and colon and tok.idx < clause.quote[0]:
                verbs.append((tok, "colon"))  # no verb of saying: the colon introduces
            elif _has_subject(tok) and any(c.dep_ in ("ccomp", "parataxis") and
                                           clause.in_quote(c) for c in tok.children):
                verbs.append((tok, "governs"))
    # The incise right after the closing mark is the quotation's own attribution; a verb
    # before the quotation may belong to the sentence before ("X a lancé un appel.
    # « … », soupire un habitué"), however the parse joined them.
    quote_at = clause.quote[0]
    return sorted(verbs, key=lambda v: (v[1] != "incise", abs(v[0].idx - quote_at)))


def _inverted_pronoun_after(tok: Token) -> bool:
    """"a-t-il", "estime-t-elle": the inverted pronoun in the next two tokens."""
    return any(re.fullmatch(r"-(?:t-)?(?:il|elle)", t.text.lower())
               for t in tok.doc[tok.i + 1:tok.i + 3])


def _incise_position(tok: Token, clause: Clause) -> bool:
    """Right after the closing mark, past a comma and an auxiliary: "», ajoute X"."""
    if tok.idx < clause.quote[1]:
        return False
    # The tokens between the closing mark and this one, read backwards, at most five:
    # asked of every token of the clause, so never a scan of the whole clause.
    between = []
    for i in range(tok.i - 1, -1, -1):
        if tok.doc[i].idx < clause.quote[1]:
            break
        between.append(tok.doc[i])
        if len(between) > 4:
            return False
    return all(
        t.is_punct or t.text.lower() in INCISE_WORDS or
        t.text.lower().startswith(("-il", "-elle")) for t in between)


def _passive(tok: Token) -> bool:
    """"Il était poursuivi pour « … »": a passive verb names no speaker as its subject."""
    return any(c.dep_ in ("aux:pass", "nsubj:pass") for c in tok.children)


def _has_subject(tok: Token) -> bool:
    return any(c.dep_ in ("nsubj", "nsubj:pass") for c in tok.children)


def _subject(verb: Token, clause: Clause) -> Token | None:
    """The subject of a verb of saying, climbing coordination and control."""
    tok = verb
    for _ in range(3):
        subjects = [c for c in tok.children if c.dep_ in ("nsubj", "obl:agent")
                    and not clause.in_quote(c) and c.text.lower() not in ("-t", "t", "c'", "ce")]
        if subjects:
            subject = min(subjects, key=lambda c: (c.dep_ != "nsubj", abs(c.i - verb.i)))
            if tok.dep_ == "acl:relcl" and subject.text.lower() in ("qui", "lequel", "laquelle"):
                return tok.head if not clause.in_quote(tok.head) else None  # "X, qui affirme"
            return subject
        pron = [c for c in tok.doc[max(0, tok.i - 3):tok.i + 3]
                if re.fullmatch(r"-(?:t-)?(?:il|elle|on|ils|elles)", c.text.lower())]
        if pron:  # "a-t-elle expliqué", "expliquait-il": the parse may hang it anywhere
            return pron[-1]
        if tok.dep_ == "acl:relcl":  # "X, qui a déclaré …": the antecedent
            return tok.head if not clause.in_quote(tok.head) else None
        if tok.dep_ in ("conj", "xcomp", "advcl") and not clause.in_quote(tok.head) \
                and tok.head is not tok:
            tok = tok.head
            continue
        return None
    return None


def _words_after(ctx: Context, clause: Clause, verb: Token) -> Speaker | None:
    """The words right after an inverted verb of saying, up to the next punctuation:
    "», précise Météo-France." when the parse did not give them a relation."""
    inverted = [c for c in verb.children if c.i > verb.i and not clause.in_quote(c)
                and c.dep_ in ("obj", "nsubj", "nsubj:pass", "appos")]
    # The words right after the verb ("», juge Thomas Husson, analyste"), whatever
    # relation the parse gave them; past a comma ("», précise, dans un communiqué, le
    # ministre"), the inverted subject's phrase.
    start = verb.i + 1
    if inverted and (start >= len(clause.doc) or clause.doc[start].is_punct):
        start = inverted[0].left_edge.i
    words = _without_addressee(ctx, clause, _phrase(clause, start), verb)
    if inverted:  # "l'avocate de X, Y": the parse's phrase may run past the comma
        words += [t for t in inverted[0].subtree if t.i > start and not clause.in_quote(t)
                  and t.dep_ != "acl:relcl" and t.head.dep_ != "acl:relcl"]
    if not words:
        return None
    last = max(words, key=lambda t: t.i)
    lo, hi = clause.offset(words[0]), clause.offset(last) + len(last)
    if any(fold(t.text) in CHANNELS for t in words[:3]):
        # "», souligne l'arrêt", "», précise le communiqué de la préfecture": a document
        # never speaks; its author does, when the phrase names one.
        named = ctx.named_in(lo, hi)
        return Speaker(named[0], "parse-channel") if named else Speaker(None, VETO)
    found = subject_in(ctx, lo, hi) or _place_subject(ctx, lo, hi)
    if found is not None and found.how == "unnamed":
        # "», confiait la fille d'une patiente": no one named, unless the name follows in
        # apposition ("», a réagi la présidente de l'association, Maud Lefebvre")
        return _apposition(ctx, clause, last) or Speaker(None, VETO)
    if (found is None or found.entity is None) and _determined(words[0]):
        # "», a regretté son secrétaire général, Noureddine Taboubi": the role's name
        # stands in apposition after the comma.
        found = _apposition(ctx, clause, last) or found
        if found is None or found.entity is None:
            # A role the article does not tie to a name ("», ajoute le politique
            # letton"): not the subject of the sentence before, perhaps the speaker
            # of the quotation before, which the rules of speakers.py judge.
            return Speaker(None, UNRESOLVED)
    if (found is None or found.entity is None) and (
            (inverted and _indefinite(inverted[0]))
            or any(t.text.lower() in INDEFINITE for t in words[:3])):
        # "», résume une admiratrice", "», déplorait lundi une principale": someone unnamed
        return Speaker(None, VETO)
    return Speaker(found.entity, f"parse-{found.how}") if found else None


def _without_addressee(ctx: Context, clause: Clause, words: list[Token],
                       verb: Token) -> list[Token]:
    """The words after the verb less its prepositional phrases: whom or where it was said
    to ("», a indiqué à l'AFP une source", "», a déclaré sur RTL le ministre") never
    speaks. A phrase counts only with its preposition, which the parse rarely invents.
    The name its head belongs to goes with it, whole ("sur France | Info"); another name
    the parse hung under it stays ("», prédit à Lyon Hugo Ferrier")."""
    out = words
    for phrase in verb.children:
        if not phrase.dep_.startswith("obl") or not any(
                g.dep_ == "case" and g.i < phrase.i for g in phrase.children):
            continue
        head = clause.offset(phrase)
        name = next(((s, e) for s, e, _ in ctx.mentions if s <= head < e), (head, head + 1))

        def other_name(t: Token, name: tuple[int, int] = name) -> bool:
            o = clause.offset(t)
            return not name[0] <= o < name[1] and any(s <= o < e for s, e, _ in ctx.mentions)

        # "», résumait à la sortie une spectatrice": a noun phrase without a preposition
        # of its own, hung under the phrase, is the inverted subject.
        kept = {t.i for c in phrase.subtree if c.i > phrase.i and _bare_noun_phrase(c)
                for t in c.subtree}
        gone = {t.i for t in phrase.subtree if not other_name(t) and t.i not in kept}
        out = [t for t in out if t.i not in gone and not name[0] <= clause.offset(t) < name[1]]
    return out


def _bare_noun_phrase(tok: Token) -> bool:
    """A noun opened by a determiner and no preposition ("une spectatrice"). The parser
    runs without a tagger: the relations say what a word is."""
    children = list(tok.children)
    return tok.dep_ in ("nmod", "appos", "nsubj", "obj") \
        and not any(c.dep_ == "case" for c in children) \
        and any(c.dep_ == "det" and c.i < tok.i for c in children)


# The incise names someone by a role the article does not tie to a name.
UNRESOLVED = "parse-unresolved"


def _phrase(clause: Clause, start: int) -> list[Token]:
    """The tokens from `start` up to the next punctuation or the quotation."""
    words = []
    for tok in clause.doc[start:]:
        if tok.is_punct or clause.in_quote(tok):
            break
        words.append(tok)
    return words


# Determiners that open a role ("son secrétaire général", "le ministre").
ROLE_DETERMINERS = {"le", "la", "l'", "l’", "les", "son", "sa", "ses", "leur", "leurs"}


def _determined(tok: Token) -> bool:
    return tok.text.lower() in ROLE_DETERMINERS


def _apposition(ctx: Context, clause: Clause, last: Token) -> Speaker | None:
    """A named person right after the comma that closes a role phrase, up to the next
    punctuation."""
    comma = last.i + 1
    if comma >= len(clause.doc) or clause.doc[comma].text != ",":
        return None
    words = _phrase(clause, comma + 1)
    if not words:
        return None
    found = subject_in(ctx, clause.offset(words[0]), clause.offset(words[-1]) + len(words[-1]))
    if found is None or found.entity is None or found.entity.label != "PER" \
            or found.how != "named":
        return None
    return found


INDEFINITE = ("un", "une", "des")


def _indefinite(tok: Token) -> bool:
    """A noun phrase opened by "un", "une", "des": no one the article names."""
    return any(c.dep_ == "det" and c.text.lower() in INDEFINITE and c.i < tok.i
               for c in tok.children)


def _selon(clause: Clause) -> Token | None:
    """The source of "selon X", "d'après X" outside the quotation, in its sentence."""
    for tok in clause.doc:
        # When the quotation opens its sentence, all that comes before it is the sentence
        # before, whose "selon" is about that sentence (the parse's own sentence
        # boundaries are not reliable enough to tell).
        if clause.in_quote(tok) or (clause.follows and tok.idx < clause.quote[0]):
            continue
        cases = {fold(c.text) for c in tok.children if c.dep_ == "case"}
        cases |= {"d'apres" for c in tok.children if c.dep_ in ("case", "fixed") and c.i
                  and fold(c.text) == "apres" and fold(tok.doc[c.i - 1].text) in ("d'", "d’")}
        if cases & {"selon", "d'apres"} and tok.dep_ != "nmod":
            return tok  # "selon X" about the clause, not "la conception selon X"
        if "pour" in cases and tok.left_edge.i <= 1 and tok.idx < clause.quote[0]:
            return tok  # "Pour le vice-amiral X, la cyberattaque est « … »"
    return None


def _region(tok: Token, clause: Clause) -> tuple[int, int]:
    """Article offsets of a subject's noun phrase, without its relative clauses."""
    kept = [tok]
    for child in tok.children:
        if child.dep_ in ("acl:relcl", "acl", "punct") or clause.in_quote(child):
            continue
        kept.extend(t for t in child.subtree if not clause.in_quote(t))
    lo = min(kept, key=lambda t: t.idx)
    hi = max(kept, key=lambda t: t.idx + len(t.text))
    start = clause.offset(lo)
    return start, clause.offset(hi) + len(hi.text)


def _authors(channel: Token, clause: Clause) -> list[Token]:
    """Who speaks through a channel: a name set beside it ("Dans un entretien au Monde,
    X assure" parsed as one phrase), its complement ("un communiqué de la préfecture"),
    the agent of its participle ("un texte publié par la mairie")."""
    found = []
    for dep in ("appos", "nmod"):
        found += [c for c in channel.children if c.dep_ == dep and not clause.in_quote(c)]
    for acl in (c for c in channel.children if c.dep_ == "acl"):
        found += [c for c in acl.children if c.dep_ == "obl:agent"]
    return found


def _who(ctx: Context, clause: Clause, tok: Token, span: QuoteSpan) -> Speaker | None:
    word = tok.text.lower().lstrip("-")
    word = word[2:] if word.startswith("t-") else word
    before = min(span.start, clause.offset(tok))
    if word in PRONOUNS:
        who = _previous_subject(ctx, clause, span, PRONOUNS[word])
        if who is UNNAMED_ROLE:
            return Speaker(None, VETO)
        who = who or ctx.last_person(before, PRONOUNS[word])
        return Speaker(who, "parse-pronoun") if who else Speaker(None, "parse-pronoun")
    if word in NOBODY:
        return Speaker(None, "parse-nobody")
    if fold(tok.text) in CHANNELS:  # "un communiqué de la préfecture": its author
        named = [subject_in(ctx, *_region(a, clause)) for a in _authors(tok, clause)]
        named = [n for n in named if n and n.entity]
        # A channel with no author named ("Le communiqué final promet que Kiev pourra
        # rejoindre l'OTAN « … »"): whoever wrote it, not a name the sentence holds.
        return named[0] if named else Speaker(None, VETO)
    lo, hi = _region(tok, clause)
    found = subject_in(ctx, lo, hi)
    if (found is None or found.entity is None) and ROLE_SUBJECT.match(ctx.text[lo:hi]):
        beside = _named_beside(ctx, lo, hi)
        if beside is not None:
            return Speaker(beside, "parse-beside")
    if found is None:
        return _place_subject(ctx, lo, hi)
    if found.how == "role" and found.entity is not None and any(
            lo - 3 <= m.end <= lo for m in found.entity.mentions):
        # "…de sa fille Sharone, l'octogénaire décrit": the rules read the role as
        # Sharone's apposition, the parse as the subject of its own verb: someone else.
        return Speaker(None, VETO)
    return Speaker(found.entity, f"parse-{found.how}")


# What may stand before a place that is a whole subject: "la Maison-Blanche", "le Kremlin".
ARTICLE = re.compile(r"^(?:(?:le|la|les|l[’'])\s*)?$", re.I)


def _place_subject(ctx: Context, lo: int, hi: int) -> Speaker | None:
    """A place that is the whole subject of a speech verb speaks for its government
    ("Moscou a dénoncé", "le Kremlin a déclaré : « … »"); a place inside a longer
    subject ("un habitant de Gaza") is not who speaks."""
    for start, end, place in ctx.places:
        if lo <= start and end <= hi and ARTICLE.match(ctx.text[lo:start]) \
                and not ctx.text[end:hi].strip():
            return Speaker(place, "parse-place")
    return None


def from_parse(ctx: Context, span: QuoteSpan, clause: Clause | None,
               forms=None) -> Speaker | None:
    """The speaker the parse gives a quotation; None when the parse decides nothing."""
    if clause is None:
        return None
    for verb, how in _speech_verbs(clause, forms):
        subject = _subject(verb, clause)
        pronoun = subject is not None and subject.text.startswith("-")
        if how == "incise" and not pronoun and (subject is None or subject.i > verb.i):
            # "», estime le ministre de X": the inverted subject, which the parse often
            # takes for an object, is the noun phrase after the verb.
            found = _words_after(ctx, clause, verb)
        elif how == "colon" and subject is not None and subject.text.lower() in PRONOUNS:
            # "Il a fait silence sur … : « … »" names no speech: a named subject only
            found = None
        else:
            found = _who(ctx, clause, subject, span) if subject is not None else None
        if found is not None:
            return None if found.how == UNRESOLVED else found
    source = _selon(clause)
    if source is not None:
        return _who(ctx, clause, source, span)
    if clause.follows:
        return _topic(ctx, clause, span)
    return None


# The subject of the sentence before is a role the article does not tie to a name.
UNNAMED_ROLE = CanonicalEntity(label="PER", name="", key="", aliases=(), mentions=())
# Offices held by one person, whose holder a later "il"/"elle" stands for.
OFFICES = {fold(w) for w in (
    "ministre", "président", "présidente", "maire", "juge", "procureur", "procureure",
    "avocat", "avocate", "directeur", "directrice", "porte-parole", "chef", "secrétaire",
    "député", "députée", "sénateur", "sénatrice", "patron", "patronne", "entraîneur",
    "entraîneuse", "sélectionneur", "commissaire", "préfet", "préfète", "gouverneur",
    "gouverneure", "ambassadeur", "ambassadrice", "bourgmestre", "échevin", "échevine",
    "dirigeant", "dirigeante", "capitaine", "général", "colonel", "pdg", "président-directeur",
    "chancelier", "chancelière", "roi", "reine", "pape", "évêque", "recteur", "rectrice",
    "doyen", "doyenne", "adjoint", "adjointe", "conseiller", "conseillère", "élu", "élue")}


def _named_beside(ctx: Context, lo: int, hi: int) -> CanonicalEntity | None:
    """A person's name set beside a role by a comma ("Marc Lenoir, le maire de la
    commune,", "Le directeur du festival, Olivier Kessler, s'en est félicité"), which the
    parse may leave out of the subject: the role is that person's. Not a name completing
    a noun before it ("le discours de Martine Aubry, le Premier ministre …")."""
    for start, end, e in ctx.mentions:
        if e.label == "PER" and not complement(ctx.text, start) and (
                (0 <= lo - end <= 3 and ctx.text[end:lo].strip() == ",")
                or (0 <= start - hi <= 3 and ctx.text[hi:start].strip() == ",")):
            return e
    return None


def _office(subject: str) -> bool:
    """'le Premier ministre', 'la juge d'instruction': a definite office, no name."""
    role = ROLE_SUBJECT.match(subject)
    return bool(role) and any(fold(w) in OFFICES for w in re.split(r"[\s’']+", subject)[:4])


def _previous_subject(ctx: Context, clause: Clause, span: QuoteSpan, gender: str
                      ) -> CanonicalEntity | None:
    """"Le maire a balayé ces critiques. « … », a-t-il ajouté": the pronoun stands for
    the subject of the sentence before, when it names a person of its gender."""
    if not clause.follows:
        return None
    first = next(clause.doc.sents)
    subjects = [c for c in first.root.children if c.dep_ == "nsubj"]
    if not subjects or subjects[0].text.lower() in PRONOUNS or clause.in_quote(first.root):
        return None
    lo, hi = _region(subjects[0], clause)
    found = subject_in(ctx, lo, hi)
    if (found is None or found.entity is None) and _office(ctx.text[lo:hi]) \
            and not _named_beside(ctx, lo, hi):
        # "Le Premier ministre a défendu sa méthode. « … », dit-il": the pronoun is that
        # role's holder, whom the article does not name here; not the last name read.
        return UNNAMED_ROLE
    if found is None or found.entity is None or found.entity.label != "PER":
        return None
    return found.entity if ctx.genders.get(found.entity.key) in (None, gender) else None


def _topic(ctx: Context, clause: Clause, span: QuoteSpan) -> Speaker | None:
    """« … » with no attribution, right after a sentence of the same paragraph whose
    subject is a named person or organisation ("X a ouvert un nouveau chapitre. « … »"):
    that subject. A pronoun or a role there is too weak to name anyone."""
    first = next(clause.doc.sents)
    if clause.in_quote(first.root) or first.end > len(clause.doc):
        return None
    if attributed_after(ctx.text, span.end):
        return None  # "« … », selon X": its own attribution, which the rules read
    subjects = [c for c in first.root.children if c.dep_ == "nsubj" and not clause.in_quote(c)]
    if not subjects:
        return None
    found = _who(ctx, clause, subjects[0], span)
    if found is None or found.entity is None or not found.how.endswith("named"):
        return None
    return Speaker(found.entity, "parse-topic")


def reader(clauses: list[Clause | None], forms=None
           ) -> Callable[[Context, int, QuoteSpan], Speaker | None]:
    """The per-quotation hook speakers.attribute calls with each quotation's index."""
    def read(ctx: Context, i: int, span: QuoteSpan) -> Speaker | None:
        return from_parse(ctx, span, clauses[i], forms)
    return read
