"""`journeydb benchmark` at scale: `--limit` subsets, resumable chunked prediction files (kill -9 included)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import isolated_env
from journeydb.evaluation import benchmark as benchmark_module
from journeydb.evaluation.benchmark import BenchmarkOptions, run_benchmark
from journeydb.evaluation.score import ScoringOptions
from journeydb.evaluation.subset import image_id_hash, limited_image_ids
from journeydb.evaluation.tasks import TASK_NAMES

FAST = ScoringOptions(meteor=False, similarity_model=None)


def options(release: Path, out: Path, **extra) -> BenchmarkOptions:
    return BenchmarkOptions(data_dir=str(release), out=str(out), scoring=FAST, **extra)


def prediction_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "predictions").glob("*.jsonl"))}


def image_ids_of(out: Path, task: str) -> list[str]:
    return [json.loads(line)["image_id"] for line in (out / "predictions" / f"{task}.jsonl").read_text().splitlines()]


def test_the_limit_subset_depends_on_the_ids_alone():
    ids = [f"img{i:03d}" for i in range(40)]
    chosen = limited_image_ids(ids, 7)
    assert chosen == limited_image_ids(list(reversed(ids)), 7) == limited_image_ids(ids + ids[:5], 7)
    assert chosen == set(sorted(ids, key=image_id_hash)[:7])
    assert limited_image_ids(ids, 100) == set(ids)
    with pytest.raises(ValueError, match="--limit"):
        limited_image_ids(ids, 0)


def test_limit_scores_the_same_images_for_every_task_and_every_run(mini_release, tmp_path):
    first = run_benchmark(options(mini_release, tmp_path / "a", limit=5))
    again = run_benchmark(options(mini_release, tmp_path / "b", limit=5, tasks=["style", "prompt_inversion"]))
    all_ids = [json.loads(line)["image_id"] for line in (tmp_path / "a" / "predictions" / "vqa.jsonl").open()]
    expected = set(image_ids_of(tmp_path / "a", "prompt_inversion"))
    assert len(expected) == 5 and first["limit"]["images"] == 5
    for task in TASK_NAMES:  # caption skips images without one: a subset of the same five
        assert set(image_ids_of(tmp_path / "a", task)) <= expected, task
    assert set(all_ids) == expected
    assert set(image_ids_of(tmp_path / "b", "style")) == set(image_ids_of(tmp_path / "a", "style"))
    assert again["tasks"]["style"]["scores"] == first["tasks"]["style"]["scores"]


@pytest.fixture(scope="module")
def uninterrupted(mini_release, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    results = run_benchmark(options(mini_release, out, chunk_size=4))
    return out, results


CRASH = """
import os, signal, sys
from journeydb.evaluation import resumable
from journeydb.evaluation.benchmark import BenchmarkOptions, run_benchmark
from journeydb.evaluation.score import ScoringOptions

appended = []
original = resumable.ChunkedPredictions.append

def append(self, chunk, rows):
    appended.append(self.task)
    if self.task == "style" and chunk == 2:  # half the chunk's lines on disk, its state not yet: kill -9
        with open(self.path, "a", encoding="utf-8") as f:
            f.write('{"image_id": "half-writ')
        os.kill(os.getpid(), signal.SIGKILL)
    original(self, chunk, rows)

resumable.ChunkedPredictions.append = append
run_benchmark(BenchmarkOptions(data_dir=sys.argv[1], out=sys.argv[2], chunk_size=4,
                               scoring=ScoringOptions(meteor=False, similarity_model=None)))
"""


def test_kill_9_and_rerun_gives_the_files_of_an_uninterrupted_run(mini_release, uninterrupted, tmp_path, caplog):
    out = tmp_path / "killed"
    done = subprocess.run([sys.executable, "-c", CRASH, str(mini_release), str(out)], env=isolated_env(tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == -9, done.stderr[-2000:]
    assert not (out / "results.json").exists()
    half = (out / "predictions" / "style.jsonl").read_text()
    assert half.endswith('"half-writ') and half.count("\n") == 8  # two chunks of four images complete
    with caplog.at_level(logging.INFO, logger="journeydb"):
        results = run_benchmark(options(mini_release, out, chunk_size=4))
    assert "style: resuming at chunk 3 of 4" in caplog.text
    assert prediction_files(out) == prediction_files(uninterrupted[0])
    assert {t: e["scores"] for t, e in results["tasks"].items()} == {
        t: e["scores"] for t, e in uninterrupted[1]["tasks"].items()
    }


def test_a_finished_task_is_not_redone_and_changed_options_restart_it(mini_release, tmp_path, caplog, monkeypatch):
    out = tmp_path / "run"
    run_benchmark(options(mini_release, out, tasks=["vqa", "style"]))
    before = prediction_files(out)

    class NoBaselines:
        def __init__(self, *args, **kwargs):
            raise AssertionError("a finished task was predicted again")

    monkeypatch.setattr(benchmark_module, "FittedBaselines", NoBaselines)
    with caplog.at_level(logging.INFO, logger="journeydb"):
        run_benchmark(options(mini_release, out, tasks=["vqa", "style"]))
    assert "vqa: predictions complete" in caplog.text and "style: predictions complete" in caplog.text
    monkeypatch.undo()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="journeydb"):
        run_benchmark(options(mini_release, out, tasks=["vqa", "style"], style_limit=3))
    restarted = [r for r in caplog.records if "starting the task afresh" in r.getMessage()]
    assert [r.getMessage().split(":")[0] for r in restarted] == ["style"]
    assert all(r.levelno == logging.WARNING for r in restarted)
    after = prediction_files(out)
    assert after["vqa.jsonl"] == before["vqa.jsonl"]
    assert all(len(json.loads(line)["prediction"]) <= 3 for line in after["style.jsonl"].decode().splitlines())


def test_limit_prepares_only_the_subset_and_opens_no_other_shard(mini_release, tmp_path):
    import shutil
    import tarfile

    whole = run_benchmark(options(mini_release, tmp_path / "whole", limit=1, tasks=["vqa", "prompt_inversion"]))
    chosen = image_ids_of(tmp_path / "whole", "vqa")[0]
    release = tmp_path / "release"
    shutil.copytree(mini_release, release)
    for shard in sorted((release / "data" / "valid" / "imgs").glob("*.tgz")):
        with tarfile.open(shard) as tar:
            if not any(chosen in name for name in tar.getnames()):
                shard.write_bytes(b"not a gzip archive")  # opening it would fail the run
    out = tmp_path / "subset"
    images = benchmark_module._eval_images(options(release, out, limit=1), str(release))
    assert list(images["image_id"]) == [chosen]
    again = run_benchmark(options(release, out, limit=1, tasks=["vqa", "prompt_inversion"]))
    assert all(again["tasks"][t]["scores"] == whole["tasks"][t]["scores"] for t in whole["tasks"])
    assert prediction_files(out) == prediction_files(tmp_path / "whole")
