"""The corpus scores of the lmms-eval tasks: `journeydb evaluate`'s scoring, run once per distinct corpus.

Every metric of a task aggregates the same per-doc records `{task, split, id, image_id, prediction}`; the first
aggregation scores them (`score_task`, as `journeydb evaluate` does: references from the release, predictions
aligned by id, missing ones scored as wrong) and the others read the result, memoised on the records' content. The
memo lives here, in a module imported once, because lmms-eval loads `utils.py` anew for each `!function`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Sequence

from journeydb.evaluation.predictions import PredictionLine, align_predictions
from journeydb.evaluation.score import ScoringOptions
from journeydb.evaluation.tasks import load_references, score_task
from journeydb.integrations.lmms_eval import data_dir

# `journeydb evaluate`'s defaults; its --batch-size (8) too: the embedding batch moves Similarity in the 8th digit
OPTIONS = ScoringOptions(batch_size=8)
_MEMO_SIZE = 8  # corpora whose scores are kept (a run scores a handful)

_scored: dict[str, dict] = {}


def corpus_scores(records: Sequence[dict]) -> dict:
    """The scores `journeydb evaluate` gives these records' predictions; one scoring run per distinct corpus."""
    if not records:
        raise ValueError("journeydb lmms-eval: no results to score")
    digest = hashlib.sha256(json.dumps(list(records), sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    if digest not in _scored:
        task, split = records[0]["task"], records[0]["split"]
        refs = load_references(task, data_dir(), split)
        lines = [PredictionLine(i + 1, r["id"], r["prediction"]) for i, r in enumerate(records)]
        aligned = align_predictions(lines, refs.ids, task, source=f"lmms-eval results of {task}")
        score = score_task(refs, aligned.predictions, OPTIONS, present=aligned.present)
        if len(_scored) >= _MEMO_SIZE:
            _scored.pop(next(iter(_scored)))
        _scored[digest] = score.scores
    return _scored[digest]
