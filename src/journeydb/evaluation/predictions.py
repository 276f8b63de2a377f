"""Prediction files: JSONL, one line per image (per question for vqa), matched to the references by id and scored
(`evaluate_predictions`, shared by `journeydb evaluate` and `journeydb benchmark`).

A line is `{"image_id": ..., "prediction": ...}`; vqa lines carry `question_id` (and may carry `image_id`); a
prediction is a string, or for `style` a list of phrases, best first. Matching never drops anything silently:
ids the references expect but the file lacks are *missing* and score as wrong (an empty prediction: no answer, no
phrase); ids seen twice are *duplicates* (the first line wins); ids the references do not know are *unknown* (not
scored). All three are counted with examples, and `strict=True` makes any of them an error.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import PHRASES, TEXT, Column, ColumnBuilder
from .gallery import DEFAULT_GALLERY_SIZE, build_gallery
from .references import TaskReferences
from .score import ScoringOptions
from .tasks import Task, get_task, score_task

logger = logging.getLogger(__name__)

_EXAMPLES = 3  # ids quoted per kind of problem


@dataclass(frozen=True, slots=True)
class PredictionLine:
    line_no: int
    key: str
    prediction: Any  # str, or list[str] for ranked tasks


@dataclass
class PredictionIssues:
    """What did not match between a prediction file and the references."""

    missing: list[str] = field(default_factory=list)  # expected, absent: scored as wrong
    duplicates: list[str] = field(default_factory=list)  # one entry per extra line (the first line is used)
    unknown: list[str] = field(default_factory=list)  # present, not expected: not scored

    def __bool__(self) -> bool:
        return bool(self.missing or self.duplicates or self.unknown)

    def summary(self) -> str:
        if not self:
            return "every id matched once"
        parts = []
        for kind, ids, note in (
            ("missing", self.missing, "scored as wrong"),
            ("duplicate", self.duplicates, "first line used"),
            ("unknown", self.unknown, "not scored"),
        ):
            if ids:
                shown = ", ".join(repr(i) for i in list(dict.fromkeys(ids))[:_EXAMPLES])
                parts.append(f"{len(ids)} {kind} ({note}; e.g. {shown})")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            kind: {"count": len(ids), "examples": list(dict.fromkeys(ids))[:_EXAMPLES]}
            for kind, ids in (("missing", self.missing), ("duplicates", self.duplicates), ("unknown", self.unknown))
        }


class PredictionMismatchError(ValueError):
    """Raised in strict mode when predictions and references do not match one to one."""


def empty_prediction(task: str | Task) -> Any:
    """What a missing prediction scores as: no text, or no ranked phrase."""
    spec = get_task(task) if isinstance(task, str) else task
    return [] if spec.ranked else ""


def _check_prediction(value: Any, spec: Task, where: str) -> Any:
    if spec.ranked:
        if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(
                f"{where}: `prediction` for {spec.name} must be a list of strings (best first), got {value!r:.80}"
            )
        return list(value)
    if not isinstance(value, str):
        raise ValueError(f"{where}: `prediction` for {spec.name} must be a string, got {type(value).__name__}")
    return value


def iter_predictions(path: str | os.PathLike, task: str) -> Iterator[PredictionLine]:
    """The lines of a prediction JSONL file for `task`, one at a time; a malformed line is a `ValueError` naming
    file:line."""
    spec = get_task(task)
    path = os.fspath(path)
    try:
        f = open(path, "rb")  # decoded per line, so an encoding error names its line
    except FileNotFoundError:
        raise FileNotFoundError(f"prediction file {path} does not exist") from None
    with f:
        for line_no, raw in enumerate(f, start=1):
            where = f"{path}:{line_no}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{where}: not UTF-8 ({err})") from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not a JSON line ({err.msg} at column {err.colno})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: a line must be a JSON object, got {type(obj).__name__}")
            key = obj.get(spec.key)
            if not isinstance(key, str) or not key:
                raise ValueError(f"{where}: missing or empty {spec.key!r} (a {spec.name} prediction is keyed by it)")
            if "prediction" not in obj:
                raise ValueError(f"{where}: no 'prediction' field")
            yield PredictionLine(line_no, key, _check_prediction(obj["prediction"], spec, where))


def read_predictions(path: str | os.PathLike, task: str) -> list[PredictionLine]:
    """Every line of a prediction JSONL file for `task` (see `iter_predictions`)."""
    return list(iter_predictions(path, task))


@dataclass
class AlignedPredictions:
    """Predictions in the order of the references' ids; missing ones replaced by `empty_prediction`.

    `predictions` is a compact `Column` (a read-only sequence of str, or of lists of str for ranked tasks)."""

    predictions: Sequence[Any]
    issues: PredictionIssues
    present: list[bool]  # False where the prediction was missing


def _id_array(ids: Sequence[str]) -> pa.Array:
    if isinstance(ids, Column):
        return ids.arrow.combine_chunks()
    return pa.array(list(ids), type=pa.string())


def align_predictions(
    lines: Iterable[PredictionLine] | Mapping[str, Any],
    expected_ids: Sequence[str],
    task: str,
    strict: bool = False,
    source: str = "predictions",
) -> AlignedPredictions:
    """Match predictions to the expected ids; see the module docstring for missing, duplicate and unknown ids.

    The lines are consumed one at a time into compact columns and matched in bulk (an Arrow hash lookup of every
    key), so a file of any size costs a few bytes per line beyond its own text.

    Args:
        lines: what `iter_predictions` or `read_predictions` returns, or a mapping id -> prediction.
        expected_ids: the references' ids (`TaskReferences.ids`), in scoring order.
        task: the task name.
        strict: raise `PredictionMismatchError` instead of reporting when anything does not match.
        source: how to name the predictions in messages (e.g. the file path).
    """
    spec = get_task(task)
    if isinstance(lines, Mapping):
        lines = (PredictionLine(0, k, _check_prediction(v, spec, f"{source}[{k!r}]")) for k, v in lines.items())
    expected = _id_array(expected_ids)
    if pc.count_distinct(expected).as_py() != len(expected):
        counts = pc.value_counts(expected)
        duplicate = counts.field("values").filter(pc.greater(counts.field("counts"), 1))[0].as_py()
        raise ValueError(f"references list {spec.key} {duplicate!r} twice")
    keys, values = ColumnBuilder(pa.string()), ColumnBuilder(PHRASES if spec.ranked else TEXT)
    for line in lines:
        keys.append(line.key)
        values.append(line.prediction)
    keys_column, values_column = keys.finish(), values.finish()
    index = pc.index_in(keys_column.arrow, value_set=expected)  # null for an id the references do not know
    known = pc.is_valid(index).to_numpy(zero_copy_only=False)
    position = pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    known_lines = np.flatnonzero(known)
    # the first line of each known id wins; np.unique's return_index gives the first occurrence
    matched, first = np.unique(position[known_lines], return_index=True)
    first_lines = known_lines[first]
    duplicate_lines = np.setdiff1d(known_lines, first_lines, assume_unique=True)
    line_of = np.full(len(expected), -1, dtype=np.int64)
    line_of[matched] = first_lines
    present = line_of >= 0
    issues = PredictionIssues(
        missing=expected.take(pa.array(np.flatnonzero(~present))).to_pylist(),
        duplicates=keys_column.take(duplicate_lines).to_list(),
        unknown=keys_column.take(np.flatnonzero(~known)).to_list(),
    )
    if issues:
        message = f"{source} ({spec.name}, {len(expected_ids)} expected {spec.key}s): {issues.summary()}"
        if strict:
            raise PredictionMismatchError(message)
        logger.warning(message)
    taken = values_column.arrow.take(pa.array(line_of, mask=~present))
    empty = pa.scalar(empty_prediction(spec), type=values.type)
    return AlignedPredictions(
        predictions=Column(pc.fill_null(taken, empty)) if len(taken) else Column(taken),
        issues=issues,
        present=present.tolist(),
    )


def write_predictions(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write prediction rows as JSONL (UTF-8, one object a line); returns the number of lines."""
    count = 0
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(dict(row), ensure_ascii=False) + "\n")
            count += 1
    return count


