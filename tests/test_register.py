"""`journeydb.register()`: `datasets.load_dataset("journeydb", ...)` on the raw release equals `journeydb.load`."""

from __future__ import annotations

import datasets
import pytest

import journeydb
from journeydb.integrations import hf_register


def test_load_dataset_by_name_equals_journeydb_load(mini_release, tmp_path):
    journeydb.register()
    journeydb.register()  # idempotent
    cache = str(tmp_path / "cache")
    ours = journeydb.load("vqa", data_dir=str(mini_release), split="validation", cache_dir=cache)
    theirs = datasets.load_dataset("journeydb", "vqa", data_dir=str(mini_release), split="validation",
                                   cache_dir=str(tmp_path / "cache2"))
    assert type(theirs) is datasets.Dataset and len(theirs) == len(ours) > 0
    assert theirs.features == ours.features
    assert theirs.remove_columns("image").to_list() == ours.remove_columns("image").to_list()
    stream = datasets.load_dataset("journeydb", "vqa", data_dir=str(mini_release), split="validation",
                                   streaming=True)
    assert [r["image_id"] for r in stream] == ours["image_id"]


def test_other_names_still_reach_datasets(tmp_path):
    journeydb.register()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.csv").write_text("a\n1\n")
    assert datasets.load_dataset(str(tmp_path / "d"), split="train", cache_dir=str(tmp_path / "c"))["a"] == [1]


def test_changed_internals_fail_clearly(monkeypatch):
    import datasets.load as hf_load

    monkeypatch.delattr(hf_load, "dataset_module_factory")
    with pytest.raises(RuntimeError, match=rf"datasets {datasets.__version__}.*journeydb.load"):
        hf_register.register()
