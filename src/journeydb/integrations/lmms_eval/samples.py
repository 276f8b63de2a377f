"""lmms-eval's logged samples (`--log_samples`: `*_samples_<task>.jsonl`) as journeydb prediction rows.

Each logged line carries, under each metric's name, the record the journeydb task built for that doc
(`{task, split, id, image_id, protocol, prediction}`); the rows written from them give `journeydb evaluate` the
same numbers lmms-eval reported. Reading needs no lmms-eval.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Optional

from journeydb.evaluation.tasks import get_task

_RECORD_FIELDS = {"task", "split", "id", "image_id", "prediction"}


def _record_of(line: dict) -> Optional[dict]:
    for value in line.values():
        if isinstance(value, dict) and _RECORD_FIELDS <= value.keys():
            return value
    return None


def prediction_rows(samples_path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Prediction rows (`{image_id | question_id, prediction}`; vqa also `image_id`), one per logged doc.

    Raises:
        ValueError: a line that is not JSON or carries no journeydb record (named by file and line).
    """
    with open(samples_path, encoding="utf-8") as f:
        for line_no, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                record = _record_of(json.loads(text))
            except json.JSONDecodeError as err:
                raise ValueError(f"{samples_path}:{line_no}: not JSON ({err.msg})") from None
            if record is None:
                raise ValueError(f"{samples_path}:{line_no}: no journeydb record (not a journeydb task's samples?)")
            key = get_task(record["task"]).key
            row = {key: record["id"], "prediction": record["prediction"]}
            if key != "image_id":
                row["image_id"] = record["image_id"]
            yield row
