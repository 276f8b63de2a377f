"""The journeydb lmms-eval task group: lmms-eval's own run (its `dummy` model) reports `journeydb evaluate`'s numbers."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

import journeydb
from journeydb.cli.main import main
from journeydb.integrations.lmms_eval import corpus, task_dir
from journeydb.integrations.lmms_eval.samples import prediction_rows

VAL_TASKS = {  # lmms-eval task -> journeydb task
    "journeydb_caption_val": "caption",
    "journeydb_prompt_inversion_val": "prompt_inversion",
    "journeydb_mcvqa_val": "vqa",
    "journeydb_mcvqa_mc_val": "vqa",
}
METRICS = {
    "caption": ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider", "similarity"),
    "prompt_inversion": ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider", "similarity"),
    "vqa": ("accuracy", "accuracy_style", "accuracy_content", "num_invalid"),
}
# one reply for every request (lmms-eval splits model_args at commas): a caption-like text with a letter to extract
REPLY = "The answer is B: a watercolor painting of a red sail at sunset"


def test_lmms_eval_path_names_the_shipped_task_group(capsys):
    assert main(["lmms-eval-path"]) == 0
    folder = capsys.readouterr().out.strip()
    assert folder == task_dir()
    names = {os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.yaml"))}
    for split in ("val", "test"):
        for task in ("caption", "prompt_inversion", "mcvqa", "mcvqa_mc"):
            assert f"journeydb_{task}_{split}.yaml" in names
    assert {"journeydb.yaml", "journeydb_test.yaml", "utils.py"} <= set(os.listdir(folder)) | names


def test_corpus_scored_once_for_all_metrics(monkeypatch):
    monkeypatch.setenv("JOURNEYDB_DATA_DIR", journeydb.sample_dir())
    monkeypatch.setattr(corpus, "_scored", {})
    calls = []
    real = corpus.score_task

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(corpus, "score_task", counting)
    records = [
        {"task": "vqa", "split": "validation", "id": "x", "image_id": "y", "prediction": "A"}
    ]  # one unknown id: every real question scores as missing
    first = corpus.corpus_scores(records)
    for _ in METRICS["vqa"]:
        assert corpus.corpus_scores([dict(r) for r in records]) == first
    assert len(calls) == 1
    assert first["accuracy"] == 0.0
    corpus.corpus_scores([dict(records[0], prediction="B")])  # another corpus is scored anew
    assert len(calls) == 2


def test_samples_without_a_journeydb_record_are_named(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text('{"doc_id": 0, "exact_match": 1.0}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"samples.jsonl:1: no journeydb record"):
        list(prediction_rows(path))


def _only(pattern: str) -> str:
    found = glob.glob(pattern)
    assert len(found) == 1, (pattern, found)
    return found[0]


def test_lmms_eval_dummy_run_equals_journeydb_evaluate(tmp_path):
    pytest.importorskip("lmms_eval")
    data_dir = journeydb.sample_dir()
    out = tmp_path / "lmms"
    env = dict(os.environ, JOURNEYDB_DATA_DIR=data_dir, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env["HF_DATASETS_CACHE"] = str(tmp_path / "hf-datasets")
    command = [
        sys.executable, "-m", "lmms_eval", "--model", "dummy", "--model_args", f"response={REPLY}",
        "--tasks", "journeydb,journeydb_test", "--include_path", task_dir(),
        "--output_path", str(out), "--log_samples", "--batch_size", "1",
    ]  # fmt: skip
    run = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    log = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0 and glob.glob(str(out / "*_results.json")), log  # its errors may exit 0
    results = json.loads(open(_only(str(out / "*_results.json")), encoding="utf-8").read())["results"]

    for lmms_task, task in VAL_TASKS.items():
        predictions = tmp_path / f"{lmms_task}.jsonl"
        samples = _only(str(out / f"*_samples_{lmms_task}.jsonl"))
        assert main(["lmms-eval-predictions", samples, "--out", str(predictions)]) == 0
        report = tmp_path / f"report-{lmms_task}"
        args = ["evaluate", "--task", task, "--predictions", str(predictions), "--data-dir", data_dir]
        assert main(args + ["--out", str(report), "--strict"]) == 0
        ours = json.loads((report / "results.json").read_text(encoding="utf-8"))["tasks"][task]["scores"]
        for metric in METRICS[task]:
            assert results[lmms_task][f"{metric},none"] == ours[metric], (lmms_task, metric)
    # the generated reply's letter and the highest-likelihood letter (the dummy's are all equal: A) differ
    assert results["journeydb_mcvqa_val"]["accuracy,none"] != results["journeydb_mcvqa_mc_val"]["accuracy,none"]

    # test: the answers are withheld; each task's replies are written as our prediction JSONL
    expected = {"caption": 10, "prompt_inversion": 10, "vqa": 35, "vqa_choice": 35}
    for name, count in expected.items():
        rows = [json.loads(line) for line in open(out / "submissions" / f"journeydb_{name}_test.jsonl")]
        assert len(rows) == count
        key = "question_id" if name.startswith("vqa") else "image_id"
        assert len({r[key] for r in rows}) == count
        assert {r["prediction"] for r in rows} == ({"A"} if name == "vqa_choice" else {REPLY})


def test_docs_from_an_export_folder_equal_the_release(monkeypatch, tmp_path):
    pytest.importorskip("lmms_eval")
    from journeydb.integrations.lmms_eval.utils import task_docs

    export = tmp_path / "export"
    journeydb.export_parquet(journeydb.sample_dir(), export, configs=["caption", "vqa"])
    docs = {}
    for name, root in (("raw", journeydb.sample_dir()), ("export", str(export))):
        monkeypatch.setenv("JOURNEYDB_DATA_DIR", root)
        docs[name] = {task: task_docs(task, "validation") for task in ("caption", "vqa")}
    for task in ("caption", "vqa"):
        raw, exported = docs["raw"][task], docs["export"][task]
        assert len(raw) > 0 and exported.remove_columns("image").to_list() == raw.remove_columns("image").to_list()
