"""Dense integer ids for the whitespace tokens (`str.split()`) of a corpus of sentences.

Ids are numbered in order of first occurrence, so they do not depend on which of the two paths computed them:

- `_ids_from_bytes`, the fast path: the corpus is joined with newlines and encoded to UTF-8 once; token bounds,
  a 64-bit hash of every token (read 8 bytes at a time) and the grouping of equal hashes (one sort of
  hash-with-position keys) are all numpy passes, with no Python object per token. Equal hashes are then checked
  byte for byte, so a collision cannot merge two tokens: it sends the corpus to a sort of the full hashes, then to
  the dict path. It applies when no sentence holds whitespace other than the ASCII space (tokenised captions never do).
- `_ids_from_dict`, the general path: `str.split()` and a dict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .sorted_runs import position_bits, sort_by_key

logger = logging.getLogger(__name__)

# every character `str.split()` splits on, but the space; tests/test_token_ids.py checks this against Python
OTHER_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ASCII_OTHER_WHITESPACE = np.array([ord(c) for c in OTHER_WHITESPACE if ord(c) < 0x80], dtype=np.uint8)
# the UTF-8 forms of the others, as 16-bit (two-byte) and 24-bit (three-byte) integers
_WIDE_WHITESPACE = [c.encode() for c in OTHER_WHITESPACE if ord(c) >= 0x80]
_TWO_BYTE_WHITESPACE = np.array([int.from_bytes(w, "big") for w in _WIDE_WHITESPACE if len(w) == 2], np.uint32)
_THREE_BYTE_WHITESPACE = np.array([int.from_bytes(w, "big") for w in _WIDE_WHITESPACE if len(w) == 3], np.uint32)

_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants of the splitmix64 family
_MIXER = np.uint64(0xBF58476D1CE4E5B9)


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
    fast = _ids_from_bytes(sentences)
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


def _ids_from_bytes(sentences: Sequence[str]) -> TokenIds | None:
    """The vectorised path (see the module docstring), or None where it does not apply."""
    num_sentences = len(sentences)
    data = "\n".join(sentences).encode("utf-8", "surrogatepass")  # injective on str, lone surrogates included
    size = len(data)
    padded = data + bytes(8)  # 8-byte reads past the last token stay inside the buffer
    del data
    byte = np.frombuffer(padded, dtype=np.uint8)
    text = byte[:size]
    if _holds_other_whitespace(byte, size, num_sentences):
        return None

    # token bounds: the edges of runs of bytes that are neither a space nor the joining newline
    newline = text == 10
    in_token = np.zeros(size + 2, dtype=bool)
    np.not_equal(text, 32, out=in_token[1:-1])
    in_token[1:-1] &= ~newline
    edges = np.flatnonzero(in_token[1:] != in_token[:-1])  # alternately a token's start and its end
    del in_token
    itype = _index_type(size + 1)  # 32-bit offsets where they fit: the per-token arrays are the memory this costs
    edges = edges.astype(itype, copy=False)
    starts, ends = edges[0::2], edges[1::2]
    num_tokens = len(starts)
    newlines = np.flatnonzero(newline)
    del newline
    lengths = np.diff(np.concatenate(([0], np.searchsorted(starts, newlines), [num_tokens])))

    # `split(" ")` agrees with `split()` on a sentence iff it has exactly one space between tokens and none else;
    # every sentence has at least (tokens - 1) spaces, so the corpus total tells whether any sentence differs
    if np.count_nonzero(text == 32) == num_tokens - num_sentences:  # an empty sentence counts one too many
        differs = np.zeros(num_sentences, dtype=bool)
    else:
        space_at = np.flatnonzero(text == 32)
        per_sentence = np.diff(np.concatenate(([0], np.searchsorted(space_at, newlines), [len(space_at)])))
        differs = lengths != per_sentence + 1
    if num_tokens == 0:
        return TokenIds(np.zeros(0, np.int64), lengths, 0, differs, ())

    words = np.ndarray(shape=(size,), dtype="<u8", buffer=padded, strides=(1,))  # 8 bytes from every offset
    token_length = ends - starts
    first_word = words[starts] & _BYTE_MASKS[np.minimum(token_length, 8)]
    hashes = _token_hashes(words, starts, token_length, first_word)

    # group equal hashes; a group is one token only if every member equals its first occurrence byte for byte
    for full in (False, True):
        group, first_position = _group_equal_hashes(hashes, full)
        if _groups_hold_equal_tokens(group, first_position, words, starts, token_length, first_word):
            break
        logger.debug("token hash collision (%s hash)", "full" if full else "truncated")
    else:
        return None  # the dict path

    # renumber groups in order of first occurrence
    by_first = np.argsort(first_position)
    renumber = np.empty(len(first_position), dtype=itype)
    renumber[by_first] = np.arange(len(first_position), dtype=itype)
    vocabulary = None
    if differs.any():  # the ROUGE tokens of those sentences are looked up by string
        first = np.sort(first_position)
        vocabulary = tuple(padded[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts[first], ends[first]))
    return TokenIds(renumber[group], lengths, len(first_position), differs, vocabulary)


def _index_type(count: int) -> type:
    """The integer type of indices below `count`."""
    return np.int32 if count < 2**31 - 1 else np.int64


def _token_hashes(
    words: np.ndarray, starts: np.ndarray, token_length: np.ndarray, first_word: np.ndarray
) -> np.ndarray:
    """A 64-bit hash of every token from its length and its bytes, 8 at a time (`words` is an unaligned
    little-endian view with 8 bytes from every offset; `first_word` holds each token's first, masked)."""
    hashes = token_length.astype(np.uint64) * _MULTIPLIER
    hashes ^= first_word
    hashes *= _MIXER
    long_tokens, offset = np.flatnonzero(token_length > 8), 8
    while len(long_tokens):
        word = words[starts[long_tokens] + offset] & _BYTE_MASKS[np.minimum(token_length[long_tokens] - offset, 8)]
        mixed = hashes[long_tokens] ^ word
        mixed *= _MIXER
        hashes[long_tokens] = mixed
        offset += 8
        long_tokens = long_tokens[token_length[long_tokens] > offset]
    hashes ^= hashes >> np.uint64(29)
    return hashes


def _group_equal_hashes(hashes: np.ndarray, full: bool) -> tuple[np.ndarray, np.ndarray]:
    """(group of each token, first position of each group), groups in hash order, from one sort of (hash, position):
    by default a value sort of the hash's high bits packed with the position (truncating the hash makes collisions
    likelier; the byte check catches them), with `full` a stable argsort of the whole 64-bit hash (slower)."""
    num_tokens = len(hashes)
    bits = position_bits(num_tokens)
    keys, key_space = (hashes, 1 << 64) if full else (hashes >> np.uint64(bits), 1 << (64 - bits))
    itype = _index_type(num_tokens)
    position, keys = sort_by_key(np.arange(num_tokens, dtype=itype), keys, key_space, bits)
    new_group = np.empty(num_tokens, dtype=bool)
    new_group[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new_group[1:])
    del keys
    group = np.empty(num_tokens, dtype=itype)
    numbered = np.cumsum(new_group, dtype=itype)
    numbered -= 1
    group[position] = numbered
    del numbered
    return group, position[new_group]


def _groups_hold_equal_tokens(
    group: np.ndarray,
    first_position: np.ndarray,
    words: np.ndarray,
    starts: np.ndarray,
    token_length: np.ndarray,
    first_word: np.ndarray,
) -> bool:
    """Whether every token equals its group's first token: same length and same bytes, 8 at a time."""
    representative = first_position[group]
    if not (
        np.array_equal(token_length[representative], token_length)
        and np.array_equal(first_word[representative], first_word)
    ):
        return False
    long_tokens, offset = np.flatnonzero(token_length > 8), 8
    while len(long_tokens):
        mask = _BYTE_MASKS[np.minimum(token_length[long_tokens] - offset, 8)]
        mine = words[starts[long_tokens] + offset] & mask
        theirs = words[starts[representative[long_tokens]] + offset] & mask
        if not np.array_equal(mine, theirs):
            return False
        offset += 8
        long_tokens = long_tokens[token_length[long_tokens] > offset]
    return True


def _holds_other_whitespace(byte: np.ndarray, size: int, num_sentences: int) -> bool:
    """Whether the newline-joined UTF-8 corpus `byte[:size]` holds whitespace other than spaces and the joins."""
    text = byte[:size]
    control = text[text < 0x20]
    joins = num_sentences - 1
    if np.count_nonzero(control == 10) != joins or np.count_nonzero(np.isin(control, _ASCII_OTHER_WHITESPACE)) != joins:
        return True
    lead = np.flatnonzero(text >= 0xC2)  # first bytes of multi-byte characters (continuations are 0x80..0xBF)
    if len(lead) == 0:
        return False
    first, second, third = (byte[lead + k].astype(np.uint32) for k in range(3))  # padding covers lead + 2
    two = (first << 8) | second
    three = (two << 8) | third
    return bool(np.isin(two, _TWO_BYTE_WHITESPACE).any() or np.isin(three, _THREE_BYTE_WHITESPACE).any())
