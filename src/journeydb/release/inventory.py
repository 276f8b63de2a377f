"""Per-split counts of a release, laid out like the paper's Table 2 (`journeydb info`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional

from datasets.utils.file_utils import xisdir

from . import layout, records
from .records import ReadStats

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


@dataclass
class SplitCounts:
    split: str
    images: int = 0
    labeled_images: int = 0
    labeled_prompts: Optional[int] = 0  # None where the release withholds prompts (test)
    style_qa: int = 0
    content_qa: int = 0
    shards: int = 0
    images_without_annotation: int = 0
    skipped: ReadStats = field(default_factory=ReadStats)


def _shard_image_names(path: str, policy: records.OnBadRecords, stats: ReadStats) -> list[str]:
    """The decodable images of a shard (archives read with their integrity checks; the rest counted as the
    builder counts them)."""
    if xisdir(path):
        members = ((p, lambda p=p: _head(p)) for p in layout.iter_folder_images(path, path))
    else:
        members = ((m, lambda data=data: data) for m, data in layout.iter_archive_images(path, path))
    names = []
    for member_name, read in members:
        problem = layout.image_problem(read())
        if problem is not None:
            records.handle_bad(policy, stats, "undecodable images", f"image shard {path}: {member_name}", problem)
            continue
        names.append(member_name)
    return names


def _head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(16)


def count_split(data_dir: str, split: str, on_bad_records: records.OnBadRecords = "skip") -> SplitCounts:
    """Count what `journeydb.load` would read of one split, without decoding any image."""
    folder = layout.split_folder(data_dir, split)
    ann_path = layout.annotation_path(folder, split)
    names, paths = layout.shard_paths(folder, split)
    counts = SplitCounts(split=split, shards=len(names))
    image_ids = set()
    for path in paths:
        for member in _shard_image_names(path, on_bad_records, counts.skipped):
            counts.images += 1
            image_ids.add(records.image_id_of(member))
    is_test = split == "test"
    prompts: set[str] = set()
    annotated: set[str] = set()
    for line_no, raw_bytes in enumerate(layout.annotation_lines(ann_path), start=1):
        where = f"{ann_path}:{line_no}"
        try:
            line = raw_bytes.decode("utf-8")
        except UnicodeDecodeError as err:
            raise records.ReleaseFormatError(f"{where}: not UTF-8 ({err})") from None
        raw = records.decode_or_skip(line, where, on_bad_records, counts.skipped) if line.strip() else None
        if raw is None:
            continue
        record = records.parse_record(raw, where, on_bad_records, counts.skipped, with_answers=not is_test)
        if record is None:
            continue
        if record.image_id in annotated:
            records.handle_bad(on_bad_records, counts.skipped, "duplicate annotations", where, "annotated twice")
            continue
        if record.image_id not in image_ids:
            counts.skipped.skip("annotations whose image is in no shard", f"{where} ({record.image_id})")
            continue
        annotated.add(record.image_id)
        counts.labeled_images += 1
        if record.prompt:
            prompts.add(record.prompt)
        counts.style_qa += sum(q.type == "style" for q in record.questions)
        counts.content_qa += sum(q.type == "content" for q in record.questions)
    counts.labeled_prompts = None if is_test else len(prompts)
    counts.images_without_annotation = len(image_ids - annotated)
    return counts


def count_release(data_dir: str) -> list[SplitCounts]:
    return [count_split(data_dir, split) for split in SPLITS]


def format_table(rows: list[SplitCounts]) -> str:
    """Markdown table with the columns of the paper's Table 2, plus what was skipped."""
    header = ["split", "Image", "Labeled Image", "Labeled Prompt", "Style QA", "Content QA", "shards", "skipped"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        skipped = sum(r.skipped.counts.values())
        cells = [
            r.split,
            f"{r.images:,}",
            f"{r.labeled_images:,}",
            "withheld" if r.labeled_prompts is None else f"{r.labeled_prompts:,}",
            f"{r.style_qa:,}",
            f"{r.content_qa:,}",
            str(r.shards),
            str(skipped),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
