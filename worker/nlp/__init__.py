"""French NLP: named entities (spaCy), amounts, percentages, dates and quotations (rules)."""

from worker.nlp.annotate import Annotations, annotate

__all__ = ["Annotations", "annotate"]
