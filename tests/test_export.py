"""The Parquet export: every config of the mini-release read back by `datasets.load_dataset`; resume; two ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from datasets.distributed import split_dataset_by_node

import journeydb
from journeydb.export import units as export_units
from journeydb.export.card import split_front_matter

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(journeydb.config_declarations())
STYLE_TREE = {"painting": ["oil painting", "watercolor", "pencil sketch"], "light": ["cinematic lighting", "neon glow"]}


@pytest.fixture(scope="module")
def config_kwargs(mini_release: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tree = tmp_path_factory.mktemp("tree") / "style_tree.json"
    tree.write_text(json.dumps(STYLE_TREE), encoding="utf-8")
    return {
        "on_bad_records": "skip",
        "style_tree": str(tree),
        "test_annotations": str(mini_release / "ground_truth" / "test_annotations.jsonl"),
    }


@pytest.fixture(scope="module")
def exported(mini_release: Path, config_kwargs: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All five configs exported once, with small row groups so that the bounds are exercised."""
    out = tmp_path_factory.mktemp("export") / "journeydb"
    journeydb.export_parquet(mini_release, out, row_group_rows=4, **config_kwargs)
    return out


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("hf-cache"))


def _bytes_rows(ds: datasets.Dataset) -> list[dict]:
    return ds.cast_column("image", datasets.Image(decode=False)).to_list()


def _reference(config: str, mini_release: Path, config_kwargs: dict, cache: str) -> datasets.DatasetDict:
    return journeydb.load(config, data_dir=str(mini_release), cache_dir=cache, **config_kwargs)


def _image_ids(ds: datasets.IterableDataset) -> list[str]:
    return [row["image_id"] for row in ds.decode(False)]


# --------------------------------------------------------------------------------------------------------------
# the folder


def test_folder_layout(exported: Path):
    files = [p.relative_to(exported).as_posix() for p in exported.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith(".py")]
    assert not [f for f in files if f.endswith(".tmp")]
    assert "README.md" in files
    for config in CONFIGS:
        for split in journeydb.config_declarations()[config].splits:
            assert list((exported / config / split).glob("*.parquet")), f"{config}/{split} has no Parquet file"


def test_readme_declares_configs_and_features(exported: Path):
    metadata, body = split_front_matter((exported / "README.md").read_text(encoding="utf-8"))
    declarations = journeydb.config_declarations()
    assert [c["config_name"] for c in metadata["configs"]] == CONFIGS
    assert [c["config_name"] for c in metadata["configs"] if c.get("default")] == ["vqa"]
    for info in metadata["dataset_info"]:
        declaration = declarations[info["config_name"]]
        assert datasets.Features._from_yaml_list(info["features"]) == declaration.features
        assert [s["name"] for s in info["splits"]] == list(declaration.splits)
    assert metadata["license"] == "other"
    assert "Non-commercial research" in body or "non-commercial research" in body
    assert "<!-- journeydb:export-summary -->" not in body and "## This export" in body


def test_row_groups_and_parts_are_bounded(mini_release: Path, tmp_path: Path):
    out = tmp_path / "small"
    journeydb.export_parquet(mini_release, out, configs=["caption"], max_shard_size=6000, row_group_rows=3)
    parts = sorted((out / "caption" / "train").glob("*.parquet"))
    assert len(parts) > 3  # 3 image shards, each cut into several parts
    for part in parts:
        metadata = pq.ParquetFile(part).metadata
        assert all(metadata.row_group(i).num_rows <= 3 for i in range(metadata.num_row_groups))
    tiny_groups = tmp_path / "tiny-groups"
    journeydb.export_parquet(mini_release, tiny_groups, configs=["caption"], row_group_size=1)
    for part in (tiny_groups / "caption" / "validation").glob("*.parquet"):
        metadata = pq.ParquetFile(part).metadata
        assert {metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)} == {1}


# --------------------------------------------------------------------------------------------------------------
# load_dataset on the folder equals journeydb.load on the release


@pytest.mark.parametrize("config", CONFIGS)
def test_load_dataset_equals_builder(config, exported, mini_release, config_kwargs, module_cache):
    loaded = datasets.load_dataset(str(exported), config, cache_dir=module_cache)
    reference = _reference(config, mini_release, config_kwargs, module_cache)
    assert list(loaded) == list(reference)
    for split in reference:
        assert loaded[split].features == reference[split].features
        assert len(loaded[split]) > 0
        assert _bytes_rows(loaded[split]) == _bytes_rows(reference[split])


@pytest.mark.parametrize("config", CONFIGS)
def test_streaming_equals_builder(config, exported, mini_release, config_kwargs, module_cache):
    reference = _reference(config, mini_release, config_kwargs, module_cache)
    for split in reference:
        stream = datasets.load_dataset(str(exported), config, split=split, streaming=True, cache_dir=module_cache)
        assert stream.features == reference[split].features
        assert list(stream.decode(False)) == _bytes_rows(reference[split])


def test_exported_values_are_filled(exported, module_cache):
    """The config options reached the rows: style categories from the tree, test answers from the ground truth."""
    style = datasets.load_dataset(str(exported), "style", split="validation", cache_dir=module_cache)
    assert any(row for row in style["style_categories"])
    test = datasets.load_dataset(str(exported), "test-clean", split="test", cache_dir=module_cache)
    assert all(q["answer"] in "ABCD" for questions in test["questions"] for q in questions)
    first = next(iter(test.cast_column("image", datasets.Image(decode=True))))
    assert first["image"].format == "JPEG"


# --------------------------------------------------------------------------------------------------------------
# resuming


class _Interrupted(Exception):
    pass


