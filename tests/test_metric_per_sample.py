"""Every metric module returns per-sample values in input order with `return_per_sample=True`, equal to the
scoring layer's, and the corpus scores are unchanged by asking."""

from __future__ import annotations

import math
from pathlib import Path

import evaluate
import pytest

METRICS = Path(__file__).resolve().parents[1] / "metrics"
QUESTIONS = [
    {"type": "style", "question": "Which style?", "options": ["oil painting", "pixel art", "watercolor", "ink"],
     "answer": "C"},
    {"type": "content", "question": "Which animal?", "options": ["fox", "owl", "cat", "deer"], "answer": "A"},
]


def _judge(batch):
    return ["ABCD"[next((k for k, o in enumerate(i["options"]) if o in i["prompt"]), 3)] for i in batch]


CASES = {
    "prompt_inversion": (
        dict(predictions=["a red cat on a mat", "zzz", "an old man portrait"],
             references=["a red cat on a mat", "a blue dog", "portrait of an old man"]),
        dict(meteor=False, similarity_model=None),
        "bleu_1",
    ),
    "style_recall": (
        dict(predictions=[["oil painting"], ["8k", "watercolor"], ["ink"]],
             references=[["oil painting"], ["watercolor"], []]),
        dict(k=[1, 2]),
        "recall@2",
    ),
    "qas": (
        dict(predictions=["a watercolor fox", "nothing"], references=[QUESTIONS, QUESTIONS]),
        dict(model=_judge),
        "qas_style",
    ),
    "mc_vqa_acc": (
        dict(predictions=["A", "B", "C"], references=["A", "C", "C"]),
        {},
        "correct",
    ),
}
EXPECTED = {
    "prompt_inversion": lambda v: v[0] == pytest.approx(1.0) and v[1] < 1e-9 and 0.1 < v[2] < 0.99,
    "style_recall": lambda v: v[:2] == [1.0, 1.0] and math.isnan(v[2]),
    "qas": lambda v: v == [1.0, 0.0],
    "mc_vqa_acc": lambda v: v == [True, False, True],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_return_per_sample(name):
    inputs, kwargs, key = CASES[name]
    module = evaluate.load(str(METRICS / name))
    plain = module.compute(**inputs, **kwargs)
    full = module.compute(**inputs, **kwargs, return_per_sample=True)
    per_sample = full.pop("per_sample")
    assert "per_sample" not in plain
    assert repr(full) == repr(plain)  # repr: NaN-safe equality of the corpus scores
    assert all(len(values) == len(inputs["predictions"]) for values in per_sample.values())
    assert EXPECTED[name](per_sample[key]), per_sample
