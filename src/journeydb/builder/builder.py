"""`JourneyDB`: the `datasets.GeneratorBasedBuilder` over the raw release, and `load()`.

datasets >= 4 refuses loading scripts, so the builder is a class users import (`journeydb.load(...)`) rather than
a `journeydb.py` next to the data. Configs are declared in `builder_configs/*.yaml` (features in the HF YAML
feature format the dataset card uses too).

How a split is generated: image shards (`imgs/NNN.tgz`, or the `NNN/` folders they extract to) are the shard
axis, streamed with `dl_manager.iter_archive`. The annotation file is split by shard once per machine (by the
`./NNN/` prefix of `img_path`; see `annotation_index`), so each shard reads only its own raw lines, holds only
those in memory, and parses a line only when its image comes by.
Rows are keyed `Key(index of the shard in this worker's list, row index in the shard)`, the key datasets >= 4.4.2
expects; the exporter uses it to tell which image shard a row came from.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator, Optional, Sequence, Union

import datasets
import yaml
from datasets.builder import Key
from datasets.utils.file_utils import xisdir

from journeydb.release import annotation_index, fingerprint, layout, records
from journeydb.release.citation import JOURNEYDB_CITATION
from journeydb.release.records import OnBadRecords, ReadStats, ReleaseFormatError
from journeydb.builder import rows, shards as shard_reading
from journeydb.release.style_tree import load_style_tree, phrase_categories

logger = logging.getLogger(__name__)

VERSION = datasets.Version("1.0.0")

_HOMEPAGE = "https://journeydb.github.io"
_LICENSE = "JourneyDB Terms of Usage: non-commercial research only, no redistribution"


@dataclass(frozen=True)
class ConfigDeclaration:
    """One `builder_configs/<name>.yaml`."""

    name: str
    description: str
    splits: tuple[str, ...]
    features: datasets.Features


@lru_cache(maxsize=None)
def config_declarations() -> dict[str, ConfigDeclaration]:
    """The per-config declarations shipped with the package, by config name."""
    folder = resources.files("journeydb.builder.configs")
    declarations = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        raw = yaml.safe_load(entry.read_text(encoding="utf-8"))
        declarations[raw["config_name"]] = ConfigDeclaration(
            name=raw["config_name"],
            description=" ".join(raw["description"].split()),
            splits=tuple(raw["splits"]),
            features=datasets.Features._from_yaml_list(raw["features"]),
        )
    return declarations


def _code_hash() -> str:
    """Hash of the code and declarations that shape the prepared data, so a code change invalidates the cache."""
    digest = hashlib.sha256()
    shaping = (
        ("journeydb.release", "records.py"),
        ("journeydb.release", "style_tree.py"),
        ("journeydb.builder", "builder.py"),
        ("journeydb.builder", "rows.py"),
        ("journeydb.builder", "shards.py"),
    )
    for package, module in shaping:
        digest.update(resources.files(package).joinpath(module).read_bytes())
    for decl in config_declarations().values():
        digest.update(repr((decl.name, decl.splits, decl.features)).encode())
    return digest.hexdigest()[:16]


def _prepared_hash(kwargs: dict[str, Any]) -> str:
    """The prepared data's cache key: the code, plus the content of what the config reads (annotation bytes, image
    shards' size+mtime+gzip trailer, side files), so a changed release is prepared again instead of served stale."""
    name = kwargs.get("config_name") or JourneyDB.DEFAULT_CONFIG_NAME
    data_dir = kwargs.get("data_dir")
    if not data_dir or name not in config_declarations():
        return _code_hash()
    side = (kwargs.get("style_tree"), kwargs.get("test_annotations"))
    splits = _chosen_splits(name, kwargs.get("splits"))
    release = fingerprint.release_key(str(data_dir), splits, side)
    return hashlib.sha256(f"{_code_hash()}\0{release}".encode()).hexdigest()[:16]


def _chosen_splits(config: str, splits: Optional[Sequence[str]]) -> tuple[str, ...]:
    """The splits a builder reads: `splits` when given (each one of the config's), else all the config's."""
    declared = config_declarations()[config].splits
    if splits is None:
        return tuple(declared)
    if isinstance(splits, str):
        splits = (splits,)
    unknown = [s for s in splits if s not in declared]
    if unknown:
        raise ValueError(f"config {config!r} has no split {unknown[0]!r}; its splits: {list(declared)}")
    return tuple(s for s in declared if s in splits)


