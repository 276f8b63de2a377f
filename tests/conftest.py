"""Shared fixtures: the mini-release is written once per session into a tmp dir; caches stay inside tmp dirs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the journeydb sample cache out of the user's home during tests."""
    os.environ["JOURNEYDB_CACHE"] = str(tmp_path_factory.mktemp("journeydb-cache"))


@pytest.fixture(scope="session")
def mini_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh mini-release (default seed), shared read-only by the tests."""
    from journeydb import write_sample_release

    root = tmp_path_factory.mktemp("mini") / "release"
    write_sample_release(root)
    return root


@pytest.fixture(scope="session")
def mini_manifest(mini_release: Path) -> dict:
    return json.loads((mini_release / "manifest.json").read_text())


@pytest.fixture
def cache_dir(tmp_path: Path) -> str:
    return str(tmp_path / "hf-cache")
