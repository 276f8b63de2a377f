"""METEOR 1.5 (the jar inside pycocoevalcap): the golden number of aesthetics.md section 5 and the toolkit's wrapper."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from journeydb.scoring import caption as caption_module
from journeydb.scoring.meteor import meteor_corpora, meteor_unavailable_reason
from journeydb.scoring.tokenize import tokenize_corpus

from test_caption_parity import random_corpus

GOLDEN = json.loads((Path(__file__).parent / "data" / "caption_goldens.json").read_text(encoding="utf-8"))
needs_java = pytest.mark.skipif(meteor_unavailable_reason() is not None, reason=str(meteor_unavailable_reason()))


@pytest.fixture(scope="module")
def corpora():
    golden = (tokenize_corpus(GOLDEN["predictions"]), [[r] for r in tokenize_corpus(GOLDEN["references"])])
    candidates, references = random_corpus(11, 12, 3, vocab=8)
    candidates[0] = "a |||  b"  # the toolkit strips ||| and double spaces from hypotheses
    return golden, (candidates, references)


@pytest.fixture(scope="module")
def ours(corpora):
    return meteor_corpora(list(corpora))  # one JVM for both corpora


@pytest.mark.java
@needs_java
def test_golden_meteor(ours):
    assert ours[0].score == pytest.approx(GOLDEN["scores"]["meteor"], abs=1e-12)
    assert ours[0].per_segment == pytest.approx(GOLDEN["per_image"]["meteor"], abs=1e-5)


@pytest.mark.java
@needs_java
def test_random_corpus_matches_pycocoevalcap_meteor(corpora, ours):
    from pycocoevalcap.meteor.meteor import Meteor

    candidates, references = corpora[1]
    scorer = Meteor()
    try:
        score, per_image = scorer.compute_score(dict(enumerate(references)),
                                                {i: [c] for i, c in enumerate(candidates)})
    finally:
        del scorer
    assert ours[1].score == pytest.approx(score, abs=1e-12)
    assert ours[1].per_segment == pytest.approx(per_image, abs=1e-12)


def test_meteor_is_none_with_a_reason_without_java(monkeypatch, caplog):
    monkeypatch.setattr(caption_module, "meteor_unavailable_reason", lambda: "`java` was not found on the PATH")
    with caplog.at_level(logging.WARNING, logger="journeydb.scoring.caption"):
        scores = caption_module.score_captions(["a b c", "d e"], ["a b c", "d f"]).corpus
    assert scores["meteor"] is None
    assert "METEOR not computed: `java` was not found" in caplog.text


def test_meteor_input_errors():
    if meteor_unavailable_reason() is not None:
        pytest.skip("no java")
    with pytest.raises(ValueError, match="corpus 0, item 1: no references"):
        meteor_corpora([(["a", "b"], [["a"], []])])
    with pytest.raises(ValueError, match="line break"):
        meteor_corpora([(["a\nb"], [["a"]])])
