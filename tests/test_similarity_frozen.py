"""Similarity on the mini-release equals the numbers frozen before the embedder's batching changed (to 1e-6), the
sentence embedder has its own batch size, and every distinct text is embedded exactly once."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import journeydb
from journeydb.cli.evaluate import add_scoring_arguments, scoring_options
from journeydb.evaluation.score import ScoringOptions, score_text_task
from journeydb.evaluation.tasks import load_references
from journeydb.models.sentence_model import DEFAULT_EMBED_BATCH_SIZE, make_sentence_embedder

# computed with main at 8206455 (model batch size 8/32, before --similarity-batch-size): each validation sample's
# prediction is the next sample's (first) reference
FROZEN = {
    "prompt_inversion": (
        0.631918335331732,
        [0.4187992618, 0.3132501662, 0.5445155988, 0.2943371823, 1.0000000964, 0.9967407419, 0.4740139586,
         0.5867632327, 1.0000001228, 0.4470386861, 0.5060543868, 1.0000001904, 0.550639785, 0.9999998893,
         0.4521958703, 0.5263441959],
    ),
    "caption": (
        0.7053565265752064,
        [0.3783452979, 1.0000000882, 1.0000000882, 0.4327194803, 0.6164616778, 1.0000001629, 0.4398861174,
         0.5509643046, 1.0000000335, 0.7354073307, 1.0000000496, 0.4585382702, 0.5573119441],
    ),
}


def _rotated(refs) -> list[str]:
    n = len(refs.references)
    return [_texts(refs.references[(i + 1) % n])[0] for i in range(n)]


def _texts(reference) -> list[str]:
    return [reference] if isinstance(reference, str) else list(reference)


@pytest.fixture(scope="module")
def options():
    return ScoringOptions(meteor=False)  # the default model, similarity_batch_size 128


@pytest.mark.parametrize("task", sorted(FROZEN))
def test_similarity_equals_the_frozen_mini_release_numbers(task, options):
    refs = load_references(task, journeydb.sample_dir(), "validation")
    score = score_text_task(refs, _rotated(refs), options, None)
    corpus, per_sample = FROZEN[task]
    assert score.scores["similarity"] == pytest.approx(corpus, abs=1e-6)
    assert score.per_sample["Similarity per sample"] == pytest.approx(per_sample, abs=1e-6)
    assert score.samples["similarity"] == score.per_sample["Similarity per sample"]  # one embedding pass
    assert score.scores["similarity"] == pytest.approx(np.mean(per_sample), abs=1e-6)


class CountingModel:
    """A stand-in sentence model: records each batch it encodes."""

    def __init__(self):
        self.batches: list[list[str]] = []

    def encode(self, texts, batch_size, **kwargs):
        self.batches.append(list(texts))
        rows = np.array([[1.0 + t.count("a"), 1.0 + t.count("e"), 1.0 + len(t)] for t in texts])
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_each_distinct_prediction_and_reference_is_embedded_exactly_once_in_length_sorted_batches():
    model = CountingModel()
    options = ScoringOptions(similarity_model=model, meteor=False, similarity_batch_size=2)
    refs = load_references("prompt_inversion", journeydb.sample_dir(), "validation")
    predictions = _rotated(refs)[:-3] + ["a cat", "a cat", _texts(refs.references[0])[0]]
    score_text_task(refs, predictions, options, None)
    embedded = [text for batch in model.batches for text in batch]
    distinct = {*predictions, *(text for reference in refs.references for text in _texts(reference))}
    assert len(embedded) == len(distinct) and set(embedded) == distinct
    assert all(len(batch) <= 2 for batch in model.batches)
    lengths = [len(text) for text in embedded]
    assert lengths == sorted(lengths, reverse=True)


def test_the_similarity_batch_size_is_its_own_option():
    parser = argparse.ArgumentParser()
    add_scoring_arguments(parser)
    defaults = scoring_options(parser.parse_args([]))
    assert defaults.similarity_batch_size == DEFAULT_EMBED_BATCH_SIZE == 128 and defaults.batch_size == 8
    assert scoring_options(parser.parse_args(["--similarity-batch-size", "16"])).similarity_batch_size == 16
    with pytest.raises(ValueError, match="similarity-batch-size"):
        scoring_options(parser.parse_args(["--similarity-batch-size", "0"]))
    model = CountingModel()
    make_sentence_embedder(model, batch_size=3)(["a", "bb", "ccc", "dddd"])
    assert [len(b) for b in model.batches] == [3, 1]
