"""The five scored tasks: which config holds their ground truth, what a prediction is keyed by, and its references.

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
from dataclasses import dataclass, field
from typing import Any, Optional

from journeydb.release.records import ReadStats

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    name: str
    config: str  # the builder config of its references on train/validation
    key: str  # the id field a prediction line is matched on
    ranked: bool  # a prediction is a ranked list of strings (else one string)
    title: str


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("prompt_inversion", "prompt", "image_id", False, "Prompt inversion"),
        Task("caption", "caption", "image_id", False, "Image captioning"),
        Task("style", "style", "image_id", True, "Style retrieval"),
        Task("vqa", "vqa", "question_id", False, "Multiple-choice VQA"),
        Task("qas", "vqa", "image_id", False, "Question Answering Score"),
    )
}
TASK_NAMES = tuple(TASKS)


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}") from None


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

    def __len__(self) -> int:
        return len(self.ids)


def reference_rows(
    task: str,
    data_dir: str,
    split: str,
    cache_dir: Optional[str] = None,
    test_annotations: Optional[str] = None,
    with_images: bool = False,
):
    """The `datasets.Dataset` holding a task's ground truth (`test-clean` on the test split)."""
    from journeydb.builder.builder import load

    spec = get_task(task)
    if split == "test":
        if spec.name == "style":
            raise ValueError("style retrieval has no test ground truth (test-clean carries no style phrases)")
        if not test_annotations:
            raise ValueError(
                "the release withholds the test ground truth; pass test_annotations=<JSONL with the test answers> "
                "(--test-annotations), or score the validation split"
            )
        dataset = load(
            "test-clean", data_dir=data_dir, split="test", cache_dir=cache_dir, test_annotations=test_annotations
        )
    else:
        dataset = load(spec.config, data_dir=data_dir, split=split, cache_dir=cache_dir)
    return dataset if with_images else dataset.remove_columns("image")


def references_from_rows(task: str, rows: Any, split: str) -> TaskReferences:
    """`TaskReferences` from the rows of `reference_rows` (any iterable of row dicts)."""
    spec = get_task(task)
    refs = TaskReferences(task=spec.name, split=split, ids=[], image_ids=[], references=[])
    if spec.name == "vqa":
        refs.question_types, refs.options, refs.questions = [], [], []
    for row in rows:
        image_id = row["image_id"]
        if spec.name in ("prompt_inversion", "caption"):
            field_name = "prompt" if spec.name == "prompt_inversion" else "caption"
            if split == "test" and spec.name == "prompt_inversion":
                field_name = "clean_prompt"  # the paper scores test prompts against the human-cleaned prompt
            text = row.get(field_name)
            if text is None:
                refs.skipped.skip(f"images without a {field_name}", image_id)
                continue
            refs.ids.append(image_id)
            refs.image_ids.append(image_id)
            refs.references.append(text)
        elif spec.name == "style":
            refs.ids.append(image_id)
            refs.image_ids.append(image_id)
            refs.references.append(list(row["styles"]))
        elif spec.name == "vqa":
            for q in row["questions"]:
                if q["answer"] is None:
                    refs.skipped.skip("questions without an answer", q["question_id"])
                    continue
                refs.ids.append(q["question_id"])
                refs.image_ids.append(image_id)
                refs.references.append(q["answer"])
                refs.question_types.append(q["type"])
                refs.options.append(list(q["options"]))
                refs.questions.append(q["question"])
        else:  # qas: one item per image that has answered questions
            questions = [dict(q) for q in row["questions"] if q["answer"] is not None]
            if len(questions) < len(row["questions"]):
                refs.skipped.skip("questions without an answer", image_id)
            if not questions:
                refs.skipped.skip("images without answered questions", image_id)
                continue
            refs.ids.append(image_id)
            refs.image_ids.append(image_id)
            refs.references.append(questions)
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
    """The ground truth of `task` on `split` of the release in `data_dir` (see the module docstring)."""
    rows = reference_rows(task, data_dir, split, cache_dir=cache_dir, test_annotations=test_annotations)
    return references_from_rows(task, rows, split)
