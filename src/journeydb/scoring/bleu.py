"""Corpus BLEU-1..4 exactly as pycocoevalcap 1.2 computes it (`Bleu(4)`, effective reference length "closest").

Definition (aesthetics.md §5): per image, clipped n-gram matches against the maximum count over its references,
"guesses" max(0, c - n + 1), and the reference length closest to the candidate's (the shorter one on ties); all
summed over the corpus; Bleu_k = (prod_{j<=k} (M_j + 1e-15) / (G_j + 1e-9)) ** (1/k), times the brevity penalty
exp(1 - R/C) (with the same epsilons) when C < R. The final float arithmetic is the toolkit's, operation for
operation; the counts are integers, so the result is bit-identical.
"""

from __future__ import annotations

import math

import numpy as np

from .caption_corpus import CaptionCorpus, NGramTable
from .sorted_runs import offsets

_TINY = 1e-15  # the toolkit's names: added to the numerator ("so that if guess is 0 still return 0")
_SMALL = 1e-9  # added to the denominator


def bleu_statistics(corpus: CaptionCorpus, tables: list[NGramTable]) -> dict[str, object]:
    """The corpus sums BLEU is made of: `correct` and `guess` per order, `testlen`, `reflen` (integers)."""
    candidate_lengths = corpus.lengths[corpus.candidate_of_image]
    correct, guess = [], []
    for table in tables:
        # clipped counts: the candidate's count, capped by the highest count among the group's references
        reference_counts = table.count[table.matched_reference]
        if len(reference_counts):
            highest = np.maximum.reduceat(reference_counts, offsets(table.matched_references))
            correct.append(int(np.minimum(table.count[table.matched_candidate], highest).sum()))
        else:
            correct.append(0)
        guess.append(int(np.maximum(candidate_lengths - table.order + 1, 0).sum()))
    return {
        "correct": correct,
        "guess": guess,
        "testlen": int(candidate_lengths.sum()),
        "reflen": int(_closest_reference_lengths(corpus).sum()),
    }


def _closest_reference_lengths(corpus: CaptionCorpus) -> np.ndarray:
    """Per image, the reference length closest to the candidate's; the shorter on ties (min over (|d|, len))."""
    references = corpus.reference_sentences
    reference_lengths = corpus.lengths[references]
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


def corpus_bleu(corpus: CaptionCorpus, tables: list[NGramTable]) -> list[float]:
    """Bleu_1..Bleu_4 of the corpus (pycocoevalcap's `Bleu(4).compute_score(...)[0]`)."""
    return bleu_from_statistics(bleu_statistics(corpus, tables), max_order=len(tables))
