"""A tokenised caption corpus as integer arrays, and its n-gram tables: the shared input of BLEU, ROUGE-L and CIDEr-D.

pycocoevalcap walks Python dicts per image; here the corpus is encoded once into flat numpy arrays and every metric
is a handful of vectorised passes over them. The layout is image-major: image `i`'s candidate sentence, then its
references, so that position order is (image, sentence) order.

Token lists follow the toolkit exactly: BLEU and CIDEr split on any whitespace (`str.split()`), ROUGE-L on a single
space (`str.split(" ")`, so an empty sentence is one empty token). On PTB-tokenised text the two agree except for
empty strings and tokens holding a no-break space; those sentences get their own ROUGE token ids.

N-grams are grouped corpus-wide by sorting. An n-gram that occurs once in the whole corpus (a "singleton", most
3- and 4-grams) can match nothing and has df <= 1, so the metrics only need to know how many each sentence has; the
tables list the repeated ones. Since an n-gram is the pair of its two overlapping (n-1)-grams, only positions whose
two (n-1)-grams both repeat need sorting at order n, which keeps the high orders cheap. Sorting is one numpy value
sort of `n-gram << bits | position` keys, stable by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Iterator, Sequence

import numpy as np

from .sorted_runs import offsets, position_bits, run_lengths, sort_by_key
from .token_ids import TokenIds, token_ids

MAX_ORDER = 4


@dataclass(frozen=True)
class CaptionCorpus:
    """Candidates and references of `num_images` images as integer token ids (see the module docstring).

    Sentence `s` covers `token_ids[starts[s]:starts[s] + lengths[s]]`; `rouge_*` are the same for space-split tokens.
    """

    num_images: int
    sentence_image: np.ndarray  # (S,) image of each sentence
    is_candidate: np.ndarray  # (S,) True for the one candidate sentence of each image
    candidate_of_image: np.ndarray  # (N,) sentence index of each image's candidate
    references_per_image: np.ndarray  # (N,) number of references, >= 1
    lengths: np.ndarray  # (S,) whitespace token counts
    starts: np.ndarray  # (S,) offsets into token_ids
    token_ids: np.ndarray  # (T,) integer ids (int32 where they fit), 0 .. vocab_size - 1
    vocab_size: int
    rouge_lengths: np.ndarray
    rouge_starts: np.ndarray
    rouge_token_ids: np.ndarray

    @property
    def num_sentences(self) -> int:
        return len(self.lengths)

    @property
    def reference_sentences(self) -> np.ndarray:
        return np.flatnonzero(~self.is_candidate)

    @property
    def first_reference(self) -> np.ndarray:
        """(N,) index, among the reference sentences, of each image's first reference."""
        return offsets(self.references_per_image)


