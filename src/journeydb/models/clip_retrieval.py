"""Zero-shot style retrieval with CLIP (paper §4.3, Table 5): rank the style vocabulary for each image.

The score of a phrase for an image is the inner product of their L2-normalised CLIP features (the cosine CLIP's
logits are made of). For each image this returns the k best phrases over the whole vocabulary and, given a style
tree, the k best of each category ("Per-Category": ranking only inside that category's sub-space).
`StyleRanking.phrase_lists` merges both into one ranked list per image, in score order, from which
`journeydb.scoring.style.style_recall` reads the over-all and the per-category recall@k' for every k' <= k: a
category's phrases in that list, in order, are exactly its own top k.

Scale (150,000 phrases x 5,402 test images in <= 2 GB of host memory; `benchmarks/style_retrieval.py` measures it):

- text features are computed once and cached on disk as safetensors, keyed by the text tower's weights, the
  tokenizer and the vocabulary's hash;
- images are encoded in batches;
- scores exist only for a block of images at a time (all phrases x as many images as fit `score_budget_bytes`),
  reduced to top-k at once, so no images x phrases matrix is ever held;
- with an `accelerate.Accelerator`, images are sharded in contiguous blocks over the processes and the rankings
  gathered back in image order: every process returns the whole, equal to a single-process run.

Entry point:

```py
ranking = rank_styles(images, vocabulary, "path/to/clip-vit-large-patch14", style_tree="tree.json", k=10)
predictions = ranking.phrase_lists(vocabulary)     # -> style_recall(predictions, gold, k=[1, 5, 10], style_tree=...)
```
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from journeydb.release.cache import cache_root
from journeydb.release.style_tree import load_style_tree, normalize_style, vocabulary_hash

logger = logging.getLogger(__name__)

DEFAULT_SCORE_BUDGET_BYTES = 256 * 2**20
CACHE_FORMAT = "1"  # bump when what the cached features mean changes
ModelInput = Union[str, os.PathLike, torch.nn.Module]


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


def load_clip(model: ModelInput, processor: Any = None) -> tuple[torch.nn.Module, Any]:
    """(model, processor) from a local folder (or hub name) of a transformers dual encoder with
    `get_text_features`/`get_image_features` (CLIP and the like); an already loaded model is passed through."""
    from transformers import AutoModel, AutoProcessor

    if isinstance(model, (str, os.PathLike)):
        name = os.fspath(model)
        processor = processor if processor is not None else AutoProcessor.from_pretrained(name)
        model = AutoModel.from_pretrained(name)
    if not (hasattr(model, "get_text_features") and hasattr(model, "get_image_features")):
        raise TypeError(f"{type(model).__name__} has no get_text_features/get_image_features: not a CLIP-like model")
    if processor is None:
        raise ValueError("a loaded model needs its processor (tokenizer + image processor)")
    return model, processor


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
        accelerator (`accelerate.Accelerator`, *optional*): shard the images over its processes.
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

    start, stop = 0, len(images)
    if accelerator is not None and accelerator.num_processes > 1:
        with accelerator.split_between_processes(list(range(len(images)))) as mine:
            start, stop = (mine[0], mine[-1] + 1) if mine else (0, 0)
    show = accelerator is None or accelerator.is_local_main_process
    image_feats = image_features(images, model, processor, batch_size=batch_size, start=start, stop=stop,
                                 progress=show)
    ranking = rank_features(image_feats, texts, k, members, score_budget_bytes=score_budget_bytes, progress=show)
    ranking.categories = categories
    if accelerator is not None and accelerator.num_processes > 1:
        ranking = _gather_ranking(ranking, accelerator)
    return ranking


# --------------------------------------------------------------------------------------------------------------
# features


def _features(output: Any) -> torch.Tensor:
    """transformers < 5 returns the projected features; 5 returns an output whose pooler_output holds them."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


