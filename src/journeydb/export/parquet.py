"""`export_parquet()`: the raw release as a folder of Parquet files plus a README that `datasets.load_dataset` reads.

datasets >= 4 runs no loading scripts; what it loads is a folder (or Hub repository) of data files whose README
declares the configs. The folder written here:

    OUT/README.md                                          the card (export/card.py), no `.py` anywhere
    OUT/<config>/<split>/<shard>-<part>.parquet            the rows of one image shard of the release, in parts
    OUT/.journeydb-export/<config>/<split>/<shard>.json    a record per finished (config, split, image shard)

The unit of work, progress and resumption is one image shard of one config's split (export/units.py:
parts written under temporary names, renamed when the unit is complete, then its record). A worker takes several
units of one split and runs the builder over them once, so it reads the annotation file once, and tells them apart
by the builder's `Key(shard index, row index)`. A rerun keeps the units whose record matches (same builder code,
config options, export options and the content keys of its sources) and whose files are all there; it redoes the
others. It never deletes a file it did not write, and refuses to resume into split folders holding such files.

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
from datasets.utils.py_utils import convert_file_size_to_int
from datasets.utils.sharding import _merge_gen_kwargs, _split_gen_kwargs
from datasets.utils.tqdm import tqdm as hf_tqdm
from filelock import FileLock, Timeout

from journeydb.release import fingerprint, layout
from journeydb.builder.builder import JourneyDB, _code_hash, config_declarations
from .card import SplitExport, render_readme
from .units import (
    STATE_DIR,
    ExportOptions,
    Unit,
    UnitWriter,
    folder_contents,
    forget_shards_not_in,
    is_complete,
    read_record,
    refuse_foreign_files,
    write_atomically,
)

logger = logging.getLogger(__name__)

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
class _Job:
    """Units of one split that one worker exports with one pass of the builder."""

    data_dir: str
    out: str
    config: str
    split: str
    config_kwargs: tuple[tuple[str, Any], ...]
    options: ExportOptions
    num_shards: int  # image shards of the split
    shard_indices: tuple[int, ...]  # the ones this job writes, in the builder's order
    units: tuple[Unit, ...]  # one per shard index


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
        builder = _builder(config, data_dir, out, config_kwargs)  # checks the options early
        for split in config_declarations()[config].splits:
            split_jobs, split_units, split_reused = _plan_split(
                builder, split, data_dir, out, num_proc, options, config_kwargs
            )
            jobs += split_jobs
            units += split_units
            reused += split_reused
    _run_jobs(jobs, num_proc, desc=f"Exporting {', '.join(configs)}")
    splits = folder_contents(out)
    default = JourneyDB.DEFAULT_CONFIG_NAME if any(s.config == JourneyDB.DEFAULT_CONFIG_NAME for s in splits) else None
    write_atomically(out / "README.md", render_readme(splits, default_config=default).encode("utf-8"))
    return ExportSummary(out=str(out), splits=tuple(splits), units=units, units_reused=reused)


def _plan_split(
    builder: JourneyDB,
    split: str,
    data_dir: str,
    out: Path,
    num_proc: int,
    options: ExportOptions,
    config_kwargs: dict[str, Any],
) -> tuple[list[_Job], int, int]:
    """(jobs for the unfinished image shards of a split, its number of shards, how many are already done)."""
    config = builder.config.name
    folder = layout.split_folder(data_dir, split)
    names, paths = layout.shard_paths(folder, split)
    neutral = set(_ROW_NEUTRAL_OPTIONS)
    split_fp = _digest(
        {
            "builder": builder.hash,
            "config": config,
            "config_kwargs": {k: _option_identity(k, v) for k, v in sorted(config_kwargs.items()) if k not in neutral},
            "options": asdict(options),
        }
    )
    # content keys (fingerprint.py): a same-size annotation edit, or any change inside an extracted folder, redoes
    # the units concerned
    annotation = fingerprint.annotation_key(layout.annotation_path(folder, split))
    fingerprints = tuple(
        _digest({"split": split_fp, "shard": name, "source": fingerprint.shard_key(path), "annotation": annotation})
        for name, path in zip(names, paths)
    )
    refuse_foreign_files(out, config, split, set(names))
    forget_shards_not_in(out, config, split, set(names))
    pending = [
        index
        for index, (name, fp) in enumerate(zip(names, fingerprints))
        if not is_complete(out, read_record(out, config, split, name), fp)
    ]
    if len(pending) < len(names):
        done = len(names) - len(pending)
        logger.info("%s/%s: %d of %d image shards already exported", config, split, done, len(names))
    jobs = [
        _Job(
            data_dir=data_dir,
            out=str(out),
            config=config,
            split=split,
            config_kwargs=tuple(sorted(config_kwargs.items())),
            options=options,
            num_shards=len(names),
            shard_indices=tuple(chunk),
            units=tuple(
                Unit(config, split, names[i], len(names), split_fingerprint=split_fp, fingerprint=fingerprints[i])
                for i in chunk
            ),
        )
        for chunk in _chunks(pending, num_proc)
    ]
    return jobs, len(names), len(names) - len(pending)


def _run_jobs(jobs: list[_Job], num_proc: int, desc: str) -> None:
    """Run the jobs, in this process or in a pool, with one progress bar counting image shards (and rows)."""
    total = sum(len(job.shard_indices) for job in jobs)
    with hf_tqdm(total=total, unit="shard", desc=desc) as bar:
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
        bar.update(total - bar.n)  # events that a pool's queue had not delivered yet


# --------------------------------------------------------------------------------------------------------------
# workers


def _builder(config: str, data_dir: str, out: Path, config_kwargs: dict[str, Any]) -> JourneyDB:
    # the builder only streams here; its cache folder receives nothing but datasets' lock files, kept with the state
    # (hash: the code's only; the units' own fingerprints key the release's content)
    return JourneyDB(
        config_name=config, data_dir=data_dir, cache_dir=str(out / STATE_DIR / "cache"), hash=_code_hash(),
        **config_kwargs,
    )


def _run_job(job: _Job, report: Report) -> None:
    """Export the job's units with one pass of the builder over their image shards."""
    builder = _builder(job.config, job.data_dir, Path(job.out), dict(job.config_kwargs))
    dl_manager = datasets.StreamingDownloadManager(dataset_name=builder.dataset_name, data_dir=job.data_dir)
    generators = {generator.name: generator for generator in builder._split_generators(dl_manager)}
    per_shard = _split_gen_kwargs(generators[job.split].gen_kwargs, max_num_jobs=job.num_shards)
    if len(per_shard) != job.num_shards:
        raise RuntimeError(
            f"{job.config}/{job.split}: the builder sees {len(per_shard)} image shards, the layout {job.num_shards}"
        )
    gen_kwargs = _merge_gen_kwargs([per_shard[index] for index in job.shard_indices])
    features = builder.info.features
    units = _UnitSequence(job, features, report)
    unreported, last_report = 0, time.monotonic()
    try:
        for key, row in builder._generate_examples(**gen_kwargs):
            units.writer_for(key.original_shard_id).write(features.encode_example(row), len(row["image"]["bytes"]))
            unreported += 1
            if time.monotonic() - last_report > _PROGRESS_EVERY_S:
                report("rows", unreported)
                unreported, last_report = 0, time.monotonic()
        units.finish()
    finally:
        units.abort()
    report("rows", unreported)


