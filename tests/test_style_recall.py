"""The style recall definition on hand-computed cases (journeydb.scoring.style)."""

import json

import pytest

from journeydb.scoring.style import style_recall
from journeydb.release.style_tree import read_style_vocabulary, style_vocabulary, vocabulary_hash

# "oil painting" sits in two categories
TREE = {
    "medium": ["Oil Painting", "watercolor", "pencil sketch"],
    "quality": ["8k", "hyper-realistic", "oil painting"],
    "lens": ["35mm", "f/1.8"],
}


def test_overall_recall_hand_computed():
    predictions = [
        ["8k", "Oil  painting", "watercolor", "bokeh"],  # gold {oil painting, watercolor}: @1 0, @2 1/2, @3 1
        ["watercolor", "8k"],  # gold {watercolor}: 1, 1, 1
        ["x"],  # no gold: skipped
        ["35mm"],  # gold {f/1.8}: 0, 0, 0
    ]
    references = [["oil painting", "WATERCOLOR "], ["watercolor"], [], ["f/1.8", "  "]]
    result = style_recall(predictions, references, k=[3, 1, 2]).corpus
    assert list(result) == ["recall@1", "recall@2", "recall@3", "num_images", "num_skipped"]
    assert result["recall@1"] == pytest.approx((0 + 1 + 0) / 3)
    assert result["recall@2"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert result["recall@3"] == pytest.approx((1 + 1 + 0) / 3)
    assert result["num_images"] == 3 and result["num_skipped"] == 1


def test_repeated_and_blank_predictions_count_once():
    # after normalisation "8K" repeats "8k": the top-2 are the distinct phrases 8k and watercolor
    result = style_recall([["8k", "8K", " ", "watercolor"]], [["watercolor", "8k"]], k=2).corpus
    assert result["recall@2"] == 1.0
    # duplicated gold phrases count once
    assert style_recall([["a"]], [["a", "A", "b"]], k=1).corpus["recall@1"] == 0.5


def test_per_category_hand_computed_with_a_phrase_in_two_categories():
    predictions = [
        ["8k", "oil painting", "watercolor", "hyper-realistic"],
        ["pencil sketch", "35mm", "oil painting"],
        ["whatever"],
    ]
    references = [["oil painting", "watercolor"], ["oil painting", "unknown style"], []]
    result = style_recall(predictions, references, k=[1, 2], style_tree=TREE).corpus
    # image 0, medium: restricted ranking [oil painting, watercolor], gold {oil, watercolor} -> @1 1/2, @2 1
    #          quality: restricted [8k, oil painting, hyper-realistic], gold {oil}          -> @1 0,   @2 1
    # image 1, medium: restricted [pencil sketch, oil painting], gold {oil}                 -> @1 0,   @2 1
    #          quality: restricted [oil painting], gold {oil}                                -> @1 1,   @2 1
    #          "unknown style" is in no category
    # lens: no image has gold in it -> not averaged
    assert result["per_category"] == {
        "medium": {"num_images": 2, "recall@1": 0.25, "recall@2": 1.0},
        "quality": {"num_images": 2, "recall@1": 0.5, "recall@2": 1.0},
        "lens": {"num_images": 0, "recall@1": None, "recall@2": None},
    }
    assert result["per_category_recall@1"] == pytest.approx((0.25 + 0.5) / 2)
    assert result["per_category_recall@2"] == 1.0
    assert result["num_categories"] == 2
    assert result["num_gold_outside_tree"] == 1
    # over-all: image 0 @1 0, @2 1/2; image 1 gold {oil, unknown}: @1 0, @2 0
    assert result["recall@1"] == 0.0
    assert result["recall@2"] == pytest.approx(0.25)
    assert (result["num_images"], result["num_skipped"]) == (2, 1)


def test_per_category_from_a_tree_file_equals_the_mapping(tmp_path):
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(TREE))
    predictions, references = [["watercolor", "8k"]], [["8k", "watercolor"]]
    assert style_recall(predictions, references, style_tree=str(path)).corpus == style_recall(
        predictions, references, style_tree=TREE
    ).corpus


def test_no_gold_anywhere():
    result = style_recall([["a"], []], [[], [" "]], k=1, style_tree=TREE).corpus
    assert result["recall@1"] is None and result["per_category_recall@1"] is None
    assert (result["num_images"], result["num_skipped"], result["num_categories"]) == (0, 2, 0)


@pytest.mark.parametrize(
    "predictions, references, k, error, match",
    [
        ([["a"]], [["a"], ["b"]], 1, ValueError, "same length"),
        (["a"], [["a"]], 1, TypeError, r"predictions\[0\]"),
        ([["a"]], [["a", 3]], 1, TypeError, r"references\[0\]\[1\]"),
        ([["a"], None], [["a"], ["b"]], 1, TypeError, r"predictions\[1\]"),
        ("abc", [["a"]], 1, TypeError, "predictions must be"),
        ([["a"]], [["a"]], 0, ValueError, "positive"),
        ([["a"]], [["a"]], [1, 2.5], ValueError, "positive"),
        ([["a"]], [["a"]], [], TypeError, "non-empty"),
    ],
)
def test_bad_input_names_the_index(predictions, references, k, error, match):
    with pytest.raises(error, match=match):
        style_recall(predictions, references, k=k)


def test_bad_tree_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="category 'a'"):
        style_recall([["x"]], [["x"]], style_tree={"a": "not a list"})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        style_recall([["x"]], [["x"]], style_tree=str(tmp_path / "missing.json"))


def test_style_vocabulary_is_sorted_normalised_and_distinct():
    assert style_vocabulary([["Oil painting ", "8k"], ["oil  PAINTING", " "], []]) == ["8k", "oil painting"]
    assert vocabulary_hash(["a", "b"]) != vocabulary_hash(["ab"])


def test_read_style_vocabulary_from_the_mini_release(mini_release):
    vocabulary = read_style_vocabulary(str(mini_release))
    assert vocabulary == sorted(set(vocabulary)) and "oil painting" in vocabulary
    assert all(p == p.lower().strip() for p in vocabulary)
    both = read_style_vocabulary(str(mini_release), ("train", "validation"))
    assert set(vocabulary) <= set(both)
    with pytest.raises(ValueError, match="test"):
        read_style_vocabulary(str(mini_release), ("test",))


def test_per_image_recall_comes_from_the_same_pass():
    predictions = [["8k", "oil painting", "watercolor"], ["x"], ["35mm"], ["a", "b"]]
    references = [["oil painting", "watercolor"], [], ["f/1.8"], [" "]]
    scored = style_recall(predictions, references, k=[2, 1], style_tree=TREE)
    assert list(scored.per_sample) == ["recall@1", "recall@2"]
    # images without (non-blank) gold have no recall: NaN, and they are the skipped ones
    assert scored.per_sample["recall@1"].tolist()[::2] == [0.0, 0.0]
    assert scored.per_sample["recall@2"].tolist()[::2] == [0.5, 0.0]
    assert [v != v for v in scored.per_sample["recall@2"].tolist()] == [False, True, False, True]
    for k in (1, 2):
        defined = [v for v in scored.per_sample[f"recall@{k}"].tolist() if v == v]
        assert sum(defined) / len(defined) == scored.corpus[f"recall@{k}"]
        for image, (ranked, gold) in enumerate(zip(predictions, references)):  # one image at a time agrees
            alone = style_recall([ranked], [gold], k=k).corpus[f"recall@{k}"]
            value = scored.per_sample[f"recall@{k}"][image]
            assert (alone is None and value != value) or alone == value
