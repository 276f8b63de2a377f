"""The units of an export on disk: one image shard of one config's split, its Parquet parts and its record.

    OUT/<config>/<split>/<shard>-<part>.parquet            the unit's rows, in parts
    OUT/.journeydb-export/<config>/<split>/<shard>.json    its record, written once the parts have their final names

A unit's parts are written under temporary names (`.<shard>-<part>.parquet.tmp`) and renamed when the unit is
complete; only then is its record written. A unit is done when its record matches the fingerprint asked for and
its files are all there with the recorded size; anything else about a unit is rewritten from scratch.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import datasets
from datasets.arrow_writer import ParquetWriter

from journeydb.builder.builder import config_declarations
from .card import SplitExport

logger = logging.getLogger(__name__)

STATE_DIR = ".journeydb-export"


@dataclass(frozen=True)
class ExportOptions:
    max_shard_bytes: int
    row_group_rows: int
    row_group_bytes: int


@dataclass(frozen=True)
class Unit:
    """One image shard of one config's split: the unit of work, progress and resumption."""

    config: str
    split: str
    shard: str
    num_shards: int  # image shards in the split: a split is complete when it has this many records
    split_fingerprint: str  # builder code, config options, export options: the same for all units of a split
    fingerprint: str  # split_fingerprint plus the sizes of this shard and of the annotation file


@dataclass(frozen=True)
class ShardRecord(Unit):
    """A finished unit, as kept in `.journeydb-export/<config>/<split>/<shard>.json`."""

    files: tuple[str, ...]  # relative POSIX paths of the unit's Parquet parts
    file_bytes: int
    num_examples: int
    num_bytes: int


class UnitWriter:
    """Writes one unit's parts under temporary names; `commit` renames them and then writes the unit's record."""

    def __init__(self, out: Path, unit: Unit, options: ExportOptions, features: datasets.Features) -> None:
        self.out, self.unit, self.options, self.features = out, unit, options, features
        self.folder = out / unit.config / unit.split
        self.folder.mkdir(parents=True, exist_ok=True)
        forget_unit(out, unit.config, unit.split, unit.shard)  # what an earlier, unfinished attempt left
        self.parts: list[tuple[Path, Path]] = []  # (temporary, final)
        self.num_examples = self.num_bytes = 0
        self._writer: Optional[ParquetWriter] = None
        self._part_image_bytes = self._group_image_bytes = 0

    def write(self, example: dict[str, Any], image_bytes: int) -> None:
        """Add an encoded row; `image_bytes` (the size of its JPEG) drives the row-group and part bounds."""
        options = self.options
        if self._writer is None or self._part_image_bytes >= options.max_shard_bytes:
            self._close_part()
            part = len(self.parts)
            final = self.folder / f"{self.unit.shard}-{part:04d}.parquet"
            temporary = self.folder / f".{final.name}.tmp"
            self.parts.append((temporary, final))
            self._writer = ParquetWriter(
                features=self.features,
                path=str(temporary),
                writer_batch_size=options.row_group_rows,
                embed_local_files=True,
            )
            self._part_image_bytes = self._group_image_bytes = 0
        self._writer.write(example)
        self._part_image_bytes += image_bytes
        self._group_image_bytes += image_bytes
        if not self._writer.current_examples:  # the writer just wrote a full row group
            self._group_image_bytes = 0
        elif self._group_image_bytes >= options.row_group_bytes:
            self._writer.write_examples_on_file()
            self._group_image_bytes = 0

    def commit(self) -> ShardRecord:
        self._close_part()
        for temporary, final in self.parts:
            os.replace(temporary, final)
        files = tuple(final.relative_to(self.out).as_posix() for _, final in self.parts)
        record = ShardRecord(
            **asdict(self.unit),
            files=files,
            file_bytes=sum(final.stat().st_size for _, final in self.parts),
            num_examples=self.num_examples,
            num_bytes=self.num_bytes,
        )
        path = record_path(self.out, record.config, record.split, record.shard)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, (json.dumps(asdict(record), indent=1) + "\n").encode("utf-8"))
        self.parts = []
        return record

    def abort(self) -> None:
        """Close and delete what an interrupted unit wrote (a killed process leaves it to the next run instead)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for temporary, _ in self.parts:
            temporary.unlink(missing_ok=True)
        self.parts = []

    def _close_part(self) -> None:
        if self._writer is None:
            return
        num_examples, num_bytes = self._writer.finalize()
        self._writer.close()
        self._writer = None
        self.num_examples += num_examples
        self.num_bytes += num_bytes


def record_path(out: Path, config: str, split: str, shard: str) -> Path:
    return out / STATE_DIR / config / split / f"{shard}.json"


def read_record(out: Path, config: str, split: str, shard: str) -> Optional[ShardRecord]:
    path = record_path(out, config, split, shard)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ShardRecord(**{**raw, "files": tuple(raw["files"])})
    except (ValueError, TypeError, KeyError) as err:
        logger.warning("%s is unreadable (%s); its image shard will be exported again", path, err)
        return None


def is_complete(out: Path, record: Optional[ShardRecord], fingerprint: str) -> bool:
    if record is None or record.fingerprint != fingerprint:
        return False
    files = [out / f for f in record.files]
    return all(f.is_file() for f in files) and sum(f.stat().st_size for f in files) == record.file_bytes


_PART_NAME = re.compile(r"^\.?(?P<shard>[^./][^/]*)-\d{4}\.parquet(?P<tmp>\.tmp)?$")


def _own_files(folder: Path, shard: str) -> list[Path]:
    """The parts (final or temporary) that this exporter names for `shard`: `<shard>-NNNN.parquet`,
    `.<shard>-NNNN.parquet.tmp`. Nothing else in a split folder is ever deleted."""
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        m = _PART_NAME.match(path.name)
        if m and m.group("shard") == shard and path.name.startswith(".") == bool(m.group("tmp")):
            found.append(path)
    return found


def forget_unit(out: Path, config: str, split: str, shard: str) -> None:
    record_path(out, config, split, shard).unlink(missing_ok=True)
    for path in _own_files(out / config / split, shard):
        path.unlink()


def forget_shards_not_in(out: Path, config: str, split: str, names: set[str]) -> None:
    """Drop what belongs to image shards the release no longer has (their records and the parts those list), so
    that the split's glob picks none of it."""
    records = out / STATE_DIR / config / split
    for path in sorted(records.glob("*.json")) if records.is_dir() else []:
        if path.stem not in names:
            logger.warning("%s/%s: image shard %s is not in the release any more; removed", config, split, path.stem)
            record = read_record(out, config, split, path.stem)
            for name in record.files if record is not None else ():
                (out / name).unlink(missing_ok=True)
            path.unlink()


