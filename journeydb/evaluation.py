"""Score one task's predictions against its references with the shared scoring functions (one implementation each).

The scoring modules are imported where they are used, so this module (and the CLI listing it) imports without
torch or a model.

| task | scored by |
|---|---|
| `prompt_inversion`, `caption` | `journeydb.scoring.caption.score_captions` |
| `vqa` | `journeydb.scoring.choice.score_choices` |
| `style` | `journeydb.scoring.style.style_recall` |
| `qas` | `journeydb.models.llm_judge.compute_qas` (a judge path, (model, tokenizer) pair, or callable) |
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

from .tasks import TaskReferences

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
        tokenizer: `"python"` (PTB-compatible, no Java) or `"java"` (the toolkit's own PTBTokenizer).
        judge: the QAS judge; `None` uses the lexical baseline judge (`journeydb.models.baselines.lexical_judge`).
        style_tree: a style tree (path or mapping) for per-category recall.
        recall_k: the k of recall@k.
        batch_size, device: for model-based scores (similarity, the QAS judge).
    """

    similarity_model: Any = "default"
    meteor: bool = True
    tokenizer: str = "python"
    judge: Optional[Judge] = None
    style_tree: Any = None
    recall_k: Sequence[int] = DEFAULT_RECALL_K
    batch_size: int = 32
    device: Optional[str] = None


@dataclass
class TaskScore:
    """A task's scores as the scoring function returned them, plus what the report needs besides."""

    task: str
    scores: dict[str, Any]
    num_missing: int = 0
    per_sample: dict[str, list[float]] = field(default_factory=dict)  # for the distribution plots


def judge_label(judge: Optional[Judge]) -> str:
    """How a QAS judge is named in reports."""
    if judge is None:
        return "baseline (lexical judge)"
    if isinstance(judge, (str, os.PathLike)):
        return os.path.basename(os.path.normpath(os.fspath(judge))) or os.fspath(judge)
    if isinstance(judge, tuple):
        return type(judge[0]).__name__
    return getattr(judge, "__name__", type(judge).__name__)


def score_task(
    references: TaskReferences,
    predictions: Sequence[Any],
    options: Optional[ScoringOptions] = None,
    present: Optional[Sequence[bool]] = None,
) -> TaskScore:
    """Score aligned predictions (`journeydb.predictions.align_predictions`) of one task.

    Args:
        references: the task's ground truth.
        predictions: one per reference id, in the same order; a missing one is the task's empty prediction.
        options: scoring options (defaults: `ScoringOptions()`).
        present: False where a prediction was missing (scored as wrong; reported as `num_missing`).
    """
    options = options or ScoringOptions()
    if len(predictions) != len(references):
        raise ValueError(f"{references.task}: {len(predictions)} predictions for {len(references)} references")
    if not len(references):
        raise ValueError(f"{references.task}/{references.split}: no references to score against")
    num_missing = sum(1 for p in present if not p) if present is not None else 0
    task = references.task
    if task in ("prompt_inversion", "caption"):
        scores = _score_text(references, predictions, options)
    elif task == "vqa":
        from .scoring.choice import score_choices

        scores = score_choices(
            list(predictions), references.references, references.question_types, options=references.options
        )
    elif task == "style":
        scores = _score_style(references, predictions, options)
    elif task == "qas":
        scores = _score_qas(references, predictions, options, present)
    else:
        raise ValueError(f"unknown task {task!r}")
    result = TaskScore(task=task, scores=dict(scores), num_missing=num_missing)
    result.per_sample = per_sample_scores(references, predictions, options)
    return result


def _score_text(references: TaskReferences, predictions: Sequence[str], options: ScoringOptions) -> dict:
    from .scoring.caption import score_captions

    return score_captions(
        list(predictions),
        references.references,
        tokenizer=options.tokenizer,
        meteor=options.meteor,
        similarity_model=options.similarity_model,
        batch_size=options.batch_size,
        device=options.device,
    )


def _score_style(references: TaskReferences, predictions: Sequence[Sequence[str]], options: ScoringOptions) -> dict:
    from .scoring.style import style_recall

    return style_recall(
        [list(p) for p in predictions], references.references, k=tuple(options.recall_k), style_tree=options.style_tree
    )


def _score_qas(
    references: TaskReferences,
    predictions: Sequence[str],
    options: ScoringOptions,
    present: Optional[Sequence[bool]],
) -> dict:
    from .models.llm_judge import compute_qas

    judge = options.judge
    if judge is None:
        from .models.baselines import lexical_judge

        judge = lexical_judge
    if present is not None and not all(present):
        # a missing prompt must score as wrong, not be judged as an empty prompt: answer None for its questions
        judge = _skip_missing(judge, {i for i, p in enumerate(present) if not p}, predictions)
    return compute_qas(list(predictions), references.references, model=judge, batch_size=options.batch_size)


def _skip_missing(judge: Judge, missing: set[int], predictions: Sequence[str]) -> Judge:
    raise NotImplementedError  # wired when issue 5 lands (see report)


def evaluate_predictions(
    path: str | os.PathLike,
    references: TaskReferences,
    options: Optional[ScoringOptions] = None,
    model_label: Optional[str] = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Read a prediction file, match it to the references, score it: the results entry of one task.

    Returns a dict with `model`, `scores`, `num_missing`, `matching` (missing / duplicates / unknown, each with a
    count and examples), `skipped` (references without ground truth, if any) and `per_sample`.
    """
    from .predictions import align_predictions, read_predictions

    lines = read_predictions(path, references.task)
    aligned = align_predictions(lines, references.ids, references.task, strict=strict, source=os.fspath(path))
    score = score_task(references, aligned.predictions, options, present=aligned.present)
    entry: dict[str, Any] = {
        "model": model_label or os.path.splitext(os.path.basename(os.fspath(path)))[0],
        "scores": score.scores,
        "num_missing": score.num_missing,
        "matching": aligned.issues.as_dict(),
        "per_sample": score.per_sample,
    }
    if references.skipped.counts:
        entry["skipped"] = references.skipped.summary()
    return entry


def per_sample_scores(
    references: TaskReferences, predictions: Sequence[Any], options: ScoringOptions
) -> dict[str, list[float]]:
    """Per-sample values for the score-distribution plots (empty where a task has none cheap to get)."""
    return {}
