"""BLEU 1-4, ROUGE-L and CIDEr-D against pycocoevalcap 1.2 (a test dependency) and its frozen golden numbers."""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from journeydb.scoring.bleu import corpus_bleu
from journeydb.scoring.caption import ngram_scores
from journeydb.scoring.caption_corpus import encode_corpus, ngram_tables
from journeydb.scoring.cider import cider_d_per_image, corpus_cider_d
from journeydb.scoring.rouge import corpus_rouge_l, rouge_l_per_image
from journeydb.scoring.tokenize import tokenize_corpus

GOLDEN = json.loads((Path(__file__).parent / "data" / "caption_goldens.json").read_text(encoding="utf-8"))
TOLERANCE = 1e-9


def random_corpus(seed: int, num_images: int, max_references: int, max_length: int = 25, vocab: int = 12,
                  empty_rate: float = 0.1) -> tuple[list[str], list[list[str]]]:
    """Tokenised candidates (some empty) and 1..max_references non-empty references from a small vocabulary."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]

    def sentence(min_length: int) -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(min_length, max_length)))

    candidates = ["" if rng.random() < empty_rate else sentence(1) for _ in range(num_images)]
    references = [[sentence(1) for _ in range(rng.randint(1, max_references))] for _ in range(num_images)]
    return candidates, references


def toolkit_scores(candidates: list[str], references: list[list[str]]) -> tuple[list[float], list, list, list]:
    gts = dict(enumerate(references))
    res = {i: [c] for i, c in enumerate(candidates)}
    with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its totals
        bleu, bleu_per_image = Bleu(4).compute_score(gts, res)
    rouge, rouge_per_image = Rouge().compute_score(gts, res)
    cider, cider_per_image = Cider().compute_score(gts, res)
    bleu_rows = [list(scores) for scores in zip(*bleu_per_image)]  # toolkit: per order, per image
    return [*bleu, rouge, cider], list(rouge_per_image), list(cider_per_image), bleu_rows


def our_scores(candidates: list[str], references: list[list[str]]) -> tuple[list[float], list, list, list]:
    scores = ngram_scores(candidates, references)  # what score_captions and the benchmark use
    corpus = encode_corpus(candidates, references)  # and the pieces, one by one
    tables = ngram_tables(corpus)
    pieces = [*corpus_bleu(corpus, tables), corpus_rouge_l(corpus), corpus_cider_d(corpus, tables)]
    assert [*scores.bleu, scores.rouge_l, scores.cider] == pieces
    assert list(scores.rouge_l_per_image) == list(rouge_l_per_image(corpus))
    assert list(scores.cider_per_image) == list(cider_d_per_image(corpus, tables))
    bleu_rows = scores.bleu_per_image.tolist()
    return pieces, list(scores.rouge_l_per_image), list(scores.cider_per_image), bleu_rows


def assert_parity(candidates: list[str], references: list[list[str]]) -> None:
    expected, expected_rouge, expected_cider, expected_bleu = toolkit_scores(candidates, references)
    got, got_rouge, got_cider, got_bleu = our_scores(candidates, references)
    assert got == pytest.approx(expected, abs=TOLERANCE, rel=0)
    assert got_rouge == pytest.approx(expected_rouge, abs=TOLERANCE, rel=0)
    assert got_cider == pytest.approx(expected_cider, abs=TOLERANCE, rel=0)
    # per-sentence BLEU 1-4 (the toolkit's second output), brevity penalty included
    for image, (ours, theirs) in enumerate(zip(got_bleu, expected_bleu)):
        assert ours == pytest.approx(theirs, abs=TOLERANCE, rel=0), f"image {image}"


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("num_images,max_references", [(1, 1), (1, 4), (2, 1), (9, 1), (60, 1), (60, 5)])
def test_random_corpora_match_pycocoevalcap(seed: int, num_images: int, max_references: int) -> None:
    assert_parity(*random_corpus(seed * 1000 + num_images, num_images, max_references))


def test_long_sentences_use_multi_word_lcs() -> None:
    # references of 65..200 tokens take the carry path of the bit-parallel LCS
    assert_parity(*random_corpus(7, 25, 3, max_length=200, vocab=30))


def test_all_empty_predictions() -> None:
    candidates, references = random_corpus(3, 20, 3)
    assert_parity([""] * len(candidates), references)


def test_unusual_whitespace_in_tokenised_input() -> None:
    # split() and split(" ") differ here: BLEU/CIDEr and ROUGE-L see different tokens, as in the toolkit
    candidates = ["a  b c", "x\u00a0y z", "a b\tc", ""]
    references = [["a b c", "b  c"], ["x y z"], ["a b c d"], ["a"]]
    assert_parity(candidates, references)


def test_extra_spaces_in_tokenised_input() -> None:
    # only spaces: the vectorised token path, with the sentences whose space split differs re-split for ROUGE-L
    candidates = ["a  b c", " x y z", "a b c ", "", "q"]
    references = [["a b c", "b  c"], ["x y z "], ["  a b c d"], ["a"], ["q  q"]]
    assert_parity(candidates, references)


def test_empty_reference_strings() -> None:
    assert_parity(["a b", "c d e", "a"], [["", "a b"], ["c d"], [""]])


def test_all_references_empty_scores_zero_cider() -> None:
    # the toolkit crashes here (max() of an empty df table); CIDEr-D is 0 by its definition
    corpus = encode_corpus(["a b"], [[""]])
    assert corpus_cider_d(corpus, ngram_tables(corpus)) == 0.0


def test_one_sample_corpus_cider_is_zero() -> None:
    corpus = encode_corpus(["a cat on a mat"], [["a cat on a red mat"]])
    assert corpus_cider_d(corpus, ngram_tables(corpus)) == 0.0


def test_golden_three_image_example() -> None:
    # pycocoevalcap tokenises the references and the candidates in two separate PTBTokenizer runs
    references = [[r] for r in tokenize_corpus(GOLDEN["references"])]
    candidates = tokenize_corpus(GOLDEN["predictions"])
    scores, rouge_per_image, cider_per_image, _ = our_scores(candidates, references)
    names = ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider"]
    assert scores == pytest.approx([GOLDEN["scores"][name] for name in names], abs=TOLERANCE, rel=0)
    assert rouge_per_image == pytest.approx(GOLDEN["per_image"]["rouge_l"], abs=1e-5)
    assert cider_per_image == pytest.approx(GOLDEN["per_image"]["cider"], abs=1e-5)
