"""The journeydb cache folder: `$JOURNEYDB_CACHE`, default `~/.cache/journeydb`."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("JOURNEYDB_CACHE", Path.home() / ".cache" / "journeydb"))
