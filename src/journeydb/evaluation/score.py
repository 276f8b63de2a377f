"""Score one task's predictions against its references with the shared scoring functions (one implementation each).

The scoring modules are imported where they are used, so this module (and the CLI listing it) imports without
torch or a model.

| task | scored by | per-sample values (for the distribution plots) |
|---|---|---|
| `prompt_inversion`, `caption` | `journeydb.scoring.caption.score_captions` | `similarity.similarity_per_sample` |
| `vqa` | `journeydb.scoring.choice.score_choices` | each image's accuracy (`extract_choice`) |
| `style` | `journeydb.scoring.style.style_recall` | each image's recall@max(k) |
| `qas` | `llm_judge.answer_questions` + `scoring.qas.qas_from_answers` (= `compute_qas`) | each image's QAS_s, QAS_c |
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

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
    _encoder: Any = field(default=None, init=False, repr=False, compare=False)

    def sentence_encoder(self) -> Any:
        """The Similarity model, loaded once (the corpus score and the per-sample values share it); None: skipped."""
        if self.similarity_model is None:
            return None
        if self._encoder is None:
            from journeydb.models.sentence_model import load_sentence_model

            default = isinstance(self.similarity_model, str) and self.similarity_model == "default"
            self._encoder = load_sentence_model(None if default else self.similarity_model, device=self.device)
        return self._encoder


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
    per_sample: dict[str, list[float]] = {}
    if task in ("prompt_inversion", "caption"):
        scores, per_sample = _score_text(references, predictions, options)
    elif task == "vqa":
        from journeydb.scoring.choice import score_choices

        scores = score_choices(
            list(predictions), references.references, references.question_types, options=references.options
        )
        per_sample = _vqa_per_image(references, predictions)
    elif task == "style":
        scores, per_sample = _score_style(references, predictions, options)
    elif task == "qas":
        scores, per_sample = _score_qas(references, predictions, options, present)
    else:
        raise ValueError(f"unknown task {task!r}")
    return TaskScore(task=task, scores=dict(scores), num_missing=num_missing, per_sample=per_sample)


def _score_text(
    references: TaskReferences, predictions: Sequence[str], options: ScoringOptions
) -> tuple[dict, dict[str, list[float]]]:
    from journeydb.scoring.caption import normalize_references, score_captions
    from journeydb.scoring.similarity import similarity_per_sample

    encoder = options.sentence_encoder()
    scores = score_captions(
        list(predictions),
        references.references,
        tokenizer=options.tokenizer,
        meteor=options.meteor,
        similarity_model=encoder,
        batch_size=options.batch_size,
        device=options.device,
    )
    if encoder is None:
        return scores, {}
    reference_lists = normalize_references(predictions, references.references)
    per_sample = similarity_per_sample(list(predictions), reference_lists, encoder, options.batch_size, options.device)
    return scores, {"Similarity per sample": [float(v) for v in per_sample]}


def _score_style(
    references: TaskReferences, predictions: Sequence[Sequence[str]], options: ScoringOptions
) -> tuple[dict, dict[str, list[float]]]:
    from journeydb.scoring.style import style_recall

    ranked = [list(p) for p in predictions]
    scores = style_recall(ranked, references.references, k=tuple(options.recall_k), style_tree=options.style_tree)
    top = max(options.recall_k)
    per_image = [
        style_recall([p], [r], k=top)[f"recall@{top}"] for p, r in zip(ranked, references.references) if r
    ]  # images without gold style phrases have no recall
    return scores, {f"recall@{top} per image": per_image}


def _vqa_per_image(references: TaskReferences, predictions: Sequence[str]) -> dict[str, list[float]]:
    """Each image's accuracy over its questions, with the same answer extraction as `score_choices`."""
    from journeydb.scoring.choice import extract_choice

    correct: dict[str, list[bool]] = {}
    for prediction, answer, opts, image_id in zip(
        predictions, references.references, references.options, references.image_ids
    ):
        correct.setdefault(image_id, []).append(extract_choice(prediction, opts)[0] == answer)
    return {"accuracy per image": [sum(c) / len(c) for c in correct.values()]}


def _score_qas(
    references: TaskReferences,
    predictions: Sequence[str],
    options: ScoringOptions,
    present: Optional[Sequence[bool]],
) -> tuple[dict, dict[str, list[float]]]:
    """QAS as `compute_qas` defines it (`answer_questions`, then `qas_from_answers`), keeping the per-image answers.

    A missing prompt is not judged (an LLM may well guess right from an empty prompt): its questions get no answer,
    which QAS counts as wrong and invalid.
    """
    from journeydb.models.llm_judge import answer_questions
    from journeydb.scoring.qas import check_references, qas_from_answers

    judge = options.judge
    if judge is None:
        from journeydb.models.baselines import lexical_judge

        judge = lexical_judge
    present = list(present) if present is not None else [True] * len(predictions)
    checked = check_references(references.references, require_answers=True)  # fail before loading a judge
    items = [
        {"prompt": prompt, "question": q["question"], "options": q["options"]}
        for prompt, questions, here in zip(predictions, checked, present)
        if here
        for q in questions
    ]
    flat = iter(answer_questions(items, judge, options.batch_size, device=options.device) if items else [])
    answers = [[next(flat) if here else None for _ in questions] for questions, here in zip(checked, present)]
    scores = qas_from_answers(answers, checked)
    per_image: dict[str, list[float]] = {"QAS_s per image": [], "QAS_c per image": []}
    for image_answers, questions in zip(answers, checked):
        one = qas_from_answers([image_answers], [questions])
        for name, key in (("QAS_s per image", "qas_style"), ("QAS_c per image", "qas_content")):
            if one[key] is not None:
                per_image[name].append(one[key])
    return scores, per_image


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
