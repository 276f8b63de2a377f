"""A task's ground truth on one split (`TaskReferences`), and how each task collects it from the builder's rows.

Each collector takes one row of the task's config (`prompt`, `caption`, `style`, `vqa`, or `test-clean` on the test
split) and appends what it holds to the references; rows without ground truth are counted in `skipped`, never
dropped silently. The task registry (`tasks.py`) names each task's collector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa

from journeydb.release.records import ReadStats

from .columns import PHRASES, QUESTIONS, TEXT, ColumnBuilder

# the Arrow type of one reference, per task registry `reference_kind`
REFERENCE_TYPES = {"text": TEXT, "phrases": PHRASES, "letter": pa.string(), "questions": QUESTIONS}


@dataclass
class TaskReferences:
    """The ground truth of one task on one split, in dataset order.

    `ids` are the keys predictions must carry (`question_id` for vqa, else `image_id`); `references[i]` belongs to
    `ids[i]`: a string (prompt_inversion, caption), a list of phrases (style), a letter (vqa) or the image's list of
    question dicts (qas). `skipped` counts rows that have no ground truth to score against (named, not dropped
    silently). Read from a release, every per-sample field is a compact `columns.Column` (a read-only sequence);
    any sequence works where a caller builds references itself.
    """

    task: str
    split: str
    ids: Sequence[str]
    image_ids: Sequence[str]
    references: Sequence[Any]
    question_types: Optional[Sequence[str]] = None  # vqa
    options: Optional[Sequence[list[str]]] = None  # vqa
    questions: Optional[Sequence[str]] = None  # vqa: the question texts
    skipped: ReadStats = field(default_factory=ReadStats)
    read_losses: ReadStats = field(default_factory=ReadStats)  # what reading the release skipped (bad records)

    def __len__(self) -> int:
        return len(self.ids)


class ReferenceCollector:
    """Collects a task's references row by row into `Column`s (what a collector function appends to)."""

    def __init__(self, task: str, split: str, reference_kind: str, per_question: bool) -> None:
        self.task, self.split, self.per_question = task, split, per_question
        self.skipped = ReadStats()
        self._ids = ColumnBuilder(pa.string())
        self._references = ColumnBuilder(REFERENCE_TYPES[reference_kind])
        # keyed by image, the ids are the image ids: stored once
        self._question_columns = (
            {name: ColumnBuilder(type) for name, type in
             (("image_ids", pa.string()), ("question_types", pa.string()), ("options", PHRASES),
              ("questions", pa.string()))}
            if per_question else {}
        )

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, key: str, image_id: str, reference: Any, question_type: Optional[str] = None,
            options: Optional[list[str]] = None, question: Optional[str] = None) -> None:
        self._ids.append(key)
        self._references.append(reference)
        if self.per_question:
            for name, value in (("image_ids", image_id), ("question_types", question_type), ("options", options),
                                ("questions", question)):
                self._question_columns[name].append(value)
        elif key != image_id:
            raise ValueError(f"{self.task}: a reference keyed by image has key {key!r} for image {image_id!r}")

    def finish(self, order: Optional[np.ndarray] = None) -> TaskReferences:
        """The collected references; `order` (one integer per reference) reorders them by a stable sort."""
        columns = {"ids": self._ids.finish(), "references": self._references.finish()}
        columns.update((name, builder.finish()) for name, builder in self._question_columns.items())
        if order is not None and len(order) != len(self):
            raise ValueError(f"{len(order)} order keys for {len(self)} references")
        if order is not None and len(order) > 1 and (np.diff(order) < 0).any():
            permutation = np.argsort(order, kind="stable")
            columns = {name: column.take(permutation) for name, column in columns.items()}
        columns.setdefault("image_ids", columns["ids"])
        return TaskReferences(task=self.task, split=self.split, skipped=self.skipped, **columns)


Collector = Callable[[ReferenceCollector, Mapping[str, Any], str], None]


def _add_text(refs: ReferenceCollector, row: Mapping[str, Any], field_name: str) -> None:
    text = row.get(field_name)
    if text is None:
        refs.skipped.skip(f"images without a {field_name}", row["image_id"])
    else:
        refs.add(row["image_id"], row["image_id"], text)


def collect_prompt(refs: ReferenceCollector, row: Mapping[str, Any], split: str) -> None:
    # the paper scores test prompts against the human-cleaned prompt
    _add_text(refs, row, "clean_prompt" if split == "test" else "prompt")


def collect_caption(refs: ReferenceCollector, row: Mapping[str, Any], split: str) -> None:
    _add_text(refs, row, "caption")


def collect_styles(refs: ReferenceCollector, row: Mapping[str, Any], split: str) -> None:
    refs.add(row["image_id"], row["image_id"], list(row["styles"]))


def collect_questions(refs: ReferenceCollector, row: Mapping[str, Any], split: str) -> None:
    """vqa: one reference per answered question, with its type, options and text."""
    for question in row["questions"]:
        if question["answer"] is None:
            refs.skipped.skip("questions without an answer", question["question_id"])
            continue
        refs.add(question["question_id"], row["image_id"], question["answer"], question_type=question["type"],
                 options=list(question["options"]), question=question["question"])


def collect_question_lists(refs: ReferenceCollector, row: Mapping[str, Any], split: str) -> None:
    """qas: one reference per image that has answered questions: the list of those questions."""
    questions = [dict(q) for q in row["questions"] if q["answer"] is not None]
    if len(questions) < len(row["questions"]):
        refs.skipped.skip("questions without an answer", row["image_id"])
    if not questions:
        refs.skipped.skip("images without answered questions", row["image_id"])
    else:
        refs.add(row["image_id"], row["image_id"], questions)
