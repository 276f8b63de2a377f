"""JourneyDB tools: a `datasets` builder over the raw release, scoring functions, and the `journeydb` CLI.

The package is in layers, each a folder that imports only from the ones before it (tests/test_layers.py checks):

    release → builder → export → scoring → models → evaluation → integrations → testing → cli

The names below are the public face; each is imported on first use, so `import journeydb.scoring.caption` loads
neither `datasets` nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"  # the one place; setup.cfg reads it

_PUBLIC = {
    "JourneyDB": "journeydb.builder.builder",
    "JourneyDBConfig": "journeydb.builder.builder",
    "config_declarations": "journeydb.builder.builder",
    "load": "journeydb.builder.builder",
    "metric_path": "journeydb.integrations.metric_modules",
    "register": "journeydb.integrations.hf_register",
    "export_parquet": "journeydb.export.parquet",
    "sample_dir": "journeydb.release.sample",
    "write_sample_release": "journeydb.release.sample",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'journeydb' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_PUBLIC))
