"""Prediction files and references: reading, id matching (missing / duplicate / unknown), strict mode."""

from __future__ import annotations

import json

import pytest

from journeydb.evaluation.predictions import (
    PredictionMismatchError,
    align_predictions,
    read_predictions,
    write_predictions,
)
from journeydb.evaluation.tasks import TASK_NAMES, get_task, load_references


def _write(path, lines):
    path.write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines), encoding="utf-8")
    return path


def test_read_and_align_report_every_problem(tmp_path):
    path = _write(
        tmp_path / "p.jsonl",
        [
            {"image_id": "a", "prediction": "first"},
            {"image_id": "a", "prediction": "second"},
            {"image_id": "zz", "prediction": "stray"},
            "",
            {"image_id": "c", "prediction": ""},
        ],
    )
    lines = read_predictions(path, "caption")
    aligned = align_predictions(lines, ["a", "b", "c"], "caption", source=str(path))
    assert aligned.predictions == ["first", "", ""]  # duplicate: first line wins; missing: empty
    assert aligned.present == [True, False, True]
    issues = aligned.issues
    assert (issues.missing, issues.duplicates, issues.unknown) == (["b"], ["a"], ["zz"])
    summary = issues.summary()
    assert "1 missing (scored as wrong; e.g. 'b')" in summary
    assert "1 duplicate (first line used; e.g. 'a')" in summary
    assert "1 unknown (not scored; e.g. 'zz')" in summary
    assert issues.as_dict()["missing"] == {"count": 1, "examples": ["b"]}
    with pytest.raises(PredictionMismatchError, match="1 missing"):
        align_predictions(lines, ["a", "b", "c"], "caption", strict=True)


def test_clean_file_matches_once():
    aligned = align_predictions({"b": ["x"], "a": []}, ["a", "b"], "style", strict=True)
    assert aligned.predictions == [[], ["x"]] and not aligned.issues
    assert aligned.issues.summary() == "every id matched once"
    assert align_predictions({}, ["a"], "style").predictions == [[]]  # a missing ranking is an empty one


@pytest.mark.parametrize(
    "line, task, message",
    [
        ("{not json", "caption", r"p.jsonl:1: not a JSON line"),
        ("[1, 2]", "caption", r"p.jsonl:1: a line must be a JSON object"),
        ({"prediction": "x"}, "caption", r"p.jsonl:1: missing or empty 'image_id'"),
        ({"image_id": "a", "prediction": "x"}, "vqa", r"missing or empty 'question_id'"),
        ({"image_id": "a"}, "caption", r"no 'prediction' field"),
        ({"image_id": "a", "prediction": ["x"]}, "caption", r"must be a string"),
        ({"image_id": "a", "prediction": "x"}, "style", r"must be a list of strings"),
        ({"image_id": "a", "prediction": [1]}, "style", r"must be a list of strings"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, line, task, message):
    path = _write(tmp_path / "p.jsonl", [line])
    with pytest.raises(ValueError, match=message):
        read_predictions(path, task)


def test_missing_file_and_unknown_task(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_predictions(tmp_path / "nope.jsonl", "caption")
    with pytest.raises(ValueError, match="unknown task 'captions'; choose one of"):
        get_task("captions")


def test_write_predictions_round_trip(tmp_path):
    rows = [{"image_id": "é", "prediction": "东京 🎨"}, {"image_id": "b", "prediction": "x"}]
    assert write_predictions(tmp_path / "sub" / "p.jsonl", rows) == 2
    assert [(l.key, l.prediction) for l in read_predictions(tmp_path / "sub" / "p.jsonl", "caption")] == [
        ("é", "东京 🎨"),
        ("b", "x"),
    ]


def test_references_of_every_task(mini_release, cache_dir):
    refs = {t: load_references(t, str(mini_release), "validation", cache_dir=cache_dir) for t in TASK_NAMES}
    assert len(refs["prompt_inversion"]) == 16 and isinstance(refs["prompt_inversion"].references[0], str)
    assert len(refs["caption"]) == 13 and refs["caption"].ids == refs["caption"].image_ids
    assert len(refs["style"]) == 16 and isinstance(refs["style"].references[0], list)
    vqa = refs["vqa"]
    assert len(vqa) == 50 and len(set(vqa.ids)) == 50
    assert set(vqa.references) <= set("ABCD") and set(vqa.question_types) == {"style", "content"}
    assert all(len(o) == 4 for o in vqa.options) and all(q.startswith(i) for q, i in zip(vqa.ids, vqa.image_ids))
    qas = refs["qas"]
    assert len(qas) == 16 and sum(len(q) for q in qas.references) == 50


def test_test_split_needs_the_withheld_ground_truth(mini_release, cache_dir):
    with pytest.raises(ValueError, match="withholds the test ground truth"):
        load_references("vqa", str(mini_release), "test", cache_dir=cache_dir)
    with pytest.raises(ValueError, match="no test ground truth"):
        load_references("style", str(mini_release), "test", cache_dir=cache_dir)
    truth = str(mini_release / "ground_truth" / "test_annotations.jsonl")
    prompts = load_references("prompt_inversion", str(mini_release), "test", cache_dir=cache_dir, test_annotations=truth)
    assert len(prompts) == 10
    assert not any("--" in p for p in prompts.references)  # the human-cleaned prompt, not the raw one
    vqa = load_references("vqa", str(mini_release), "test", cache_dir=cache_dir, test_annotations=truth)
    assert len(vqa) > 0 and set(vqa.references) <= set("ABCD")
