"""The lmms-eval hooks of the journeydb tasks (the YAMLs name them as `!function utils.<name>`).

lmms-eval executes this file afresh for each `!function`, so it keeps no state and imports the package absolutely.

Docs come from `$JOURNEYDB_DATA_DIR` (a raw release or a `journeydb export` folder, through `open_split`; one doc
per image; vqa: one per
question), restricted on validation to what `journeydb evaluate` scores. Each doc's result is a record
`{task, split, id, image_id, prediction}`; every metric of a task aggregates the same records, and the corpus is
scored once (`corpus.corpus_scores`), so the other metrics read that one result. Test docs have no answers: their only metric writes our
prediction JSONL. Only lmms-eval imports this module (it imports lmms-eval).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Optional, Sequence

import datasets
from lmms_eval.api.task import ConfigurableTask

from journeydb.evaluation.export_source import open_split
from journeydb.evaluation.predictions import write_predictions
from journeydb.evaluation.tasks import get_task, load_references
from journeydb.models.generation import INSTRUCTIONS
from journeydb.models.vlm_choice import CHAT_PROMPT_TEMPLATE, build_prompt
from journeydb.release.records import LETTERS

from journeydb.integrations.lmms_eval import data_dir
from journeydb.integrations.lmms_eval.corpus import corpus_scores

logger = logging.getLogger(__name__)

TEXT_METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider", "similarity")
VQA_METRICS = ("accuracy", "accuracy_style", "accuracy_content", "num_invalid")
METRICS = {"caption": TEXT_METRICS, "prompt_inversion": TEXT_METRICS, "vqa": VQA_METRICS}
SUBMISSION = "submission"
_TEST_CONFIG = {"caption": "test-clean", "prompt_inversion": "test-clean", "vqa": "vqa"}


class JourneyDBTask(ConfigurableTask):
    """A ConfigurableTask whose docs are read by journeydb (`dataset_kwargs: {journeydb_task, split}`)."""

    def __init__(self, config: dict) -> None:
        super().__init__(config={k: v for k, v in config.items() if k != "class"})

    def download(self, dataset_kwargs: Optional[dict] = None) -> None:
        kwargs = dict(dataset_kwargs or {})
        task, split = kwargs.get("journeydb_task"), kwargs.get("split")
        if task not in METRICS or split not in ("validation", "test"):
            raise ValueError(f"{self.config.task}: dataset_kwargs needs journeydb_task in {sorted(METRICS)} and split")
        docs = task_docs(task, split)
        self.dataset = datasets.DatasetDict({split: docs})
        self.dataset_no_image = datasets.DatasetDict({split: docs.remove_columns("image")})


def task_docs(task: str, split: str) -> datasets.Dataset:
    """The docs of `task` on `split`: image rows (vqa: question rows), in release order, with `task` and `split`."""
    root = data_dir()
    if split == "test":
        rows = open_split(_TEST_CONFIG[task], root, "test")
        keep = None
    else:
        rows = open_split(get_task(task).config, root, split)
        keep = set(load_references(task, root, split).ids)  # what `journeydb evaluate` scores
    rows = rows.cast_column("image", datasets.Image(decode=False))  # moved as bytes, never re-encoded
    if task == "vqa":
        rows = rows.map(_question_rows, batched=True, remove_columns=rows.column_names, fn_kwargs={"keep": keep})
    else:
        rows = rows.select_columns(["image_id", "image"])
        if keep is not None:
            rows = rows.filter(lambda image_id: image_id in keep, input_columns="image_id")
    rows = rows.add_column("task", [task] * len(rows)).add_column("split", [split] * len(rows))
    return rows.cast_column("image", datasets.Image())


def _question_rows(batch: dict[str, list], keep: Optional[set]) -> dict[str, list]:
    out: dict[str, list] = {k: [] for k in ("question_id", "image_id", "image", "type", "question", "options", "answer")}
    for image_id, image, questions in zip(batch["image_id"], batch["image"], batch["questions"]):
        for q in questions:
            if keep is not None and q["question_id"] not in keep:
                continue  # unanswered: counted by load_references, as in `journeydb evaluate`
            for name, value in (("question_id", q["question_id"]), ("image_id", image_id), ("image", image)):
                out[name].append(value)
            for name in ("type", "question", "options", "answer"):
                out[name].append(q[name])
    return out


# --- prompts: the instructions of `journeydb benchmark` ---------------------------------------------------------


def doc_to_visual(doc: dict) -> list:
    return [doc["image"].convert("RGB")]


def caption_doc_to_text(doc: dict) -> str:
    return INSTRUCTIONS["caption"]


def prompt_inversion_doc_to_text(doc: dict) -> str:
    return INSTRUCTIONS["prompt_inversion"]


def vqa_doc_to_text(doc: dict) -> str:
    return build_prompt(doc["question"], doc["options"], template=CHAT_PROMPT_TEMPLATE)


def vqa_doc_to_choice(doc: dict) -> list[str]:
    return list(LETTERS)


def vqa_doc_to_target(doc: dict) -> int:
    # test questions have no answer; the target is unused there (the submission metric ignores it)
    return LETTERS.index(doc["answer"]) if doc.get("answer") in LETTERS else 0


# --- results ----------------------------------------------------------------------------------------------------


def _record(doc: dict, prediction: str, protocol: str = "generate") -> dict:
    key = doc["question_id"] if doc["task"] == "vqa" else doc["image_id"]
    record = {"task": doc["task"], "split": doc["split"], "id": key, "image_id": doc["image_id"]}
    record.update(protocol=protocol, prediction=prediction)
    if doc["split"] == "test":
        return {SUBMISSION: record}
    return {metric: record for metric in METRICS[doc["task"]]}


def generation_results(doc: dict, results: Sequence[str]) -> dict:
    """generate_until: the reply as the prediction (vqa: scored by journeydb's letter-extraction rules)."""
    return _record(doc, results[0] if results else "")


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf")


def _log_likelihood(result: Any) -> float:
    """A choice's log-likelihood from lmms-eval's `(ll, is_greedy)`, which its filters may hand on as text."""
    if isinstance(result, (tuple, list)):
        return float(result[0])
    if isinstance(result, str):
        number = _NUMBER.search(result)
        if number is None:
            raise ValueError(f"journeydb multiple_choice: no log-likelihood in the result {result!r}")
        return float(number.group())
    return float(result)


def choice_results(doc: dict, results: Sequence[Any]) -> dict:
    """multiple_choice: the letter of highest log-likelihood (the paper's protocol); ties go to the first."""
    scores = [_log_likelihood(r) for r in results]
    return _record(doc, LETTERS[max(range(len(scores)), key=scores.__getitem__)], protocol="choice")


def _aggregation(metric: str):
    def aggregate(records: Sequence[dict]) -> Any:
        return corpus_scores(records)[metric]

    aggregate.__name__ = metric
    return aggregate


bleu_1, bleu_2, bleu_3, bleu_4 = (_aggregation(f"bleu_{n}") for n in range(1, 5))
meteor, rouge_l, cider, similarity = (_aggregation(m) for m in ("meteor", "rouge_l", "cider", "similarity"))
accuracy, accuracy_style, accuracy_content, num_invalid = (_aggregation(m) for m in VQA_METRICS)


def write_submission(records: Sequence[dict], args: Any = None) -> int:
    """Test split: write the replies as our prediction JSONL (first reply per id); returns the number of lines."""
    from lmms_eval.tasks._task_utils.file_utils import generate_submission_file

    task = records[0]["task"]
    key = get_task(task).key
    suffix = "_choice" if records[0].get("protocol") == "choice" else ""
    path = generate_submission_file(f"journeydb_{task}{suffix}_test.jsonl", args)
    seen: set[str] = set()
    rows = []
    for r in records:
        if r["id"] not in seen:
            seen.add(r["id"])
            row = {key: r["id"], "prediction": r["prediction"]}
            if key != "image_id":
                row["image_id"] = r["image_id"]
            rows.append(row)
    count = write_predictions(path, rows)
    logger.info("journeydb %s/test: wrote %d predictions to %s", task, count, path)
    return count
