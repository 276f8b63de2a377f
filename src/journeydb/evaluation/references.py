"""A task's ground truth on one split (`TaskReferences`), and how each task collects it from the builder's rows.

Each collector takes one row of the task's config (`prompt`, `caption`, `style`, `vqa`, or `test-clean` on the test
split) and appends what it holds to the references; rows without ground truth are counted in `skipped`, never
dropped silently. The task registry (`tasks.py`) names each task's collector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from journeydb.release.records import ReadStats


@dataclass
class TaskReferences:
    """The ground truth of one task on one split, in dataset order.

    `ids` are the keys predictions must carry (`question_id` for vqa, else `image_id`); `references[i]` belongs to
    `ids[i]`: a string (prompt_inversion, caption), a list of phrases (style), a letter (vqa) or the image's list of
    question dicts (qas). `skipped` counts rows that have no ground truth to score against (named, not dropped
    silently).
    """

    task: str
    split: str
    ids: list[str]
    image_ids: list[str]
    references: list[Any]
    question_types: Optional[list[str]] = None  # vqa
    options: Optional[list[list[str]]] = None  # vqa
    questions: Optional[list[str]] = None  # vqa: the question texts
    skipped: ReadStats = field(default_factory=ReadStats)
    read_losses: ReadStats = field(default_factory=ReadStats)  # what reading the release skipped (bad records)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, key: str, image_id: str, reference: Any) -> None:
        self.ids.append(key)
        self.image_ids.append(image_id)
        self.references.append(reference)


Collector = Callable[[TaskReferences, Mapping[str, Any], str], None]


def _add_text(refs: TaskReferences, row: Mapping[str, Any], field_name: str) -> None:
    text = row.get(field_name)
    if text is None:
        refs.skipped.skip(f"images without a {field_name}", row["image_id"])
    else:
        refs.add(row["image_id"], row["image_id"], text)


def collect_prompt(refs: TaskReferences, row: Mapping[str, Any], split: str) -> None:
    # the paper scores test prompts against the human-cleaned prompt
    _add_text(refs, row, "clean_prompt" if split == "test" else "prompt")


def collect_caption(refs: TaskReferences, row: Mapping[str, Any], split: str) -> None:
    _add_text(refs, row, "caption")


def collect_styles(refs: TaskReferences, row: Mapping[str, Any], split: str) -> None:
    refs.add(row["image_id"], row["image_id"], list(row["styles"]))


def collect_questions(refs: TaskReferences, row: Mapping[str, Any], split: str) -> None:
    """vqa: one reference per answered question, with its type, options and text."""
    for question in row["questions"]:
        if question["answer"] is None:
            refs.skipped.skip("questions without an answer", question["question_id"])
            continue
        refs.add(question["question_id"], row["image_id"], question["answer"])
        refs.question_types.append(question["type"])
        refs.options.append(list(question["options"]))
        refs.questions.append(question["question"])


def collect_question_lists(refs: TaskReferences, row: Mapping[str, Any], split: str) -> None:
    """qas: one reference per image that has answered questions: the list of those questions."""
    questions = [dict(q) for q in row["questions"] if q["answer"] is not None]
    if len(questions) < len(row["questions"]):
        refs.skipped.skip("questions without an answer", row["image_id"])
    if not questions:
        refs.skipped.skip("images without answered questions", row["image_id"])
    else:
        refs.add(row["image_id"], row["image_id"], questions)
