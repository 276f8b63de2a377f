"""The `metrics/prompt_inversion` evaluate module: loading by path, batches, card and docstring examples."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from journeydb.scoring.caption import SCORE_KEYS, score_captions

REPO = Path(__file__).resolve().parents[1]
METRIC_DIR = REPO / "metrics" / "prompt_inversion"
FAST = {"meteor": False, "similarity_model": None}  # the module's kwargs
NO_SIMILARITY = {"meteor": False}  # the same for score_captions, which embeds only with an embedder
PREDICTIONS = ["a cat on a red mat", "", "an old man, oil painting", "neon city at night in the rain"]
REFERENCES = [["A cute cat sitting on a red mat --ar 16:9", "a cat"], ["a dog"], ["Portrait of an old man (oil)"],
              ["A futuristic city at night, neon lights, rain, 8k", "neon city"]]


@pytest.fixture(scope="module")
def metric():
    import evaluate

    return evaluate.load(str(METRIC_DIR))


def test_compute_equals_score_captions(metric):
    results = metric.compute(predictions=PREDICTIONS, references=REFERENCES, **FAST)
    assert tuple(results) == SCORE_KEYS
    assert results == score_captions(PREDICTIONS, REFERENCES, **NO_SIMILARITY).corpus


def test_single_string_references(metric):
    references = [refs[0] for refs in REFERENCES]
    assert metric.compute(predictions=PREDICTIONS, references=references, **FAST) == score_captions(
        PREDICTIONS, references, **NO_SIMILARITY).corpus


def test_similarity_through_the_module_equals_score_captions(metric):
    from journeydb.models.sentence_model import load_sentence_model, make_sentence_embedder

    model = load_sentence_model()
    results = metric.compute(predictions=PREDICTIONS, references=REFERENCES, meteor=False, similarity_model=model)
    embed = make_sentence_embedder(model, batch_size=64)  # the module's default batch size
    assert results == score_captions(PREDICTIONS, REFERENCES, meteor=False, embed=embed).corpus
    assert 0 < results["similarity"] < 1


def test_add_batch_equals_one_call(metric):
    for start in range(0, len(PREDICTIONS), 3):
        metric.add_batch(predictions=PREDICTIONS[start : start + 3], references=REFERENCES[start : start + 3])
    assert metric.compute(**FAST) == metric.compute(predictions=PREDICTIONS, references=REFERENCES, **FAST)


def test_two_process_run_equals_one_call(two_processes, tmp_path):
    # CIDEr's document frequencies are corpus-wide: evaluate gathers every process's inputs and process 0 scores them
    import json
    import random

    from conftest import isolated_env

    rng = random.Random(0)
    words = "a cat dog on red mat old man oil painting neon city night rain 8k --ar 16:9 (portrait)".split()
    predictions = [" ".join(rng.choices(words, k=rng.randint(0, 9))) for _ in range(23)]
    references = [[" ".join(rng.choices(words, k=rng.randint(1, 12))) for _ in range(rng.randint(1, 3))]
                  for _ in range(23)]
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"predictions": predictions, "references": references}))
    out = tmp_path / "scores.json"
    done = two_processes([str(Path(__file__).parent / "prompt_inversion_worker.py"), str(METRIC_DIR),
                          str(tmp_path / "evaluate-cache"), str(data), str(out)], isolated_env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(out.read_text()) == score_captions(predictions, references, **NO_SIMILARITY).corpus


def test_bad_input_raises_through_the_module(metric):
    # evaluate checks lengths and formats itself; the contents reach score_captions
    with pytest.raises(ValueError):
        metric.compute(predictions=["a", "b"], references=["a"], **FAST)
    with pytest.raises(ValueError, match="tokenizer must be"):
        metric.compute(predictions=["a"], references=["a"], tokenizer="nltk", **FAST)


def _run_doctests(test: doctest.DocTest) -> doctest.TestResults:
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    runner.run(test)
    return runner.summarize(verbose=False)


def test_card_examples_run(monkeypatch):
    monkeypatch.chdir(REPO)  # the card loads "metrics/prompt_inversion" as a user at the repository root would
    text = (METRIC_DIR / "README.md").read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {}, "prompt_inversion/README.md", str(METRIC_DIR / "README.md"), 0)
    result = _run_doctests(test)
    assert result.failed == 0 and result.attempted >= 7
    assert "multiply by 100" in text


def test_module_docstring_examples_run(monkeypatch, metric):
    monkeypatch.chdir(REPO)
    attempted = 0
    for test in doctest.DocTestFinder().find(type(metric), "prompt_inversion", globs={}):
        result = _run_doctests(test)
        assert result.failed == 0, test.name
        attempted += result.attempted
    assert attempted >= 3
