"""What the builder reads per image shard: its annotation lines (by image id), its images, and the lines that
belong to no shard. Lines are keyed by the same parse that builds their rows (`records.img_path_of`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from journeydb.release import annotation_index, layout, records
from journeydb.release.records import OnBadRecords, ReadStats


def report_unrouted(
    index: Path, name: str, is_test: bool, policy: OnBadRecords, stats: ReadStats
) -> None:
    """Count (or raise for) the annotation lines that name no shard of the split: bad or missing `img_path`, or
    a shard that is not there. Done by one worker only, so nothing is counted twice."""
    for line_no, raw in annotation_index.shard_lines(index, annotation_index.UNROUTED):
        where = f"{name}:{line_no}"
        decoded = records.decode_or_skip(raw, where, policy, stats)  # a malformed line is reported as such
        if decoded is None:
            continue
        relative = records.img_path_of(decoded)
        if relative is None:  # the policy applies to what is wrong with it (no object, bad img_path, ...)
            records.parse_record(decoded, where, policy, stats, with_answers=not is_test)
            continue
        stats.skip("annotations whose image is in no shard", f"{where} ({relative})")


def shard_annotations(
    index: Path, shard: str, name: str, policy: OnBadRecords, stats: ReadStats
) -> dict[str, tuple[int, str]]:
    """image_id -> (line number, raw line) for one shard; lines are decoded only when their image comes by."""
    pending: dict[str, tuple[int, str]] = {}
    for line_no, raw in annotation_index.shard_lines(index, shard):
        # the same parse that routed the line, and that builds its row: a row's image is its own img_path's
        image_id = records.image_id_of(records.img_path_of(records.decode_line(raw, f"{name}:{line_no}")) or "")
        if image_id in pending:
            where = f"{name}:{line_no}"
            first_no, first = pending[image_id]
            if records.decode_line(first, "") != records.decode_line(raw, where):  # an error under every policy
                raise records.ReleaseFormatError(
                    f"{where}: image {image_id} is annotated differently on line {first_no} (conflicting duplicate)"
                )
            records.handle_bad(policy, stats, "duplicate annotations", where, f"image {image_id} is annotated twice")
            continue
        pending[image_id] = (line_no, raw)
    return pending


def iter_shard_images(shard: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(member name, zero-argument bytes reader) for each image of a shard; folders are read lazily."""
    if "archive" in shard:
        for member_name, data in layout.iter_archive_images(shard["name"], shard["archive"]):
            yield member_name, (lambda data=data: data)
    else:
        for path in layout.iter_folder_images(shard["name"], shard["folder"]):
            yield path, (lambda path=path: layout.read_file(path))
