"""Free-text generation with a transformers image-text-to-text model: captions and predicted prompts.

Two kinds of processor are served: BLIP-2 style (the instruction is plain text before the answer) and any
processor with a chat template (the instruction becomes one user turn holding the image and the text). Generation
is greedy (deterministic), batched, under `torch.no_grad`. Load the model with
`journeydb.models.vlm_choice.load_vlm` (bf16/fp16 on GPU), the loader the VQA scorer uses too.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

from datasets.utils import tqdm

logger = logging.getLogger(__name__)

# The instructions each task gives the model (the paper customised them per model and did not publish them).
INSTRUCTIONS = {
    "prompt_inversion": "Write the text-to-image prompt that generated this image:",
    "caption": "A short caption of the image:",
}


def _uses_chat_template(processor: Any) -> bool:
    return bool(getattr(processor, "chat_template", None))


def build_model_inputs(processor: Any, images: Sequence[Any], texts: Sequence[str]) -> Any:
    """Processor inputs for a batch of (image, instruction) pairs, with left padding for generation."""
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is not None:
        tokenizer.padding_side = "left"
    if _uses_chat_template(processor):
        prompts = [
            processor.apply_chat_template(
                [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}],
                add_generation_prompt=True,
            )
            for text in texts
        ]
        return processor(images=list(images), text=prompts, return_tensors="pt", padding=True)
    return processor(images=list(images), text=list(texts), return_tensors="pt", padding=True)


def generate_texts(
    model: Any,
    processor: Any,
    images: Sequence[Any],
    instruction: str,
    batch_size: int = 8,
    max_new_tokens: int = 60,
    description: str = "generating",
) -> list[str]:
    """Greedy generation of one text per image, given the same instruction; returns only the new text, stripped.

    Args:
        model: an image-text-to-text model (e.g. `Blip2ForConditionalGeneration`), on its device.
        processor: its processor.
        images: PIL images.
        instruction: the text the model sees with each image (`INSTRUCTIONS[task]`, or your own).
        batch_size: images per forward pass.
        max_new_tokens: generation budget per image.
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    results: list[str] = []
    for start in tqdm(range(0, len(images), batch_size), desc=description, unit="batch"):
        batch = [image.convert("RGB") for image in images[start : start + batch_size]]
        inputs = build_model_inputs(processor, batch, [instruction] * len(batch))
        inputs = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) for k, v in inputs.items()}
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        prompt_ids = inputs["input_ids"]
        # decoder-only language models return the prompt before the new tokens; encoder-decoders do not
        if output.shape[1] >= prompt_ids.shape[1] and torch.equal(output[:, : prompt_ids.shape[1]], prompt_ids):
            output = output[:, prompt_ids.shape[1] :]
        texts = processor.batch_decode(output, skip_special_tokens=True)
        results.extend(" ".join(text.split()) for text in texts)
    return results
