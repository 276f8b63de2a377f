"""The task registry: the five scored tasks, each declaring everything that is particular to it.

A `Task` names the config of its ground truth, how references are collected from its rows, what a prediction is
keyed by and what it is, its scorer, the benchmark's built-in baseline and which model predicts it. Code elsewhere
asks the registry (`get_task`) instead of testing task names.

| task | paper table | prediction key | prediction | reference |
|---|---|---|---|---|
| `prompt_inversion` | 3 (and 8) | `image_id` | the prompt (text) | `prompt`; on test the human-cleaned `clean_prompt` |
| `caption` | 4 | `image_id` | a caption (text) | `caption` |
| `style` | 5 | `image_id` | style phrases, best first (list) | `Task1.Style` phrases |
| `vqa` | 6 | `question_id` | the answer (a letter or free text) | the answer letter |
| `qas` | 8 | `image_id` | the predicted prompt (text) | the image's questions |

The test split's ground truth is withheld by the release; organisers who hold it pass `test_annotations=` (the
`test-clean` config), and the test references come from there.
"""

from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Callable, Iterable, Literal, Mapping, Optional, Sequence

import numpy as np

from journeydb.release.records import ReadStats

from .baseline_predictions import (
    BaselineQueries,
    FittedBaselines,
    PredictionRows,
    nearest_captions,
    nearest_prompts,
    neighbour_styles,
    prior_answers,
)
from .score import (
    ScoringOptions,
    TaskScore,
    TaskScorer,
    score_qas_task,
    score_style_task,
    score_text_task,
    score_vqa_task,
)
from .annotation_rows import annotation_rows
from .references import (
    Collector,
    ReferenceCollector,
    TaskReferences,
    collect_caption,
    collect_prompt,
    collect_question_lists,
    collect_questions,
    collect_styles,
)

logger = logging.getLogger(__name__)

# which `journeydb benchmark` model predicts a task: the image-text-to-text model (`--model`: generation, or letter
# scoring for vqa) or the CLIP model (`--clip-model`)
ModelRole = Literal["generate", "choose", "rank"]
# what one reference is: a text, style phrases, an answer letter (with its question's type and options), or an
# image's list of question dicts
ReferenceKind = Literal["text", "phrases", "letter", "questions"]


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    config: str  # the builder config of its references on train/validation
    key: str  # the id field a prediction line is matched on
    ranked: bool  # a prediction is a ranked list of strings (else one string)
    collect: Collector  # adds one row's ground truth to the references
    reference_kind: ReferenceKind
    score: TaskScorer
    model_role: ModelRole
    baseline: str  # how the built-in baseline predicts it (the label in every table)
    predict_baseline: Callable[[FittedBaselines, TaskReferences, BaselineQueries], PredictionRows]
    baseline_uses_image: bool = True  # the baseline looks at the scored image (its nearest training images)
    has_test_truth: bool = True  # test-clean carries its ground truth (given test_annotations)
    prompts_from: Optional[str] = None  # judges the predictions of another task (qas: the predicted prompts)


NEAREST_IMAGE = "baseline (nearest training image)"

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="prompt_inversion",
            title="Prompt inversion",
            config="prompt",
            key="image_id",
            ranked=False,
            collect=collect_prompt,
            reference_kind="text",
            score=score_text_task,
            model_role="generate",
            baseline=NEAREST_IMAGE,
            predict_baseline=nearest_prompts,
        ),
        Task(
            name="caption",
            title="Image captioning",
            config="caption",
            key="image_id",
            ranked=False,
            collect=collect_caption,
            reference_kind="text",
            score=score_text_task,
            model_role="generate",
            baseline=NEAREST_IMAGE,
            predict_baseline=nearest_captions,
        ),
        Task(
            name="style",
            title="Style retrieval",
            config="style",
            key="image_id",
            ranked=True,
            collect=collect_styles,
            reference_kind="phrases",
            score=score_style_task,
            model_role="rank",
            baseline="baseline (nearest training images' styles)",
            predict_baseline=neighbour_styles,
            has_test_truth=False,
        ),
        Task(
            name="vqa",
            title="Multiple-choice VQA",
            config="vqa",
            key="question_id",
            ranked=False,
            collect=collect_questions,
            reference_kind="letter",
            score=score_vqa_task,
            model_role="choose",
            baseline="baseline (answer prior)",
            predict_baseline=prior_answers,
            baseline_uses_image=False,
        ),
        Task(
            name="qas",
            title="Question Answering Score",
            config="vqa",
            key="image_id",
            ranked=False,
            collect=collect_question_lists,
            reference_kind="questions",
            score=score_qas_task,
            model_role="generate",
            baseline=NEAREST_IMAGE,  # the prompts judged are the prompt-inversion baseline's
            predict_baseline=nearest_prompts,
            prompts_from="prompt_inversion",
        ),
    )
}
TASK_NAMES = tuple(TASKS)


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}") from None