def evaluate_predictions(
    path: str | os.PathLike,
    references: TaskReferences,
    options: Optional[ScoringOptions] = None,
    model_label: Optional[str] = None,
    strict: bool = False,
    gallery_size: int = DEFAULT_GALLERY_SIZE,
) -> dict[str, Any]:
    """Read a prediction file, match it to the references, score it: the results entry of one task.

    Returns a dict with `model`, `scores`, `num_missing`, `matching` (missing / duplicates / unknown, each with a
    count and examples), `skipped` (references without ground truth, if any), `per_sample` and `gallery` (the
    report's cards: `gallery_size` worst, best and random samples, see `gallery.build_gallery`).
    """
    lines = iter_predictions(path, references.task)
    aligned = align_predictions(lines, references.ids, references.task, strict=strict, source=os.fspath(path))
    score = score_task(references, aligned.predictions, options, present=aligned.present)
    entry: dict[str, Any] = {
        "model": model_label or os.path.splitext(os.path.basename(os.fspath(path)))[0],
        "scores": score.scores,
        "num_missing": score.num_missing,
        "matching": aligned.issues.as_dict(),
        "per_sample": score.per_sample,
        "gallery": build_gallery(references, aligned.predictions, score, gallery_size),
    }
    if references.skipped.counts:
        entry["skipped"] = references.skipped.summary()
    if references.read_losses.counts:  # bad records the release reader skipped: counted here too, never hidden
        entry["release_skips"] = {"counts": dict(sorted(references.read_losses.counts.items())),
                                  "summary": references.read_losses.summary()}
    return entry
