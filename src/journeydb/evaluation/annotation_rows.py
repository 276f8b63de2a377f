"""Reference rows read from a split's annotation file alone: no image shard is opened, nothing is prepared.

References need no image, so scoring reads only the scored split's annotation file (`.jsonl` or the released
`.jsonl.tgz`) through the release layer's parser, and yields the builder's own row fields for each config
(`builder.rows.record_row`, without the image; on test the `test-clean` fields). Rows come in annotation-file
order, each with the position of its image's shard among the split's shards: the builder's order (shard by shard,
file order within a shard) is the stable sort by that position, which the caller applies to what it keeps of the
rows. Nothing is buffered here: a row is built from its line and handed on. The image shards are only listed: an annotation
whose shard is not in the split is skipped and counted, as the builder does. An image missing from an existing
shard cannot be seen without opening it, so such an annotation is scored here (the builder would skip it).
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Optional

from journeydb.builder.rows import read_test_truth, record_row
from journeydb.release import layout, records
from journeydb.release.records import OnBadRecords, ReadStats, Record

logger = logging.getLogger(__name__)


def _records(path: str, split: str, policy: OnBadRecords, stats: ReadStats) -> Iterator[tuple[str, Record]]:
    """(where, record) of each readable, non-duplicate annotation line."""
    seen: set[str] = set()
    for line_no, raw in records.iter_jsonl_lines(layout.annotation_lines(path), path):
        where = f"{path}:{line_no}"
        record = records.parse_record(raw, where, policy, stats, with_answers=split != "test")
        if record is None:
            continue
        if record.image_id in seen:
            reason = f"image {record.image_id} is annotated twice"
            records.handle_bad(policy, stats, "duplicate annotations", where, reason)
            continue
        seen.add(record.image_id)
        yield where, record


def annotation_rows(
    data_dir: str,
    split: str,
    config: str,
    test_annotations: Optional[str] = None,
    on_bad_records: OnBadRecords = "warn",
    stats: Optional[ReadStats] = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(shard position, row dict without `image`) of `config` on `split`, read from that split's annotation file only,
    in file order (see the module docstring; on test the position is 0).

    What the read skips is counted in `stats` (a fresh one when not given) and logged at WARNING.

    Raises:
        FileNotFoundError: the split's folder or annotation file is not in `data_dir`.
        ReleaseFormatError: a line that is not JSON (naming file and line), or a bad record under `error`.
    """
    records.check_on_bad_records(on_bad_records)
    folder = layout.split_folder(data_dir, split)
    path = layout.annotation_path(folder, split)
    stats = ReadStats() if stats is None else stats
    truth = None
    if config == "test-clean" and test_annotations:
        truth = read_test_truth(test_annotations, on_bad_records, stats)
    position_of: Optional[dict[str, int]] = None
    if split != "test":  # test images carry no shard in their path: every annotation belongs to the one imgs archive
        shard_names, _ = layout.shard_paths(folder, split)  # listed, never opened
        position_of = {name: k for k, name in enumerate(shard_names)}
    for where, record in _records(path, split, on_bad_records, stats):
        position = 0
        if position_of is not None:
            position = position_of.get(records.shard_of(record.img_path), -1)
            if position < 0:
                stats.skip("annotations whose image is in no shard", f"{where} ({record.img_path})")
                continue
        row = record_row(config, record, where, stats, test_truth=truth)
        if row is not None:
            yield position, row
    if stats.counts:
        logger.warning("JourneyDB %s/%s annotations (%s): %s", config, split, path, stats.summary())
