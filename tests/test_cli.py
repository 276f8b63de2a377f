"""`journeydb benchmark` and `journeydb evaluate` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import isolated_env
from journeydb.cli.main import main
from journeydb.evaluation.tasks import load_references

QUICK = ["--no-meteor", "--similarity-model", "none"]


def test_benchmark_without_arguments_runs_the_baselines_on_the_mini_release(tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "journeydb", "benchmark", "--out", str(out)],
        capture_output=True,
        text=True,
        env=isolated_env(tmp_path),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = proc.stdout.splitlines()[0]
    assert "built-in offline baselines" in first and "mini-release" in first and "not the paper's models" in first
    for heading in ("Table 3", "Table 4", "Table 5", "Table 6", "Table 8"):
        assert f"## {heading}" in proc.stdout
    expected = {
        "results.json",
        "report.md",
        "report.html",
        "vqa_accuracy_by_type.png",
        "style_recall_per_category.png",
        "score_distributions.png",
    } | {f"predictions/{t}.jsonl" for t in ("prompt_inversion", "caption", "style", "vqa", "qas")}
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert expected <= written, expected - written
    results = json.loads((out / "results.json").read_text())
    assert results["mini_release"] is True and results["split"] == "validation"
    for task, entry in results["tasks"].items():
        assert entry["model"].startswith("baseline ("), (task, entry["model"])
        assert all(v["count"] == 0 for v in entry["matching"].values())
    assert results["tasks"]["vqa"]["scores"]["num_questions"] == 50
    assert results["tasks"]["prompt_inversion"]["scores"]["similarity"] is not None
    report = (out / "report.md").read_text()
    assert "baseline (nearest training image)" in report and "not models from the paper" in report
    # the cost of each stage, also in timing.json
    timing = json.loads((out / "timing.json").read_text())
    assert timing["stages"] and "## Cost of this run" in report
    assert all(f"| {stage} |" in report for stage in timing["stages"])


@pytest.fixture(scope="module")
def caption_refs(mini_release, tmp_path_factory):
    return load_references("caption", str(mini_release), "validation", cache_dir=str(tmp_path_factory.mktemp("c")))


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_evaluate_reports_missing_duplicate_and_unknown_ids(mini_release, caption_refs, tmp_path, capsys):
    ids, refs = caption_refs.ids, caption_refs.references
    rows = [{"image_id": i, "prediction": r} for i, r in zip(ids[1:], refs[1:])]  # the first image is missing
    rows += [{"image_id": ids[1], "prediction": "a duplicate"}, {"image_id": "not-an-image", "prediction": "x"}]
    preds = _write(tmp_path / "preds.jsonl", rows)
    out = tmp_path / "out"
    argv = ["evaluate", "--task", "caption", "--predictions", preds, "--data-dir", str(mini_release), "--out", str(out)]
    assert main(argv + QUICK + ["--gallery-size", "2"]) == 0
    stdout = capsys.readouterr().out
    first = stdout.splitlines()[0]
    assert f"{len(ids)} expected" in first
    assert f"1 missing (e.g. '{ids[0]}')" in first and f"1 duplicates (e.g. '{ids[1]}')" in first
    assert "1 unknown (e.g. 'not-an-image')" in first and "scored as wrong" in first
    assert "## Table 4: Image captioning" in stdout and "| preds |" in stdout
    entry = json.loads((out / "results.json").read_text())["tasks"]["caption"]
    assert entry["num_missing"] == 1 and entry["scores"]["num_samples"] == len(ids)  # the missing one is scored
    assert {k: v["count"] for k, v in entry["matching"].items()} == {"missing": 1, "duplicates": 1, "unknown": 1}
    assert (out / "report.md").exists() and (out / "report.html").exists()
    assert [c["group"] for c in entry["gallery"]] == ["worst"] * 2 + ["best"] * 2 + ["random"] * 2
    assert (out / "report.html").read_text(encoding="utf-8").count('data:image/jpeg;base64,') == 6  # thumbnails

    # a perfect file matches once and scores at least as well
    perfect = _write(tmp_path / "perfect.jsonl", [{"image_id": i, "prediction": r} for i, r in zip(ids, refs)])
    assert main(["evaluate", "--task", "caption", "--predictions", perfect, "--data-dir", str(mini_release), "--out", str(tmp_path / "o2")] + QUICK) == 0
    assert "every id matched once" in capsys.readouterr().out
    best = json.loads((tmp_path / "o2" / "results.json").read_text())["tasks"]["caption"]["scores"]
    assert best["rouge_l"] >= entry["scores"]["rouge_l"]


def test_evaluate_strict_refuses_mismatches(mini_release, caption_refs, tmp_path, capsys):
    preds = _write(tmp_path / "p.jsonl", [{"image_id": caption_refs.ids[0], "prediction": "x"}])
    code = main(["evaluate", "--task", "caption", "--predictions", preds, "--data-dir", str(mini_release), "--strict"] + QUICK)
    assert code == 2
    err = capsys.readouterr().err
    assert f"{len(caption_refs) - 1} missing" in err and "error" in err


def test_evaluate_vqa_style_and_qas_files(mini_release, tmp_path, capsys):
    data = str(mini_release)
    vqa = load_references("vqa", data, "validation", cache_dir=str(tmp_path / "c"))
    rows = [{"question_id": q, "image_id": i, "prediction": f"The answer is ({a})."} for q, i, a in zip(vqa.ids, vqa.image_ids, vqa.references)]
    preds = _write(tmp_path / "vqa.jsonl", rows[:-1])
    assert main(["evaluate", "--task", "vqa", "--predictions", preds, "--data-dir", data, "--out", str(tmp_path / "v")]) == 0
    scores = json.loads((tmp_path / "v" / "results.json").read_text())["tasks"]["vqa"]["scores"]
    assert scores["num_questions"] == len(vqa)
    assert scores["accuracy"] == pytest.approx((len(vqa) - 1) / len(vqa))  # the missing question counts wrong

    style = load_references("style", data, "validation", cache_dir=str(tmp_path / "c"))
    preds = _write(tmp_path / "style.jsonl", [{"image_id": i, "prediction": list(r)} for i, r in zip(style.ids, style.references)])
    assert main(["evaluate", "--task", "style", "--predictions", preds, "--data-dir", data, "--out", str(tmp_path / "s")]) == 0
    scores = json.loads((tmp_path / "s" / "results.json").read_text())["tasks"]["style"]["scores"]
    assert scores["recall@10"] == pytest.approx(1.0)

    prompts = load_references("prompt_inversion", data, "validation", cache_dir=str(tmp_path / "c"))
    qas = load_references("qas", data, "validation", cache_dir=str(tmp_path / "c"))
    by_image = dict(zip(prompts.ids, prompts.references))
    preds = _write(tmp_path / "qas.jsonl", [{"image_id": i, "prediction": by_image[i]} for i in qas.ids[1:]])
    assert main(["evaluate", "--task", "qas", "--predictions", preds, "--data-dir", data, "--out", str(tmp_path / "q")]) == 0
    stdout = capsys.readouterr().out
    assert "## Table 8: Prompt inversion with QAS" in stdout and "baseline (lexical judge)" in stdout
    entry = json.loads((tmp_path / "q" / "results.json").read_text())["tasks"]["qas"]
    assert entry["num_missing"] == 1 and entry["scores"]["num_images"] == len(qas)
