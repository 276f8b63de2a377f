"""Every `evaluate` module checks its inputs before evaluate's feature encoding, which would turn a number into a
string: bad input gets the scoring layer's error naming the index, through `compute`, `add_batch` and `add`."""

from __future__ import annotations

from pathlib import Path

import pytest

METRICS = Path(__file__).resolve().parents[1] / "metrics"
QUESTION = {"type": "style", "question": "Which style?", "options": ["oil", "ink", "pixel", "clay"], "answer": "A"}

# module, extra compute kwargs, (predictions, references, error type, message) cases
CASES = {
    "prompt_inversion": (
        {"meteor": False, "similarity_model": None},
        [
            (["a cat", 3], ["a cat", "a dog"], TypeError, "prediction 1 is a int"),
            (["a cat", "a dog"], ["a cat", 3], TypeError, "reference 1 is a int"),
            (["a cat", "a dog"], [["a cat"], ["a dog", 2.5]], TypeError, r"reference 1\[1\] is a float"),
            ([], [], ValueError, "empty corpus"),
            (["a cat"], ["a cat", "a dog"], ValueError, "1 predictions but 2 references"),
        ],
    ),
    "mc_vqa_acc": (
        {"question_types": ["style", "content"]},
        [
            (["A", 2], ["A", "B"], TypeError, r"predictions\[1\] is int"),
            (["A", "B"], ["A", 1], TypeError, r"references\[1\] is int"),
            (["A"], ["A", "B"], ValueError, "1 predictions but 2 references"),
        ],
    ),
    "style_recall": (
        {},
        [
            ([["oil painting", 1]], [["oil painting"]], TypeError, r"predictions\[0\]\[1\] must be a string"),
            ([["oil painting"]], [[None]], TypeError, r"references\[0\]\[0\] must be a string"),
            ([["oil painting"]], [["a"], ["b"]], ValueError, "1 predictions but 2 references"),
        ],
    ),
    "qas": (
        {"model": lambda batch: ["A"] * len(batch)},
        [
            ([7], [[QUESTION]], TypeError, r"predictions\[0\] is int"),
            (["a fox"], [[dict(QUESTION, options=["oil", "ink", "pixel", 4])]], (TypeError, ValueError), "references"),
        ],
    ),
}


@pytest.fixture(scope="module")
def modules():
    import evaluate

    return {name: evaluate.load(str(METRICS / name)) for name in CASES}


@pytest.mark.parametrize(
    "name,case", [(name, case) for name, (_, cases) in CASES.items() for case in cases], ids=lambda v: str(v)[:40]
)
def test_bad_input_is_refused_before_encoding(modules, name, case):
    predictions, references, error, message = case
    with pytest.raises(error, match=message):
        modules[name].compute(predictions=predictions, references=references, **CASES[name][0])
    if predictions:  # the same check on the batch path
        with pytest.raises(error, match=message):
            modules[name].add_batch(predictions=predictions, references=references)


def test_add_checks_one_item(modules):
    with pytest.raises(TypeError, match="reference 0 is a int"):
        modules["prompt_inversion"].add(prediction="a cat", reference=5)
    with pytest.raises(TypeError, match=r"predictions\[0\] is float"):
        modules["mc_vqa_acc"].add(prediction=1.0, reference="A")


def test_no_answer_still_scores_as_invalid(modules):
    from journeydb.scoring.choice import score_choices

    kwargs = dict(predictions=[None, "B"], references=["A", "B"], question_types=["style", "content"])
    assert modules["mc_vqa_acc"].compute(**kwargs) == score_choices(**kwargs).corpus
