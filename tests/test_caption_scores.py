"""`score_captions`: the output contract, input checks, tokenisation order and Similarity."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from journeydb.scoring.caption import SCORE_KEYS, score_captions
from journeydb.scoring.similarity import similarity_per_sample

GOLDEN = json.loads((Path(__file__).parent / "data" / "caption_goldens.json").read_text(encoding="utf-8"))
FAST = {"meteor": False, "similarity_model": None}


@pytest.fixture(scope="module")
def sentence_model():
    from journeydb.models.sentence_model import load_sentence_model

    return load_sentence_model()  # the offline all-MiniLM-L6-v2 package


def test_golden_example_through_score_captions():
    scores = score_captions(GOLDEN["predictions"], GOLDEN["references"], **FAST)
    assert tuple(scores) == SCORE_KEYS
    for key in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider"):
        assert scores[key] == pytest.approx(GOLDEN["scores"][key], abs=1e-9), key
    assert scores["meteor"] is None and scores["similarity"] is None and scores["num_samples"] == 3


def test_single_reference_string_equals_one_element_list():
    as_strings = score_captions(GOLDEN["predictions"], GOLDEN["references"], **FAST)
    as_lists = score_captions(GOLDEN["predictions"], [[r] for r in GOLDEN["references"]], **FAST)
    assert as_strings == as_lists


def test_references_are_tokenised_before_predictions(monkeypatch):
    from journeydb.scoring import caption as caption_module

    calls = []
    real = caption_module.tokenize_corpus

    def spy(texts, mode="python"):
        calls.append(list(texts))
        return real(texts, mode=mode)

    monkeypatch.setattr(caption_module, "tokenize_corpus", spy)
    score_captions(["p1", "p2"], [["r1", "r2"], "r3"], **FAST)
    assert calls == [["r1", "r2", "r3"], ["p1", "p2"]]


def test_empty_prediction_is_legal():
    scores = score_captions(["", "a red cat"], ["a cat", "a red cat"], **FAST)
    assert scores["num_samples"] == 2 and 0 < scores["bleu_1"] < 1


def test_one_sample_corpus_cider_zero_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="journeydb.scoring.caption"):
        scores = score_captions(["a cat on a mat"], ["a cat on a red mat"], **FAST)
    assert scores["cider"] == 0.0
    assert "CIDEr is 0 for a one-sample corpus" in caplog.text


@pytest.mark.parametrize(
    "predictions,references,error,match",
    [
        ([], [], ValueError, "empty corpus"),
        (["a"], ["a", "b"], ValueError, "1 predictions but 2 references"),
        (["a", None], ["a", "b"], TypeError, "prediction 1 is a NoneType"),
        (["a", 3], ["a", "b"], TypeError, "prediction 1 is a int"),
        (["a", "b"], ["a", None], TypeError, "reference 1 is a NoneType"),
        (["a", "b"], ["a", ["b", 7]], TypeError, r"reference 1\[1\] is a int"),
        (["a", "b"], ["a", []], ValueError, "reference 1 is an empty list"),
        ("a b", ["a b"], TypeError, "predictions must be a list"),
        (None, ["a"], TypeError, "predictions must be a list"),
    ],
)
def test_bad_input(predictions, references, error, match):
    with pytest.raises(error, match=match):
        score_captions(predictions, references, **FAST)


def test_bad_options():
    with pytest.raises(ValueError, match="tokenizer must be"):
        score_captions(["a"], ["a"], tokenizer="spacy", **FAST)
    with pytest.raises(ValueError, match="batch_size"):
        score_captions(["a"], ["a"], batch_size=0, **FAST)


def test_similarity_is_the_mean_cosine(sentence_model):
    predictions = ["a cat on a mat", "a castle at night", ""]
    references = [["a cat sitting on a red mat"], ["a dark castle, night", "a dog"], ["something"]]
    per_sample = similarity_per_sample(predictions, references, sentence_model, batch_size=2)
    embed = sentence_model.encode
    expected = []
    for prediction, refs in zip(predictions, references):
        p = embed([prediction])[0]
        cosines = [float(np.dot(p, r) / np.linalg.norm(p) / np.linalg.norm(r)) for r in embed(refs)]
        expected.append(np.mean(cosines))
    assert per_sample == pytest.approx(expected, abs=1e-5)
    scores = score_captions(predictions, references, meteor=False, similarity_model=sentence_model, batch_size=2)
    assert scores["similarity"] == pytest.approx(np.mean(expected), abs=1e-5)
    identical = score_captions(["a cat"], ["a cat"], meteor=False, similarity_model=sentence_model)
    assert identical["similarity"] == pytest.approx(1.0, abs=1e-5)


def test_similarity_model_from_a_missing_path():
    with pytest.raises(FileNotFoundError, match="not a local folder"):
        score_captions(["a"], ["a"], meteor=False, similarity_model="/no/such/model")
