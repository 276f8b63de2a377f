"""BLEU-1..4 exactly as pycocoevalcap 1.2 computes it (`Bleu(4)`, effective reference length "closest"): corpus and
per image.

Definition (aesthetics.md §5): per image, clipped n-gram matches against the maximum count over its references,
"guesses" max(0, c - n + 1), and the reference length closest to the candidate's (the shorter one on ties); all
summed over the corpus; Bleu_k = (prod_{j<=k} (M_j + 1e-15) / (G_j + 1e-9)) ** (1/k), times the brevity penalty
exp(1 - R/C) (with the same epsilons) when C < R. The final float arithmetic is the toolkit's, operation for
operation; the counts are integers, so the result is bit-identical. Per image, the same formula on the image's own
counts and lengths gives the per-sentence scores the toolkit returns beside the corpus ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .caption_corpus import CaptionCorpus, NGramTable
from .sorted_runs import offsets

_TINY = 1e-15  # the toolkit's names: added to the numerator ("so that if guess is 0 still return 0")
_SMALL = 1e-9  # added to the denominator


@dataclass(frozen=True)
class BleuCounts:
    """The integers BLEU is made of, per image: what pycocoevalcap's BleuScorer keeps per sentence."""

    correct: np.ndarray  # (N, K) clipped n-gram matches of each order 1..K
    guess: np.ndarray  # (N, K) max(0, candidate length - n + 1)
    testlen: np.ndarray  # (N,) candidate length
    reflen: np.ndarray  # (N,) the reference length closest to the candidate's


def bleu_order(corpus: CaptionCorpus, table: NGramTable) -> tuple[np.ndarray, np.ndarray]:
    """(N,) clipped n-gram matches and (N,) guesses of each image at the table's order."""
    candidate_lengths = corpus.lengths[corpus.candidate_of_image].astype(np.int64)
    correct = np.zeros(corpus.num_images, dtype=np.int64)
    # clipped counts: the candidate's count, capped by the highest count among the group's references
    reference_counts = table.count[table.matched_reference]
    if len(reference_counts):
        highest = np.maximum.reduceat(reference_counts, offsets(table.matched_references))
        clipped = np.minimum(table.count[table.matched_candidate], highest)
        image = corpus.sentence_image[table.sentence[table.matched_candidate]]
        correct = np.bincount(image, weights=clipped, minlength=corpus.num_images).astype(np.int64)
    return correct, np.maximum(candidate_lengths - table.order + 1, 0)


def bleu_counts_from_orders(corpus: CaptionCorpus, orders: Sequence[tuple[np.ndarray, np.ndarray]]) -> BleuCounts:
    """`BleuCounts` from `bleu_order` of orders 1..K, in order."""
    shape = (corpus.num_images, len(orders))
    return BleuCounts(
        correct=np.stack([c for c, _ in orders], axis=1) if orders else np.zeros(shape, dtype=np.int64),
        guess=np.stack([g for _, g in orders], axis=1) if orders else np.zeros(shape, dtype=np.int64),
        testlen=corpus.lengths[corpus.candidate_of_image].astype(np.int64),
        reflen=_closest_reference_lengths(corpus),
    )


def bleu_counts(corpus: CaptionCorpus, tables: Iterable[NGramTable]) -> BleuCounts:
    """Per image and order, the clipped matches and guesses, and the candidate and effective reference lengths."""
    return bleu_counts_from_orders(corpus, [bleu_order(corpus, table) for table in tables])


def bleu_statistics(corpus: CaptionCorpus, tables: list[NGramTable]) -> dict[str, object]:
    """The corpus sums BLEU is made of: `correct` and `guess` per order, `testlen`, `reflen` (integers)."""
    return _corpus_sums(bleu_counts(corpus, tables))


def _corpus_sums(counts: BleuCounts) -> dict[str, object]:
    return {
        "correct": [int(c) for c in counts.correct.sum(axis=0)],
        "guess": [int(g) for g in counts.guess.sum(axis=0)],
        "testlen": int(counts.testlen.sum()),
        "reflen": int(counts.reflen.sum()),
    }


def _closest_reference_lengths(corpus: CaptionCorpus) -> np.ndarray:
    """Per image, the reference length closest to the candidate's; the shorter on ties (min over (|d|, len))."""
    references = corpus.reference_sentences
    reference_lengths = corpus.lengths[references].astype(np.int64)
    candidate_lengths = corpus.lengths[corpus.candidate_of_image][corpus.sentence_image[references]]
    scale = int(reference_lengths.max(initial=0)) + 1
    key = np.abs(reference_lengths - candidate_lengths) * scale + reference_lengths
    first_reference = corpus.first_reference
    return np.minimum.reduceat(key, first_reference) % scale


def bleu_from_statistics(stats: dict[str, object], max_order: int = 4) -> list[float]:
    """Bleu_1..Bleu_max_order from the corpus sums, with the toolkit's epsilons and brevity penalty."""
    correct, guess = stats["correct"], stats["guess"]
    bleus = []
    bleu = 1.0
    for k in range(max_order):
        bleu *= float(correct[k] + _TINY) / (guess[k] + _SMALL)
        bleus.append(bleu ** (1.0 / (k + 1)))
    ratio = (stats["testlen"] + _TINY) / (stats["reflen"] + _SMALL)
    if ratio < 1:
        bleus = [b * math.exp(1 - 1 / ratio) for b in bleus]
    return bleus


def bleu_per_image(counts: BleuCounts) -> np.ndarray:
    """(N, K): each image's own Bleu_1..Bleu_K from its own counts, as pycocoevalcap's `Bleu(4).compute_score`
    returns them second (the same epsilons; the brevity penalty from the image's own lengths)."""
    scores = np.empty(counts.correct.shape, dtype=np.float64)
    running = np.ones(len(counts.testlen), dtype=np.float64)
    for k in range(counts.correct.shape[1]):
        running *= (counts.correct[:, k] + _TINY) / (counts.guess[:, k] + _SMALL)
        scores[:, k] = running ** (1.0 / (k + 1))
    ratio = (counts.testlen + _TINY) / (counts.reflen + _SMALL)
    short = np.flatnonzero(ratio < 1)
    # math.exp, as the toolkit: numpy's vectorised exp may round the last bit differently
    penalty = np.array([math.exp(1 - 1 / r) for r in ratio[short].tolist()], dtype=np.float64)
    scores[short] *= penalty[:, None]
    return scores


def corpus_bleu(corpus: CaptionCorpus, tables: list[NGramTable]) -> list[float]:
    """Bleu_1..Bleu_4 of the corpus (pycocoevalcap's `Bleu(4).compute_score(...)[0]`)."""
    return bleu_from_statistics(bleu_statistics(corpus, tables), max_order=len(tables))


def bleu_scores(corpus: CaptionCorpus, tables: list[NGramTable]) -> tuple[list[float], np.ndarray]:
    """The corpus Bleu_1..Bleu_K and the (N, K) per-image scores, from one count of the n-gram matches."""
    return bleu_scores_from_counts(bleu_counts(corpus, tables))


def bleu_scores_from_counts(counts: BleuCounts) -> tuple[list[float], np.ndarray]:
    """The corpus Bleu_1..Bleu_K and the (N, K) per-image scores of `counts`."""
    return bleu_from_statistics(_corpus_sums(counts), max_order=counts.correct.shape[1]), bleu_per_image(counts)