@torch.no_grad()
def text_features(
    vocabulary: Sequence[str],
    model: torch.nn.Module,
    processor: Any,
    batch_size: int = 256,
    cache_dir: Union[str, os.PathLike, None] = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """L2-normalised text features of the vocabulary, shape `(len(vocabulary), dim)`, float32, on the model's device.

    Cached as `clip-text-<key>.safetensors` in `cache_dir`, the key hashing the text tower's weights and config,
    the tokenizer and the vocabulary: the same model and vocabulary never encode twice.
    """
    from safetensors.torch import load_file, save_file
    from tqdm.auto import tqdm
    from transformers.utils.logging import is_progress_bar_enabled

    device = next(model.parameters()).device
    tokenizer = getattr(processor, "tokenizer", processor)
    path = None
    if use_cache:
        folder = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        path = folder / f"clip-text-{_text_cache_key(vocabulary, model, tokenizer)}.safetensors"
        if path.is_file():
            features = load_file(str(path))["text_features"]
            if features.shape[0] == len(vocabulary):
                logger.info("text features of %d phrases read from %s", len(vocabulary), path)
                return features.to(device)
            logger.warning("ignoring %s: it holds %d rows for %d phrases", path, features.shape[0], len(vocabulary))

    max_length = min(int(tokenizer.model_max_length), _text_positions(model))
    chunks = []
    for begin in tqdm(range(0, len(vocabulary), batch_size), desc="CLIP text features", unit="batch",
                      disable=not is_progress_bar_enabled()):
        batch = tokenizer(list(vocabulary[begin : begin + batch_size]), padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt").to(device)
        chunks.append(_normalized(_features(model.get_text_features(**batch))).cpu())
    features = torch.cat(chunks)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")  # written whole, then renamed into place
        save_file({"text_features": features.contiguous()}, str(partial),
                  metadata={"format": CACHE_FORMAT, "phrases": str(len(vocabulary)),
                            "model": str(getattr(model, "name_or_path", ""))})
        os.replace(partial, path)
        logger.info("text features of %d phrases cached in %s", len(vocabulary), path)
    return features.to(device)


@torch.no_grad()
def image_features(
    images: Sequence[Any],
    model: torch.nn.Module,
    processor: Any,
    batch_size: int = 32,
    start: int = 0,
    stop: Optional[int] = None,
    progress: bool = True,
) -> torch.Tensor:
    """L2-normalised image features of `images[start:stop]`, float32, on the model's device."""
    from tqdm.auto import tqdm
    from transformers.utils.logging import is_progress_bar_enabled

    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    stop = len(images) if stop is None else stop
    image_processor = getattr(processor, "image_processor", processor)
    column = images.select_columns(["image"]) if hasattr(images, "select_columns") else None
    chunks = []
    for begin in tqdm(range(start, stop, batch_size), desc="CLIP image features", unit="batch",
                      disable=not (progress and is_progress_bar_enabled())):
        end = min(begin + batch_size, stop)
        batch = column[begin:end]["image"] if column is not None else [images[i] for i in range(begin, end)]
        for offset, image in enumerate(batch):
            if not hasattr(image, "convert"):
                raise TypeError(f"images[{begin + offset}] is {type(image).__name__}, not a PIL image")
        pixels = image_processor(images=[image.convert("RGB") for image in batch], return_tensors="pt")
        pixel_values = pixels["pixel_values"].to(device=device, dtype=dtype)
        chunks.append(_normalized(_features(model.get_image_features(pixel_values=pixel_values))))
    if not chunks:
        return torch.zeros((0, _projection_dim(model)), device=device)
    return torch.cat(chunks)


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


def _gather_ranking(ranking: StyleRanking, accelerator: Any) -> StyleRanking:
    """Concatenate every process's (contiguous) block of rows, in process order, on every process."""

    def gather_rows(array: Optional[np.ndarray]) -> Optional[np.ndarray]:
        if array is None:
            return None
        local = torch.from_numpy(np.ascontiguousarray(array)).to(accelerator.device)
        counts = accelerator.gather(torch.tensor([local.shape[0]], device=accelerator.device)).tolist()
        padded = accelerator.pad_across_processes(local, dim=0)
        gathered = accelerator.gather(padded).cpu().numpy()
        rows = padded.shape[0]
        return np.concatenate([gathered[p * rows : p * rows + n] for p, n in enumerate(counts)])

    return StyleRanking(
        gather_rows(ranking.top_indices),
        gather_rows(ranking.top_scores),
        ranking.categories,
        gather_rows(ranking.category_indices),
        gather_rows(ranking.category_scores),
    )


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


def _normalized(features: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(features.float(), dim=-1)


def _text_positions(model: torch.nn.Module) -> int:
    text_config = getattr(model.config, "text_config", model.config)
    return int(getattr(text_config, "max_position_embeddings", 77))


def _projection_dim(model: torch.nn.Module) -> int:
    return int(getattr(model.config, "projection_dim", 0) or 0)


def _default_cache_dir() -> Path:
    return cache_root() / "clip-text-features"


def _text_cache_key(vocabulary: Sequence[str], model: torch.nn.Module, tokenizer: Any) -> str:
    """Hash of what text features depend on: the text tower's config and weights, the tokenizer, the phrases."""
    digest = hashlib.sha256(f"journeydb clip text features v{CACHE_FORMAT}\n".encode())
    text_config = getattr(model.config, "text_config", None)
    digest.update((text_config or model.config).to_json_string(use_diff=False).encode())
    state = model.state_dict()
    names = [n for n in state if n.startswith("text")] or list(state)  # CLIP: text_model.*, text_projection.*
    for name in sorted(names):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    digest.update(type(tokenizer).__name__.encode())
    digest.update(str(getattr(tokenizer, "model_max_length", "")).encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    digest.update(backend.to_str().encode() if backend is not None else
                  json.dumps(tokenizer.get_vocab(), sort_keys=True).encode())
    digest.update(vocabulary_hash(vocabulary).encode())
    return digest.hexdigest()[:32]