@dataclass
class JourneyDBConfig(datasets.BuilderConfig):
    """BuilderConfig for JourneyDB.

    Args:
        on_bad_records (`str`, defaults to `"warn"`):
            What to do with a record or question that cannot be read (unknown answer form, malformed Task3 item,
            bad `img_path`): `"error"` raises naming file and line, `"warn"` skips it and logs where, `"skip"`
            skips it. Skips are counted and summarised in the log either way.
        style_tree (`str`, *optional*):
            Path to a style tree JSON `{category: [phrases]}`; fills `style_categories` of the `style` config.
        test_annotations (`str`, *optional*):
            Path to a JSONL file with the test ground truth (a validation-style line per image, plus
            `clean_prompt`); fills `prompt`, `clean_prompt`, `caption` and answers of the `test-clean` config.
        splits (`tuple[str]`, *optional*):
            Prepare only these splits (all the config's when omitted): `load(..., split=...)` sets it, so reading
            validation never opens or copies train.
        image_ids (`tuple[str]`, *optional*):
            Prepare only the rows of these images (all when omitted): a shard holding none of them is not opened,
            and a shard is read only up to the last of them (the benchmark's `--limit` subset).
    """

    on_bad_records: OnBadRecords = "warn"
    style_tree: Optional[str] = None
    test_annotations: Optional[str] = None
    splits: Optional[tuple[str, ...]] = None
    image_ids: Optional[tuple[str, ...]] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        records.check_on_bad_records(self.on_bad_records)
        if self.name not in config_declarations():
            raise ValueError(f"unknown JourneyDB config {self.name!r}; choose one of {sorted(config_declarations())}")


