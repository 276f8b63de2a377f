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
two (n-1)-grams both repeat need sorting at order n, which keeps the high orders cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import count
from typing import Sequence

import numpy as np

MAX_ORDER = 4
_OTHER_WHITESPACE = re.compile(r"[^\S ]")


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
    token_ids: np.ndarray  # (T,) int64 ids, 0 .. vocab_size - 1
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
        return _starts(self.references_per_image)


def encode_corpus(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> CaptionCorpus:
    """Encode tokenised candidates (one per image) and their references (at least one per image) as token ids.

    Args:
        candidates (`Sequence[str]`): one tokenised sentence per image.
        references (`Sequence[Sequence[str]]`): the tokenised references of each image, in order.
    """
    num_images = len(candidates)
    references_per_image = np.fromiter((len(refs) for refs in references), dtype=np.int64, count=num_images)
    sentences: list[str] = []
    for candidate, refs in zip(candidates, references):
        sentences.append(candidate)
        sentences.extend(refs)
    num_sentences = len(sentences)
    sentence_image = np.repeat(np.arange(num_images, dtype=np.int64), references_per_image + 1)
    candidate_of_image = _starts(references_per_image + 1)
    is_candidate = np.zeros(num_sentences, dtype=bool)
    is_candidate[candidate_of_image] = True

    # one split of the whole corpus, sentences separated by a token that occurs in none of them
    separator = _absent_character(sentences)
    joined = f" {separator} ".join(sentences)
    tokens = joined.split()
    other_whitespace = _OTHER_WHITESPACE.search(joined) is not None
    del joined
    num_tokens = len(tokens)
    first_seen: dict[str, int] = {}  # token -> position of its first occurrence
    first = np.fromiter(map(first_seen.setdefault, tokens, count()), dtype=np.int64, count=num_tokens)
    del tokens
    is_first = first == np.arange(num_tokens)
    separator_first = first_seen.pop(separator, -1)
    if separator_first >= 0:
        is_first[separator_first] = False
    rank = np.cumsum(is_first, dtype=np.int64) - 1  # dense ids in order of first occurrence
    if separator_first >= 0:
        is_separator = first == separator_first
        boundaries = np.flatnonzero(is_separator)
        ids = rank[first[~is_separator]]
        lengths = np.diff(np.concatenate(([-1], boundaries, [num_tokens]))) - 1
    else:
        ids = rank[first]
        lengths = np.array([num_tokens] * num_sentences, dtype=np.int64)  # 0 or 1 sentence
    vocab_size = int(is_first.sum())
    starts = _starts(lengths)

    # ROUGE-L splits on " ", which differs from split() unless the sentence is non-empty single-space-joined tokens
    spaces = np.fromiter((s.count(" ") for s in sentences), dtype=np.int64, count=num_sentences)
    odd = lengths != spaces + 1
    extra: dict[str, int] = {}  # tokens that only split(" ") produces ("", "a\xa0b"), numbered -1, -2, ...
    if other_whitespace:
        for s, sentence in enumerate(sentences):
            if not odd[s] and _OTHER_WHITESPACE.search(sentence):
                odd[s] = True
    if not odd.any():
        rouge_lengths, rouge_starts, rouge_token_ids = lengths, starts, ids
    else:
        pieces = []
        for s in range(num_sentences):
            if odd[s]:
                space_split = sentences[s].split(" ")
                pieces.append(np.array([_rouge_id(t, first_seen, rank, extra) for t in space_split], np.int64))
            else:
                pieces.append(ids[starts[s] : starts[s] + lengths[s]])
        rouge_lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=num_sentences)
        rouge_starts = _starts(rouge_lengths)
        rouge_token_ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        rouge_token_ids[rouge_token_ids < 0] = vocab_size - 1 - rouge_token_ids[rouge_token_ids < 0]
    return CaptionCorpus(
        num_images=num_images,
        sentence_image=sentence_image,
        is_candidate=is_candidate,
        candidate_of_image=candidate_of_image,
        references_per_image=references_per_image,
        lengths=lengths.astype(np.int64),
        starts=starts,
        token_ids=ids,
        vocab_size=vocab_size + len(extra),
        rouge_lengths=rouge_lengths,
        rouge_starts=rouge_starts,
        rouge_token_ids=rouge_token_ids,
    )


def _rouge_id(token: str, first_seen: dict[str, int], rank: np.ndarray, extra: dict[str, int]) -> int:
    """The id of a space-split token: its split() id, else a new one after all of those."""
    if token in first_seen:
        return int(rank[first_seen[token]])
    return extra.setdefault(token, -1 - len(extra))


def _absent_character(sentences: Sequence[str]) -> str:
    joined = "\n".join(sentences)
    for code in range(0xE000, 0xF900):  # private use area first: practically never in text
        if chr(code) not in joined:
            return chr(code)
    for code in range(0x21, 0x110000):
        if not chr(code).isspace() and chr(code) not in joined:
            return chr(code)
    raise ValueError("the corpus uses every Unicode character; cannot encode it")


