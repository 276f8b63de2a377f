"""`journeydb.evaluation.score`: one scorer per task, each scoring once and taking its per-sample values from the
same result (checked here against scoring one sample at a time, the way they used to be derived)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from journeydb.evaluation.references import TaskReferences
from journeydb.evaluation.score import ScoringOptions
from journeydb.evaluation.tasks import TASK_NAMES, TASKS, score_task
from journeydb.scoring.choice import extract_choice
from journeydb.scoring.qas import qas_from_answers
from journeydb.scoring.style import style_recall

QUICK = {"meteor": False}


def references(task: str, refs: list, **extra) -> TaskReferences:
    ids = extra.pop("ids", [f"id-{i}" for i in range(len(refs))])
    image_ids = extra.pop("image_ids", ids)
    return TaskReferences(task=task, split="validation", ids=ids, image_ids=image_ids, references=refs, **extra)


def test_every_task_has_one_scorer_with_the_uniform_signature():
    assert set(TASKS) == set(TASK_NAMES)
    for task in TASKS.values():
        assert list(inspect.signature(task.score).parameters) == ["references", "predictions", "options", "present"]


class CountingEncoder:
    """A stand-in sentence model (anything with `.encode`): unit vectors from character counts; counts texts."""

    def __init__(self):
        self.texts: list[str] = []

    def encode(self, texts, batch_size, **kwargs):
        self.texts.extend(texts)
        rows = np.array([[1.0 + t.count("a"), 1.0 + t.count("e"), 1.0 + len(t)] for t in texts])
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_text_task_embeds_each_distinct_text_once():
    encoder = CountingEncoder()
    options = ScoringOptions(similarity_model=encoder, **QUICK)
    predictions = ["a red cat", "a red cat", "a dog", "a red cat"]
    refs = references("caption", ["a cat", "a red cat", "a cat", "the end"])
    score = score_task(refs, predictions, options)
    assert sorted(encoder.texts) == sorted({*predictions, *refs.references})
    per_sample = score.per_sample["Similarity per sample"]
    assert list(score.per_sample) == ["Similarity per sample"] and len(per_sample) == 4
    assert per_sample[1] == pytest.approx(1.0, abs=1e-6)  # prediction equals its reference
    assert score.scores["similarity"] == pytest.approx(np.mean(per_sample), abs=1e-12)
    assert score_task(refs, predictions, ScoringOptions(similarity_model=None, **QUICK)).per_sample == {}


def test_style_task_per_image_recall_equals_one_image_at_a_time():
    ranked = [["oil painting", "8k", "bokeh"], ["x"], ["watercolor"], ["8k"]]
    gold = [["8K", "watercolor"], [], ["watercolor"], [" "]]
    score = score_task(references("style", gold), ranked, ScoringOptions(recall_k=(1, 2)))
    alone = [style_recall([p], [g], k=2).corpus["recall@2"] for p, g in zip(ranked, gold)]
    assert score.per_sample == {"recall@2 per image": [v for v in alone if v is not None]}
    assert score.scores == style_recall(ranked, gold, k=(1, 2)).corpus


def test_vqa_task_per_image_accuracy_equals_extracting_each_answer():
    answers = ["A", "B", "C", "A", "D"]
    predictions = ["A", "the answer is C", "(C)", "no idea", "D."]
    image_ids = ["img-1", "img-1", "img-2", "img-3", "img-2"]
    options = [["w", "x", "y", "z"]] * 5
    refs = references(
        "vqa", answers, image_ids=image_ids, question_types=["style", "content"] * 2 + ["style"], options=options
    )
    score = score_task(refs, predictions, ScoringOptions(), present=[True, True, True, False, True])
    correct: dict[str, list[bool]] = {}
    for prediction, answer, image_id in zip(predictions, answers, image_ids):
        correct.setdefault(image_id, []).append(extract_choice(prediction, options[0])[0] == answer)
    assert score.per_sample == {"accuracy per image": [sum(c) / len(c) for c in correct.values()]}
    assert score.num_missing == 1 and score.scores["accuracy"] == 3 / 5


def _question(qtype: str, answer: str) -> dict:
    return {"type": qtype, "question": f"{qtype}?", "options": ["w", "x", "y", "z"], "answer": answer}


def test_qas_task_skips_missing_prompts_and_keeps_per_image_scores():
    questions = [
        [_question("style", "A"), _question("content", "B")],
        [_question("content", "A")],
        [_question("style", "A"), _question("content", "A")],
    ]
    asked = []

    def judge(batch):
        asked.extend(item["prompt"] for item in batch)
        return ["A"] * len(batch)

    refs = references("qas", questions)
    predictions = ["p0", "", "p2"]
    score = score_task(refs, predictions, ScoringOptions(judge=judge), present=[True, False, True])
    assert asked == ["p0", "p0", "p2", "p2"]  # the missing prompt's question is not put to the judge
    expected = qas_from_answers([["A", "A"], [None], ["A", "A"]], questions).corpus
    assert score.scores == expected and score.num_missing == 1
    assert score.per_sample == {"QAS_s per image": [1.0, 1.0], "QAS_c per image": [0.0, 0.0, 1.0]}


def test_score_task_refuses_bad_input():
    refs = references("caption", ["a cat"])
    with pytest.raises(ValueError, match="1 references"):
        score_task(refs, ["a", "b"], ScoringOptions(similarity_model=None, **QUICK))
    with pytest.raises(ValueError, match="present flags"):
        score_task(refs, ["a"], ScoringOptions(similarity_model=None, **QUICK), present=[True, False])
    with pytest.raises(ValueError, match="unknown task"):
        score_task(references("poetry", ["x"]), ["x"])
