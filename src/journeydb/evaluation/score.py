"""The task scorers: one task's aligned predictions against its references, by the shared scoring functions.

Each scorer has one signature, `(references, predictions, options, present) -> TaskScore`; the task registry
(`tasks.py`) names each task's scorer and `tasks.score_task` calls it. A scorer calls its scoring function once and takes the per-sample values (for the distribution
plots) from the same result, so nothing is scored or embedded twice. The scoring modules are imported where they
are used, so this module (and the CLI listing it) imports without torch or a model.

| task | scored by | per-sample values |
|---|---|---|
| `prompt_inversion`, `caption` | `journeydb.scoring.caption.score_captions` | each sample's Similarity |
| `vqa` | `journeydb.scoring.choice.score_choices` | each image's accuracy over its questions |
| `style` | `journeydb.scoring.style.style_recall` | each image's recall@max(k) |
| `qas` | `models.llm_judge.compute_qas` (judge, then `scoring.qas.qas_from_answers`) | each image's QAS_s, QAS_c |
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from journeydb.models.sentence_model import DEFAULT_EMBED_BATCH_SIZE

from .columns import TEXT, Column, arrow_of
from .references import TaskReferences

logger = logging.getLogger(__name__)

DEFAULT_RECALL_K = (1, 5, 10)

Judge = Union[str, os.PathLike, tuple, Callable[[list[dict]], list[str]]]


@dataclass
class ScoringOptions:
    """Options of the scoring functions, shared by `journeydb evaluate` and `journeydb benchmark`.

    Args:
        similarity_model: the Sentence-BERT model of the `similarity` score (`"default"`: offline all-MiniLM-L6-v2;
            `None` skips it).
        meteor: compute METEOR 1.5 (needs Java; null with a logged reason where it is absent).
        meteor_jobs: JVMs METEOR's SCORE lines are split over (None: `default_meteor_jobs`); the numbers do
            not depend on it.
        tokenizer: `"python"` (PTB-compatible, no Java) or `"java"` (the toolkit's own PTBTokenizer).
        judge: the QAS judge; `None` uses the lexical baseline judge (`journeydb.models.baselines.lexical_judge`).
        style_tree: a style tree (path or mapping) for per-category recall.
        recall_k: the k of recall@k.
        batch_size: for the QAS judge.
        similarity_batch_size: texts per forward pass of the Similarity embedder (a sentence model is small: large
            batches of length-sorted texts are what makes it fast).
        device: for model-based scores (similarity, the QAS judge); None: `models.placement`'s default (this
            process's GPU when there is one, else the CPU).
    """

    similarity_model: Any = "default"
    meteor: bool = True
    meteor_jobs: Optional[int] = None
    tokenizer: str = "python"
    judge: Optional[Judge] = None
    style_tree: Any = None
    recall_k: Sequence[int] = DEFAULT_RECALL_K
    batch_size: int = 32
    similarity_batch_size: int = DEFAULT_EMBED_BATCH_SIZE
    device: Optional[str] = None
    _encoder: Any = field(default=None, init=False, repr=False, compare=False)
    _embedder: Any = field(default=None, init=False, repr=False, compare=False)

    def sentence_encoder(self) -> Any:
        """The Similarity model, loaded once (also lent to the style-tree builder); None: skipped."""
        if self.similarity_model is None:
            return None
        if self._encoder is None:
            from journeydb.models.placement import model_placement
            from journeydb.models.sentence_model import load_sentence_model

            device = None
            if isinstance(self.similarity_model, (str, os.PathLike)):  # a loaded model stays where it is
                device = str(model_placement(self.device)[0])
            self._encoder = load_sentence_model(self.similarity_model, device=device)
        return self._encoder

    def sentence_embedder(self) -> Optional[Callable[[Sequence[str]], Any]]:
        """The `embed` function of the Similarity score, made once from `sentence_encoder`; None: skipped."""
        encoder = self.sentence_encoder()
        if encoder is None:
            return None
        if self._embedder is None:
            from journeydb.models.sentence_model import make_sentence_embedder

            self._embedder = make_sentence_embedder(encoder, batch_size=self.similarity_batch_size)
        return self._embedder


@dataclass
class TaskScore:
    """A task's scores as the scoring function returned them, plus what the report needs besides."""

    task: str
    scores: dict[str, Any]
    num_missing: int = 0
    per_sample: dict[str, list[float]] = field(default_factory=dict)  # for the distribution plots
    # per reference id, in the references' order: the scorer's own per-sample values, for the report's gallery
    samples: dict[str, list[Any]] = field(default_factory=dict)


TaskScorer = Callable[[TaskReferences, Sequence[Any], ScoringOptions, Optional[Sequence[bool]]], TaskScore]


def judge_label(judge: Optional[Judge]) -> str:
    """How a QAS judge is named in reports."""
    if judge is None:
        return "baseline (lexical judge)"
    if isinstance(judge, (str, os.PathLike)):
        return os.path.basename(os.path.normpath(os.fspath(judge))) or os.fspath(judge)
    if isinstance(judge, tuple):
        return type(judge[0]).__name__
    return getattr(judge, "__name__", type(judge).__name__)


def _num_missing(present: Optional[Sequence[bool]]) -> int:
    return sum(1 for here in present if not here) if present is not None else 0


def _defined(values: Sequence[float]) -> list[float]:
    """The values as floats, without the NaNs that mark samples having no such value."""
    return [float(v) for v in values if not math.isnan(v)]


def score_text_task(
    references: TaskReferences,
    predictions: Sequence[str],
    options: ScoringOptions,
    present: Optional[Sequence[bool]],
) -> TaskScore:
    """`prompt_inversion` and `caption`: `score_captions`, with each sample's Similarity (when it is computed)."""
    from journeydb.scoring.caption import score_captions

    scored = score_captions(
        list(predictions),
        references.references,
        tokenizer=options.tokenizer,
        meteor=options.meteor,
        meteor_jobs=options.meteor_jobs,
        embed=options.sentence_embedder(),
    )
    shown = [k for k in ("bleu_4", "meteor", "cider", "similarity") if k in scored.per_sample]
    samples = {k: [float(v) for v in scored.per_sample[k]] for k in shown}
    per_sample = {"Similarity per sample": samples["similarity"]} if "similarity" in samples else {}
    return TaskScore(references.task, dict(scored.corpus), _num_missing(present), per_sample, samples)


def score_style_task(
    references: TaskReferences,
    predictions: Sequence[Sequence[str]],
    options: ScoringOptions,
    present: Optional[Sequence[bool]],
) -> TaskScore:
    """`style`: `style_recall`, with each image's recall at the largest k (images without gold have none)."""
    from journeydb.scoring.style import style_recall

    scored = style_recall(
        [list(p) for p in predictions], references.references, k=tuple(options.recall_k), style_tree=options.style_tree
    )
    top = max(options.recall_k)
    per_sample = {f"recall@{top} per image": _defined(scored.per_sample[f"recall@{top}"])}
    samples = {k: [float(v) for v in values] for k, values in scored.per_sample.items()}
    return TaskScore(references.task, dict(scored.corpus), _num_missing(present), per_sample, samples)


def score_vqa_task(
    references: TaskReferences,
    predictions: Sequence[str],
    options: ScoringOptions,
    present: Optional[Sequence[bool]],
) -> TaskScore:
    """`vqa`: `score_choices`, with each image's accuracy over its questions (images in order of first question)."""
    from journeydb.scoring.choice import score_choices

    scored = score_choices(
        list(predictions), references.references, references.question_types, options=references.options
    )
    per_sample = {"accuracy per image": accuracy_by_image(references.image_ids, scored.per_sample["correct"])
                  .accuracy.tolist()}
    samples = {"letter": list(scored.per_sample["letter"]), "correct": scored.per_sample["correct"].tolist()}
    return TaskScore(references.task, dict(scored.corpus), _num_missing(present), per_sample, samples)


@dataclass(frozen=True)
class ImageAccuracy:
    """Per-question correctness grouped by image: images numbered in order of their first question."""

    image_of_question: np.ndarray  # (Q,) the image number of each question
    images: Column  # image number -> image_id
    accuracy: np.ndarray  # (N,) each image's fraction of correct questions


def accuracy_by_image(image_ids: Sequence[str], correct: Sequence[bool]) -> ImageAccuracy:
    """Each image's accuracy over its questions (`image_ids[q]` is question q's image); shared by the vqa scorer's
    per-image values and the gallery's ranking, so both order and count images the same way. The ids are numbered
    in Arrow (a Column's own array), not through a dict of Python strings."""
    from journeydb.scoring.token_ids import first_occurrence_ids

    image_of_question, images = first_occurrence_ids(arrow_of(image_ids, TEXT))
    right = np.asarray(correct, dtype=np.float64)
    accuracy = np.bincount(image_of_question, weights=right, minlength=len(images))
    accuracy /= np.bincount(image_of_question, minlength=len(images))
    return ImageAccuracy(image_of_question, Column(images), accuracy)


def score_qas_task(
    references: TaskReferences,
    predictions: Sequence[str],
    options: ScoringOptions,
    present: Optional[Sequence[bool]],
) -> TaskScore:
    """`qas`: `compute_qas` with the options' judge (default: the lexical baseline judge); a missing prompt is not
    judged, so its questions count as unanswered. Per image, its QAS_s and QAS_c where it has such questions."""
    from journeydb.models.llm_judge import compute_qas

    judge = options.judge
    if judge is None:
        from journeydb.models.baselines import lexical_judge

        judge = lexical_judge
    scored = compute_qas(
        list(predictions), references.references, judge, options.batch_size, device=options.device, present=present
    )
    per_sample = {
        "QAS_s per image": _defined(scored.per_sample["qas_style"]),
        "QAS_c per image": _defined(scored.per_sample["qas_content"]),
    }
    samples = {k: [float(v) for v in scored.per_sample[k]] for k in ("qas_style", "qas_content")}
    samples["answers"] = list(scored.per_sample["answers"])
    return TaskScore(references.task, dict(scored.corpus), _num_missing(present), per_sample, samples)
