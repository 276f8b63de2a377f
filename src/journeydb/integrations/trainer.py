"""`compute_metrics` for `transformers.Trainer` / `Seq2SeqTrainer`, scoring with the same code as `journeydb evaluate`.

Two ways predictions reach `compute_metrics`:

- `predictions_from="generate"` (`Seq2SeqTrainer` with `predict_with_generate=True`): generated ids. A prompt the
  model echoes (decoder-only language models return it before the new tokens) is removed when the trainer passes
  the inputs (`include_for_metrics=["inputs"]`); special tokens (BLIP-2's image tokens, BOS, padding) are skipped
  when decoding anyway.
- `predictions_from="logits"` (`Trainer`, teacher forcing): logits, or their argmax when the trainer was given
  `preprocess_logits_for_metrics=logits_to_ids` (keeps memory small). Only positions with a label (not -100) are
  decoded. A decoder-only model's labels are its inputs, so its prediction for label position t is the argmax at
  t-1; an encoder-decoder's labels are the decoder's targets, predicted at the same position. Which one is read from
  `model=` (`config.is_encoder_decoder`; BLIP-2: `use_decoder_only_language_model`), or else from the inputs the
  trainer hands over (`include_for_metrics=["inputs"]`: labels that copy the input ids are a causal LM's); with
  neither, the factory refuses rather than guess.

References are decoded from the labels (padding and -100 dropped) unless given explicitly, in evaluation-dataset
order (`references=`; needed for several references per sample, or labels that do not round-trip through the
tokenizer). VQA needs each question's `question_types` and `options`; QAS the per-image question lists as
`references` and a `judge`.

Example (BLIP-2 FlanT5-style captioner: labels are the decoder's targets, so `Seq2SeqTrainer` can generate):

```py
trainer = Seq2SeqTrainer(
    model=model,
    args=Seq2SeqTrainingArguments(..., predict_with_generate=True, remove_unused_columns=False),
    data_collator=collate, processing_class=processor.tokenizer, train_dataset=train, eval_dataset=val,
    compute_metrics=make_compute_metrics("caption", processor, model=model),
)
trainer.evaluate()
```

For decoder-only BLIP-2 (OPT) the labels are the input ids themselves, so use `Trainer` with
`preprocess_logits_for_metrics=logits_to_ids` and `make_compute_metrics(..., model=model, predictions_from="logits")`,
or generate in your own loop (`examples/finetune_caption.py`).

Given `model=`, the factory also adds BLIP-2's tower outputs (one holds a `DynamicCache` / `EncoderDecoderCache`,
which the trainer's cross-process padding cannot handle) to `model.config.keys_to_ignore_at_inference`, the
trainer's default `ignore_keys`, so `evaluate()` needs no `ignore_keys`.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Literal, Optional, Sequence

import numpy as np

from journeydb.evaluation.references import TaskReferences
from journeydb.evaluation.score import ScoringOptions
from journeydb.evaluation.tasks import get_task, score_task

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
# BLIP-2 returns its towers' outputs (and a cache object the trainer cannot pad or gather) beside the logits; the
# trainer drops the keys in `ignore_keys`, by default `model.config.keys_to_ignore_at_inference` (see _ignore_outputs)
BLIP2_IGNORE_KEYS = ("vision_outputs", "qformer_outputs", "language_model_outputs")
_CACHE_KEYS = ("past_key_values", "cache")  # what transformers itself ignores by default


def logits_to_ids(logits: Any, labels: Any = None) -> Any:
    """`preprocess_logits_for_metrics` that keeps only the argmax ids of the logits (the first tensor the trainer
    passes; tower outputs and cache objects beside it are dropped), a small tensor per batch."""
    import torch

    if isinstance(logits, (tuple, list)):
        tensors = [t for t in logits if isinstance(t, torch.Tensor)]
        if not tensors:
            raise TypeError(f"logits_to_ids: no logits tensor among {[type(t).__name__ for t in logits]}")
        logits = tensors[0]
    return logits.argmax(dim=-1)


def _ignore_outputs(model: Any) -> None:
    """Make the trainer's default `ignore_keys` drop what cannot be padded across processes (caches, BLIP-2 towers)."""
    config = getattr(model, "config", None)
    if config is None:
        return
    keys = list(getattr(config, "keys_to_ignore_at_inference", None) or [])
    extra = _CACHE_KEYS + (BLIP2_IGNORE_KEYS if hasattr(config, "use_decoder_only_language_model") else ())
    config.keys_to_ignore_at_inference = keys + [k for k in extra if k not in keys]


