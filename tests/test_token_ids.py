"""Token ids of a corpus: the Arrow path must equal `str.split()` + a dict, whitespace rules included."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from journeydb.scoring import token_ids as module
from journeydb.scoring.token_ids import OTHER_WHITESPACE, TokenIds, _ids_from_arrow, _ids_from_dict, token_ids

ALL_WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


def expected(sentences: list[str]) -> TokenIds:
    return _ids_from_dict(sentences)


def assert_same(got: TokenIds, want: TokenIds) -> None:
    np.testing.assert_array_equal(got.ids, want.ids)
    np.testing.assert_array_equal(got.lengths, want.lengths)
    np.testing.assert_array_equal(got.space_split_differs, want.space_split_differs)
    assert got.vocab_size == want.vocab_size
    if got.vocabulary is not None:
        assert got.vocabulary == want.vocabulary


def test_other_whitespace_is_what_str_split_splits_on() -> None:
    assert sorted(OTHER_WHITESPACE) == sorted(set(ALL_WHITESPACE) - {" "})


def test_dict_path_follows_first_occurrence() -> None:
    tokens = _ids_from_dict(["b a", "", "a  c", "b\tz"])
    assert tokens.ids.tolist() == [0, 1, 1, 2, 0, 3]
    assert tokens.lengths.tolist() == [2, 0, 2, 2]
    assert tokens.vocabulary == ("b", "a", "c", "z")
    assert tokens.space_split_differs.tolist() == [False, True, True, True]


@pytest.mark.parametrize("space", [c for c in ALL_WHITESPACE if c != " "])
def test_any_other_whitespace_leaves_the_fast_path(space: str) -> None:
    sentences = ["a cat", f"on{space}a mat", "done"]
    assert _ids_from_arrow(sentences) is None
    assert_same(token_ids(sentences), expected(sentences))


def test_every_other_character_stays_on_the_fast_path() -> None:
    # every code point that is not whitespace nor a surrogate, in tokens of 1 to 40 characters
    rng = random.Random(0)
    characters = [chr(c) for c in range(sys.maxunicode + 1)
                  if not chr(c).isspace() and not 0xD800 <= c <= 0xDFFF]
    sentences, i = [], 0
    while i < len(characters):
        words = []
        for _ in range(rng.randint(1, 12)):
            size = rng.randint(1, 40)
            words.append("".join(characters[i : i + size]))
            i += size
        sentences.append(" ".join(words))
    fast = _ids_from_arrow(sentences)
    assert fast is not None
    assert_same(fast, expected(sentences))


def test_lone_surrogates_take_the_dict_path() -> None:
    sentences = ["a \ud800 b", "\udfff a", "b"]
    assert _ids_from_arrow(sentences) is None
    assert_same(token_ids(sentences), expected(sentences))


def random_sentences(seed: int, count: int) -> list[str]:
    """Short and long tokens that share 8- and 16-byte prefixes, NULs, accents, CJK, emoji, empty sentences."""
    rng = random.Random(seed)
    stems = ["a", "cat", "photorealistic", "photorealistically", "photorea", "photoreal", "\x00", "a\x00", "naïve",
             "東京の街", "🙂", "🙂🙂", "x" * 8, "x" * 9, "x" * 16, "x" * 17, "https://example.com/a/b.png", "-lrb-",
             "e\u0301", "é"]
    out = []
    for _ in range(count):
        if rng.random() < 0.05:
            out.append("")
            continue
        words = [rng.choice(stems) + (str(rng.randint(0, 3)) if rng.random() < 0.3 else "")
                 for _ in range(rng.randint(1, 30))]
        sentence = " ".join(words)
        if rng.random() < 0.05:  # sentences whose space split differs
            sentence = rng.choice([" " + sentence, sentence + " ", sentence.replace(" ", "  ", 1)])
        out.append(sentence)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_fast_path_equals_dict_path(seed: int) -> None:
    sentences = random_sentences(seed, 300)
    fast = _ids_from_arrow(sentences)
    assert fast is not None
    assert_same(fast, expected(sentences))


@pytest.mark.parametrize("sentences", [[], [""], ["", ""], ["a"], [" "], ["a", ""], ["", "a b"]])
def test_small_corpora(sentences: list[str]) -> None:
    assert_same(token_ids(sentences), expected(sentences))


def test_ids_are_renumbered_when_arrow_numbers_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    real = pc.dictionary_encode

    def reversed_dictionary(values):  # the same encoding with the dictionary in reverse order
        encoded = real(values)
        size = len(encoded.dictionary)
        indices = pa.array(size - 1 - np.asarray(encoded.indices), pa.int32())
        return pa.DictionaryArray.from_arrays(indices, encoded.dictionary.take(pa.array(range(size - 1, -1, -1))))

    monkeypatch.setattr(pc, "dictionary_encode", reversed_dictionary)
    sentences = random_sentences(7, 50) + ["a  cat"]  # a sentence whose space split differs: the vocabulary too
    fast = _ids_from_arrow(sentences)
    assert fast is not None and fast.vocabulary is not None
    assert_same(fast, expected(sentences))


def test_first_occurrence_order() -> None:
    assert module._first_occurrence_order(np.array([0, 1, 0, 2, 1], np.int32), 3) is None
    assert module._first_occurrence_order(np.array([2, 0, 2, 1], np.int32), 3).tolist() == [1, 2, 0]
