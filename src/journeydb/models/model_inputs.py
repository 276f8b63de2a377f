"""Processor inputs for image-text-to-text models: one builder for generation and for VQA letter scoring.

Two kinds of processor are served. Without a chat template (BLIP-2) the text is given to the processor as is, after
the image's query tokens. With a chat template each (image, text) pair becomes one user turn, the image then the
text, followed by the template's generation prompt; the processor renders and tokenises it in one call, so a BOS
the template writes is not added a second time. The padding side is an argument of the call: the caller's
tokenizer is left as it was (generation pads on the left, letter scoring reads each row's last real token).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal, Optional

__all__ = ["build_model_inputs", "to_rgb", "uses_chat_template"]

PaddingSide = Literal["left", "right"]


def uses_chat_template(processor: Any) -> bool:
    """Whether prompts go through the processor's chat template (any processor that has one)."""
    return bool(getattr(processor, "chat_template", None))


def to_rgb(image: Any, where: str) -> Any:
    """`image` as an RGB PIL image: a PIL image or an undecoded `datasets.Image()` cell (`{"bytes", "path"}`);
    a TypeError naming `where` for anything else."""
    from PIL import Image

    if isinstance(image, dict) and (image.get("bytes") or image.get("path")):
        image = Image.open(io.BytesIO(image["bytes"])) if image.get("bytes") else Image.open(image["path"])
    if not isinstance(image, Image.Image):
        raise TypeError(f"{where}: image must be a PIL image or a {{'bytes', 'path'}} dict, not {type(image).__name__}")
    return image if image.mode == "RGB" else image.convert("RGB")


def build_model_inputs(
    processor: Any,
    images: Sequence[Any],
    texts: Sequence[str],
    *,
    padding_side: PaddingSide,
    device: Optional[Any] = None,
    dtype: Optional[Any] = None,
) -> Any:
    """Tokenised, padded inputs (a `BatchFeature` of tensors) for a batch of (RGB image, text) pairs.

    Args:
        processor: a transformers processor (image processor + tokenizer), with or without a chat template.
        images: PIL images, one per text (see `to_rgb`).
        texts: what the model reads with each image: the whole text, or the user turn of a chat template.
        padding_side: `"left"` (generation) or `"right"`; the tokenizer's own setting is not changed.
        device, dtype (*optional*): move the tensors to `device`, floating ones (pixel values) also to `dtype`.
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    if len(images) != len(texts):
        raise ValueError(f"got {len(images)} images for {len(texts)} texts")
    if uses_chat_template(processor):
        conversations = [
            [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": text}]}]
            for image, text in zip(images, texts)
        ]
        inputs = processor.apply_chat_template(
            conversations,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            processor_kwargs={"padding": True, "padding_side": padding_side},
        )
    else:
        inputs = processor(
            images=list(images), text=list(texts), padding=True, padding_side=padding_side, return_tensors="pt"
        )
    placement = {name: value for name, value in (("device", device), ("dtype", dtype)) if value is not None}
    return inputs.to(**placement) if placement else inputs  # BatchFeature.to casts only floating tensors
