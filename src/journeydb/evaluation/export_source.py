"""Ground truth from a `journeydb export` folder: `--data-dir` takes the Parquet export as well as the raw release.

An export folder holds `<config>/<split>/<shard>-<part>.parquet` (and the card `README.md`) and no `data/`; its
rows and features equal `journeydb.load(config, ...)` in order, so reading the files in name order gives the same
references as the raw release.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional


def is_export_folder(data_dir: str | os.PathLike) -> bool:
    """Whether `data_dir` is a `journeydb export` output (Parquet per config and split) rather than a raw release."""
    root = Path(data_dir)
    return root.is_dir() and not (root / "data").is_dir() and any(root.glob("*/*/*.parquet"))


def load_export(config: str, data_dir: str | os.PathLike, split: str, cache_dir: Optional[str] = None) -> Any:
    """The `split` of `config` from an export folder, as a `datasets.Dataset` (rows in export order)."""
    import datasets

    folder = Path(data_dir) / config / split
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    if not files:
        exported = sorted(f"{p.parent.name}/{p.name}" for p in Path(data_dir).glob("*/*") if p.is_dir())
        raise FileNotFoundError(
            f"{data_dir} is a journeydb export without {config}/{split} (it has: {', '.join(exported) or 'nothing'});"
            f" export it with `journeydb export <release> {data_dir} --configs {config}`"
        )
    return datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=cache_dir)
