"""CLIP features for style retrieval (`journeydb.models.clip_retrieval`): loading, the text features of the style
vocabulary (cached on disk) and the image features.

Text features are computed once per (text tower, tokenizer, vocabulary) and cached as safetensors, keyed by a hash
of the text tower's config and weights, the tokenizer and the vocabulary's hash, so 150,000 phrases are encoded
once. Images are encoded batch by batch; `image_batches` is the batch plan that sharded runs share out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import torch

from journeydb.release.cache import cache_root
from journeydb.release.style_tree import vocabulary_hash

logger = logging.getLogger(__name__)

CACHE_FORMAT = "1"  # bump when what the cached features mean changes
ModelInput = Union[str, os.PathLike, torch.nn.Module]

__all__ = ["CACHE_FORMAT", "ModelInput", "image_batches", "image_features", "load_clip", "text_features"]


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


def image_batches(num_images: int, batch_size: int) -> list[tuple[int, int]]:
    """The `(begin, end)` image ranges of a run, `batch_size` images each (the last one shorter): the units that
    `rank_styles` shares out between processes, the same whatever the number of processes."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return [(begin, min(begin + batch_size, num_images)) for begin in range(0, num_images, batch_size)]


@torch.no_grad()
def image_features(
    images: Sequence[Any],
    model: torch.nn.Module,
    processor: Any,
    batch_size: int = 32,
    batches: Optional[Sequence[tuple[int, int]]] = None,
    progress: bool = True,
) -> torch.Tensor:
    """L2-normalised image features, float32, on the model's device: of all images in batches of `batch_size`, or
    of the images of `batches` (`(begin, end)` ranges, one forward pass each), one range after the other."""
    from tqdm.auto import tqdm
    from transformers.utils.logging import is_progress_bar_enabled

    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    batches = image_batches(len(images), batch_size) if batches is None else batches
    image_processor = getattr(processor, "image_processor", processor)
    column = images.select_columns(["image"]) if hasattr(images, "select_columns") else None
    chunks = []
    for begin, end in tqdm(batches, desc="CLIP image features", unit="batch",
                           disable=not (progress and is_progress_bar_enabled())):
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
