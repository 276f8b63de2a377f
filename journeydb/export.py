"""`export_parquet()`: the raw release as a folder of Parquet files plus a README that `datasets.load_dataset` reads.

datasets >= 4 runs no loading scripts; what it loads is a folder (or Hub repository) of data files whose README
declares the configs. The folder written here:

    OUT/README.md                                          the card (journeydb/card.py), no `.py` anywhere
    OUT/<config>/<split>/<shard>-<part>.parquet            the rows of one image shard of the release, in parts
    OUT/.journeydb-export/<config>/<split>/<shard>.json    a record per finished (config, split, image shard)

The unit of work, progress and resumption is one image shard of one config's split. A worker takes several units
of one split and runs the builder over them once, so it reads the annotation file once, and tells them apart by the
builder's `Key(shard index, row index)`. A unit's parts are written under temporary names, renamed when the unit
is complete, and then its record is written. A rerun keeps the units whose record matches (same builder code, config
options, export options and source file sizes) and whose files are all there; it redoes the others.

Sizes: a row is one released image with its annotations; a row group holds at most `row_group_rows` rows and is
closed early once it holds `row_group_size` bytes of images; a part is closed once it holds `max_shard_size` bytes
of images. Parquet files are written by `datasets`' own `ParquetWriter` (image bytes stored uncompressed and
embedded, the features in the schema metadata).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import queue
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import datasets
from datasets.arrow_writer import ParquetWriter
from datasets.utils.file_utils import xgetsize, xisfile
from datasets.utils.py_utils import convert_file_size_to_int
from datasets.utils.sharding import _merge_gen_kwargs, _split_gen_kwargs
from datasets.utils.tqdm import tqdm as hf_tqdm
from filelock import FileLock, Timeout

from . import layout
from .builder import JourneyDB, config_declarations
from .card import SplitExport, render_readme

logger = logging.getLogger(__name__)

STATE_DIR = ".journeydb-export"
DEFAULT_MAX_SHARD_SIZE = "500MB"  # datasets' default size of a Parquet shard
DEFAULT_ROW_GROUP_ROWS = 100
DEFAULT_ROW_GROUP_SIZE = "100MB"  # datasets' MAX_ROW_GROUP_SIZE, what the Hub's dataset viewer reads comfortably
# config options that name a file: the file's content, not its path, goes into the fingerprint
_FILE_OPTIONS = ("style_tree", "test_annotations")
# config options that never change what is written (a bad record is skipped, or the export stops)
_ROW_NEUTRAL_OPTIONS = ("on_bad_records",)
_PROGRESS_EVERY_S = 0.5

Report = Callable[[str, Any], None]


@dataclass(frozen=True)
class ExportOptions:
    max_shard_bytes: int
    row_group_rows: int
    row_group_bytes: int


@dataclass(frozen=True)
class ShardRecord:
    """One finished unit, as kept in `.journeydb-export/<config>/<split>/<shard>.json`."""

    config: str
    split: str
    shard: str
    num_shards: int  # image shards in the split: a split is complete when it has this many records
    split_fingerprint: str  # builder code, config options, export options: the same for all units of a split
    fingerprint: str  # split_fingerprint plus the sizes of this shard and of the annotation file
    files: tuple[str, ...]  # relative POSIX paths of the unit's Parquet parts
    file_bytes: int
    num_examples: int
    num_bytes: int


@dataclass(frozen=True)
class _Job:
    """Units of one split that one worker exports with one pass of the builder."""

    data_dir: str
    out: str
    config: str
    split: str
    config_kwargs: tuple[tuple[str, Any], ...]
    options: ExportOptions
    shard_names: tuple[str, ...]  # every image shard of the split, in the builder's order
    shard_indices: tuple[int, ...]  # the ones this job writes
    split_fingerprint: str
    fingerprints: tuple[str, ...]  # per shard of the split


@dataclass(frozen=True)
class ExportSummary:
    out: str
    splits: tuple[SplitExport, ...]  # everything the folder now holds (earlier runs' configs included)
    units: int  # (config, split, image shard) units asked for in this run
    units_reused: int  # of which already complete from an earlier run


def export_parquet(
    data_dir: Union[str, os.PathLike],
    out: Union[str, os.PathLike],
    configs: Optional[Sequence[str]] = None,
    num_proc: int = 1,
    max_shard_size: Union[int, str] = DEFAULT_MAX_SHARD_SIZE,
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    row_group_size: Union[int, str] = DEFAULT_ROW_GROUP_SIZE,
    **config_kwargs: Any,
) -> ExportSummary:
    """Export configs of the raw release to Parquet files and a README.md that `datasets.load_dataset` reads.

    Args:
        data_dir (`str` or `os.PathLike`): the folder that contains `data/` (as for `journeydb.load`).
        out (`str` or `os.PathLike`): the export folder: new, empty, or an earlier export to resume or extend.
        configs (`Sequence[str]`, *optional*): configs to export; all of them when omitted.
        num_proc (`int`, defaults to 1): worker processes; the image shards of each split are divided among them.
        max_shard_size (`int` or `str`, defaults to `"500MB"`): image bytes after which a Parquet part is closed.
        row_group_rows (`int`, defaults to 100): rows per Parquet row group at most.
        row_group_size (`int` or `str`, defaults to `"100MB"`): image bytes after which a row group is closed.
        **config_kwargs: `on_bad_records`, `style_tree`, `test_annotations` (see `JourneyDBConfig`).

    Returns:
        `ExportSummary`: what the folder holds and how many units were reused from an earlier run.

    Example:

    ```py
    >>> import datasets, journeydb
    >>> summary = journeydb.export_parquet(journeydb.sample_dir(), "jdb-parquet", configs=["vqa"])  # doctest: +SKIP
    >>> datasets.load_dataset("jdb-parquet", "vqa", split="validation")  # doctest: +SKIP
    ```
    """
    declarations = config_declarations()
    configs = list(dict.fromkeys(configs)) if configs else list(declarations)
    unknown = [c for c in configs if c not in declarations]
    if unknown:
        raise ValueError(f"unknown JourneyDB config(s) {unknown}; choose among {sorted(declarations)}")
    if not isinstance(num_proc, int) or num_proc < 1:
        raise ValueError(f"num_proc must be a positive integer, got {num_proc!r}")
    if not isinstance(row_group_rows, int) or row_group_rows < 1:
        raise ValueError(f"row_group_rows must be a positive integer, got {row_group_rows!r}")
    options = ExportOptions(
        max_shard_bytes=convert_file_size_to_int(max_shard_size),
        row_group_rows=row_group_rows,
        row_group_bytes=convert_file_size_to_int(row_group_size),
    )
    out_path = Path(out)
    state = out_path / STATE_DIR
    if out_path.exists() and any(out_path.iterdir()) and not state.is_dir():
        raise FileExistsError(f"{out_path} is not empty and holds no journeydb export; choose a new or empty folder")
    state.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(state / "lock"), timeout=0):
            return _export_locked(str(data_dir), out_path, configs, num_proc, options, config_kwargs)
    except Timeout:
        raise FileExistsError(f"another journeydb export is writing to {out_path}") from None


def _export_locked(
    data_dir: str,
    out: Path,
    configs: list[str],
    num_proc: int,
    options: ExportOptions,
    config_kwargs: dict[str, Any],
) -> ExportSummary:
    jobs: list[_Job] = []
    units = reused = 0
    for config in configs:
        builder = JourneyDB(config_name=config, data_dir=data_dir, **config_kwargs)  # checks the options early
        for split in config_declarations()[config].splits:
            folder = layout.split_folder(data_dir, split)
            names, paths = layout.shard_paths(folder, split)
            split_fp = _digest(
                {
                    "builder": builder.hash,
                    "config": config,
                    "config_kwargs": {
                        k: _option_identity(k, v) for k, v in sorted(config_kwargs.items()) if k not in _ROW_NEUTRAL_OPTIONS
                    },
                    "options": asdict(options),
                }
            )
            annotation_size = _source_size(layout.annotation_path(folder, split))
            fingerprints = tuple(
                _digest({"split": split_fp, "shard": name, "size": _source_size(path), "annotation": annotation_size})
                for name, path in zip(names, paths)
            )
            _forget_shards_not_in(out, config, split, set(names))
            pending = [
                index
                for index, (name, fp) in enumerate(zip(names, fingerprints))
                if not _is_complete(out, _read_record(out, config, split, name), fp)
            ]
            units += len(names)
            reused += len(names) - len(pending)
            if len(pending) < len(names):
                logger.info("%s/%s: %d of %d image shards already exported", config, split, len(names) - len(pending), len(names))
            for chunk in _chunks(pending, num_proc):
                jobs.append(
                    _Job(
                        data_dir=data_dir,
                        out=str(out),
                        config=config,
                        split=split,
                        config_kwargs=tuple(sorted(config_kwargs.items())),
                        options=options,
                        shard_names=tuple(names),
                        shard_indices=tuple(chunk),
                        split_fingerprint=split_fp,
                        fingerprints=fingerprints,
                    )
                )

    total = sum(len(job.shard_indices) for job in jobs)
    with hf_tqdm(total=total, unit="shard", desc=f"Exporting {', '.join(configs)}") as bar:
        rows = 0

        def on_event(kind: str, value: Any) -> None:
            nonlocal rows
            if kind == "rows":
                rows += value
                bar.set_postfix(rows=rows, refresh=False)
            elif kind == "shard":
                bar.update(1)

        if num_proc == 1 or len(jobs) <= 1:
            for job in jobs:
                _run_job(job, on_event)
        else:
            _run_pool(jobs, min(num_proc, len(jobs)), on_event)
        bar.update(total - bar.n)

    splits = _folder_contents(out)
    default = JourneyDB.DEFAULT_CONFIG_NAME if any(s.config == JourneyDB.DEFAULT_CONFIG_NAME for s in splits) else None
    _write_atomically(out / "README.md", render_readme(splits, default_config=default).encode("utf-8"))
    return ExportSummary(out=str(out), splits=tuple(splits), units=units, units_reused=reused)


# --------------------------------------------------------------------------------------------------------------
# workers


def _run_job(job: _Job, report: Report) -> None:
    """Export the job's units with one pass of the builder over their image shards."""
    builder = JourneyDB(config_name=job.config, data_dir=job.data_dir, **dict(job.config_kwargs))
    dl_manager = datasets.StreamingDownloadManager(dataset_name=builder.dataset_name, data_dir=job.data_dir)
    generators = {generator.name: generator for generator in builder._split_generators(dl_manager)}
    per_shard = _split_gen_kwargs(generators[job.split].gen_kwargs, max_num_jobs=len(job.shard_names))
    if len(per_shard) != len(job.shard_names):
        raise RuntimeError(
            f"{job.config}/{job.split}: the builder sees {len(per_shard)} image shards, the layout {len(job.shard_names)}"
        )
    gen_kwargs = _merge_gen_kwargs([per_shard[index] for index in job.shard_indices])
    features = builder.info.features
    writer: Optional[_UnitWriter] = None
    position = -1  # index into job.shard_indices of the unit being written

    def advance_to(target: int) -> None:
        nonlocal writer, position
        while position < target:
            if writer is not None:
                report("shard", writer.commit())
            position += 1
            writer = _UnitWriter(job, job.shard_indices[position], features) if position < len(job.shard_indices) else None

    unreported, last_report = 0, time.monotonic()
    try:
        for key, row in builder._generate_examples(**gen_kwargs):
            advance_to(key.original_shard_id)
            assert writer is not None  # advance_to opened the unit of this key
            writer.write(features.encode_example(row), len(row["image"]["bytes"]))
            unreported += 1
            if time.monotonic() - last_report > _PROGRESS_EVERY_S:
                report("rows", unreported)
                unreported, last_report = 0, time.monotonic()
        advance_to(len(job.shard_indices))  # commits the last unit and any empty ones after it
    finally:
        if writer is not None:
            writer.abort()
    report("rows", unreported)


