"""`--limit N`: a deterministic subset of the scored split, the same images for every task, model and run.

The subset is the N image_ids with the smallest SHA-256 of their UTF-8 bytes (hex order): it depends on the ids
alone, not on the order the release lists them in nor on which tasks run, so a number scored on `--limit 1000`
today is comparable with one scored next month on another machine. References keep their dataset order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
from typing import Iterable, Sequence

import numpy as np

from .columns import Column
from .references import TaskReferences


def image_id_hash(image_id: str) -> str:
    """The stable key the subset is chosen by."""
    return hashlib.sha256(image_id.encode("utf-8")).hexdigest()


def limited_image_ids(image_ids: Iterable[str], limit: int) -> set[str]:
    """The `limit` image_ids of `image_ids` (distinct) with the smallest `image_id_hash`; all when fewer."""
    if not isinstance(limit, int) or limit < 1:
        raise ValueError(f"--limit must be a positive integer, got {limit!r}")
    return {i for _, i in heapq.nsmallest(limit, ((image_id_hash(i), i) for i in set(image_ids)))}


def subset_references(refs: TaskReferences, image_ids: set[str]) -> TaskReferences:
    """`refs` restricted to the references of `image_ids`, in their order (`skipped` is kept as counted)."""
    return references_by_chunk(refs, dict.fromkeys(image_ids, 0), 1)[0]


def references_by_chunk(refs: TaskReferences, chunk_of: dict[str, int], num_chunks: int) -> list[TaskReferences]:
    """`refs` split by the chunk of each reference's image (`chunk_of[image_id]`), each part in `refs`' order.

    One pass over `refs` (not one per chunk). A reference whose image is in no chunk (outside `--limit`) is left out.
    """
    positions: list[list[int]] = [[] for _ in range(num_chunks)]
    for k, image_id in enumerate(refs.image_ids):
        chunk = chunk_of.get(image_id)
        if chunk is not None:
            positions[chunk].append(k)

    def part(keep: list[int]) -> TaskReferences:
        def pick(values: Sequence | None) -> Sequence | None:
            if values is None:
                return None
            if isinstance(values, Column):
                return values.take(np.asarray(keep, dtype=np.int64))
            return [values[k] for k in keep]

        return dataclasses.replace(
            refs, ids=pick(refs.ids), image_ids=pick(refs.image_ids), references=pick(refs.references),
            question_types=pick(refs.question_types), options=pick(refs.options), questions=pick(refs.questions),
        )

    return [part(keep) for keep in positions]