class _UnitSequence:
    """The units of a job, written one after the other in the order the builder yields their rows."""

    def __init__(self, job: _Job, features: datasets.Features, report: Report) -> None:
        self.job, self.features, self.report = job, features, report
        self.position = -1  # index into job.shard_indices of the unit being written
        self.writer: Optional[UnitWriter] = None

    def writer_for(self, position: int) -> "UnitWriter":
        """The writer of the unit at `position`, committing the units before it (empty ones included)."""
        if not self.position <= position < len(self.job.shard_indices):
            raise RuntimeError(
                f"{self.job.config}/{self.job.split}: the builder yielded a row of shard #{position} while writing "
                f"shard #{self.position} of {len(self.job.shard_indices)}"
            )
        while self.writer is None or self.position < position:
            self._advance()
        return self.writer

    def finish(self) -> None:
        """Commit the current unit and the empty ones after it."""
        while self.position < len(self.job.shard_indices) - 1 or self.writer is not None:
            self._advance()

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None

    def _advance(self) -> None:
        if self.writer is not None:
            self.report("shard", self.writer.commit())
            self.writer = None
        self.position += 1
        if self.position < len(self.job.shard_indices):
            self.writer = UnitWriter(Path(self.job.out), self.job.units[self.position], self.job.options, self.features)


_worker_events: Optional[Any] = None


def _init_worker(events: Any, log_level: int) -> None:
    global _worker_events
    _worker_events = events
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")


def _run_job_in_worker(job: _Job) -> None:
    events = _worker_events  # set by _init_worker
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
# helpers


def _chunks(items: Sequence[int], num: int) -> Iterable[list[int]]:
    """At most `num` contiguous chunks of nearly equal length."""
    num = min(num, len(items))
    start = 0
    for index in range(num):
        size = len(items) // num + (1 if index < len(items) % num else 0)
        yield list(items[start : start + size])
        start += size


def _option_identity(name: str, value: Any) -> Any:
    if name in _FILE_OPTIONS and value:
        with open(value, "rb") as f:
            return {"sha256": hashlib.sha256(f.read()).hexdigest()}
    return value


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