class _UnitWriter:
    """Writes one unit's parts under temporary names; `commit` renames them and then writes the unit's record."""

    def __init__(self, job: _Job, shard_index: int, features: datasets.Features) -> None:
        self.job, self.features = job, features
        self.shard = job.shard_names[shard_index]
        self.fingerprint = job.fingerprints[shard_index]
        self.out = Path(job.out)
        self.folder = self.out / job.config / job.split
        self.folder.mkdir(parents=True, exist_ok=True)
        _forget_unit(self.out, job.config, job.split, self.shard)  # what an earlier, unfinished attempt left
        self.parts: list[tuple[Path, Path]] = []  # (temporary, final)
        self.num_examples = self.num_bytes = 0
        self._writer: Optional[ParquetWriter] = None
        self._part_image_bytes = self._group_image_bytes = 0

    def write(self, example: dict[str, Any], image_bytes: int) -> None:
        options = self.job.options
        if self._writer is None or self._part_image_bytes >= options.max_shard_bytes:
            self._close_part()
            part = len(self.parts)
            final = self.folder / f"{self.shard}-{part:04d}.parquet"
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
            config=self.job.config,
            split=self.job.split,
            shard=self.shard,
            num_shards=len(self.job.shard_names),
            split_fingerprint=self.job.split_fingerprint,
            fingerprint=self.fingerprint,
            files=files,
            file_bytes=sum(final.stat().st_size for _, final in self.parts),
            num_examples=self.num_examples,
            num_bytes=self.num_bytes,
        )
        path = _record_path(self.out, record.config, record.split, record.shard)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, (json.dumps(asdict(record), indent=1) + "\n").encode("utf-8"))
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


