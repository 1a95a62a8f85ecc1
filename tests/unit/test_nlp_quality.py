"""Precision and recall of the NLP stage on hand-annotated French news texts.

The gold set (tests/fixtures/nlp_gold) was written for the tests; the rules were tuned
while looking at it. The held-out set (tests/fixtures/nlp_heldout) was written by someone
who never saw the code, and is only measured: it is the honest figure.
"""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES
from worker.nlp.evaluation import evaluate


@pytest.fixture(scope="module")
def gold_scores():
    scores, _ = evaluate(FIXTURES / "nlp_gold")
    return scores


@pytest.mark.parametrize("label", ["PER", "LOC", "ORG", "MONEY"])
def test_entities_and_money_meet_the_bar(gold_scores, label):
    score = gold_scores[label]
    assert score["recall"] >= 0.9, score
    assert score["precision"] >= 0.85, score


@pytest.mark.parametrize("label", ["PERCENT", "DATE", "QUOTE"])
def test_rules_for_percent_dates_and_quotes(gold_scores, label):
    score = gold_scores[label]
    assert score["recall"] >= 0.85 and score["precision"] >= 0.85, score


def test_gold_set_is_big_enough(gold_scores):
    assert len(list((FIXTURES / "nlp_gold").glob("*.json"))) >= 15
    assert gold_scores["PER"]["tp"] + gold_scores["PER"]["fn"] >= 40
