"""`mc_vqa_acc`'s question types and options are optional per-sample features: evaluate's add, add_batch,
num_process/process_id and combine work with them, and without types the overall accuracy is still given."""

from __future__ import annotations

import threading
from pathlib import Path

import evaluate
import pytest

from journeydb.scoring.choice import extract_choice, score_choices

METRICS = Path(__file__).resolve().parents[1] / "metrics"
PREDICTIONS = ["A", "the answer is C", "D", "Answer: (b)"]
REFERENCES = ["A", "B", "D", "B"]
TYPES = ["style", "content", "content", "style"]


@pytest.fixture
def metric():
    return evaluate.load(str(METRICS / "mc_vqa_acc"))


def test_add_batch_and_add_take_types_per_sample(metric):
    whole = metric.compute(predictions=PREDICTIONS, references=REFERENCES, question_types=TYPES)
    metric.add_batch(predictions=PREDICTIONS[:2], references=REFERENCES[:2], question_types=TYPES[:2])
    for p, r, t in zip(PREDICTIONS[2:], REFERENCES[2:], TYPES[2:]):
        metric.add(prediction=p, reference=r, question_types=t)
    assert metric.compute() == whole
    assert whole["accuracy"] == 0.75 and whole["accuracy_style"] == 1.0 and whole["accuracy_content"] == 0.5


def test_without_types_accuracy_is_given_and_per_type_is_null(metric):
    result = metric.compute(predictions=PREDICTIONS, references=REFERENCES)
    assert result["accuracy"] == 0.75
    assert result["accuracy_style"] is None and result["accuracy_content"] is None
    # some typed, some not: the untyped count in the overall accuracy only
    mixed = metric.compute(predictions=PREDICTIONS, references=REFERENCES, question_types=["style", None, None, None])
    assert mixed["accuracy"] == 0.75 and mixed["accuracy_style"] == 1.0 and mixed["accuracy_content"] is None


def test_options_per_sample_and_optional(metric):
    options = [["Dancing", "Cooking", "Reading", "Singing Karaoke"], None]
    result = metric.compute(predictions=["Karaoke", "B"], references=["D", "B"], options=options)
    assert result["accuracy"] == 1.0 and result["extraction"]["option_text"] == 1


def test_parenthesised_lowercase_letters_are_letters():
    assert extract_choice("Answer: (a)") == ("A", "paren")
    assert extract_choice("I would say (b) here") == ("B", "paren")
    assert extract_choice("a cat") == (None, "invalid")  # a bare article in text is still not an answer


def test_per_sample_in_input_order(metric):
    result = metric.compute(predictions=PREDICTIONS, references=REFERENCES, question_types=TYPES,
                            return_per_sample=True)
    assert result["per_sample"]["correct"] == [True, False, True, True]
    assert result["per_sample"]["letter"] == ["A", "C", "D", "B"]
    assert result["per_sample"]["rule"] == ["letter", "answer_is", "letter", "paren"]


def test_two_evaluate_processes_equal_one(tmp_path):
    """evaluate's own distributed mode: each process adds its half (types included), process 0 scores all."""
    modules = [
        evaluate.load(str(METRICS / "mc_vqa_acc"), num_process=2, process_id=rank, experiment_id="mcvqa",
                      cache_dir=str(tmp_path))
        for rank in (0, 1)
    ]
    results: dict[int, object] = {}

    def run(rank: int) -> None:
        half = slice(rank * 2, rank * 2 + 2)
        modules[rank].add_batch(predictions=PREDICTIONS[half], references=REFERENCES[half], question_types=TYPES[half])
        results[rank] = modules[rank].compute()

    other = threading.Thread(target=run, args=(1,))
    other.start()
    run(0)
    other.join(timeout=120)
    assert results[1] is None
    assert results[0] == score_choices(PREDICTIONS, REFERENCES, TYPES).corpus


def test_combine_with_prompt_inversion_routes_types_to_mc_vqa_only():
    """evaluate's combine picks each module's features from the batch, so it needs every one named (None: not given)."""
    combined = evaluate.combine([str(METRICS / "prompt_inversion"), str(METRICS / "mc_vqa_acc")])
    combined.add_batch(predictions=["A", "B. a cat on a mat"], references=["A", "B"], question_types=["style", "content"],
                       options=None)
    result = combined.compute()
    assert result["accuracy"] == 1.0 and result["accuracy_style"] == 1.0 and result["accuracy_content"] == 1.0
    assert "bleu_4" in result and result["num_samples"] == 2