_worker_events: Optional[Any] = None


def _init_worker(events: Any, log_level: int) -> None:
    global _worker_events
    _worker_events = events
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")


def _run_job_in_worker(job: _Job) -> None:
    assert _worker_events is not None  # set by _init_worker
    events = _worker_events
    _run_job(job, lambda kind, value: events.put((kind, value)))


def _run_pool(jobs: list[_Job], processes: int, on_event: Report) -> None:
    # spawn, not fork: the parent may hold threads (pyarrow, tqdm) that a forked child would inherit half-way
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    log_level = logging.getLogger("journeydb").getEffectiveLevel()
    with context.Pool(processes, initializer=_init_worker, initargs=(events, log_level)) as pool:
        running = [pool.apply_async(_run_job_in_worker, (job,)) for job in jobs]
        while running:
            try:
                on_event(*events.get(timeout=0.1))
            except queue.Empty:
                pass
            for result in [r for r in running if r.ready()]:
                result.get()  # raises what the worker raised; leaving the `with` terminates the others
                running.remove(result)
    while True:  # progress only: the records on disk are what counts
        try:
            on_event(*events.get(timeout=0.2))
        except queue.Empty:
            break


# --------------------------------------------------------------------------------------------------------------
# state on disk


def _record_path(out: Path, config: str, split: str, shard: str) -> Path:
    return out / STATE_DIR / config / split / f"{shard}.json"