def _starts(lengths: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    return starts


@dataclass(frozen=True)
class NGramTable:
    """The repeated n-grams of one order: one entry per (sentence, n-gram), grouped by (n-gram, image).

    Entries of a group are contiguous and in sentence order, so the image's candidate, if it has the n-gram, comes
    first. `gram` ids are corpus-wide, `0 .. num_grams - 1`. `singletons[s]` counts
    the n-grams of sentence `s` that occur nowhere else in the corpus (and only once in `s`).
    """

    order: int
    sentence: np.ndarray  # (E,) sentence of each entry
    is_candidate: np.ndarray  # (E,) the entry's sentence is a candidate
    gram: np.ndarray  # (E,) n-gram id
    count: np.ndarray  # (E,) term frequency of the n-gram in the sentence
    group: np.ndarray  # (E,) index of the entry's (n-gram, image) group, non-decreasing
    group_starts: np.ndarray  # (G,) first entry of each group
    group_candidate: np.ndarray  # (G,) the group's first entry is the image's candidate
    group_size: np.ndarray  # (G,) entries in the group
    num_grams: int
    singletons: np.ndarray  # (S,)


def ngram_tables(corpus: CaptionCorpus, max_order: int = MAX_ORDER) -> list[NGramTable]:
    """The n-gram tables of orders 1 .. `max_order` (at most 4) of the corpus's whitespace tokens."""
    if not 1 <= max_order <= MAX_ORDER:
        raise ValueError(f"max_order must be in 1..{MAX_ORDER}, got {max_order}")
    total = len(corpus.token_ids)
    # 32-bit indices where they fit: these arrays are as long as the corpus, and memory traffic is the cost
    itype = np.int32 if max(total, corpus.num_sentences, corpus.vocab_size) < 2**31 - 1 else np.int64
    sentence_of_token = np.repeat(np.arange(corpus.num_sentences, dtype=itype), corpus.lengths)
    remaining = np.repeat((corpus.starts + corpus.lengths).astype(itype), corpus.lengths)  # sentence end
    remaining -= np.arange(total, dtype=itype)
    tokens = corpus.token_ids.astype(itype)
    sentence_image = corpus.sentence_image.astype(itype)
    vocab = max(corpus.vocab_size, 1)

    # order 1: the positions of repeated tokens, sorted by (token, position)
    repeated_token = np.bincount(tokens, minlength=vocab) > 1
    if vocab <= 1 << 16:
        ordering = np.argsort(tokens.astype(np.uint16), kind="stable")  # a radix sort
    else:
        ordering = np.argsort(tokens, kind="stable")
    positions = ordering[repeated_token[tokens[ordering]]].astype(itype)
    del ordering
    keys = tokens[positions]
    tables = []
    for order in range(1, max_order + 1):
        if order > 1:
            # extend each repeated (n-1)-gram by its next token: the list is sorted by (n-1)-gram already, so
            # the keys are nearly sorted and timsort only orders the tokens within each run
            has_next = remaining[positions] >= order
            positions = positions[has_next]
            keys = gram[has_next].astype(np.int64)
            del has_next
            keys *= vocab
            keys += tokens[positions + (order - 1)]
            ordering = np.argsort(keys, kind="stable")
            positions = positions[ordering]
            keys = keys[ordering]
            del ordering
        new_gram = np.empty(len(keys), dtype=bool)
        new_gram[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=new_gram[1:])
        del keys
        if order > 1:  # drop the n-grams seen once (order 1 kept only repeated tokens already)
            run_first = np.flatnonzero(new_gram)
            run_size = np.diff(run_first, append=len(new_gram))
            repeated = np.repeat(run_size > 1, run_size)
            positions, new_gram = positions[repeated], new_gram[repeated]
            del run_first, run_size, repeated
        gram = np.cumsum(new_gram, dtype=itype)
        gram -= 1
        num_grams = int(gram[-1]) + 1 if len(gram) else 0
        tables.append(
            _table(corpus, order, sentence_of_token[positions], sentence_image, gram, new_gram, max(num_grams, 1))
        )
    return tables


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
    entry_first = np.flatnonzero(new_entry)
    del new_entry
    group = np.cumsum(new_group, dtype=sentence.dtype)[entry_first]
    group -= 1
    windows = np.maximum(corpus.lengths - order + 1, 0)
    entry_sentence = sentence[entry_first]
    is_candidate = corpus.is_candidate[entry_sentence]
    group_starts = _run_starts(group)
    return NGramTable(
        order=order,
        sentence=entry_sentence,
        is_candidate=is_candidate,
        gram=gram[entry_first],
        count=np.diff(entry_first, append=len(sentence)),
        group=group,
        group_starts=group_starts,
        group_candidate=is_candidate[group_starts],
        group_size=np.diff(group_starts, append=len(group)),
        num_grams=num_grams,
        singletons=windows - np.bincount(sentence, minlength=corpus.num_sentences),
    )


def _run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.empty(len(sorted_keys), dtype=bool)
    starts[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts[1:])
    return np.flatnonzero(starts)
