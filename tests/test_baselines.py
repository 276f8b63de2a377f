"""The built-in baselines: deterministic, tie rules as documented, and better than chance on the mini-release."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from PIL import Image

import journeydb
from journeydb.models import baselines
from journeydb.models.baselines import AnswerPrior, ImageIndex, StyleRanker, image_features, lexical_judge


def test_module_doctest():
    result = doctest.testmod(baselines)
    assert result.attempted >= 1 and result.failed == 0


def test_image_features_shape_and_determinism():
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    a, b = image_features(image), image_features(image.convert("L").convert("RGB"))
    assert a.shape == (8 * 8 * 3 + 64,) and a.dtype == np.float32
    assert np.array_equal(a, image_features(image))
    assert not np.array_equal(a, b)


def test_nearest_ties_go_to_smaller_id_and_self_is_excluded():
    features = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [5.0, 5.0]], dtype=np.float32)
    index = ImageIndex(["d", "c", "b", "a"], features)  # "c" and "b" are equidistant twins
    assert index.nearest(np.array([[1.0, 0.0]]), k=3) == [["b", "c", "d"]]
    assert index.nearest(np.array([[1.0, 0.0]]), k=2, query_ids=["b"]) == [["c", "d"]]
    assert index.nearest(np.array([[9.0, 9.0]]), k=10) == [["a", "b", "c", "d"]]
    assert index.subset(["a", "d"]).nearest(np.array([[1.0, 0.0]])) == [["d"]]


def test_image_index_rejects_bad_input():
    with pytest.raises(ValueError, match="more than once"):
        ImageIndex(["a", "a"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no training images"):
        ImageIndex([], np.zeros((0, 2)))
    with pytest.raises(ValueError, match="unknown image_id"):
        ImageIndex(["a"], np.zeros((1, 2))).subset(["zz"])
    with pytest.raises(ValueError, match="shape"):
        ImageIndex(["a"], np.zeros((1, 2))).nearest(np.zeros((1, 3)))


def test_style_ranker_order():
    ranker = StyleRanker({"x": ["Oil Painting", "8k"], "y": ["watercolor", "8k"], "z": ["bokeh", "watercolor"]})
    # the first neighbour's phrases, then votes of the others, then training frequency, then alphabetical
    assert ranker.rank(["x", "z"]) == ["oil painting", "8k", "watercolor", "bokeh"]
    assert ranker.rank([], limit=2) == ["8k", "watercolor"]
    assert ranker.rank(["y"], limit=3) == ["watercolor", "8k", "bokeh"]


def test_answer_prior_rules():
    prior = AnswerPrior()
    q = {"question": "What colour is it?", "type": "content"}
    prior.add({**q, "options": ["red", "blue", "green", "pink"], "answer": "B"})
    prior.add({**q, "options": ["blue", "red", "green", "pink"], "answer": "A"})
    prior.add({**q, "options": ["pink", "red", "green", "blue"], "answer": "B", "question": "Other?"})
    prior.add({**q, "options": ["a", "b", "c", "d"], "answer": None})  # withheld answers are not counted
    assert prior.num_questions == 3
    # the option text seen as the answer wins wherever it is placed
    assert prior.predict({**q, "options": ["green", "pink", "red", "blue"]}) == "D"
    # no text evidence: letter prior of the question text (A and B tie -> earliest)
    assert prior.predict({**q, "options": ["w", "x", "y", "z"]}) == "A"
    # unseen question: letter prior of its type, then overall
    assert prior.predict({"question": "New?", "type": "content", "options": ["w", "x", "y", "z"]}) == "B"
    assert prior.predict({"question": "New?", "type": "style", "options": ["w", "x", "y", "z"]}) == "B"
    assert AnswerPrior().predict({"question": "?", "type": "style", "options": ["w", "x", "y", "z"]}) == "A"


def test_lexical_judge_ties_go_to_earliest_letter():
    item = {"prompt": "a red box, oil painting", "question": "q", "options": ["blue", "oil painting", "red", "x"]}
    assert lexical_judge([item, {**item, "prompt": "nothing shared"}]) == ["B", "A"]


def test_baselines_have_signal_on_the_mini_release(mini_release, cache_dir):
    train = journeydb.load("prompt", str(mini_release), split="train", cache_dir=cache_dir)
    val = journeydb.load("prompt", str(mini_release), split="validation", cache_dir=cache_dir)
    index = ImageIndex.from_rows(train)
    queries = np.stack([image_features(row["image"]) for row in val])
    nearest = index.nearest(queries, k=1)
    prompts = dict(zip(train["image_id"], train["prompt"]))
    # the background colour names the first style phrase: the neighbour should usually share it
    same_style = sum(prompts[n[0]].split(", ")[1] == row["style"][0] for n, row in zip(nearest, val))
    assert same_style / len(val) > 0.5
    assert index.nearest(queries, k=1) == nearest  # deterministic
