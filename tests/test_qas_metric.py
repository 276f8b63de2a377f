"""The `metrics/qas` evaluate module: the issue's call, input checking, and the doctests of card and docstrings."""

import doctest
import importlib.util
import re
from pathlib import Path

import evaluate
import pytest

import journeydb
import journeydb.scoring.qas
from journeydb.models.llm_judge import compute_qas, render_judge_input
from journeydb.testing.tiny_causal_lm import build_tiny_causal_lm, word_vocabulary

REPO = Path(__file__).resolve().parents[1]
METRIC_DIR = REPO / "metrics" / "qas"


@pytest.fixture(scope="module")
def qas():
    return evaluate.load(str(METRIC_DIR))


@pytest.fixture(scope="module")
def validation(mini_release, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("hf-cache"))
    rows = journeydb.load("vqa", data_dir=str(mini_release), split="validation", cache_dir=cache)
    test = journeydb.load("vqa", data_dir=str(mini_release), split="test", cache_dir=cache)
    predictions = [f"a picture number {i}, digital art" for i in range(len(rows))]
    return predictions, rows, test


@pytest.fixture(scope="module")
def tiny_llama_dir(validation, tmp_path_factory):
    predictions, rows, _ = validation

    class Plain:
        chat_template = None

    texts = [
        render_judge_input({"prompt": p, "question": q["question"], "options": q["options"]}, Plain())
        for p, row in zip(predictions, rows)
        for q in row["questions"]
    ]
    model, tokenizer = build_tiny_causal_lm(word_vocabulary(texts), seed=1)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_the_issue_call_with_a_tiny_llama_by_path(qas, validation, tiny_llama_dir):
    predictions, rows, _ = validation
    result = qas.compute(
        predictions=predictions, references=[row["questions"] for row in rows], model=tiny_llama_dir, batch_size=32
    )
    assert result == compute_qas(predictions, [row["questions"] for row in rows], tiny_llama_dir).corpus
    assert result["num_images"] == 16 and result["num_invalid"] == 0


def test_hand_written_questions_and_incremental_batches(qas, validation):
    predictions, rows, _ = validation
    keys = ("type", "question", "options", "answer")  # no question_id
    references = [[{k: q[k] for k in keys} for q in row["questions"]] for row in rows]
    whole = qas.compute(predictions=predictions, references=references, model=lambda b: ["C"] * len(b))
    for start in range(0, len(rows), 5):
        qas.add_batch(predictions=predictions[start : start + 5], references=references[start : start + 5])
    assert qas.compute(model=lambda b: ["C"] * len(b), batch_size=3) == whole
    for prediction, reference in zip(predictions, references):
        qas.add(prediction=prediction, reference=reference)
    assert qas.compute(model=lambda b: ["C"] * len(b)) == whole


def test_bad_inputs_through_evaluate(qas, validation):
    predictions, rows, test = validation
    references = [row["questions"] for row in rows]
    with pytest.raises(ValueError, match="ground truth is withheld"):
        qas.compute(predictions=predictions[: len(test)], references=[r["questions"] for r in test], model=str)
    with pytest.raises(ValueError, match="15 predictions but 16 references"):
        qas.compute(predictions=predictions[:-1], references=references, model=lambda b: ["A"] * len(b))
    broken = [list(qs) for qs in references]
    broken[4][0] = {**broken[4][0], "type": "mood"}
    with pytest.raises(ValueError, match=r"references\[4\]\[0\] has type 'mood'"):
        qas.compute(predictions=predictions, references=broken, model=lambda b: ["A"] * len(b))
    with pytest.raises(ValueError, match="QAS needs a judge"):
        qas.compute(predictions=predictions, references=references)


def _run_doctests(name: str, text: str, globs: dict) -> None:
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    test = parser.get_doctest(text, globs, name, name, 0)
    assert test.examples, f"{name} has no examples"
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} of {runner.tries} doctests failed in {name}"


def test_card_doctests(monkeypatch):
    monkeypatch.chdir(REPO)  # the card loads the module as "metrics/qas"
    card = (METRIC_DIR / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    _run_doctests("metrics/qas/README.md", "\n".join(blocks), {})


def test_module_docstring_doctests(monkeypatch):
    monkeypatch.chdir(REPO)
    spec = importlib.util.spec_from_file_location("qas_module", METRIC_DIR / "qas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _run_doctests("metrics/qas/qas.py", module._KWARGS_DESCRIPTION, {})


def test_scoring_docstring_doctests():
    results = doctest.testmod(journeydb.scoring.qas)
    assert results.attempted > 0 and results.failed == 0