def _read_record(out: Path, config: str, split: str, shard: str) -> Optional[ShardRecord]:
    path = _record_path(out, config, split, shard)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ShardRecord(**{**raw, "files": tuple(raw["files"])})
    except (ValueError, TypeError, KeyError) as err:
        logger.warning("%s is unreadable (%s); its image shard will be exported again", path, err)
        return None


def _is_complete(out: Path, record: Optional[ShardRecord], fingerprint: str) -> bool:
    if record is None or record.fingerprint != fingerprint:
        return False
    files = [out / f for f in record.files]
    return all(f.is_file() for f in files) and sum(f.stat().st_size for f in files) == record.file_bytes


def _forget_unit(out: Path, config: str, split: str, shard: str) -> None:
    _record_path(out, config, split, shard).unlink(missing_ok=True)
    folder = out / config / split
    for path in [*folder.glob(f"{shard}-*.parquet"), *folder.glob(f".{shard}-*.parquet.tmp")]:
        path.unlink()


def _forget_shards_not_in(out: Path, config: str, split: str, names: set[str]) -> None:
    """Drop units of image shards the release no longer has, so the split's glob picks none of their files."""
    folder = out / STATE_DIR / config / split
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.stem not in names:
            logger.warning("%s/%s: image shard %s is not in the release any more; its Parquet files are removed", config, split, path.stem)
            record = _read_record(out, config, split, path.stem)
            for name in record.files if record else ():
                (out / name).unlink(missing_ok=True)
            path.unlink()


def _folder_contents(out: Path) -> list[SplitExport]:
    """Every complete split in the folder, configs and splits in declaration order; incomplete ones are skipped."""
    splits = []
    for config, declaration in config_declarations().items():
        for split in declaration.splits:
            folder = out / STATE_DIR / config / split
            if not folder.is_dir():
                continue
            records = [_read_record(out, config, split, p.stem) for p in sorted(folder.glob("*.json"))]
            complete = (
                records
                and all(r is not None for r in records)
                and len(records) == records[0].num_shards
                and len({(r.split_fingerprint, r.num_shards) for r in records}) == 1
            )
            if not complete:
                logger.warning("%s/%s is only partly exported; rerun the export with this config to finish it", config, split)
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


# --------------------------------------------------------------------------------------------------------------
# helpers


def _chunks(items: Sequence[int], num: int) -> Iterable[list[int]]:
    """At most `num` contiguous chunks of nearly equal length."""
    num = min(num, len(items))
    start = 0
    for index in range(num):
        size = len(items) // num + (1 if index < len(items) % num else 0)
        yield list(items[start : start + size])
        start += size


def _source_size(path: str) -> Optional[int]:
    """Size of a release file; None for an extracted folder (its files are not summed)."""
    return xgetsize(path) if xisfile(path) else None


def _option_identity(name: str, value: Any) -> Any:
    if name in _FILE_OPTIONS and value:
        with open(value, "rb") as f:
            return {"sha256": hashlib.sha256(f.read()).hexdigest()}
    return value


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
