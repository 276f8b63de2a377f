"""The style tree builder on the mini-release, the `style-tree build` command, and the `style` config with the tree."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import journeydb
from journeydb.release.style_tree import categories_of, load_style_tree, phrase_categories, read_style_vocabulary
from journeydb.models.style_tree_builder import (
    NAME_SEPARATOR,
    build_style_tree,
    cluster_phrases,
    load_sentence_model,
    write_style_tree,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sentence_model():
    return load_sentence_model()  # the offline all-MiniLM-L6-v2 package


@pytest.fixture(scope="module")
def vocabulary(mini_release):
    return read_style_vocabulary(str(mini_release), ("train", "validation"))


@pytest.fixture(scope="module")
def built_tree(vocabulary, sentence_model, tmp_path_factory):
    tree = build_style_tree(vocabulary, 5, model=sentence_model, seed=0)
    path = tmp_path_factory.mktemp("tree") / "tree.json"
    write_style_tree(tree, path)
    return tree, path


def test_tree_partitions_the_vocabulary(built_tree, vocabulary):
    tree, _ = built_tree
    assert len(tree) == 5
    assert sorted(p for phrases in tree.values() for p in phrases) == vocabulary  # each phrase exactly once
    sizes = [len(p) for p in tree.values()]
    assert sizes == sorted(sizes, reverse=True)  # largest first
    for name, phrases in tree.items():  # named by its most central phrases, which come first
        assert name == NAME_SEPARATOR.join(phrases[:3])


def test_tree_is_deterministic(built_tree, vocabulary, sentence_model):
    assert build_style_tree(list(reversed(vocabulary)), 5, model=sentence_model, seed=0) == built_tree[0]


def test_written_tree_and_plot(built_tree):
    tree, path = built_tree
    assert load_style_tree(path) == tree
    png = path.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_more_categories_than_phrases_is_clamped(caplog):
    phrases = ["a", "b", "c"]
    embeddings = np.eye(3, dtype=np.float32)
    with caplog.at_level(logging.WARNING, logger="journeydb.models.style_tree_builder"):
        tree = cluster_phrases(phrases, embeddings, 334)
    assert sorted(tree) == ["a", "b", "c"] and all(tree[p] == [p] for p in phrases)
    assert "asked for 334 categories but the vocabulary has only 3 phrases" in caplog.text


def test_cluster_input_errors():
    with pytest.raises(ValueError, match="empty"):
        cluster_phrases([], np.zeros((0, 4), dtype=np.float32), 3)
    with pytest.raises(ValueError, match="positive"):
        cluster_phrases(["a"], np.ones((1, 4), dtype=np.float32), 0)
    with pytest.raises(ValueError, match="must end in .json"):
        write_style_tree({"a": ["a"]}, "tree.txt")
    with pytest.raises(FileNotFoundError, match="not a local folder"):
        load_sentence_model("/no/such/model")


def test_style_config_fills_categories_from_the_built_tree(built_tree, mini_release, cache_dir):
    tree, path = built_tree
    ds = journeydb.load("style", data_dir=str(mini_release), split="validation", cache_dir=cache_dir,
                        style_tree=str(path))
    index = phrase_categories(tree)
    assert len(ds) > 0
    for row in ds.select_columns(["styles", "style_categories"]):
        assert row["style_categories"] == categories_of(row["styles"], index)
        assert row["style_categories"]  # every phrase of the release is in the tree built from it


def test_cli_builds_tree_and_plot(mini_release, tmp_path):
    out = tmp_path / "out" / "tree.json"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "journeydb", "style-tree", "build", str(mini_release), "--out", str(out),
         "--categories", "334"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "asked for 334 categories" in proc.stderr  # the clamp is reported
    vocabulary = read_style_vocabulary(str(mini_release))
    tree = json.loads(out.read_text())
    assert len(tree) == len(vocabulary)
    assert f"{len(vocabulary)} style phrases (validation) -> {len(vocabulary)} categories" in proc.stdout
    assert out.with_suffix(".png").is_file()


def test_cli_error_names_the_missing_folder(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "journeydb", "style-tree", "build", str(tmp_path / "nope"), "--out",
         str(tmp_path / "t.json")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr
