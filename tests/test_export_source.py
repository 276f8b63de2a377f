"""`journeydb evaluate --data-dir` reads a `journeydb export` folder as well as the raw release: same references,
same scores."""

from __future__ import annotations

import json

import pytest

import journeydb
from journeydb.cli.main import main
from journeydb.evaluation.export_source import is_export_folder
from journeydb.evaluation.tasks import load_references

QUICK = ["--no-meteor", "--similarity-model", "none"]


@pytest.fixture(scope="module")
def export(mini_release, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "journeydb"
    journeydb.export_parquet(mini_release, out, configs=["caption", "vqa"])
    return out


@pytest.mark.parametrize("task", ["caption", "vqa"])
def test_references_from_export_equal_the_release(mini_release, export, task, tmp_path):
    assert is_export_folder(export) and not is_export_folder(mini_release)
    raw = load_references(task, str(mini_release), "validation", cache_dir=str(tmp_path / "a"))
    exported = load_references(task, str(export), "validation", cache_dir=str(tmp_path / "b"))
    assert exported.ids == raw.ids and exported.references == raw.references
    assert exported.question_types == raw.question_types and exported.options == raw.options


def test_evaluate_cli_scores_an_export_as_the_release(mini_release, export, tmp_path, capsys):
    refs = load_references("caption", str(mini_release), "validation", cache_dir=str(tmp_path / "c"))
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"image_id": i, "prediction": r[:20]}) + "\n"
                             for i, r in zip(refs.ids, refs.references)))
    scores = []
    for name, data in (("raw", mini_release), ("export", export)):
        argv = ["evaluate", "--task", "caption", "--predictions", str(preds), "--data-dir", str(data),
                "--out", str(tmp_path / name)]
        assert main(argv + QUICK) == 0
        scores.append(json.loads((tmp_path / name / "results.json").read_text())["tasks"]["caption"]["scores"])
    assert scores[0] == scores[1]


def test_export_without_the_config_is_a_clear_error(export, tmp_path):
    with pytest.raises(FileNotFoundError, match="without prompt/validation.*--configs prompt"):
        load_references("prompt_inversion", str(export), "validation", cache_dir=str(tmp_path / "c"))


def test_benchmark_on_an_export_equals_the_release(mini_release, tmp_path):
    """`journeydb benchmark --data-dir <export>`: images, training baselines and references all come from the
    Parquet tables, and every prediction file and score equals the raw release's (style tree off in both)."""
    export = tmp_path / "export"
    journeydb.export_parquet(mini_release, export)
    results = {}
    for name, data in (("raw", mini_release), ("export", export)):
        out = tmp_path / name
        args = ["benchmark", "--data-dir", str(data), "--out", str(out), "--gallery-size", "0", *QUICK]
        assert main(args) == 0
        results[name] = json.loads((out / "results.json").read_text(encoding="utf-8"))["tasks"]
        for task in results[name]:
            results[name][task]["lines"] = (out / "predictions" / f"{task}.jsonl").read_text(encoding="utf-8")
    assert results["raw"].keys() == results["export"].keys() and len(results["raw"]) == 5
    for task, raw in results["raw"].items():
        assert results["export"][task]["lines"] == raw["lines"], task
        assert results["export"][task]["scores"] == raw["scores"], task
