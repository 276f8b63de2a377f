"""CIDEr-D exactly as pycocoevalcap 1.2 computes it (`Cider(n=4, sigma=6.0)`), vectorised over the whole corpus.

Definition (aesthetics.md §5): document frequencies come from the references of the corpus being scored (df(g) =
number of images whose references contain g); each sentence's n-grams of order n are weighted
tf * (ln N - ln max(1, df)); per reference and order, the clipped dot product sum_g min(w_c, w_r) * w_r is divided
by both norms (when neither is 0) and multiplied by exp(-delta^2 / (2 sigma^2)), delta being the difference of the
bigram counts; an image scores 10 * mean over orders of the sum over references / number of references, and the
corpus the mean over images. With N = 1 every weight is 0, so the score is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .caption_corpus import CaptionCorpus, NGramTable

SIGMA = 6.0


@dataclass(frozen=True)
class CiderContext:
    """What every order of CIDEr-D shares: the document count and each reference's image, candidate and penalty."""

    ref_len: float  # ln N
    references: np.ndarray  # (R,) sentence index of each reference
    candidate_of_reference: np.ndarray  # (R,) sentence index of its image's candidate
    penalty: np.ndarray  # (R,) exp(-delta^2 / (2 sigma^2)), delta the difference of the bigram counts


def cider_d_context(corpus: CaptionCorpus, sigma: float = SIGMA) -> CiderContext:
    references = corpus.reference_sentences
    reference_image = corpus.sentence_image[references]
    # the candidate's and each reference's bigram count ("length" in the toolkit)
    bigrams = np.maximum(corpus.lengths - 1, 0)
    delta = (bigrams[corpus.candidate_of_image][reference_image] - bigrams[references]).astype(np.float64)
    return CiderContext(
        ref_len=np.log(float(corpus.num_images)),
        references=references,
        candidate_of_reference=corpus.candidate_of_image[reference_image],
        penalty=np.e ** (-(delta**2) / (2 * sigma**2)),
    )


def cider_d_order(corpus: CaptionCorpus, table: NGramTable, context: CiderContext) -> np.ndarray:
    """(R,) each reference's penalised, normalised clipped dot product with its candidate at the table's order."""
    num_sentences, ref_len, references = corpus.num_sentences, context.ref_len, context.references
    # df: images whose references hold the n-gram = (n-gram, image) groups with a reference entry
    has_reference = table.group_size > table.group_candidate
    df = np.bincount(table.gram[table.group_starts[np.flatnonzero(has_reference)]], minlength=table.num_grams)
    idf = ref_len - np.log(np.maximum(1.0, df.astype(np.float64)))
    # in place, one corpus-long float array at a time (products commute exactly, so the values are the same)
    weight = idf[table.gram]
    weight *= table.count
    # clipped dot products, over the reference entries of the groups that hold the candidate too
    candidate_weight = np.repeat(weight[table.matched_candidate], table.matched_references)
    reference_weight = weight[table.matched_reference]
    weight *= weight  # the squared weights from here on
    # an n-gram found once in the corpus has tf = 1 and df <= 1: weight ln N, and no partner to match
    norm_squared = np.bincount(table.sentence, weights=weight, minlength=num_sentences)
    del weight
    norm = np.sqrt(norm_squared + table.singletons * (ref_len * ref_len))
    clipped = np.minimum(candidate_weight, reference_weight)
    clipped *= reference_weight
    value = np.bincount(
        table.sentence[table.matched_reference], weights=clipped, minlength=num_sentences
    )[references].astype(np.float64)  # bincount of nothing is int64
    candidate_norm = norm[context.candidate_of_reference]
    reference_norm = norm[references]
    divide = (candidate_norm != 0) & (reference_norm != 0)
    value[divide] /= candidate_norm[divide] * reference_norm[divide]
    return value * context.penalty


def cider_d_from_orders(corpus: CaptionCorpus, orders: Sequence[np.ndarray]) -> np.ndarray:
    """The per-image CIDEr-D from `cider_d_order` of orders 1..n, in order."""
    per_reference = np.zeros((len(corpus.reference_sentences), len(orders)))
    for n, column in enumerate(orders):
        per_reference[:, n] = column
    summed = np.add.reduceat(per_reference, corpus.first_reference, axis=0)
    return summed.mean(axis=1) / corpus.references_per_image * 10.0


def cider_d_per_image(corpus: CaptionCorpus, tables: Iterable[NGramTable], sigma: float = SIGMA) -> np.ndarray:
    """The CIDEr-D score of every image (pycocoevalcap's `Cider().compute_score(...)[1]`)."""
    context = cider_d_context(corpus, sigma)
    return cider_d_from_orders(corpus, [cider_d_order(corpus, table, context) for table in tables])


def corpus_cider_d(corpus: CaptionCorpus, tables: Iterable[NGramTable], sigma: float = SIGMA) -> float:
    """Corpus CIDEr-D: the mean of the per-image scores (pycocoevalcap's `Cider().compute_score(...)[0]`)."""
    return float(np.mean(cider_d_per_image(corpus, tables, sigma)))
