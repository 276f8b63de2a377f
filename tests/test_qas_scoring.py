"""The QAS definition (`journeydb.scoring.qas`): hand-computed cases and bad inputs."""

import math

import pytest

from journeydb.scoring.qas import check_references, qas_from_answers


def question(qtype: str, answer: str = "A", **overrides) -> dict:
    q = {"type": qtype, "question": f"a {qtype} question?", "options": ["w", "x", "y", "z"], "answer": answer}
    q.update(overrides)
    return q


# Images lacking one question type: image 1 has no style question, image 2 no content question.
HAND_CASE = [
    [question("style", "A"), question("style", "B"), question("content", "C")],
    [question("content", "A"), question("content", "A"), question("content", "D")],
    [question("style", "A")],
    [question("style", "C"), question("content", "A")],
]


def test_constant_judge_hand_computed():
    answers = [["A"] * len(questions) for questions in HAND_CASE]
    result = qas_from_answers(answers, HAND_CASE).corpus
    # style per image: 1/2, -, 1, 0 -> 1/2; content per image: 0, 2/3, -, 1 -> 5/9 (pooled it would be 3/6)
    assert result["qas_style"] == pytest.approx(0.5)
    assert result["qas_content"] == pytest.approx(5 / 9)
    assert result["qas"] == pytest.approx((0.5 + 5 / 9) / 2)
    assert {k: result[k] for k in ("num_images", "num_questions", "num_invalid")} == {
        "num_images": 4,
        "num_questions": 9,
        "num_invalid": 0,
    }
    assert list(result) == ["qas", "qas_style", "qas_content", "num_images", "num_questions", "num_invalid"]


def test_oracle_answers_score_one():
    answers = [[q["answer"] for q in questions] for questions in HAND_CASE]
    assert qas_from_answers(answers, HAND_CASE).corpus["qas"] == 1.0


def test_invalid_answers_count_wrong_and_invalid():
    refs = [[question("style", "A"), question("content", "B"), question("content", "C")]]
    result = qas_from_answers([[" A\n", "b", None]], refs).corpus  # whitespace is ignored, case and None are not
    assert (result["qas_style"], result["qas_content"], result["num_invalid"]) == (1.0, 0.0, 2)
    assert qas_from_answers([["A. oil", "B", 3]], refs).corpus["num_invalid"] == 2


def test_missing_type_everywhere_gives_none():
    result = qas_from_answers([["A"]], [[question("content", "A")]]).corpus
    assert result["qas_content"] == 1.0 and result["qas_style"] is None and result["qas"] is None


def test_image_without_questions_is_counted_but_enters_no_mean():
    result = qas_from_answers([["A"], []], [[question("style", "A")], []]).corpus
    assert result["num_images"] == 2 and result["qas_style"] == 1.0 and result["qas_content"] is None


@pytest.mark.parametrize("answer", [None, ""])
def test_missing_answer_says_ground_truth_withheld(answer):
    refs = [[question("style")], [question("content", answer=answer)]]
    with pytest.raises(ValueError, match=r"references\[1\]\[0\].*withheld"):
        qas_from_answers([["A"], ["A"]], refs)


def test_absent_answer_key_is_withheld_too():
    q = question("style")
    del q["answer"]
    with pytest.raises(ValueError, match="withheld"):
        qas_from_answers([["A"]], [[q]])
    assert check_references([[q]], require_answers=False)[0][0]["answer"] is None


@pytest.mark.parametrize(
    "bad, message",
    [
        (question("colour"), r"references\[0\]\[1\] has type 'colour'"),
        (question("style", options=["a", "b", "c"]), r"references\[0\]\[1\] has options"),
        (question("style", options="abcd"), r"references\[0\]\[1\] has options"),
        (question("style", options=["a", "b", "c", 4]), r"references\[0\]\[1\] has options"),
        (question("style", answer="E"), r"references\[0\]\[1\] has answer 'E'"),
        (question("style", question=None), r"references\[0\]\[1\] has question None"),
        ("What?", r"references\[0\]\[1\] must be a question dict"),
    ],
)
def test_malformed_question_names_its_index(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        qas_from_answers([["A", "A"]], [[question("style"), bad]])


def test_length_mismatches_name_the_image():
    with pytest.raises(ValueError, match="answers for 1 images but references for 2"):
        qas_from_answers([["A"]], [[question("style")], [question("content")]])
    with pytest.raises(ValueError, match=r"answers\[1\] must be a list of 2 answers"):
        qas_from_answers([["A"], ["A"]], [[question("style")], [question("content"), question("style")]])
    with pytest.raises(ValueError, match="references is empty"):
        qas_from_answers([], [])


def test_canonical_form_keeps_exactly_the_vqa_keys():
    q = {**question("style"), "question_id": "img-style-0", "extra": 1}
    (checked,) = check_references([[q]])
    assert checked == [{"question_id": "img-style-0", **question("style")}]
    assert math.isclose(qas_from_answers([["A"]], [[q]]).corpus["qas_style"], 1.0)


def test_per_image_qas_comes_from_the_same_pass():
    answers = [["A"] * len(questions) for questions in HAND_CASE]
    scored = qas_from_answers(answers, HAND_CASE)
    style, content = scored.per_sample["qas_style"].tolist(), scored.per_sample["qas_content"].tolist()
    assert [v if v == v else None for v in style] == [0.5, None, 1.0, 0.0]
    assert [v if v == v else None for v in content] == pytest.approx([0.0, 2 / 3, None, 1.0])
    for image, (image_answers, questions) in enumerate(zip(answers, HAND_CASE)):  # one image at a time agrees
        alone = qas_from_answers([image_answers], [questions]).corpus
        for key, values in (("qas_style", style), ("qas_content", content)):
            if alone[key] is None:
                assert math.isnan(values[image])
            else:
                assert values[image] == alone[key]
    assert sum(v for v in style if v == v) / 3 == scored.corpus["qas_style"]
