"""Paper-style tables and plots from results dicts (no scoring involved)."""

from __future__ import annotations

import pytest

from journeydb.evaluation.report import format_value, render_markdown, write_report

TEXT = {"bleu_4": 0.0123, "meteor": None, "rouge_l": 0.25, "cider": 1.5, "similarity": 0.456, "num_samples": 3}


def _run(split="validation", model="baseline (nearest training image)"):
    return {
        "split": split,
        "data_dir": "/data",
        "mini_release": False,
        "tasks": {
            "prompt_inversion": {"model": model, "scores": TEXT, "matching": {"missing": {"count": 2, "examples": ["x"]}}},
            "caption": {"model": model, "scores": TEXT},
            "style": {
                "model": "baseline (nearest training images' styles)",
                "scores": {"recall@1": 0.5, "recall@10": 0.75, "per_category_recall@1": 0.25, "num_images": 4,
                           "per_category": {"lighting": {"recall@1": 0.5}, "colour": {"recall@1": 0.0}}},
                "per_sample": {"recall@1": [0.0, 0.5, 1.0, 0.5]},
            },
            "vqa": {"model": "baseline (answer prior)", "scores": {"accuracy": 0.5, "accuracy_style": 0.25,
                                                                   "accuracy_content": None, "num_questions": 8,
                                                                   "num_invalid": 1}},
            "qas": {"model": "m + judge", "prompt_model": model, "judge": "baseline (lexical judge)",
                    "scores": {"qas": 0.3, "qas_style": 0.2, "qas_content": 0.4, "num_images": 4}},
        },
    }


def test_format_value():
    assert format_value(0.01234, 100) == "1.23"
    assert format_value(None) == format_value(float("nan")) == format_value("x") == "–"
    assert format_value(0.5, 100, 1, percent=True) == "50.0%"


def test_tables_follow_the_paper_layout_and_scales():
    text = render_markdown(_run())
    assert "## Table 3: Prompt inversion" in text and "## Table 4: Image captioning" in text
    assert "| model | BLEU-4 | METEOR | ROUGE-L | CIDEr | Similarity |" in text
    # x100 for BLEU-4/ROUGE-L/CIDEr, raw Similarity, a dash for the absent METEOR
    assert "| baseline (nearest training image) | 1.23 | – | 25.00 | 150.00 | 0.46 |" in text
    assert "| model | Over-All R@1 | Over-All R@10 | Per-Category R@1 |" in text
    assert "| baseline (answer prior) | – | 25.0% | 50.0% |" in text  # Content, Style, All
    assert "| model | judge | BLEU-4 | METEOR | ROUGE-L | CIDEr | Similarity | QAS_s | QAS_c |" in text
    assert "| baseline (nearest training image) | baseline (lexical judge) | 1.23 | – | 25.00 | 150.00 | 0.46 | 20.00% | 40.00% |" in text
    assert "2 missing" in text and "1 unreadable answer(s) counted wrong" in text
    assert "not models from the paper" in text


def test_splits_become_column_groups():
    text = render_markdown([_run("validation"), _run("test")])
    assert "| model | validation BLEU-4 | validation METEOR |" in text
    assert "test Similarity |" in text


def test_mini_release_note_and_empty_input():
    assert "synthetic" in render_markdown({**_run(), "mini_release": True})
    with pytest.raises(ValueError, match="no results"):
        render_markdown([])


def test_write_report_writes_markdown_and_plots(tmp_path):
    written = write_report(_run(), tmp_path)
    names = sorted(p.split("/")[-1] for p in written)
    assert names == [
        "report.html", "report.md", "score_distributions.png", "style_recall_per_category.png", "vqa_accuracy_by_type.png"
    ]
    for name in names[2:]:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = tmp_path / "again"
    write_report(_run(), again)
    assert (again / "vqa_accuracy_by_type.png").read_bytes() == (tmp_path / "vqa_accuracy_by_type.png").read_bytes()