def encode_corpus(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> CaptionCorpus:
    """Encode tokenised candidates (one per image) and their references (at least one per image) as token ids.

    Args:
        candidates (`Sequence[str]`): one tokenised sentence per image.
        references (`Sequence[Sequence[str]]`): the tokenised references of each image, in order.
    """
    num_images = len(candidates)
    references_per_image = np.fromiter(map(len, references), dtype=np.int64, count=num_images)
    sentences = _image_major(candidates, references, references_per_image)
    num_sentences = len(sentences)
    sentence_image = np.repeat(np.arange(num_images, dtype=np.int64), references_per_image + 1)
    candidate_of_image = offsets(references_per_image + 1)
    is_candidate = np.zeros(num_sentences, dtype=bool)
    is_candidate[candidate_of_image] = True

    tokens = token_ids(sentences)
    lengths, ids, vocab_size = tokens.lengths, tokens.ids, tokens.vocab_size
    starts = offsets(lengths)
    rouge_lengths, rouge_starts, rouge_token_ids, extra = lengths, starts, ids, 0
    if tokens.space_split_differs.any():
        rouge_lengths, rouge_token_ids, extra = _space_split_tokens(sentences, tokens, starts)
        rouge_starts = offsets(rouge_lengths)
    return CaptionCorpus(
        num_images=num_images,
        sentence_image=sentence_image,
        is_candidate=is_candidate,
        candidate_of_image=candidate_of_image,
        references_per_image=references_per_image,
        lengths=lengths,
        starts=starts,
        token_ids=ids,
        vocab_size=vocab_size + extra,
        rouge_lengths=rouge_lengths,
        rouge_starts=rouge_starts,
        rouge_token_ids=rouge_token_ids,
    )


def _image_major(
    candidates: Sequence[str], references: Sequence[Sequence[str]], references_per_image: np.ndarray
) -> list[str]:
    """Each image's candidate, then its references; with the same number of references everywhere (the usual
    case) by strided list assignment rather than a loop over the images."""
    if len(candidates) and (references_per_image == references_per_image[0]).all():
        stride = int(references_per_image[0]) + 1
        sentences: list[str] = [""] * (len(candidates) * stride)
        sentences[0::stride] = candidates
        flat = list(chain.from_iterable(references))
        for k in range(1, stride):
            sentences[k::stride] = flat[k - 1 :: stride - 1]
        return sentences
    return [sentence for candidate, refs in zip(candidates, references) for sentence in (candidate, *refs)]


def _space_split_tokens(
    sentences: Sequence[str], tokens: TokenIds, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """ROUGE-L's tokens (`split(" ")`) where they differ from `split()`'s: the sentences that differ are split
    again; tokens only `split(" ")` makes ("", "a\xa0b") get ids after the vocabulary, in order of appearance.
    Returns the lengths, the ids and the number of such extra tokens."""
    lookup = {token: i for i, token in enumerate(tokens.vocabulary or ())}
    extra: dict[str, int] = {}
    lengths = tokens.lengths.copy()
    pieces, copied = [], 0  # the other sentences' ids are copied in runs between the differing ones
    for s in np.flatnonzero(tokens.space_split_differs).tolist():
        split = sentences[s].split(" ")
        lengths[s] = len(split)
        pieces.append(tokens.ids[copied : starts[s]])
        pieces.append(np.array(
            [lookup[t] if t in lookup else extra.setdefault(t, tokens.vocab_size + len(extra)) for t in split],
            dtype=np.int64,
        ))
        copied = starts[s] + tokens.lengths[s]
    pieces.append(tokens.ids[copied:])
    return lengths, np.concatenate(pieces), len(extra)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated index ranges `starts[i] .. starts[i] + lengths[i] - 1`."""
    if len(lengths) and lengths.min() == lengths.max() == 1:
        return starts.copy()
    indices = np.arange(int(lengths.sum()), dtype=starts.dtype)
    indices += np.repeat(starts - offsets(lengths).astype(starts.dtype), lengths)
    return indices


@dataclass(frozen=True)
class NGramTable:
    """The repeated n-grams of one order: one entry per (sentence, n-gram), grouped by (n-gram, image).

    Entries of a group are contiguous and in sentence order, so the image's candidate, if it has the n-gram, comes
    first. `gram` ids are corpus-wide, `0 .. num_grams - 1`. A "matched" group holds the candidate and at least one
    reference: only those take part in BLEU's clipped counts and CIDEr-D's clipped products. `singletons[s]` counts
    the n-grams of sentence `s` that occur nowhere else in the corpus (and only once in `s`).
    """

    order: int
    sentence: np.ndarray  # (E,) sentence of each entry
    gram: np.ndarray  # (E,) n-gram id
    count: np.ndarray  # (E,) term frequency of the n-gram in the sentence
    group_starts: np.ndarray  # (G,) first entry of each group
    group_candidate: np.ndarray  # (G,) the group's first entry is the image's candidate
    group_size: np.ndarray  # (G,) entries in the group
    matched_candidate: np.ndarray  # (M,) the candidate entry of each matched group
    matched_references: np.ndarray  # (M,) reference entries in each matched group (they follow the candidate's)
    matched_reference: np.ndarray  # (R,) the reference entries of the matched groups, group by group
    num_grams: int
    singletons: np.ndarray  # (S,)


def ngram_tables(corpus: CaptionCorpus, max_order: int = MAX_ORDER) -> list[NGramTable]:
    """The n-gram tables of orders 1 .. `max_order` (at most 4) of the corpus's whitespace tokens."""
    return list(iter_ngram_tables(corpus, max_order))


def iter_ngram_tables(corpus: CaptionCorpus, max_order: int = MAX_ORDER) -> Iterator[NGramTable]:
    """`ngram_tables`, one order at a time: a consumer that scores each table and lets it go holds one table, not
    four (each is as long as the corpus)."""
    if not 1 <= max_order <= MAX_ORDER:
        raise ValueError(f"max_order must be in 1..{MAX_ORDER}, got {max_order}")
    total = len(corpus.token_ids)
    # 32-bit indices where they fit: these arrays are as long as the corpus, and memory traffic is the cost
    itype = np.int32 if max(total, corpus.num_sentences, corpus.vocab_size) < 2**31 - 1 else np.int64
    sentence_of_token = np.repeat(np.arange(corpus.num_sentences, dtype=itype), corpus.lengths)
    remaining = np.repeat((corpus.starts + corpus.lengths).astype(itype), corpus.lengths)  # sentence end
    remaining -= np.arange(total, dtype=itype)
    # tokens left in the sentence, from each position; only `remaining >= order` is asked, so one byte holds it
    remaining = np.minimum(remaining, max_order).astype(np.uint8)
    tokens = corpus.token_ids.astype(itype, copy=False)
    sentence_image = corpus.sentence_image.astype(itype)
    vocab = max(corpus.vocab_size, 1)
    bits = position_bits(total)

    positions = np.arange(total, dtype=itype)  # order 1: every position, keyed by its token
    keys = tokens.astype(np.uint64)
    key_space = vocab  # keys are below this
    for order in range(1, max_order + 1):
        if order > 1:
            # extend each repeated (n-1)-gram by its next token. An n-gram can repeat only where the (n-1)-gram one
            # position later repeats too; `following` is the token `order - 1` after each position, or -1 where
            # there is none or that test fails (shifted slices, then one gather)
            later_repeats = np.zeros(total + 1, dtype=bool)
            later_repeats[positions] = True
            span = max(total - order + 1, 0)
            extendable = remaining[:span] >= order
            extendable &= later_repeats[1 : span + 1]
            del later_repeats
            following = np.full(total, -1, dtype=itype)
            np.copyto(following[:span], tokens[order - 1 :], where=extendable)
            del extendable
            following = following[positions]
            has_next = following >= 0
            positions = positions[has_next]
            keys = gram[has_next].astype(np.uint64)
            keys *= np.uint64(vocab)
            keys += following[has_next].astype(np.uint64)
            del has_next, following
            key_space = num_grams * vocab
        positions, keys = sort_by_key(positions, keys, key_space, bits)
        new_gram = np.empty(len(keys), dtype=bool)
        new_gram[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=new_gram[1:])
        del keys
        # drop the n-grams seen once
        run_first = np.flatnonzero(new_gram)
        run_size = run_lengths(run_first, len(new_gram))
        repeated = np.repeat(run_size > 1, run_size)
        positions, new_gram = positions[repeated], new_gram[repeated]
        del run_first, run_size, repeated
        gram = np.cumsum(new_gram, dtype=itype)
        gram -= 1
        num_grams = int(gram[-1]) + 1 if len(gram) else 0
        yield _table(corpus, order, sentence_of_token[positions], sentence_image, gram, new_gram, max(num_grams, 1))
        del new_gram


def _table(
    corpus: CaptionCorpus,
    order: int,
    sentence: np.ndarray,
    sentence_image: np.ndarray,
    gram: np.ndarray,
    new_gram: np.ndarray,
    num_grams: int,
) -> NGramTable:
    """Collapse the occurrences of repeated n-grams, sorted by (n-gram, position), into (sentence, n-gram) entries
    with counts, grouped by (n-gram, image)."""
    image = sentence_image[sentence]
    new_group = new_gram.copy()
    new_group[1:] |= image[1:] != image[:-1]
    del image
    new_entry = new_group.copy()
    new_entry[1:] |= sentence[1:] != sentence[:-1]
    # the table's indices in the corpus's index type (32-bit where they fit): tables are as long as the corpus
    itype = sentence.dtype
    entry_first = np.flatnonzero(new_entry).astype(itype)
    del new_entry
    entry_sentence = sentence[entry_first]
    group_starts = np.flatnonzero(new_group[entry_first]).astype(itype)  # group starts are entry starts
    del new_group
    group_size = run_lengths(group_starts, len(entry_first))
    group_candidate = corpus.is_candidate[entry_sentence[group_starts]]
    # integer indices: a boolean mask this sparse and irregular makes numpy's masked gathers branch-bound
    matched = np.flatnonzero(group_candidate & (group_size > 1))
    matched_candidate = group_starts[matched]
    matched_references = group_size[matched] - 1
    windows = np.maximum(corpus.lengths - order + 1, 0)
    return NGramTable(
        order=order,
        sentence=entry_sentence,
        gram=gram[entry_first],
        count=run_lengths(entry_first, len(sentence)),
        group_starts=group_starts,
        group_candidate=group_candidate,
        group_size=group_size,
        matched_candidate=matched_candidate,
        matched_references=matched_references,
        matched_reference=_ranges(matched_candidate + 1, matched_references),  # often all 1: one reference each
        num_grams=num_grams,
        singletons=windows - np.bincount(sentence, minlength=corpus.num_sentences),
    )
