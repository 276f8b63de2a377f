"""Zero-shot style retrieval with CLIP (paper §4.3, Table 5): rank the style vocabulary for each image.

The score of a phrase for an image is the inner product of their L2-normalised CLIP features (the cosine CLIP's
logits are made of). For each image this returns the k best phrases over the whole vocabulary and, given a style
tree, the k best of each category ("Per-Category": ranking only inside that category's sub-space).
`StyleRanking.phrase_lists` merges both into one ranked list per image, in score order, from which
`journeydb.scoring.style.style_recall` reads the over-all and the per-category recall@k' for every k' <= k: a
category's phrases in that list, in order, are exactly its own top k.

Scale (150,000 phrases x 5,402 test images in <= 2 GB of host memory; `benchmarks/style_retrieval.py` measures it):

- text features are computed once and cached on disk as safetensors, keyed by the text tower's weights, the
  tokenizer and the vocabulary's hash (`journeydb.models.clip_features`);
- images are encoded in batches;
- scores exist only for a block of images at a time (all phrases x as many images as fit `score_budget_bytes`),
  reduced to top-k at once, so no images x phrases matrix is ever held;
- with an `accelerate.Accelerator`, process p of N encodes and ranks image batches p, p + N, ... and the rankings
  are gathered back in image order (`journeydb.models.sharding`): every process returns the whole, equal to a
  single-process run.

Entry point:

```py
ranking = rank_styles(images, vocabulary, "path/to/clip-vit-large-patch14", style_tree="tree.json", k=10)
predictions = ranking.phrase_lists(vocabulary)     # -> style_recall(predictions, gold, k=[1, 5, 10], style_tree=...)
```
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from journeydb.release.style_tree import load_style_tree, normalize_style

# CACHE_FORMAT, _features and _normalized stay importable from here (the tests' oracle reads the last two)
from .clip_features import (  # noqa: F401
    CACHE_FORMAT,
    ModelInput,
    _features,
    _normalized,
    image_batches,
    image_features,
    load_clip,
    text_features,
)
from .sharding import ProcessLayout, process_layout

logger = logging.getLogger(__name__)

DEFAULT_SCORE_BUDGET_BYTES = 256 * 2**20


@dataclass
class StyleRanking:
    """The k best phrases per image, over the whole vocabulary and per category (vocabulary indices; -1 pads).

    Attributes:
        top_indices (`np.ndarray` of shape `(num_images, k)`, int64): best first.
        top_scores (`np.ndarray` of shape `(num_images, k)`, float32): their scores (-inf pads).
        categories (`list[str]`): the style tree's categories, in tree order (empty without a tree).
        category_indices (`np.ndarray` of shape `(num_images, num_categories, k)`, int32, *optional*).
        category_scores (`np.ndarray` of shape `(num_images, num_categories, k)`, float32, *optional*).
    """

    top_indices: np.ndarray
    top_scores: np.ndarray
    categories: list[str]
    category_indices: Optional[np.ndarray] = None
    category_scores: Optional[np.ndarray] = None

    def phrase_lists(self, vocabulary: Sequence[str]) -> list[list[str]]:
        """Per image, the union of the global and per-category top-k phrases, best score first (ties by index)."""
        lists = []
        for i in range(self.top_indices.shape[0]):
            indices, scores = self.top_indices[i], self.top_scores[i]
            if self.category_indices is not None and self.category_scores is not None:
                indices = np.concatenate([indices, self.category_indices[i].ravel()])
                scores = np.concatenate([scores, self.category_scores[i].ravel()])
            valid = indices >= 0
            unique, first = np.unique(indices[valid], return_index=True)
            order = np.lexsort((unique, -scores[valid][first]))
            lists.append([vocabulary[j] for j in unique[order]])
        return lists


# --------------------------------------------------------------------------------------------------------------

def rank_styles(
    images: Sequence[Any],
    vocabulary: Sequence[str],
    model: ModelInput,
    processor: Any = None,
    *,
    style_tree: Union[str, os.PathLike, Mapping[str, list[str]], None] = None,
    k: int = 10,
    batch_size: int = 32,
    text_batch_size: int = 256,
    cache_dir: Union[str, os.PathLike, None] = None,
    use_cache: bool = True,
    accelerator: Any = None,
    device: Union[str, torch.device, None] = None,
    score_budget_bytes: int = DEFAULT_SCORE_BUDGET_BYTES,
) -> StyleRanking:
    """Rank the style vocabulary for each image with a CLIP model.

    Args:
        images (`Sequence[PIL.Image.Image]` or `datasets.Dataset`): the images (a dataset: its `image` column).
        vocabulary (`Sequence[str]`): the candidate phrases, normalised and distinct (e.g.
            `journeydb.style_tree.read_style_vocabulary`); ranks are indices into it.
        model (`str`, `os.PathLike` or a loaded model): the CLIP model (folder) — `load_clip`.
        processor (*optional*): its processor, when `model` is a loaded model.
        style_tree (`str`, `os.PathLike` or mapping, *optional*): adds each category's top k; tree phrases
            missing from the vocabulary cannot be ranked (counted in the log).
        k (`int`, defaults to 10): how many phrases to keep, globally and per category.
        batch_size (`int`, defaults to 32): images per forward pass.
        text_batch_size (`int`, defaults to 256): phrases per forward pass.
        cache_dir (`str` or `os.PathLike`, *optional*): where text features are cached (default
            `$JOURNEYDB_CACHE/clip-text-features`, `$JOURNEYDB_CACHE` defaulting to `~/.cache/journeydb`).
        use_cache (`bool`, defaults to `True`): read and write the text-feature cache.
        accelerator (`accelerate.Accelerator`, *optional*): shard the image batches over its processes (without
            one, this process ranks every image).
        device (`str` or `torch.device`, *optional*): without an accelerator; default cuda when available.
        score_budget_bytes (`int`, defaults to 256 MiB): bound on one block's scores (images x phrases, float32)
            plus their per-category gather; the block shrinks to fit (down to one image).

    Returns:
        `StyleRanking`; with an accelerator, every process returns the whole ranking in image order. A loaded
        `model` is moved to the device and put in eval mode.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    vocabulary = _checked_vocabulary(vocabulary)
    model, processor = load_clip(model, processor)
    if accelerator is not None:
        device = accelerator.device
    elif device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()
    categories, members = _category_members(style_tree, vocabulary)

    def encode_vocabulary() -> torch.Tensor:
        return text_features(
            vocabulary, model, processor, batch_size=text_batch_size, cache_dir=cache_dir, use_cache=use_cache
        )

    if accelerator is not None and use_cache:
        with accelerator.main_process_first():  # the main process encodes and caches, the others read the cache
            texts = encode_vocabulary()
    else:
        texts = encode_vocabulary()

    layout = process_layout(accelerator) if accelerator is not None else ProcessLayout()
    batches = image_batches(len(images), batch_size)
    show = layout.is_local_main_process
    image_feats = image_features(images, model, processor, batches=layout.share(batches), progress=show)
    ranking = rank_features(image_feats, texts, k, members, score_budget_bytes=score_budget_bytes, progress=show)
    ranking.categories = categories
    if layout.num_processes > 1:
        ranking = _gather_ranking(ranking, layout, [end - begin for begin, end in batches])
    return ranking


