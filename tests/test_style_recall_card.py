"""The style_recall evaluate module: its card's and its docstring's examples run (doctests), it loads by path."""

import doctest
import importlib.util
import re
from pathlib import Path

import evaluate
import pytest

REPO = Path(__file__).resolve().parents[1]
METRIC = REPO / "metrics" / "style_recall"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _run(test: doctest.DocTest) -> doctest.TestResults:
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    return runner.summarize(verbose=False)


def test_card_examples_run(monkeypatch):
    monkeypatch.chdir(REPO)  # the card loads the module as evaluate.load("metrics/style_recall")
    card = (METRIC / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", card, flags=re.DOTALL)
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {}, "style_recall card", str(METRIC / "README.md"), 0)
    results = _run(test)
    assert results.attempted >= 10 and results.failed == 0


def test_module_docstring_examples_run(monkeypatch):
    monkeypatch.chdir(REPO)
    spec = importlib.util.spec_from_file_location("style_recall_module", METRIC / "style_recall.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    attempted = 0
    for test in doctest.DocTestFinder().find(module):
        results = _run(test)
        assert results.failed == 0, test.name
        attempted += results.attempted
    assert attempted >= 2


def test_module_loads_by_path_and_matches_the_scoring_function():
    from journeydb.scoring.style import style_recall

    metric = evaluate.load(str(METRIC))
    predictions = [["a", "b", "c"], ["c", "a"], ["x"]]
    references = [["b"], ["a", "z"], []]
    tree = {"one": ["a", "b"], "two": ["c", "z", "a"]}
    assert metric.compute(predictions=predictions, references=references, k=[1, 2], style_tree=tree) == (
        style_recall(predictions, references, k=[1, 2], style_tree=tree).corpus
    )
    with pytest.raises(ValueError):
        metric.compute(predictions=[["a"]], references=[["a"], ["b"]])
