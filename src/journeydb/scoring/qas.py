"""The Question Answering Score (QAS) of JourneyDB (paper App. B.1/C.1, Table 8), independent of the judge.

A judge reads a predicted prompt, imagines the image it would generate and answers each of the image's
multiple-choice questions with one letter. Per image, accuracy is taken separately over its style questions and over
its content questions; `qas_style` and `qas_content` are the means of those per-image accuracies over the images that
have questions of that type, and `qas` is the mean of the two. Who answers (an LLM, an API, a test double) is the
business of `journeydb.models.llm_judge`; this module only checks the questions and turns letters into the score.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from journeydb.release.records import LETTERS

from .scored import ScoredCorpus

QUESTION_TYPES = ("style", "content")
# The keys of one question in the `vqa` config; `question_id` is optional for QAS.
QUESTION_KEYS = ("question_id", "type", "question", "options", "answer")

__all__ = [
    "QUESTION_KEYS",
    "QUESTION_TYPES",
    "check_references",
    "is_valid_letter",
    "qas_from_answers",
    "qas_from_table",
    "question_table",
]


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _check_question(question: Any, where: str, require_answer: bool) -> dict[str, Any]:
    if not isinstance(question, Mapping):
        raise TypeError(f"{where} must be a question dict, got {type(question).__name__}")
    qtype = question.get("type")
    if qtype not in QUESTION_TYPES:
        raise ValueError(f"{where} has type {qtype!r}; expected one of {QUESTION_TYPES}")
    text = question.get("question")
    if not isinstance(text, str):
        raise ValueError(f"{where} has question {text!r}; expected a string")
    options = question.get("options")
    if not _is_sequence(options) or len(options) != 4 or not all(isinstance(o, str) for o in options):
        raise ValueError(f"{where} has options {options!r}; expected a list of 4 strings (A-D)")
    answer = question.get("answer")
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        answer = None
        if require_answer:
            raise ValueError(
                f"{where} has no answer: the ground truth is withheld (the JourneyDB test split ships questions "
                "without answers), so QAS cannot be scored on it; use the validation split or supply the answers"
            )
    elif answer not in LETTERS:
        raise ValueError(f"{where} has answer {answer!r}; expected one of {LETTERS}")
    question_id = question.get("question_id")
    if question_id is not None and not isinstance(question_id, str):
        raise ValueError(f"{where} has question_id {question_id!r}; expected a string or None")
    return {"question_id": question_id, "type": qtype, "question": text, "options": list(options), "answer": answer}


def check_references(
    references: Sequence[Sequence[Mapping[str, Any]]], require_answers: bool = True
) -> list[list[dict]]:
    """Validates per-image question lists and returns them in canonical form.

    Args:
        references (`Sequence[Sequence[Mapping]]`):
            Per image, its questions as in the `vqa` config: `type` ("style" or "content"), `question`, `options`
            (4 strings, A-D order), `answer` ("A"-"D"); `question_id` is optional. Other keys are ignored.
        require_answers (`bool`, *optional*, defaults to `True`):
            Whether a question without an answer is an error (it is for scoring; the test split withholds answers).

    Returns:
        `list[list[dict]]`: per image, each question as a dict with exactly the keys of `QUESTION_KEYS`.

    Raises:
        `TypeError` / `ValueError` naming the image and question index (`references[i][j]`) of the first bad item.
    """
    return list(_checked_images(references, require_answers))


def _checked_images(references: Any, require_answers: bool) -> Iterator[list[dict[str, Any]]]:
    """Each image's checked questions in turn (the checks of `check_references`)."""
    if not _is_sequence(references):
        raise TypeError(f"references must be a list (one question list per image), got {type(references).__name__}")
    for i, questions in enumerate(references):
        if not _is_sequence(questions):
            raise TypeError(f"references[{i}] must be a list of question dicts, got {type(questions).__name__}")
        yield [_check_question(q, f"references[{i}][{j}]", require_answers) for j, q in enumerate(questions)]


def check_qas_inputs(predictions: Any, references: Any) -> tuple[list[str], list[list[dict]]]:
    """Predicted prompts (strings) and their images' question lists, one each per image; the question lists come
    back canonical (`check_references`)."""
    if not _is_sequence(predictions):
        raise TypeError(f"predictions must be a list (one prompt per image), got {type(predictions).__name__}")
    for i, prediction in enumerate(predictions):
        if not isinstance(prediction, str):
            raise TypeError(f"predictions[{i}] is {type(prediction).__name__}, not a string")
    checked = check_references(references, require_answers=True)
    if len(predictions) != len(checked):
        raise ValueError(f"{len(predictions)} predictions but {len(checked)} references")
    return list(predictions), checked


def is_valid_letter(answer: Any) -> bool:
    """Whether a judge's answer is one letter "A"-"D" (surrounding whitespace ignored, case not)."""
    return isinstance(answer, str) and answer.strip() in LETTERS