def test_resume_after_interruption(mini_release: Path, tmp_path: Path, monkeypatch, module_cache):
    out = tmp_path / "resumed"
    commit = export_units.UnitWriter.commit
    commits: list[str] = []

    def interrupted_commit(self):
        if len(commits) == 2:
            raise _Interrupted("killed while finishing the third image shard")
        commits.append(self.unit.shard)
        return commit(self)

    monkeypatch.setattr(export_units.UnitWriter, "commit", interrupted_commit)
    with pytest.raises(_Interrupted):
        journeydb.export_parquet(mini_release, out, configs=["vqa"])
    monkeypatch.setattr(export_units.UnitWriter, "commit", commit)

    train = out / "vqa" / "train"
    assert not (out / "README.md").exists()
    done = sorted(train.glob("*.parquet"))
    assert [p.name for p in done] == ["000-0000.parquet", "001-0000.parquet"]
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in done}
    # what a killed process leaves behind: a half-written part, and a part renamed before its record was written
    (train / ".002-0000.parquet.tmp").write_bytes(b"half a parquet file")
    (train / "002-0000.parquet").write_bytes(b"not the real thing")

    summary = journeydb.export_parquet(mini_release, out, configs=["vqa"])
    assert (summary.units, summary.units_reused) == (6, 2)
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in done} == stamps
    assert not list(out.rglob("*.tmp"))
    loaded = datasets.load_dataset(str(out), "vqa", cache_dir=module_cache)
    reference = journeydb.load("vqa", data_dir=str(mini_release), cache_dir=module_cache)
    for split in reference:
        assert _bytes_rows(loaded[split]) == _bytes_rows(reference[split])

    again = journeydb.export_parquet(mini_release, out, configs=["vqa"])
    assert again.units_reused == again.units == 6


def test_changed_options_redo_the_export(mini_release: Path, tmp_path: Path):
    out = tmp_path / "redo"
    journeydb.export_parquet(mini_release, out, configs=["caption"])
    assert journeydb.export_parquet(mini_release, out, configs=["caption"], row_group_rows=7).units_reused == 0
    (out / "caption" / "validation" / "001-0000.parquet").unlink()  # a file lost after the export
    summary = journeydb.export_parquet(mini_release, out, configs=["caption"], row_group_rows=7)
    assert (summary.units, summary.units_reused) == (5, 4)


def test_export_extends_a_folder_with_more_configs(mini_release: Path, tmp_path: Path):
    out = tmp_path / "extend"
    journeydb.export_parquet(mini_release, out, configs=["caption"])
    summary = journeydb.export_parquet(mini_release, out, configs=["vqa"])
    assert sorted({s.config for s in summary.splits}) == ["caption", "vqa"]
    metadata, _ = split_front_matter((out / "README.md").read_text(encoding="utf-8"))
    assert [c["config_name"] for c in metadata["configs"]] == ["caption", "vqa"]


def test_bad_arguments(mini_release: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="unknown JourneyDB config"):
        journeydb.export_parquet(mini_release, tmp_path / "a", configs=["vqa", "captions"])
    with pytest.raises(ValueError, match="num_proc"):
        journeydb.export_parquet(mini_release, tmp_path / "b", num_proc=0)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no journeydb export"):
        journeydb.export_parquet(mini_release, foreign, configs=["vqa"])


# --------------------------------------------------------------------------------------------------------------
# two ranks together see every row once, straight from the release and from the export


@pytest.mark.parametrize("source", ["release", "export"])
@pytest.mark.parametrize("split", ["validation", "train"])
def test_two_ranks_see_every_row_once(source, split, exported, mini_release, module_cache):
    if source == "release":
        stream = journeydb.load("vqa", data_dir=str(mini_release), split=split, streaming=True, cache_dir=module_cache)
    else:
        stream = datasets.load_dataset(str(exported), "vqa", split=split, streaming=True, cache_dir=module_cache)
    ranks = [split_dataset_by_node(stream, rank=rank, world_size=2) for rank in range(2)]
    seen = [_image_ids(rank) for rank in ranks]
    expected = journeydb.load("vqa", data_dir=str(mini_release), split=split, cache_dir=module_cache)["image_id"]
    assert Counter(seen[0] + seen[1]) == Counter(expected)
    assert len(set(expected)) == len(expected)
    assert not set(seen[0]) & set(seen[1])
    if stream.num_shards % 2 == 0:  # whole shards per rank (validation: two image shards, two Parquet files)
        assert [rank.num_shards for rank in ranks] == [stream.num_shards // 2] * 2
        assert all(seen)


# --------------------------------------------------------------------------------------------------------------
# the command line


def test_cli_export_with_two_processes(mini_release: Path, tmp_path: Path, module_cache):
    out = tmp_path / "cli"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "journeydb", "export", str(mini_release), str(out)]
    result = subprocess.run(
        [*command, "--configs", "vqa", "caption", "--num-proc", "2", "--on-bad-records", "skip"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "exported 11 image shard(s); 0 were already done" in result.stdout, result.stdout
    assert "Exporting vqa, caption" in result.stderr  # the progress bar
    again = subprocess.run(
        [*command, "--configs", "vqa"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert "exported 0 image shard(s); 6 were already done" in again.stdout
    metadata, _ = split_front_matter((out / "README.md").read_text(encoding="utf-8"))
    assert yaml.safe_dump(metadata["configs"])  # plain YAML, no Python tags
    loaded = datasets.load_dataset(str(out), "caption", split="validation", cache_dir=module_cache)
    assert len(loaded) == 13
    bad = subprocess.run([*command, "--num-proc", "0"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "num_proc must be a positive integer" in bad.stderr
