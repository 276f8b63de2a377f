"""Multiple-choice answer extraction and accuracy (`journeydb.scoring.choice`) and the `mc_vqa_acc` module."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from journeydb.scoring import choice
from journeydb.scoring.choice import RULES, extract_choice, reference_letter, score_choices

REPO = Path(__file__).resolve().parents[1]
METRIC_DIR = REPO / "metrics" / "mc_vqa_acc"
KARAOKE = ["Dancing", "Surfing", "Reading", "Singing Karaoke"]
COLOURS = ["red", "dark red", "blue", "green"]


# --------------------------------------------------------------------------------------------------------------
# extraction, rule by rule


@pytest.mark.parametrize(
    "reply, letter",
    [("B", "B"), ("c", "C"), (" d\n", "D"), ("(b)", "B"), ("B.", "B"), ("C)", "C"), ("**A**", "A"), ("'C'.", "C")],
)
def test_letter_rule(reply, letter):
    assert extract_choice(reply) == (letter, "letter")


@pytest.mark.parametrize(
    "reply, letter",
    [
        ("The answer is (B).", "B"),
        ("Answer: C", "C"),
        ("answer:D", "D"),
        ("The correct option is D.", "D"),
        ("The best choice would be A, since the sky is dark.", "A"),
        ("Answer:\n\n**B**", "B"),
        ("It's option is C", "C"),
        # the last occurrence wins: reasoning chains conclude at the end
        ("The answer is A? No: looking again, the answer is C.", "C"),
        # a stronger rule beats a later weaker one
        ("The answer is A because B. is wrong", "A"),
    ],
)
def test_answer_is_rule(reply, letter):
    assert extract_choice(reply) == (letter, "answer_is")


@pytest.mark.parametrize(
    "reply, letter",
    [("I would pick (C) here", "C"), ("(A) is close, but ( D ) fits better", "D"), ("Clearly (B)", "B")],
)
def test_paren_rule(reply, letter):
    assert extract_choice(reply) == (letter, "paren")


@pytest.mark.parametrize(
    "reply, letter",
    [("B. a red box", "B"), ("I pick C.", "C"), ("A) first, then D) last", "D"), ("C: watercolor", "C")],
)
def test_letter_punct_rule(reply, letter):
    assert extract_choice(reply) == (letter, "letter_punct")


@pytest.mark.parametrize(
    "reply, options, letter",
    [
        ("Singing Karaoke", KARAOKE, "D"),  # equal to an option
        ("  singing   KARAOKE!", KARAOKE, "D"),  # case, spacing and punctuation ignored
        ("It shows a person singing karaoke at night", KARAOKE, "D"),  # contains one option
        ("Karaoke", KARAOKE, "D"),  # part of one option
        ("red", COLOURS, "A"),  # equality beats containment in "dark red"
        ("it is dark red", COLOURS, "B"),  # "red" only inside the matched "dark red"
        ("it is red", COLOURS, "A"),
        ("a) dancing", KARAOKE, "A"),  # a lowercase letter in text is not a letter rule
    ],
)
def test_option_text_rule(reply, options, letter):
    assert extract_choice(reply, options) == (letter, "option_text")


@pytest.mark.parametrize(
    "reply, options",
    [
        ("", None),
        ("I cannot tell.", None),
        ("A cat.", None),  # "A" is an article here
        ("answer: a cat", None),  # lowercase letter inside text
        ("A, B", None),  # two letters, no rule picks one
        ("U.S.A. rocks", None),
        ("A.I. art", None),
        ("D.C. style", None),
        ("Karaoke", None),  # option text without options
        ("dancing and reading", KARAOKE),  # two options named
        ("it's red, not blue", COLOURS),
        ("sing", KARAOKE),  # not a whole word of any option
    ],
)
def test_unresolved_is_invalid_never_a_guess(reply, options):
    assert extract_choice(reply, options) == (None, "invalid")
    assert extract_choice(reply, options) == (None, "invalid")  # and the same every time


def test_rule_order_is_the_documented_one():
    assert RULES == ("letter", "answer_is", "paren", "letter_punct", "option_text")
    # each reply fires several rules; the earliest in RULES wins
    assert extract_choice("(A) says the answer is B") == ("B", "answer_is")
    assert extract_choice("C. no, (D)") == ("D", "paren")
    assert extract_choice("Singing Karaoke, so D.", KARAOKE) == ("D", "letter_punct")


def test_extract_choice_bad_input():
    with pytest.raises(TypeError, match="prediction must be a string"):
        extract_choice(3)
    with pytest.raises(ValueError, match="four strings"):
        extract_choice("A", options=["one", "two", "three"])
    with pytest.raises(ValueError, match="four strings"):
        extract_choice("A", options="abcd")


# --------------------------------------------------------------------------------------------------------------
# references


@pytest.mark.parametrize("reference", ["C", "c", "C.", "(C)", "C. Reading", "C) Reading", "Reading", " reading "])
def test_reference_forms(reference):
    assert reference_letter(reference, KARAOKE, 0) == "C"


def test_reference_forms_without_options():
    assert reference_letter("C. anything", None, 0) == "C"
    with pytest.raises(ValueError, match=r"reference at index 4 is 'Reading'.*pass options="):
        reference_letter("Reading", None, 4)


@pytest.mark.parametrize("reference", ["E", "Singing", "", None, 3])
def test_bad_reference_names_index(reference):
    with pytest.raises(ValueError, match="reference at index 1"):
        score_choices(["A", "A"], ["A", reference], ["style", "style"], [KARAOKE, KARAOKE])


# --------------------------------------------------------------------------------------------------------------
# score_choices


def test_score_choices_issue_example():
    options = [["oil painting", "watercolor", "pencil sketch", "neon glow"], ["red", "blue", "green", "orange"]]
    options.append(KARAOKE)
    result = score_choices(
        ["The answer is (B).", "c", "Karaoke"], ["B", "C", "D"], ["style", "content", "content"], options
    ).corpus
    assert result == {
        "accuracy": 1.0,
        "accuracy_style": 1.0,
        "accuracy_content": 1.0,
        "num_questions": 3,
        "num_invalid": 0,
        "extraction": {"letter": 1, "answer_is": 1, "paren": 0, "letter_punct": 0, "option_text": 1},
    }


def test_score_choices_counts_invalid_as_wrong():
    types = ["style", "content", "content", "style"]
    result = score_choices(["A", "no idea", None, "B"], ["A", "B", "C", "D"], types).corpus
    assert result["accuracy"] == 0.25
    assert result["accuracy_style"] == 0.5
    assert result["accuracy_content"] == 0.0
    assert result["num_invalid"] == 2
    assert sum(result["extraction"].values()) == 2


def test_score_choices_missing_type_is_none():
    result = score_choices(["A"], ["A"], ["content"]).corpus
    assert result["accuracy_style"] is None and result["accuracy_content"] == 1.0
    empty = score_choices([], [], []).corpus
    assert empty["accuracy"] is None and empty["num_questions"] == 0


def test_score_choices_accepts_any_sequence_and_is_deterministic():
    args = (("A", "b"), ("A", "B"), ("style", "style"))
    assert score_choices(*args).corpus == score_choices(list(args[0]), list(args[1]), list(args[2])).corpus
    assert score_choices(*args).corpus["accuracy"] == 1.0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(predictions=["A"], references=["A", "B"], question_types=["style"]), ValueError, "1 predictions but 2"),
        (dict(predictions=["A"], references=["A"], question_types=["style", "x"]), ValueError, "question_types"),
        (dict(predictions=["A"], references=["A"], question_types=["styles"]), ValueError, r"question_types\[0\]"),
        (dict(predictions=[1], references=["A"], question_types=["style"]), TypeError, r"predictions\[0\]"),
        (dict(predictions="A", references=["A"], question_types=["style"]), TypeError, "predictions must be"),
        (
            dict(predictions=["A", "B"], references=["A", "B"], question_types=["style"] * 2, options=[KARAOKE]),
            ValueError,
            "1 options",
        ),
        (
            dict(predictions=["A", "B"], references=["A", "B"], question_types=["style"] * 2, options=[KARAOKE, ["x"]]),
            ValueError,
            r"options\[1\]",
        ),
    ],
)
def test_score_choices_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        score_choices(**kwargs)


def test_scoring_has_no_evaluate_or_torch_import():
    source = Path(choice.__file__).read_text()
    assert "import evaluate" not in source and "import torch" not in source


# --------------------------------------------------------------------------------------------------------------
# the evaluate module and its card


@pytest.fixture(scope="module")
def mc_vqa_acc():
    import evaluate

    return evaluate.load(str(METRIC_DIR))


def test_module_matches_scoring_function(mc_vqa_acc):
    predictions = ["The answer is (B).", "c", "Karaoke", "hmm"]
    references = ["B", "A", "Singing Karaoke", "D"]
    types = ["style", "content", "content", "style"]
    options = [KARAOKE] * 4
    assert mc_vqa_acc.compute(
        predictions=predictions, references=references, question_types=types, options=options
    ) == score_choices(predictions, references, types, options).corpus


def test_module_without_question_types_gives_overall_accuracy(mc_vqa_acc):
    result = mc_vqa_acc.compute(predictions=["A"], references=["A"])
    assert result["accuracy"] == 1.0 and result["accuracy_style"] is None and result["accuracy_content"] is None
    with pytest.raises(ValueError, match="question_types"):
        mc_vqa_acc.compute(predictions=["A"], references=["A"], question_types=["colour"])


def test_module_compute_has_explicit_options():
    import inspect

    import evaluate

    module = evaluate.load(str(METRIC_DIR))
    params = inspect.signature(module._compute).parameters.values()
    assert not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


def _run_doctests(test: doctest.DocTest) -> doctest.TestResults:
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    runner.run(test)
    return runner.summarize(verbose=False)


def test_card_examples_run(monkeypatch):
    monkeypatch.chdir(REPO)  # the card loads the module as "metrics/mc_vqa_acc", as a user at the repo root would
    text = (METRIC_DIR / "README.md").read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {}, "mc_vqa_acc/README.md", str(METRIC_DIR / "README.md"), 0)
    result = _run_doctests(test)
    assert result.failed == 0 and result.attempted >= 10
    assert 'predictions=["The answer is (B).", "c", "Karaoke"], references=["B", "C", "D"]' in text


def test_module_and_scoring_docstring_examples_run(monkeypatch):
    monkeypatch.chdir(REPO)
    import evaluate

    module = evaluate.load(str(METRIC_DIR))
    finder = doctest.DocTestFinder()
    attempted = 0
    # the card's class docstring imports what it uses; the scoring module's examples run in its own namespace
    for obj, name, globs in ((type(module), "mc_vqa_acc", {}), (choice, "journeydb.scoring.choice", None)):
        for test in finder.find(obj, name, globs=globs):
            result = _run_doctests(test)
            assert result.failed == 0, test.name
            attempted += result.attempted
    assert attempted >= 6


def test_per_question_letters_and_correctness():
    scored = score_choices(
        ["the answer is B", "no idea", None, "Singing", "I think (C) fits"],
        ["B", "A", "C", "D", "D"],
        ["style", "content", "content", "style", "content"],
        [KARAOKE] * 5,
    )
    assert scored.per_sample["letter"] == ["B", None, None, "D", "C"]
    assert scored.per_sample["rule"] == ["answer_is", "invalid", "invalid", "option_text", "paren"]
    assert scored.per_sample["correct"].tolist() == [True, False, False, True, False]
    assert scored.corpus["accuracy"] == scored.per_sample["correct"].mean()
    assert scored.corpus["num_invalid"] == scored.per_sample["letter"].count(None)