def refuse_foreign_files(out: Path, config: str, split: str, names: set[str]) -> None:
    """Refuse to export into a split folder holding files this exporter did not write: `load_dataset` would read
    them as rows of the split, and resuming must not delete them."""
    folder = out / config / split
    if not folder.is_dir():
        return
    records = out / STATE_DIR / config / split
    recorded = {
        name
        for path in (sorted(records.glob("*.json")) if records.is_dir() else [])
        for record in [read_record(out, config, split, path.stem)]
        if record is not None
        for name in record.files
    }
    foreign = []
    for path in sorted(folder.iterdir()):
        m = _PART_NAME.match(path.name)
        ours = m is not None and (m.group("shard") in names or path.relative_to(out).as_posix() in recorded)
        if not ours:
            foreign.append(path.name)
    if foreign:
        raise FileExistsError(
            f"{folder} holds files this export did not write: {', '.join(foreign)}; move them away (or export to "
            "another folder)"
        )


def folder_contents(out: Path) -> list[SplitExport]:
    """Every complete split in the folder, configs and splits in declaration order; incomplete ones are skipped."""
    splits = []
    for config, declaration in config_declarations().items():
        for split in declaration.splits:
            folder = out / STATE_DIR / config / split
            if not folder.is_dir():
                continue
            records = [read_record(out, config, split, p.stem) for p in sorted(folder.glob("*.json"))]
            complete = (
                records
                and all(r is not None for r in records)
                and len(records) == records[0].num_shards
                and len({(r.split_fingerprint, r.num_shards) for r in records}) == 1
            )
            if not complete:
                logger.warning("%s/%s is only partly exported; export this config again to finish it", config, split)
                continue
            files = tuple(sorted(f for r in records for f in r.files))
            splits.append(
                SplitExport(
                    config=config,
                    split=split,
                    num_examples=sum(r.num_examples for r in records),
                    num_bytes=sum(r.num_bytes for r in records),
                    files=files,
                    download_size=sum(r.file_bytes for r in records),
                )
            )
    return splits


def write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
