"""JourneyDB as an lmms-eval task group (`journeydb`), shipped as package data.

`task_dir()` is the folder to give `lmms-eval --include_path` (also printed by `python -m journeydb
lmms-eval-path`); the release is named once, by the environment variable `JOURNEYDB_DATA_DIR`. The task YAMLs
name `utils.py`, which imports lmms-eval; this module and `samples.py` do not, so the CLI works without the extra.
"""

from __future__ import annotations

import os

DATA_DIR_VARIABLE = "JOURNEYDB_DATA_DIR"


def task_dir() -> str:
    """The folder holding the task YAMLs and their `utils.py`."""
    return os.path.dirname(os.path.abspath(__file__))


def data_dir() -> str:
    """The folder the tasks read (`$JOURNEYDB_DATA_DIR`: a raw release or a `journeydb export` folder); a clear
    error where it is unset or wrong."""
    path = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if not path:
        raise ValueError(
            f"the journeydb lmms-eval tasks read the release named by ${DATA_DIR_VARIABLE} (the folder that "
            "contains data/); it is not set"
        )
    if not os.path.isdir(path):
        raise FileNotFoundError(f"${DATA_DIR_VARIABLE}={path!r} is not a folder")
    return path
