"""One way to open a split, whatever `--data-dir` is: the raw release (the builder) or a `journeydb export` folder.

An export folder holds `<config>/<split>/<shard>-<part>.parquet` (and the card `README.md`) and no `data/`; its
rows and features equal `journeydb.load(config, ...)` in order, so reading the files in name order gives the same
references as the raw release.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence


def is_export_folder(data_dir: str | os.PathLike) -> bool:
    """Whether `data_dir` is a `journeydb export` output (Parquet per config and split) rather than a raw release."""
    root = Path(data_dir)
    return root.is_dir() and not (root / "data").is_dir() and any(root.glob("*/*/*.parquet"))


def load_export(
    config: str, data_dir: str | os.PathLike, split: str, cache_dir: Optional[str] = None, streaming: bool = False
) -> Any:
    """The `split` of `config` from an export folder, as a `datasets.Dataset` (or, streaming, an `IterableDataset`),
    rows in export order."""
    import datasets

    folder = Path(data_dir) / config / split
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    if not files:
        exported = sorted(f"{p.parent.name}/{p.name}" for p in Path(data_dir).glob("*/*") if p.is_dir())
        raise FileNotFoundError(
            f"{data_dir} is a journeydb export without {config}/{split} (it has: {', '.join(exported) or 'nothing'});"
            f" export it with `journeydb export <release> {data_dir} --configs {config}`"
        )
    return datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=cache_dir, streaming=streaming)


def open_split(
    config: str,
    data_dir: str,
    split: str,
    streaming: bool = False,
    cache_dir: Optional[str] = None,
    **config_kwargs: Any,
) -> Any:
    """`journeydb.load(config, data_dir, split, ...)` on a raw release, the exported Parquet on an export folder:
    every reader of the benchmark and the report goes through here, so both kinds of `--data-dir` serve them all."""
    if not is_export_folder(data_dir):
        from journeydb.builder.builder import load

        return load(config, data_dir=data_dir, split=split, streaming=streaming, cache_dir=cache_dir, **config_kwargs)
    if config_kwargs.get("test_annotations") or config_kwargs.get("style_tree"):
        given = "test_annotations" if config_kwargs.get("test_annotations") else "style_tree"
        raise ValueError(
            f"{data_dir} is a journeydb export: its tables are fixed, so {given}= cannot be applied; "
            "pass the raw release as --data-dir"
        )
    return load_export(config, data_dir, split, cache_dir=cache_dir, streaming=streaming)


def split_style_vocabulary(data_dir: str, splits: Sequence[str]) -> list[str]:
    """The style vocabulary of `splits` (`release.style_tree.read_style_vocabulary` on a raw release, which reads
    the annotation files; the exported `style` tables' phrases on an export folder)."""
    from journeydb.release.style_tree import read_style_vocabulary, style_vocabulary

    if not is_export_folder(data_dir):
        return read_style_vocabulary(data_dir, splits=splits)
    lists: list[list[str]] = []
    for split in splits:
        lists.extend(load_export("style", data_dir, split).select_columns(["styles"])["styles"])
    return style_vocabulary(lists)