def _gather_ranking(ranking: StyleRanking, layout: ProcessLayout, batch_sizes: Sequence[int]) -> StyleRanking:
    """The whole ranking, in image order, from every process's share of the image batches."""

    def gather(rows: Optional[np.ndarray]) -> Optional[np.ndarray]:
        return None if rows is None else layout.gather_rows(rows, batch_sizes)

    return StyleRanking(
        gather(ranking.top_indices),
        gather(ranking.top_scores),
        ranking.categories,
        gather(ranking.category_indices),
        gather(ranking.category_scores),
    )


# --------------------------------------------------------------------------------------------------------------
# ranking


@dataclass
class _CategoryBucket:
    """Categories of similar size, padded to one width so that one top-k call serves them all."""

    categories: np.ndarray  # (n,) positions in the tree
    indices: torch.Tensor  # (n, width) vocabulary indices, padding points at phrase 0
    padding: torch.Tensor  # (n, width) True where padded


def _category_buckets(
    category_members: Sequence[np.ndarray], k: int, device: torch.device
) -> list[_CategoryBucket]:
    """Group categories by size rounded up to a power of two (at least k): a long-tailed tree of hundreds of
    categories becomes a dozen top-k calls per block instead of one per category, at most doubling the gather."""
    sizes = np.array([len(m) for m in category_members], dtype=np.int64)
    widths = np.maximum(k, 2 ** np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64))
    buckets = []
    for width in np.unique(widths[sizes > 0]):
        categories = np.flatnonzero((widths == width) & (sizes > 0))
        indices = torch.zeros((len(categories), int(width)), dtype=torch.long)
        padding = torch.ones((len(categories), int(width)), dtype=torch.bool)
        for row, c in enumerate(categories):
            indices[row, : sizes[c]] = torch.as_tensor(category_members[c], dtype=torch.long)
            padding[row, : sizes[c]] = False
        buckets.append(_CategoryBucket(categories, indices.to(device), padding.to(device)))
    return buckets


