"""ROUGE-L exactly as pycocoevalcap 1.2 computes it (`Rouge()`, beta = 1.2), with a bit-parallel LCS.

Definition (aesthetics.md §5): tokens from splitting on a single space; per reference, l = LCS length, P = l/|c|,
R = l/|r|; P_max and R_max are taken independently over the references; the image scores
(1 + beta^2) P_max R_max / (R_max + beta^2 P_max) when both are non-zero, else 0; the corpus the mean over images.

The LCS length uses the bit-vector recurrence of Allison & Dix / Hyyrö (one machine word per 64 reference tokens):
V starts all ones; for each candidate token a, U = V & match(a), V = (V + U) | (V - U); the LCS length is the
number of zero bits among the reference's positions. It is exact, and runs for all (candidate, reference) pairs of
the corpus at once. The final float arithmetic is the toolkit's, operation for operation.
"""

from __future__ import annotations

import numpy as np

from .caption_corpus import CaptionCorpus

BETA = 1.2
_WORD = 64
_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
PAIRS_PER_BLOCK = 32768  # (candidate, reference) pairs whose LCS is computed together


def lcs_lengths(corpus: CaptionCorpus) -> np.ndarray:
    """LCS length of every (candidate, reference) pair, in reference-sentence order (space-split tokens)."""
    references = corpus.reference_sentences
    candidates = corpus.candidate_of_image[corpus.sentence_image[references]]
    lengths, starts, tokens = corpus.rouge_lengths, corpus.rouge_starts, corpus.rouge_token_ids
    words = np.maximum((lengths[references] + _WORD - 1) // _WORD, 1)
    result = np.zeros(len(references), dtype=np.int64)
    for num_words in np.unique(words):
        # pairs are independent: blocks of them bound the per-token working arrays, whatever the corpus size
        same_words = np.flatnonzero(words == num_words)
        for block in range(0, len(same_words), PAIRS_PER_BLOCK):
            pairs = same_words[block : block + PAIRS_PER_BLOCK]
            result[pairs] = _lcs_words(
                starts[references[pairs]], lengths[references[pairs]], starts[candidates[pairs]],
                lengths[candidates[pairs]], tokens, corpus.vocab_size, int(num_words),
            )
    return result


def _occurrences(starts: np.ndarray, lengths: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, ...]:
    """(pair, offset, token) of every token of the given sentences, pair-major."""
    itype = np.int32 if len(tokens) < 2**31 - 1 else np.int64
    pair = np.repeat(np.arange(len(lengths), dtype=itype), lengths)
    offset = np.arange(len(pair), dtype=itype)
    offset -= np.repeat((np.cumsum(lengths) - lengths).astype(itype), lengths)
    return pair, offset, tokens[np.repeat(starts.astype(itype), lengths) + offset]


def _lcs_words(ref_starts, ref_lengths, cand_starts, cand_lengths, tokens, vocab_size, num_words) -> np.ndarray:
    """Bit-parallel LCS for pairs whose references need `num_words` 64-bit words (pair = candidate, reference)."""
    num_pairs = len(ref_lengths)
    r_pair, r_pos, r_tok = _occurrences(ref_starts, ref_lengths, tokens)
    c_pair, c_pos, c_tok = _occurrences(cand_starts, cand_lengths, tokens)
    vocab = vocab_size + 1
    # match mask of every candidate token: the reference positions holding the same token, word by word
    ref_key = r_pair.astype(np.int64) * vocab + r_tok
    order = np.argsort(ref_key, kind="stable")  # pair-major already: a cheap sort
    ref_key, r_pos = ref_key[order], r_pos[order]
    run_first = _run_starts(ref_key)
    unique_key = ref_key[run_first]
    cand_key = c_pair.astype(np.int64) * vocab + c_tok
    where = np.searchsorted(unique_key, cand_key)
    found = where < len(unique_key)
    found[found] = unique_key[where[found]] == cand_key[found]
    masks = np.zeros((len(cand_key), num_words), dtype=np.uint64)
    for w in range(num_words):
        bits = np.where(r_pos // _WORD == w, _ONE << (r_pos % _WORD).astype(np.uint64), np.uint64(0))
        word_mask = np.bitwise_or.reduceat(bits, run_first) if len(bits) else bits
        masks[found, w] = word_mask[where[found]]
    # walk the candidates position by position; with pairs sorted by candidate length (longest first), the pairs
    # still running at step t are a prefix, so the work is the total candidate length, not pairs x longest
    cand_len = cand_lengths
    cand_first = np.cumsum(cand_len) - cand_len
    by_length = np.argsort(-cand_len, kind="stable")
    sorted_len = cand_len[by_length]
    sorted_first = cand_first[by_length]
    state = np.full((num_pairs, num_words), _ALL, dtype=np.uint64)
    descending = -sorted_len
    for step in range(int(sorted_len[0]) if num_pairs else 0):
        running = int(np.searchsorted(descending, -step, side="left"))  # pairs with length > step
        if num_words == 1:  # the common case: no carry between words
            active = state[:running, 0]
            match = active & masks[sorted_first[:running] + step, 0]
            state[:running, 0] = (active + match) | (active ^ match)
            continue
        active = state[:running]
        match = active & masks[sorted_first[:running] + step]
        # V + U with the carry rippling across words (low word first); V - U == V ^ U since U is a subset of V
        carry = np.zeros(running, dtype=np.uint64)
        total = np.empty_like(active)
        for w in range(num_words):
            partial = active[:, w] + match[:, w]
            overflow = partial < active[:, w]
            total[:, w] = partial + carry
            carry = (overflow | (total[:, w] < partial)).astype(np.uint64)
        state[:running] = total | (active ^ match)
    lcs = np.empty(num_pairs, dtype=np.int64)
    lengths = ref_lengths[by_length]
    ones = np.zeros(num_pairs, dtype=np.int64)
    for w in range(num_words):
        valid_bits = np.clip(lengths - w * _WORD, 0, _WORD).astype(np.uint64)
        valid = np.where(valid_bits >= _WORD, _ALL, (_ONE << np.minimum(valid_bits, 63)) - _ONE)
        ones += np.bitwise_count(state[:, w] & valid).astype(np.int64)
    lcs[by_length] = lengths - ones
    return lcs


def _run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))


def rouge_l_per_image(corpus: CaptionCorpus, beta: float = BETA) -> np.ndarray:
    """ROUGE-L of every image (pycocoevalcap's `Rouge().compute_score(...)[1]`)."""
    lcs = lcs_lengths(corpus)
    references = corpus.reference_sentences
    candidate_length = corpus.rouge_lengths[corpus.candidate_of_image][corpus.sentence_image[references]]
    prec = lcs / candidate_length.astype(np.float64)
    rec = lcs / corpus.rouge_lengths[references].astype(np.float64)
    first_reference = corpus.first_reference
    prec_max = np.maximum.reduceat(prec, first_reference)
    rec_max = np.maximum.reduceat(rec, first_reference)
    score = np.zeros(corpus.num_images)
    ok = (prec_max != 0) & (rec_max != 0)
    p, r = prec_max[ok], rec_max[ok]
    score[ok] = ((1 + beta**2) * p * r) / (r + beta**2 * p)
    return score


def corpus_rouge_l(corpus: CaptionCorpus, beta: float = BETA) -> float:
    """Corpus ROUGE-L: the mean over images (pycocoevalcap's `Rouge().compute_score(...)[0]`)."""
    return float(np.mean(rouge_l_per_image(corpus, beta)))
