"""The mini-release generator, `journeydb info`, and the CLI as a user runs it."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import journeydb
from journeydb.release.inventory import count_release
from journeydb.release.sample import write_sample_release

SPLIT_FOLDERS = {"train": "train", "validation": "valid", "test": "test"}


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_same_bytes(mini_release, tmp_path):
    again = tmp_path / "again"
    write_sample_release(again)
    assert _files(again) == _files(mini_release)
    _, mismatch, errors = filecmp.cmpfiles(mini_release, again, _files(mini_release), shallow=False)
    assert mismatch == [] and errors == []
    other = tmp_path / "other"
    write_sample_release(other, seed=1)
    assert (other / "data/valid/imgs/000.tgz").read_bytes() != (mini_release / "data/valid/imgs/000.tgz").read_bytes()


def test_real_layout_and_dirt(mini_release):
    data = mini_release / "data"
    assert (data / "train/train_anno_realease_repath.jsonl.tgz").is_file()  # the release's typo, kept
    assert (data / "train/train_anno.jsonl.tgz").is_file()
    assert (data / "valid/valid_anno_repath.jsonl.tgz").is_file()
    assert (data / "test/test_questions.jsonl.tgz").is_file() and (data / "test/imgs.tgz").is_file()
    with tarfile.open(data / "train/imgs/000.tgz") as tar:
        members = tar.getmembers()
    assert members[0].isdir() and members[0].name == "000"
    assert any(m.name.endswith("info.txt") for m in members)
    with tarfile.open(data / "train/train_anno_realease_repath.jsonl.tgz") as tar:
        text = tar.extractfile(tar.getmembers()[0]).read().decode()
    records = [json.loads(line) for line in text.splitlines()]
    assert all(r["img_path"].startswith("./00") for r in records)
    assert any("Task2" not in r for r in records)
    assert any(r.get("Task2", {}).get("Caption") is None for r in records if "Task2" in r)
    prompts = " ".join(r["prompt"] for r in records)
    for dirt in ("--ar 16:9", "::", "(masterpiece)", "[highly detailed]", "café", "東京", "🎨"):
        assert dirt in prompts or dirt in " ".join(
            r["prompt"] for r in (json.loads(l) for l in _annotation_text(mini_release, "valid").splitlines())
        ), dirt


def _annotation_text(root: Path, folder: str) -> str:
    (archive,) = (root / "data" / folder).glob("*_repath.jsonl.tgz")
    with tarfile.open(archive) as tar:
        return tar.extractfile(tar.getmembers()[0]).read().decode()


def test_info_counts_match_what_the_generator_wrote(mini_release, mini_manifest):
    for counts in count_release(str(mini_release)):
        written = mini_manifest[SPLIT_FOLDERS[counts.split]]
        assert counts.images == written["images"]
        assert counts.labeled_images == written["labeled_images"]
        assert counts.style_qa == written["style_qa"] and counts.content_qa == written["content_qa"]
        assert counts.shards == written["shards"]
        assert sum(counts.skipped.counts.values()) == written["malformed_questions"]
        if counts.split == "test":
            assert counts.labeled_prompts is None
        else:
            assert counts.labeled_prompts == written["labeled_prompts"]


def test_sample_dir_is_built_once(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYDB_CACHE", str(tmp_path))
    first = journeydb.sample_dir()
    stamp = os.stat(Path(first) / "manifest.json").st_mtime_ns
    assert journeydb.sample_dir() == first
    assert os.stat(Path(first) / "manifest.json").st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [Path(first).name]  # no temp folder left behind


def test_sample_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(FileExistsError, match="not empty"):
        write_sample_release(tmp_path / "x")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "journeydb", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_sample_then_info(tmp_path, mini_manifest):
    done = _cli("sample", "--out", "jdb-mini", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    info = _cli("info", "jdb-mini", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    lines = info.stdout.splitlines()
    assert lines[0].startswith("| split | Image | Labeled Image | Labeled Prompt | Style QA | Content QA")
    train = next(line for line in lines if line.startswith("| train "))
    written = mini_manifest["train"]
    assert f"| {written['images']} | {written['labeled_images']} | {written['labeled_prompts']} |" in train
    assert "image(s) without annotation" in info.stdout and "malformed question" in info.stdout


def test_cli_errors_are_one_line(tmp_path):
    done = _cli("info", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("journeydb info: error:") and "does not exist" in done.stderr