class JourneyDB(datasets.GeneratorBasedBuilder):
    """JourneyDB (arXiv 2307.00716) read straight from the released tgz shards and JSONL annotations."""

    BUILDER_CONFIG_CLASS = JourneyDBConfig
    BUILDER_CONFIGS = [
        JourneyDBConfig(name=decl.name, version=VERSION, description=decl.description)
        for decl in config_declarations().values()
    ]
    DEFAULT_CONFIG_NAME = "vqa"
    # rows carry full-size JPEG bytes: keep writer batches small so memory stays bounded
    DEFAULT_WRITER_BATCH_SIZE = 100

    config: JourneyDBConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("dataset_name", "journeydb")
        if "hash" not in kwargs:
            kwargs["hash"] = _prepared_hash(kwargs)
        super().__init__(*args, **kwargs)
        # config kwargs are set on a copy of the declared config without re-running __post_init__: check here
        records.check_on_bad_records(self.config.on_bad_records)

    def _info(self) -> datasets.DatasetInfo:
        decl = config_declarations()[self.config.name]
        return datasets.DatasetInfo(
            description=decl.description,
            features=decl.features,
            homepage=_HOMEPAGE,
            license=_LICENSE,
            citation=JOURNEYDB_CITATION,
        )

    def _prepare_split_single(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        # datasets wraps a generator error in DatasetGenerationError; with num_proc > 1 its cause is lost on the way
        # back from the worker (a RemoteTraceback). Raise ours, which name file and line, from the worker itself.
        try:
            yield from super()._prepare_split_single(*args, **kwargs)
        except datasets.exceptions.DatasetGenerationError as err:
            if isinstance(err.__cause__, (ReleaseFormatError, FileNotFoundError)):
                raise err.__cause__ from None
            raise

    # ----------------------------------------------------------------------------------------------------------
    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        if not self.config.data_dir:
            raise ValueError(
                "JourneyDB needs data_dir: the folder that contains `data/` (the HF dataset repo JourneyDB/JourneyDB "
                "as downloaded), or 'hf://datasets/JourneyDB/JourneyDB' to stream with your token"
            )
        generators = []
        for split in _chosen_splits(self.config.name, self.config.splits):
            folder = layout.split_folder(self.config.data_dir, split)
            annotation_path = layout.annotation_path(folder, split)
            shard_names, shard_paths = layout.shard_paths(folder, split)
            shards = []
            for name, path in zip(shard_names, shard_paths):
                if xisdir(path):
                    shards.append({"name": name, "folder": path})
                else:
                    shards.append({"name": name, "archive": dl_manager.download(path)})
            generators.append(
                datasets.SplitGenerator(
                    name=split,
                    gen_kwargs={
                        "split": split,
                        "annotation_path": dl_manager.download(annotation_path),
                        "annotation_name": annotation_path,
                        "annotation_key": fingerprint.annotation_key(annotation_path),
                        "shards": shards,
                        "all_shard_names": tuple(shard_names),
                    },
                )
            )
        return generators

    def _generate_examples(
        self,
        split: str,
        annotation_path: str,
        annotation_name: str,
        annotation_key: str,
        shards: list[dict[str, Any]],
        all_shard_names: tuple[str, ...],
    ) -> Iterator[tuple[Key, dict[str, Any]]]:
        my_shards = {shard["name"] for shard in shards}
        # the worker holding the first shard also reports what belongs to no shard, so nothing is counted twice
        reports_orphans = all_shard_names[0] in my_shards
        is_test = split == "test"
        stats = ReadStats()
        policy = self.config.on_bad_records
        index = annotation_index.build_index(
            annotation_path, annotation_name, all_shard_names, is_test, content_key=annotation_key
        )
        if reports_orphans:
            shard_reading.report_unrouted(index, annotation_name, is_test, policy, stats)
        test_truth = (
            rows.read_test_truth(self.config.test_annotations, self.config.on_bad_records, stats)
            if self.config.name == "test-clean" and self.config.test_annotations
            else None
        )
        tree_index = phrase_categories(load_style_tree(self.config.style_tree)) if self.config.style_tree else None
        wanted = None if self.config.image_ids is None else frozenset(self.config.image_ids)

        for shard_index, shard in enumerate(shards):
            pending = shard_reading.shard_annotations(index, shard["name"], annotation_name, policy, stats)
            if wanted is not None:
                pending = {image_id: line for image_id, line in pending.items() if image_id in wanted}
                if not pending:  # none of the subset is in this shard: it is not opened
                    continue
            row_index = 0
            for member_name, read_bytes in shard_reading.iter_shard_images(shard):
                image_id = records.image_id_of(member_name)
                line = pending.pop(image_id, None)
                if line is None:
                    if wanted is None:  # the release has more images than labelled ones (paper Table 2)
                        stats.skip("images without annotation", member_name)
                    continue
                line_no, raw = line
                where = f"{annotation_name}:{line_no}"
                decoded = records.decode_line(raw, where)  # routed lines decoded once already
                record = records.parse_record(decoded, where, policy, stats, with_answers=not is_test)
                if record is None:
                    continue
                row = rows.record_row(self.config.name, record, where, stats, tree_index, test_truth)
                if row is None:
                    continue
                data = read_bytes()
                problem = layout.image_problem(data)
                if problem is not None:
                    where_image = f"image shard {shard['name']}: {member_name} ({where})"
                    records.handle_bad(policy, stats, "undecodable images", where_image, problem)
                    continue
                row["image"] = {"path": posixpath.basename(member_name), "bytes": data}
                yield Key(shard_index, row_index), row
                row_index += 1
                if wanted is not None and not pending:
                    break  # the subset's last image of this shard: the rest of the archive is not read
            for image_id, (line_no, _) in pending.items():
                stats.skip("annotations whose image is in no shard", f"{annotation_name}:{line_no} ({image_id})")
        skipped = {k: v for k, v in stats.counts.items() if k != "images without annotation"}
        if skipped:
            logger.warning("JourneyDB %s/%s, shards %s: %s", self.config.name, split, sorted(my_shards), stats.summary())
        elif stats.counts:
            logger.info("JourneyDB %s/%s, shards %s: %s", self.config.name, split, sorted(my_shards), stats.summary())


def load(
    config: str,
    data_dir: str,
    split: Optional[str] = None,
    streaming: bool = False,
    num_proc: Optional[int] = None,
    cache_dir: Optional[str] = None,
    **config_kwargs: Any,
) -> Union[datasets.DatasetDict, datasets.Dataset, datasets.IterableDatasetDict, datasets.IterableDataset]:
    """Load a JourneyDB config from the raw release, as `datasets.load_dataset` would.

    Args:
        config (`str`): one of `prompt`, `caption`, `style`, `vqa`, `test-clean`.
        data_dir (`str`): the folder that contains `data/` (or `hf://datasets/JourneyDB/JourneyDB` with a token).
        split (`str`, *optional*): `train`, `validation` or `test`; all splits of the config when omitted.
        streaming (`bool`, defaults to `False`): read the archives lazily instead of preparing Arrow files.
        num_proc (`int`, *optional*): processes for preparing (image shards are distributed among them).
        cache_dir (`str`, *optional*): where prepared Arrow files go (datasets' default cache otherwise).
        **config_kwargs: `on_bad_records`, `style_tree`, `test_annotations`, `image_ids` (see `JourneyDBConfig`).

    Example:

    ```py
    >>> import journeydb
    >>> ds = journeydb.load("vqa", data_dir=journeydb.sample_dir(), split="validation")
    >>> ds.features["questions"][0]["answer"]
    Value('string')
    ```
    """
    if config not in config_declarations():
        raise ValueError(f"unknown JourneyDB config {config!r}; choose one of {sorted(config_declarations())}")
    # streaming prepares nothing, so it needs no content key (which reads every annotation byte)
    key = {"hash": _code_hash()} if streaming else {}
    if split in config_declarations()[config].splits:
        config_kwargs.setdefault("splits", (split,))  # read the asked split alone: validation never opens train
    builder = JourneyDB(config_name=config, data_dir=str(data_dir), cache_dir=cache_dir, **key, **config_kwargs)
    if streaming:  # nothing is prepared: the release is read as it is now
        return builder.as_streaming_dataset(split=split)
    try:
        builder.download_and_prepare(num_proc=num_proc)
    except datasets.exceptions.DatasetGenerationError as err:
        # datasets wraps generator errors; surface ours, which name the file and line
        if isinstance(err.__cause__, (ReleaseFormatError, FileNotFoundError)):
            raise err.__cause__ from None
        raise
    return builder.as_dataset(split=split)