def is_causal_model(model: Any) -> bool:
    """Whether the model's labels are its input ids (decoder-only: shift by one) or decoder targets (no shift)."""
    config = getattr(model, "config", None)
    if config is None:
        raise TypeError(f"model= must be a transformers model with a config, got {type(model).__name__}")
    decoder_only = getattr(config, "use_decoder_only_language_model", None)  # BLIP-2, InstructBLIP
    if decoder_only is not None:
        return bool(decoder_only)
    text_config = getattr(config, "text_config", None)
    return not (config.is_encoder_decoder or getattr(text_config, "is_encoder_decoder", False))


def _labels_copy_inputs(labels: np.ndarray, inputs: Any) -> Optional[bool]:
    """From the trainer's `inputs`: True when every label equals the input id at its position (a causal LM's
    labels), False when they differ, None when the inputs are no id matrix of the labels' shape (e.g. pixels)."""
    if inputs is None:
        return None
    inputs = np.asarray(inputs)
    if inputs.shape != labels.shape or not np.issubdtype(inputs.dtype, np.integer):
        return None
    kept = labels != IGNORE_INDEX
    return bool(kept.any() and np.array_equal(labels[kept], inputs[kept]))


def _tokenizer_of(processor: Any) -> Any:
    return getattr(processor, "tokenizer", processor)


def _decode(tokenizer: Any, rows: Sequence[Sequence[int]]) -> list[str]:
    texts = tokenizer.batch_decode([list(map(int, r)) for r in rows], skip_special_tokens=True)
    return [" ".join(t.split()) for t in texts]