def _mean(values: list[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def qas_from_answers(
    answers: Sequence[Sequence[Optional[str]]], references: Sequence[Sequence[Mapping[str, Any]]]
) -> ScoredCorpus:
    """The Question Answering Score from a judge's letters, with each image's own QAS_s and QAS_c.

    Args:
        answers (`Sequence[Sequence[str | None]]`):
            Per image, the judge's answer to each of its questions, in the order of `references`. An answer that is not
            one letter "A"-"D" (surrounding whitespace ignored; `None` included) counts as wrong and as invalid.
        references (`Sequence[Sequence[Mapping]]`):
            Per image, its questions with their ground-truth `answer` (see `check_references`).

    Returns:
        `ScoredCorpus`. `corpus`: `qas` (mean of `qas_style` and `qas_content`; `None` unless both are defined),
        `qas_style` and `qas_content` (mean over the images having questions of that type of the image's accuracy
        on them; `None` when no image has such questions), `num_images`, `num_questions`, `num_invalid`. Scores
        are fractions in [0, 1]; the paper reports them as percentages. An image without questions of a type does
        not enter that type's mean; an image without any question enters neither but is counted in `num_images`.
        `per_sample`: `qas_style` and `qas_content`, one float per image (that image's accuracy on its questions
        of the type; NaN where it has none), and `answers`, the image's answers as given.

    Raises:
        `ValueError` if the lengths disagree (naming the image), a question is malformed (naming `references[i][j]`),
        or a question has no ground-truth answer (the test split withholds it).

    Example:

    ```python
    >>> refs = [[{"type": "style", "question": "Style?", "options": ["a", "b", "c", "d"], "answer": "A"},
    ...          {"type": "content", "question": "What?", "options": ["a", "b", "c", "d"], "answer": "B"}]]
    >>> scored = qas_from_answers([["A", "C"]], refs)
    >>> scored.corpus
    {'qas': 0.5, 'qas_style': 1.0, 'qas_content': 0.0, 'num_images': 1, 'num_questions': 2, 'num_invalid': 0}
    >>> scored.per_sample["qas_style"].tolist(), scored.per_sample["qas_content"].tolist()
    ([1.0], [0.0])

    ```
    """
    return qas_from_table(answers, question_table(references, require_answers=True))


@dataclass(frozen=True)
class QuestionTable:
    """What scoring needs of every image's checked questions, as flat arrays (a few bytes a question, where the
    question dicts take hundreds): image `i` holds questions `starts[i]:starts[i + 1]`."""

    starts: np.ndarray  # (N + 1,) int64
    types: np.ndarray  # (Q,) int8: index into QUESTION_TYPES
    answers: np.ndarray  # (Q,) int8: index into LETTERS, -1 where withheld

    @property
    def num_images(self) -> int:
        return len(self.starts) - 1

    def question_counts(self) -> np.ndarray:
        return np.diff(self.starts)


def question_table(references: Sequence[Sequence[Mapping[str, Any]]], require_answers: bool = True) -> QuestionTable:
    """Check every question as `check_references` does (same errors), keeping only the `QuestionTable`."""
    counts, types, answers = array("q"), array("b"), array("b")
    for questions in _checked_images(references, require_answers):
        for checked in questions:
            types.append(QUESTION_TYPES.index(checked["type"]))
            answers.append(LETTERS.index(checked["answer"]) if checked["answer"] is not None else -1)
        counts.append(len(questions))
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(counts, dtype=np.int64), out=starts[1:])
    return QuestionTable(starts, np.frombuffer(types, dtype=np.int8).copy(), np.frombuffer(answers, dtype=np.int8).copy())


def qas_from_table(answers: Sequence[Sequence[Optional[str]]], table: QuestionTable) -> ScoredCorpus:
    """`qas_from_answers` on questions already checked into a `QuestionTable`."""
    if not table.num_images:
        raise ValueError("QAS needs at least one image; references is empty")
    if not _is_sequence(answers):
        raise TypeError(f"answers must be a list (one answer list per image), got {type(answers).__name__}")
    if len(answers) != table.num_images:
        raise ValueError(f"got answers for {len(answers)} images but references for {table.num_images}")
    counts = table.question_counts()
    given = np.full(len(table.types), -1, dtype=np.int8)  # each answer's letter index, -1 where invalid
    for i, image_answers in enumerate(answers):
        if not _is_sequence(image_answers) or len(image_answers) != counts[i]:
            got = len(image_answers) if _is_sequence(image_answers) else type(image_answers).__name__
            raise ValueError(f"answers[{i}] must be a list of {counts[i]} answers (one per question), got {got}")
        start = int(table.starts[i])
        for j, answer in enumerate(image_answers):
            if is_valid_letter(answer):
                given[start + j] = LETTERS.index(answer.strip())
    num_invalid = int((given < 0).sum())
    right = (given >= 0) & (given == table.answers)
    image_of = np.repeat(np.arange(table.num_images), counts)
    per_type: dict[str, list[float]] = {}
    per_image = {}
    for code, qtype in enumerate(QUESTION_TYPES):
        of_type = table.types == code
        total = np.bincount(image_of[of_type], minlength=table.num_images)
        correct = np.bincount(image_of[of_type & right], minlength=table.num_images)
        accuracy = np.full(table.num_images, np.nan)
        has = total > 0
        accuracy[has] = correct[has] / total[has]
        per_image[qtype] = accuracy
        per_type[qtype] = accuracy[has].tolist()  # image order: the mean sums them as the loop over images did
    qas_style, qas_content = _mean(per_type["style"]), _mean(per_type["content"])
    corpus = {
        "qas": (qas_style + qas_content) / 2 if qas_style is not None and qas_content is not None else None,
        "qas_style": qas_style,
        "qas_content": qas_content,
        "num_images": table.num_images,
        "num_questions": len(table.types),
        "num_invalid": num_invalid,
    }
    return ScoredCorpus(
        corpus=corpus,
        per_sample={
            "qas_style": per_image["style"],
            "qas_content": per_image["content"],
            "answers": [list(a) for a in answers],  # as given: what the report shows the judge said
        },
    )
