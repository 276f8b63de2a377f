"""`score_captions`: the output contract (corpus and per-sample), input checks, tokenisation order and Similarity."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from journeydb.models.sentence_model import encode_sentences, make_sentence_embedder
from journeydb.scoring.caption import SCORE_KEYS, score_captions
from journeydb.scoring.similarity import distinct_texts, similarity_per_sample

GOLDEN = json.loads((Path(__file__).parent / "data" / "caption_goldens.json").read_text(encoding="utf-8"))
FAST = {"meteor": False}  # and no embedder: no Similarity


@pytest.fixture(scope="module")
def sentence_model():
    from journeydb.models.sentence_model import load_sentence_model

    return load_sentence_model()  # the offline all-MiniLM-L6-v2 package


def test_golden_example_through_score_captions():
    scores = score_captions(GOLDEN["predictions"], GOLDEN["references"], **FAST).corpus
    assert tuple(scores) == SCORE_KEYS
    for key in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider"):
        assert scores[key] == pytest.approx(GOLDEN["scores"][key], abs=1e-9), key
    assert scores["meteor"] is None and scores["similarity"] is None and scores["num_samples"] == 3


def test_single_reference_string_equals_one_element_list():
    as_strings = score_captions(GOLDEN["predictions"], GOLDEN["references"], **FAST).corpus
    as_lists = score_captions(GOLDEN["predictions"], [[r] for r in GOLDEN["references"]], **FAST).corpus
    assert as_strings == as_lists


def test_references_are_tokenised_before_predictions(monkeypatch):
    from journeydb.scoring import caption as caption_module

    calls = []
    real = caption_module.tokenize_corpora

    def spy(corpora, mode="python"):
        calls.extend(list(texts) for texts in corpora)
        return real(corpora, mode=mode)

    monkeypatch.setattr(caption_module, "tokenize_corpora", spy)
    score_captions(["p1", "p2"], [["r1", "r2"], "r3"], **FAST)
    assert calls == [["r1", "r2", "r3"], ["p1", "p2"]]


def test_empty_prediction_is_legal():
    scores = score_captions(["", "a red cat"], ["a cat", "a red cat"], **FAST).corpus
    assert scores["num_samples"] == 2 and 0 < scores["bleu_1"] < 1


def test_one_sample_corpus_cider_zero_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="journeydb.scoring.caption"):
        scores = score_captions(["a cat on a mat"], ["a cat on a red mat"], **FAST).corpus
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
    with pytest.raises(TypeError, match="embed must be a function"):
        score_captions(["a"], ["a"], embed="default", **FAST)
    with pytest.raises(ValueError, match="batch_size"):
        make_sentence_embedder(batch_size=0)


def test_per_sample_values_come_with_the_corpus_scores():
    scored = score_captions(GOLDEN["predictions"], GOLDEN["references"], **FAST)
    assert list(scored.per_sample) == ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider"]
    for values in scored.per_sample.values():
        assert values.shape == (3,)
    # ROUGE-L and CIDEr-D are means over samples; BLEU's corpus score pools the counts instead
    assert np.mean(scored.per_sample["rouge_l"]) == pytest.approx(scored.corpus["rouge_l"], abs=1e-12)
    assert np.mean(scored.per_sample["cider"]) == pytest.approx(scored.corpus["cider"], abs=1e-12)


def _separate_encodings_similarity(predictions, references, model, batch_size):
    """Similarity as the package computed it before embeddings were shared: predictions and references encoded in
    two separate runs, every occurrence of a text encoded again."""
    flat = [r for refs in references for r in refs]
    counts = np.array([len(refs) for refs in references])
    p = encode_sentences(predictions, model, batch_size=batch_size).astype(np.float64)
    r = encode_sentences(flat, model, batch_size=batch_size).astype(np.float64)
    sample = np.repeat(np.arange(len(predictions)), counts)
    return np.bincount(sample, weights=np.einsum("ij,ij->i", p[sample], r), minlength=len(predictions)) / counts


def test_similarity_is_the_mean_cosine(sentence_model):
    predictions = ["a cat on a mat", "a castle at night", "", "a cat on a mat"]
    references = [["a cat sitting on a red mat"], ["a dark castle, night", "a dog"], ["something"], ["a cat on a mat"]]
    per_sample = similarity_per_sample(predictions, references, make_sentence_embedder(sentence_model, batch_size=2))
    embed = sentence_model.encode
    expected = []
    for prediction, refs in zip(predictions, references):
        p = embed([prediction])[0]
        cosines = [float(np.dot(p, r) / np.linalg.norm(p) / np.linalg.norm(r)) for r in embed(refs)]
        expected.append(np.mean(cosines))
    assert per_sample == pytest.approx(expected, abs=1e-5)
    assert per_sample[3] == pytest.approx(1.0, abs=1e-6)
    scored = score_captions(predictions, references, meteor=False, embed=make_sentence_embedder(sentence_model))
    assert scored.corpus["similarity"] == pytest.approx(np.mean(expected), abs=1e-5)
    assert scored.corpus["similarity"] == float(np.mean(scored.per_sample["similarity"]))


def test_similarity_equals_separate_encodings(sentence_model):
    # sharing one embedding per distinct text changes only how texts are batched (float32 rounding, ~1e-7)
    predictions = [f"a {c} cat on a mat" for c in ("red", "blue", "red", "green", "red")] + ["", "x"]
    references = [["a cat"], ["a blue cat", "a red cat on a mat"], ["a cat"], ["a green dog"], ["a red cat"],
                  ["nothing"], ["a red cat on a mat", "x"]]
    before = _separate_encodings_similarity(predictions, references, sentence_model, batch_size=32)
    embedder = make_sentence_embedder(sentence_model, batch_size=3)
    after = score_captions(predictions, references, meteor=False, embed=embedder).per_sample["similarity"]
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-6)


def test_every_distinct_text_is_embedded_once(sentence_model):
    calls = []
    real = make_sentence_embedder(sentence_model)

    def counting(texts):
        calls.append(list(texts))
        return real(texts)

    predictions = ["a cat", "a dog", "a cat"]
    references = [["a dog", "a cat"], ["a bird"], ["a cat"]]
    score_captions(predictions, references, meteor=False, embed=counting)
    assert calls == [["a cat", "a dog", "a bird"]]
    texts = distinct_texts(predictions, references)
    assert texts.prediction_rows.tolist() == [0, 1, 0]
    assert texts.reference_rows.tolist() == [1, 0, 2, 0]


class _RecordingEncoder:
    """A stand-in sentence model: 2-d unit vectors from the text length; records the batches it is given."""

    def __init__(self):
        self.batches = []

    def encode(self, texts, batch_size, **kwargs):
        self.batches.append(list(texts))
        angles = np.array([len(t) for t in texts], dtype=np.float64)
        return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def test_embedder_batches_by_length_and_keeps_row_order():
    encoder = _RecordingEncoder()
    embed = make_sentence_embedder(encoder, batch_size=2)
    texts = ["bb", "a", "dddd", "ccc", "ee"]
    rows = embed(texts)
    assert encoder.batches == [["dddd", "ccc"], ["bb", "ee"], ["a"]]  # longest first, ties in input order
    lengths = np.array([len(t) for t in texts], dtype=np.float64)
    np.testing.assert_allclose(rows, np.stack([np.cos(lengths), np.sin(lengths)], axis=1), atol=1e-6)
    assert embed([]).shape[0] == 0


@pytest.mark.parametrize(
    "embedding,match",
    [
        (lambda texts: np.ones((len(texts) + 1, 2)), "shape"),
        (lambda texts: np.full((len(texts), 2), np.nan), "row 0 .* not finite"),
        (lambda texts: np.array([[1.0, 0.0]] + [[2.0, 0.0]] * (len(texts) - 1)), "row 1 .* norm 2"),
    ],
)
def test_bad_embeddings_name_the_row(embedding, match):
    with pytest.raises(ValueError, match=match):
        score_captions(["a", "b"], ["a", "b"], meteor=False, embed=embedding)


def test_similarity_model_from_a_missing_path():
    with pytest.raises(FileNotFoundError, match="not a local folder"):
        make_sentence_embedder("/no/such/model")
