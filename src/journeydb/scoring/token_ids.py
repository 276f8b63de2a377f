"""Dense integer ids for the whitespace tokens (`str.split()`) of a corpus of sentences.

Ids are numbered in order of first occurrence, so they do not depend on which of the two paths computed them:

- `_ids_from_arrow`, the fast path: the sentences become one Arrow string array, split on the space and
  dictionary-encoded in Arrow's C++ kernels (its hash table compares the bytes, so equal ids mean equal tokens),
  with no Python object per token. It applies when no sentence holds whitespace other than the ASCII space
  (tokenised captions never do) and every sentence is valid UTF-8 (no lone surrogates).
- `_ids_from_dict`, the general path: `str.split()` and a dict.

The fast path's peak is ~30 bytes a token beside its output (200k prompts and their predictions, 4.4M tokens:
~130 MB), against ~70 for the former numpy hashing of the joined bytes; `benchmarks/scale.py` measures it in the
CLI's peak RSS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

# every character `str.split()` splits on, but the space; tests/test_token_ids.py checks this against Python
OTHER_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_OTHER_WHITESPACE_PATTERN = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in OTHER_WHITESPACE) + "]"  # RE2 syntax
_MAX_UTF8_BYTES_PER_CHAR = 4


@dataclass(frozen=True)
class TokenIds:
    """The tokens of `S` sentences: sentence `s` is `ids[starts[s]:starts[s] + lengths[s]]`."""

    ids: np.ndarray  # (T,) integers (int32 where they fit), 0 .. vocab_size - 1 in order of first occurrence
    lengths: np.ndarray  # (S,) int64 tokens per sentence
    vocab_size: int
    space_split_differs: np.ndarray  # (S,) bool: `sentence.split(" ")` gives other tokens than `sentence.split()`
    vocabulary: tuple[str, ...] | None  # id -> token; the fast path leaves it None unless a sentence differs


def token_ids(sentences: Sequence[str]) -> TokenIds:
    """Token ids of `sentences` (a list of str), from the fast path where it applies, else from the dict path."""
    fast = _ids_from_arrow(sentences)
    return fast if fast is not None else _ids_from_dict(sentences)


def _ids_from_dict(sentences: Sequence[str]) -> TokenIds:
    split = [sentence.split() for sentence in sentences]
    lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    first_seen: dict[str, int] = {}
    ids = np.fromiter(
        (first_seen.setdefault(token, len(first_seen)) for tokens in split for token in tokens),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    differs = np.fromiter(
        (sentence.split(" ") != tokens for sentence, tokens in zip(sentences, split)), dtype=bool, count=len(split)
    )
    return TokenIds(ids, lengths, len(first_seen), differs, tuple(first_seen))


def _ids_from_arrow(sentences: Sequence[str]) -> TokenIds | None:
    """The Arrow path (see the module docstring), or None where it does not apply."""
    import pyarrow as pa
    import pyarrow.compute as pc

    num_sentences = len(sentences)
    if num_sentences == 0:
        return None
    # 32-bit offsets where the UTF-8 bytes surely fit: the split's per-token offsets are much of the memory
    wide = sum(map(len, sentences)) * _MAX_UTF8_BYTES_PER_CHAR >= 2**31 - 1
    try:
        text = pa.array(sentences, type=pa.large_string() if wide else pa.string())
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8
        return None
    if pc.any(pc.match_substring_regex(text, _OTHER_WHITESPACE_PATTERN)).as_py():
        return None

    # `split(" ")`'s pieces; `split()` drops the empty ones, and a sentence differs exactly where it has one
    pieces = pc.split_pattern(text, " ")
    del text
    piece_offsets = np.asarray(pieces.offsets, dtype=np.int64)
    values = pieces.values
    del pieces
    empty = np.asarray(pc.equal(pc.binary_length(values), 0), dtype=bool)
    empty_at = np.flatnonzero(empty)
    lengths = np.diff(piece_offsets)
    differs = np.zeros(num_sentences, dtype=bool)
    if len(empty_at):
        empties = np.bincount(np.searchsorted(piece_offsets, empty_at, side="right") - 1, minlength=num_sentences)
        lengths -= empties
        differs = empties > 0
        values = values.filter(pa.array(~empty))
    del empty, empty_at, piece_offsets
    if len(values) == 0:
        return TokenIds(np.zeros(0, np.int64), lengths, 0, differs, ())

    ids, dictionary = first_occurrence_ids(values)
    del values
    vocabulary = tuple(dictionary.to_pylist()) if differs.any() else None  # ROUGE looks those sentences up
    return TokenIds(ids, lengths, len(dictionary), differs, vocabulary)


def first_occurrence_ids(values: "pa.Array | pa.ChunkedArray") -> "tuple[np.ndarray, pa.Array]":
    """Dense ids of an Arrow array's values, numbered in order of first occurrence, and the distinct values in that
    order (`dictionary[ids[i]] == values[i]`), from Arrow's hash table: no Python object per value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):  # one dictionary for all, not one a chunk
        values = values.combine_chunks()
    if values.null_count:
        raise ValueError(f"{values.null_count} null values: ids are for present values only")
    encoded = pc.dictionary_encode(values)
    ids = np.asarray(encoded.indices)
    dictionary = encoded.dictionary
    order = _first_occurrence_order(ids, len(dictionary))
    if order is not None:  # Arrow numbers in order of insertion; this keeps the ids right if it ever did not
        ids = order[ids]
        dictionary = dictionary.take(pa.array(np.argsort(order)))
    return ids, dictionary


def _first_occurrence_order(ids: np.ndarray, vocab_size: int) -> np.ndarray | None:
    """None when `ids` are numbered in order of first occurrence, else the renumbering (old id -> new id) that
    makes them so."""
    if len(ids) == 0:
        return None
    running_max = np.maximum.accumulate(ids)
    if ids[0] == 0 and (ids[1:] <= running_max[:-1] + 1).all():
        return None
    _, first_position = np.unique(ids, return_index=True)
    renumber = np.empty(vocab_size, dtype=ids.dtype)
    renumber[np.argsort(first_position)] = np.arange(vocab_size, dtype=ids.dtype)
    return renumber