@torch.no_grad()
def rank_features(
    image_feats: torch.Tensor,
    text_feats: torch.Tensor,
    k: int,
    category_members: Optional[Sequence[np.ndarray]] = None,
    score_budget_bytes: int = DEFAULT_SCORE_BUDGET_BYTES,
    progress: bool = True,
) -> StyleRanking:
    """Top-k phrases per image (and per category, given each category's vocabulary indices) by inner product.

    Scores are computed for a block of images against all phrases at a time, reduced to top-k (globally, then
    per category) before the next block. The block holds as many images as `score_budget_bytes` allows (at least
    one) for their scores plus the largest per-category gather.
    """
    from tqdm.auto import tqdm
    from transformers.utils.logging import is_progress_bar_enabled

    num_images, num_phrases = image_feats.shape[0], text_feats.shape[0]
    text_feats = text_feats.float()
    kept = min(k, num_phrases)
    top_indices = np.full((num_images, k), -1, dtype=np.int64)
    top_scores = np.full((num_images, k), -np.inf, dtype=np.float32)
    buckets = _category_buckets(category_members, k, text_feats.device) if category_members is not None else []
    if category_members is not None:
        category_indices = np.full((num_images, len(category_members), k), -1, dtype=np.int32)
        category_scores = np.full((num_images, len(category_members), k), -np.inf, dtype=np.float32)
    widest_gather = max((b.indices.numel() for b in buckets), default=0)
    block = max(1, score_budget_bytes // (4 * (max(1, num_phrases) + widest_gather)))
    for begin in tqdm(range(0, num_images, block), desc="ranking", unit="block",
                      disable=not (progress and is_progress_bar_enabled())):
        end = min(begin + block, num_images)
        scores = image_feats[begin:end].to(text_feats.device).float() @ text_feats.T
        values, indices = torch.topk(scores, kept, dim=1)
        top_indices[begin:end, :kept] = indices.cpu().numpy()
        top_scores[begin:end, :kept] = values.cpu().numpy()
        for bucket in buckets:
            gathered = scores[:, bucket.indices].masked_fill_(bucket.padding, -torch.inf)  # (block, n, width)
            values, local = torch.topk(gathered, k, dim=2)
            found = bucket.indices.expand(end - begin, -1, -1).gather(2, local)
            found = found.masked_fill_(values == -torch.inf, -1)  # padding of a category smaller than k
            category_indices[begin:end, bucket.categories] = found.cpu().numpy()
            category_scores[begin:end, bucket.categories] = values.cpu().numpy()
            del gathered
        del scores
    if category_members is None:
        return StyleRanking(top_indices, top_scores, [])
    return StyleRanking(top_indices, top_scores, [], category_indices, category_scores)


# --------------------------------------------------------------------------------------------------------------
# helpers


def _checked_vocabulary(vocabulary: Sequence[str]) -> list[str]:
    if isinstance(vocabulary, str) or not isinstance(vocabulary, Sequence) or len(vocabulary) == 0:
        raise ValueError("vocabulary must be a non-empty list of style phrases")
    seen: dict[str, int] = {}
    for i, phrase in enumerate(vocabulary):
        if not isinstance(phrase, str) or not normalize_style(phrase):
            raise ValueError(f"vocabulary[{i}] must be a non-blank string, got {phrase!r}")
        first = seen.setdefault(normalize_style(phrase), i)
        if first != i:
            raise ValueError(f"vocabulary[{i}] {phrase!r} repeats vocabulary[{first}] after normalisation")
    return list(seen)


def _category_members(
    style_tree: Union[str, os.PathLike, Mapping[str, list[str]], None], vocabulary: Sequence[str]
) -> tuple[list[str], Optional[list[np.ndarray]]]:
    if style_tree is None:
        return [], None
    tree = load_style_tree(style_tree)
    position = {phrase: i for i, phrase in enumerate(vocabulary)}
    members, missing = [], 0
    for phrases in tree.values():
        found = [position[p] for p in phrases if p in position]
        missing += len(phrases) - len(found)
        members.append(np.asarray(found, dtype=np.int64))
    if missing:
        logger.warning("%d style-tree phrase(s) are not in the vocabulary and cannot be ranked", missing)
    return list(tree), members


