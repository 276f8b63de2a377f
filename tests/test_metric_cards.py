"""The metric cards: evaluate's template sections, an install line, and every example in them runs (one doctest
per card, from the repository root as a user of the checkout would)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NAMES = ("prompt_inversion", "style_recall", "mc_vqa_acc", "qas")
SECTIONS = ("## Metric Description", "## How to Use", "### Inputs", "### Output Values", "### Examples",
            "## Limitations and Bias", "## Citation")


@pytest.mark.parametrize("name", NAMES)
def test_card_follows_evaluate_template(name):
    text = (REPO / "metrics" / name / "README.md").read_text(encoding="utf-8")
    positions = [text.find(section + "\n") for section in SECTIONS]
    assert all(p >= 0 for p in positions), [s for s, p in zip(SECTIONS, positions) if p < 0]
    assert positions == sorted(positions)
    assert "pip install journeydb" in text and f'metric_path("{name}")' in text
    assert "return_per_sample" in text
    front = text.split("---")[1]
    assert "app_file: app.py" in front and (REPO / "metrics" / name / "app.py").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_card_examples_run(name, monkeypatch):
    monkeypatch.chdir(REPO)
    path = REPO / "metrics" / name / "README.md"
    test = doctest.DocTestParser().get_doctest(path.read_text(encoding="utf-8"), {}, name, str(path), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 3 and result.failed == 0