def reference_rows(
    task: str,
    data_dir: str,
    split: str,
    cache_dir: Optional[str] = None,
    test_annotations: Optional[str] = None,
    with_images: bool = False,
):
    """The `datasets.Dataset` holding a task's ground truth (`test-clean` on the test split), images included when
    asked; this prepares the config's splits. Scoring needs no image: `load_references` reads annotations only."""
    from journeydb.evaluation.export_source import open_split

    config = _truth_config(get_task(task), split, test_annotations)
    extra = {"test_annotations": test_annotations} if config == "test-clean" else {}
    dataset = open_split(config, data_dir, split, cache_dir=cache_dir, **extra)
    return dataset if with_images else dataset.remove_columns("image")


def references_from_rows(task: str, rows: Iterable[Mapping[str, Any]], split: str) -> TaskReferences:
    """`TaskReferences` from the rows of `reference_rows` (any iterable of row dicts), in their order."""
    return _collect(task, ((0, row) for row in rows), split)


def _collect(task: str, ordered_rows: Iterable[tuple[int, Mapping[str, Any]]], split: str) -> TaskReferences:
    """References from (order key, row) pairs, stably sorted by the key (`annotation_rows`' shard positions)."""
    spec = get_task(task)
    collector = ReferenceCollector(spec.name, split, spec.reference_kind, per_question=spec.key == "question_id")
    order = array("l")  # each reference's key: compact, one machine integer a reference
    for position, row in ordered_rows:
        before = len(collector)
        spec.collect(collector, row, split)
        order.extend(repeat(position, len(collector) - before))
    refs = collector.finish(np.frombuffer(order, dtype=np.dtype(order.typecode)) if len(order) else None)
    if refs.skipped.counts:
        logger.warning("%s/%s: not scored: %s", spec.name, split, refs.skipped.summary())
    return refs


def load_references(
    task: str,
    data_dir: str,
    split: str = "validation",
    cache_dir: Optional[str] = None,
    test_annotations: Optional[str] = None,
) -> TaskReferences:
    """The ground truth of `task` on `split` of the release in `data_dir` (see the module docstring).

    Read from that split's annotation file alone (`annotation_rows`): no image is opened and nothing is prepared,
    so scoring validation never touches train. `cache_dir` is accepted for the callers' symmetry with `load`.
    """
    from journeydb.evaluation.export_source import is_export_folder

    spec = get_task(task)
    config = _truth_config(spec, split, test_annotations)
    if config != "test-clean" and is_export_folder(data_dir):  # an export has no annotation files: its tables
        return references_from_rows(task, reference_rows(task, data_dir, split, cache_dir), split)
    losses = ReadStats()
    rows = annotation_rows(data_dir, split, config, test_annotations=test_annotations, stats=losses)
    refs = _collect(task, rows, split)
    refs.read_losses = losses
    return refs


def _truth_config(spec: Task, split: str, test_annotations: Optional[str]) -> str:
    """The config holding `spec`'s ground truth on `split` (`test-clean` on test, which needs the withheld truth)."""
    if split != "test":
        return spec.config
    if not spec.has_test_truth:
        raise ValueError(f"{spec.name}: no test ground truth (test-clean does not carry it)")
    if not test_annotations:
        raise ValueError(
            "the release withholds the test ground truth; pass test_annotations=<JSONL with the test answers> "
            "(--test-annotations), or score the validation split"
        )
    return "test-clean"


def score_task(
    references: TaskReferences,
    predictions: Sequence[Any],
    options: Optional[ScoringOptions] = None,
    present: Optional[Sequence[bool]] = None,
) -> TaskScore:
    """Score aligned predictions (`predictions.align_predictions`) of one task with the task's scorer.

    Args:
        references: the task's ground truth.
        predictions: one per reference id, in the same order; a missing one is the task's empty prediction.
        options: scoring options (defaults: `ScoringOptions()`).
        present: False where a prediction was missing (scored as wrong; reported as `num_missing`).

    Raises:
        ValueError: an unknown task, no references, or a number of predictions (or of present flags) other than
            the number of references.
    """
    scorer = get_task(references.task).score
    if len(predictions) != len(references):
        raise ValueError(f"{references.task}: {len(predictions)} predictions for {len(references)} references")
    if not len(references):
        raise ValueError(f"{references.task}/{references.split}: no references to score against")
    if present is not None and len(present) != len(references):
        raise ValueError(f"{references.task}: {len(present)} present flags for {len(references)} references")
    return scorer(references, predictions, options or ScoringOptions(), present)
