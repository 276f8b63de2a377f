"""Sorting and run bookkeeping on flat integer arrays, shared by the token-id encoder and the n-gram tables."""

from __future__ import annotations

import numpy as np


def offsets(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive runs of the given lengths starts (an exclusive cumulative sum)."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def run_lengths(run_starts: np.ndarray, total: int) -> np.ndarray:
    """The lengths of the runs that start at `run_starts` (ascending) in an array of `total` items."""
    lengths = np.empty_like(run_starts)
    np.subtract(run_starts[1:], run_starts[:-1], out=lengths[:-1])
    lengths[-1:] = total - run_starts[-1:]
    return lengths


def position_bits(count: int) -> int:
    """Bits that hold any position `0 .. count - 1` (at least 1)."""
    return max(int(count - 1).bit_length(), 1)


def sort_by_key(positions: np.ndarray, keys: np.ndarray, key_space: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """`positions` (below `2**bits`) and `keys` (uint64, below `key_space`) ordered by (key, position).

    `keys` is consumed: where (key, position) fit in 64 bits its buffer becomes the packed sort keys, so a
    corpus-long array is not copied (callers pass a fresh array and use only what is returned).
    """
    if key_space <= 1 << (64 - bits):
        # one value sort of (key << bits | position): stable by construction, and much faster than a stable argsort
        # plus two gathers
        packed = keys
        packed <<= np.uint64(bits)
        packed |= positions.astype(np.uint64)
        packed.sort()
        if bits <= 32:  # the low 32 bits hold the position: one cast, no 64-bit temporary
            sorted_positions = packed.astype(np.uint32)
            sorted_positions &= np.uint32((1 << bits) - 1)
            if positions.dtype.itemsize == 4:
                sorted_positions = sorted_positions.view(positions.dtype)  # positions < 2**31 in an int32
            else:
                sorted_positions = sorted_positions.astype(positions.dtype)
        else:
            sorted_positions = (packed & np.uint64((1 << bits) - 1)).astype(positions.dtype)
        packed >>= np.uint64(bits)
        return sorted_positions, packed
    ordering = np.argsort(keys, kind="stable")
    return positions[ordering], keys[ordering]
