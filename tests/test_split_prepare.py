"""`load(config, split=...)` prepares that split alone: scoring or benchmarking validation never reads train."""

import glob
import os
import shutil

import pytest

import journeydb
from journeydb.builder.builder import load


@pytest.fixture()
def release_without_train_images(tmp_path):
    root = tmp_path / "release"
    shutil.copytree(journeydb.sample_dir(), root)
    archives = glob.glob(os.path.join(root, "data", "train", "imgs", "*.tgz"))
    assert archives, "the mini-release has train image shards"
    for path in archives:
        os.remove(path)
    return str(root)


def test_loading_one_split_never_opens_another(release_without_train_images, tmp_path):
    cache = tmp_path / "cache"
    ds = load("vqa", data_dir=release_without_train_images, split="validation", cache_dir=str(cache))
    full = load("vqa", data_dir=journeydb.sample_dir(), cache_dir=str(tmp_path / "cache-full"))
    assert ds["image_id"] == full["validation"]["image_id"] and len(ds) > 0
    prepared = {os.path.basename(p) for p in glob.glob(str(cache / "**" / "*.arrow"), recursive=True)}
    assert prepared and all("-validation" in name for name in prepared), prepared


def test_an_unknown_split_names_the_config_splits(tmp_path):
    with pytest.raises(ValueError, match="has no split 'dev'"):
        load("vqa", data_dir=journeydb.sample_dir(), cache_dir=str(tmp_path), splits=("dev",))
