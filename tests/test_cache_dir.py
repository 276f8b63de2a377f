"""`--cache-dir` of `journeydb evaluate` and `journeydb benchmark`: everything the run caches goes there, nothing
into datasets' default cache, HF_HOME or $JOURNEYDB_CACHE; a second run reuses it (the keys are content)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import isolated_env

QUICK = ["--no-meteor", "--similarity-model", "none"]
DEFAULT_CACHES = ("jdb-cache", "hf-home", "hf-datasets")


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "journeydb", *args], capture_output=True, text=True, env=isolated_env(tmp_path),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _perfect_predictions(release: Path, path: Path) -> None:
    from journeydb.evaluation.tasks import load_references

    refs = load_references("prompt_inversion", str(release), "validation")
    with open(path, "w", encoding="utf-8") as f:
        for image_id, reference in zip(refs.image_ids, refs.references):
            text = reference if isinstance(reference, str) else reference[0]
            f.write(json.dumps({"image_id": image_id, "prediction": text}) + "\n")


def test_evaluate_and_benchmark_with_cache_dir_write_nothing_into_the_default_caches(tmp_path, mini_release):
    predictions = tmp_path / "predictions.jsonl"
    _perfect_predictions(mini_release, predictions)
    cache = tmp_path / "run-cache"
    evaluate = ["evaluate", "--task", "prompt_inversion", "--predictions", str(predictions),
                "--data-dir", str(mini_release), "--out", str(tmp_path / "eval"), "--cache-dir", str(cache)]
    first = _run(evaluate + QUICK, tmp_path)
    index = cache / "journeydb-cache" / "annotation-index"
    assert any(index.iterdir()), _files(cache)  # the annotation index went under --cache-dir
    built = _files(cache)
    assert _run(evaluate + QUICK, tmp_path).stdout == first.stdout
    assert _files(cache) == built  # keyed by content: the second run adds nothing
    _run(["benchmark", "--data-dir", str(mini_release), "--out", str(tmp_path / "bench"), "--cache-dir", str(cache),
          *QUICK], tmp_path)
    for name in DEFAULT_CACHES:
        assert _files(tmp_path / name) == [], name
