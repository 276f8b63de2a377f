"""The journeydb cache folder: `$JOURNEYDB_CACHE`, default `~/.cache/journeydb`.

What journeydb caches there (the annotation index, shard listings, CLIP text features, the mini-release) is keyed
by content. `--cache-dir DIR` of `journeydb evaluate` and `journeydb benchmark` moves everything a run caches
under DIR: datasets' files to DIR itself (the builder's `cache_dir`), journeydb's own to `journeydb_cache(DIR)`,
DIR/journeydb-cache.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("JOURNEYDB_CACHE", Path.home() / ".cache" / "journeydb"))


def journeydb_cache(cache_dir: str | os.PathLike) -> Path:
    """Where journeydb's own caches go under a run's `--cache-dir`."""
    return Path(cache_dir).resolve() / "journeydb-cache"


def use_cache_dir(cache_dir: str | os.PathLike) -> None:
    """Make `journeydb_cache(cache_dir)` the cache of this process and of the processes it starts (a command's
    `--cache-dir`): it sets `$JOURNEYDB_CACHE`, which `cache_root` reads at every call."""
    os.environ["JOURNEYDB_CACHE"] = str(journeydb_cache(cache_dir))
