"""A record's row fields per config, and the test ground truth: one implementation for the builder (which adds the
image) and for references read from the annotation files alone (`evaluation.annotation_rows`)."""

from __future__ import annotations

from typing import Any, Optional

from datasets.utils.file_utils import xopen

from journeydb.release import records
from journeydb.release.records import OnBadRecords, ReadStats, Record, ReleaseFormatError
from journeydb.release.style_tree import categories_of


def record_row(
    config: str,
    record: Record,
    where: str,
    stats: ReadStats,
    tree_index: Optional[dict[str, list[str]]] = None,
    test_truth: Optional[dict[str, Record]] = None,
) -> Optional[dict[str, Any]]:
    """The fields of `config`'s row for `record`, without the image; None (counted) where `config` has no row."""
    row: dict[str, Any] = {"image_id": record.image_id}
    if config == "prompt":
        if record.prompt is None or not record.prompt.strip():
            stats.skip("rows without prompt", where)
            return None
        row.update(
            prompt=record.prompt,
            style=record.style,
            content=record.content,
            atmosphere=record.atmosphere,
            others=record.others,
        )
    elif config == "caption":
        if record.caption is None:
            stats.skip("rows without caption", where)
            return None
        row["caption"] = record.caption
    elif config == "style":
        row["styles"] = record.style
        row["style_categories"] = categories_of(record.style, tree_index) if tree_index is not None else []
    elif config == "vqa":
        row["questions"] = [q.as_row() for q in record.questions]
    elif config == "test-clean":
        truth = test_truth.get(record.image_id) if test_truth is not None else None
        row["prompt"] = truth.prompt if truth else None
        row["clean_prompt"] = truth.clean_prompt if truth else None
        row["caption"] = truth.caption if truth else None
        row["questions"] = with_answers(record, truth, where)
        if test_truth is not None and truth is None:
            stats.skip("test images without ground truth (kept, answers null)", where)
    else:
        raise ValueError(f"unknown JourneyDB config {config!r}")
    return row


def read_test_truth(path: str, policy: OnBadRecords, stats: ReadStats) -> dict[str, Record]:
    """image_id -> its ground-truth record, from a test-annotations JSONL (the release withholds it)."""
    truth: dict[str, Record] = {}
    with xopen(path, "rb") as f:
        for line_no, raw in records.iter_jsonl_lines(f, path):
            where = f"{path}:{line_no}"
            record = records.parse_record(raw, where, policy, stats)
            if record is None:
                continue
            first = truth.setdefault(record.image_id, record)
            if first is not record:  # which one is the truth? a conflict is an error under every policy
                if first != record:
                    raise ReleaseFormatError(f"{where}: image {record.image_id} has other ground truth above")
                records.handle_bad(policy, stats, "duplicate annotations", where,
                                   f"image {record.image_id} is annotated twice (identically)")
    return truth


def with_answers(record: Record, truth: Optional[Record], where: str) -> list[dict[str, Any]]:
    """The record's question rows with the answers of `truth` (the test ground truth) filled in."""
    rows = [q.as_row() for q in record.questions]
    if truth is None:
        return rows
    truth_by_id = {q.question_id: q for q in truth.questions}
    for row in rows:
        gold = truth_by_id.get(row["question_id"])
        if gold is None:
            continue
        if gold.question != row["question"] or gold.options != row["options"]:
            raise ReleaseFormatError(
                f"{where}: test ground truth for {row['question_id']} has another question or options than the "
                "test questions file"
            )
        row["answer"] = gold.answer
    return rows