def _strip_prompts(predictions: np.ndarray, inputs: Optional[np.ndarray]) -> list[np.ndarray]:
    """Per row, the predicted ids after the echoed input (when the row starts with its input), padding dropped."""
    rows = []
    for i, row in enumerate(predictions):
        if inputs is not None and inputs.ndim == 2 and i < len(inputs):
            given = inputs[i]
            real = np.flatnonzero(given != IGNORE_INDEX)  # the trainer pads concatenated batches with -100
            n = int(real[-1]) + 1 if len(real) else 0
            if n and len(row) >= n and np.array_equal(row[:n], given[:n]):
                row = row[n:]
        rows.append(row[row >= 0])
    return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def make_compute_metrics(
    task: str,
    processor: Any,
    references: Optional[Sequence[Any]] = None,
    question_types: Optional[Sequence[str]] = None,
    options: Optional[Sequence[Sequence[str]]] = None,
    scoring: Optional[ScoringOptions] = None,
    predictions_from: Literal["generate", "logits"] = "generate",
    model: Any = None,
) -> Callable[[Any], dict[str, float]]:
    """A `compute_metrics(eval_pred) -> dict` for `task` (`prompt_inversion`, `caption`, `vqa` or `qas`).

    Args:
        task: the JourneyDB task the model is evaluated on.
        processor: the processor or tokenizer that decodes the model's ids.
        references: per evaluation sample, in order: the reference text(s); the answer letter (vqa); the image's
            question dicts (qas, required). Default: decoded from the labels.
        question_types, options: per evaluation sample (vqa, required).
        scoring: scoring options (`ScoringOptions`; e.g. `similarity_model=None, meteor=False` for quick evals).
        predictions_from: `"generate"` (generated ids) or `"logits"` (teacher-forced logits or their argmax).
        model: the model being evaluated: tells a decoder-only from an encoder-decoder model (for logits), and
            makes the trainer drop the outputs it cannot gather (see the module docstring).

    Returns:
        A function for `Trainer(compute_metrics=...)` returning the numeric scores of the task's scoring function
        (e.g. `bleu_4`, `cider`, `accuracy_style`); the trainer logs them as `eval_<name>`.
    """
    spec = get_task(task)
    if spec.ranked:
        raise ValueError(f"{task}: ranked predictions do not come from a Trainer; score them with journeydb.evaluation")
    if spec.reference_kind == "letter" and (question_types is None or options is None):
        raise ValueError(f"{task}: make_compute_metrics needs question_types and options, one per evaluation question")
    if spec.reference_kind == "questions" and references is None:
        raise ValueError(f"{task}: make_compute_metrics needs references: the question list of each evaluation image")
    if predictions_from not in ("generate", "logits"):
        raise ValueError(f"predictions_from must be 'generate' or 'logits', got {predictions_from!r}")
    causal = None if model is None else is_causal_model(model)
    if model is not None:
        _ignore_outputs(model)
    tokenizer = _tokenizer_of(processor)
    scoring = scoring or ScoringOptions()  # one object: its sentence model is loaded once, not per evaluation

    def compute_metrics(eval_pred: Any) -> dict[str, float]:
        predictions = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        predictions = np.asarray(predictions)
        labels = eval_pred.label_ids
        labels = labels[0] if isinstance(labels, tuple) else labels
        labels = None if labels is None else np.asarray(labels)
        if predictions.ndim == 3:  # logits
            predictions = predictions.argmax(-1)
        if predictions_from == "logits":
            if labels is None:
                raise ValueError("predictions_from='logits' needs labels to know which positions are predicted")
            shift = causal if causal is not None else _labels_copy_inputs(labels, getattr(eval_pred, "inputs", None))
            if shift is None:
                raise ValueError(
                    "predictions_from='logits': pass model= to make_compute_metrics (or have the trainer hand over "
                    "the input ids: include_for_metrics=['inputs']) so that it knows whether labels are shifted"
                )
            shifted, targets = (predictions[:, :-1], labels[:, 1:]) if shift else (predictions, labels)
            rows = [p[t != IGNORE_INDEX] for p, t in zip(shifted, targets)]
            label_rows = [t[t != IGNORE_INDEX] for t in targets]
        else:
            inputs = getattr(eval_pred, "inputs", None)
            rows = _strip_prompts(predictions, None if inputs is None else np.asarray(inputs))
            label_rows = None if labels is None else [row[row >= 0] for row in labels]
        texts = _decode(tokenizer, rows)
        refs = references
        if refs is None:
            if label_rows is None:
                raise ValueError(f"{task}: no labels in the evaluation batch; pass references= to make_compute_metrics")
            refs = _decode(tokenizer, label_rows)
            if spec.reference_kind == "letter":  # a lower-casing tokenizer turns the answer letter "B" into "b"
                refs = [r.upper() if len(r) == 1 else r for r in refs]
        if len(refs) != len(texts):
            raise ValueError(
                f"{task}: {len(texts)} predictions but {len(refs)} references (evaluation order must match)"
            )
        task_refs = TaskReferences(
            task=spec.name,
            split="eval",
            ids=[str(i) for i in range(len(refs))],
            image_ids=[str(i) for i in range(len(refs))],
            references=list(refs),
            question_types=None if question_types is None else list(question_types),
            options=None if options is None else [list(o) for o in options],
        )
        scores = score_task(task_refs, texts, scoring).scores
        return {k: float(v) for k, v in scores.items() if _is_number(v)}

    return compute_metrics
