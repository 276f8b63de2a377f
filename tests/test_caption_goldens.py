"""Caption metrics against frozen numbers of the real toolkit (pycocoevalcap 1.2 with Java) on four corpora:
the design notes' 3-image example, multi-reference captioning, generated Midjourney-like prompt inversion, edge
cases (an empty prediction, repeats, a reference over 64 tokens). Regenerate with tests/data/make_caption_goldens.py.
Also the corners of the vectorised engine that the random parity tests do not reach."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from journeydb.scoring.bleu import corpus_bleu
from journeydb.scoring.caption import score_captions
from journeydb.scoring.caption_corpus import encode_corpus, ngram_tables
from journeydb.scoring.cider import cider_d_per_image
from journeydb.scoring.meteor import meteor_corpora, meteor_unavailable_reason
from journeydb.scoring.rouge import lcs_lengths, rouge_l_per_image
from journeydb.scoring.tokenize import tokenize_corpus

CORPORA = json.loads((Path(__file__).parent / "data" / "coco_caption_goldens.json").read_text(encoding="utf-8"))[
    "corpora"
]
NAMES = sorted(CORPORA)
COCO_KEYS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider")


def engine_scores(predictions: list[str], references: list[list[str]]) -> dict[str, float]:
    corpus = encode_corpus(predictions, references)
    tables = ngram_tables(corpus)
    bleu = corpus_bleu(corpus, tables)
    return {
        **{f"bleu_{n + 1}": b for n, b in enumerate(bleu)},
        "rouge_l": float(np.mean(rouge_l_per_image(corpus))),
        "cider": float(np.mean(cider_d_per_image(corpus, tables))),
    }


def toolkit_scores(predictions: list[str], references: list[list[str]]) -> dict[str, float]:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts, res = dict(enumerate(references)), {i: [p] for i, p in enumerate(predictions)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    return {
        **{f"bleu_{n + 1}": b for n, b in enumerate(bleu)},
        "rouge_l": float(Rouge().compute_score(gts, res)[0]),
        "cider": float(Cider().compute_score(gts, res)[0]),
    }


@pytest.mark.parametrize("name", NAMES)
def test_engine_equals_the_toolkit_on_its_own_tokens(name):
    corpus = CORPORA[name]
    ours = engine_scores(corpus["tokenized_predictions"], corpus["tokenized_references"])
    for key in COCO_KEYS:
        assert ours[key] == pytest.approx(corpus["scores"][key], abs=1e-9), key
    for n in range(1, 5):  # integer counts and the toolkit's own float steps: bit for bit
        assert ours[f"bleu_{n}"] == corpus["scores"][f"bleu_{n}"]


@pytest.mark.parametrize("name", NAMES)
def test_python_tokenizer_gives_the_jars_tokens_here(name):
    corpus = CORPORA[name]
    flat = [r for refs in corpus["references"] for r in refs]
    assert tokenize_corpus(corpus["predictions"]) == corpus["tokenized_predictions"]
    assert tokenize_corpus(flat) == [r for refs in corpus["tokenized_references"] for r in refs]


@pytest.mark.parametrize("name", NAMES)
def test_score_captions_from_raw_text_equals_the_toolkit(name):
    corpus = CORPORA[name]
    result = score_captions(corpus["predictions"], corpus["references"], meteor=False).corpus
    for key in COCO_KEYS:
        assert result[key] == pytest.approx(corpus["scores"][key], abs=1e-9), key


@pytest.mark.parametrize("name", NAMES)
def test_score_captions_per_sample_equals_the_toolkit_per_image(name):
    # per-sentence BLEU 1-4 (Bleu's second output), ROUGE-L and CIDEr-D (Cider's second output), from the same call
    import contextlib
    import io

    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    corpus = CORPORA[name]
    scored = score_captions(corpus["predictions"], corpus["references"], meteor=False)
    predictions, references = corpus["tokenized_predictions"], corpus["tokenized_references"]
    gts, res = dict(enumerate(references)), {i: [p] for i, p in enumerate(predictions)}
    with contextlib.redirect_stdout(io.StringIO()):
        _, bleu_per_image = Bleu(4).compute_score(gts, res, verbose=0)
    expected = {f"bleu_{n + 1}": bleu_per_image[n] for n in range(4)}
    expected["rouge_l"] = Rouge().compute_score(gts, res)[1]
    expected["cider"] = Cider().compute_score(gts, res)[1]
    for key, values in expected.items():
        np.testing.assert_allclose(scored.per_sample[key], values, rtol=0, atol=1e-9, err_msg=key)


@pytest.mark.java
@pytest.mark.skipif(meteor_unavailable_reason() is not None, reason=str(meteor_unavailable_reason()))
def test_meteor_equals_the_toolkit_on_all_golden_corpora():
    results = meteor_corpora([(CORPORA[n]["tokenized_predictions"], CORPORA[n]["tokenized_references"]) for n in NAMES])
    for name, result in zip(NAMES, results):  # one JVM for the four corpora
        assert result.score == pytest.approx(CORPORA[name]["scores"]["meteor"], abs=1e-12), name


def test_lcs_lengths_equal_the_dynamic_programme():
    rng = random.Random(1)
    predictions, references = [], []
    for _ in range(200):
        vocab = [str(i) for i in range(rng.choice([2, 5, 30]))]
        predictions.append(" ".join(rng.choices(vocab, k=rng.randint(1, 150))))
        references.append([" ".join(rng.choices(vocab, k=rng.randint(1, 200)))])
    lcs = lcs_lengths(encode_corpus(predictions, references))
    for i, (prediction, (reference,)) in enumerate(zip(predictions, references)):
        row = [0] * (len(reference.split(" ")) + 1)
        for x in prediction.split(" "):
            diagonal = 0
            for j, y in enumerate(reference.split(" "), start=1):
                diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
        assert lcs[i] == row[-1], i


def test_ngram_tables_account_for_every_ngram():
    rng = random.Random(3)
    sentences = [" ".join(rng.choices("abcdef", k=rng.randint(0, 30))) for _ in range(60)]
    corpus = encode_corpus(sentences[::2], [[s] for s in sentences[1::2]])
    for table in ngram_tables(corpus):
        expected = sum(max(len(s.split()) - table.order + 1, 0) for s in sentences)
        assert int(table.count.sum() + table.singletons.sum()) == expected


def test_ngram_tables_without_the_packed_sort_are_the_same(monkeypatch):
    # on a huge corpus the (n-gram, position) keys no longer fit 64 bits and a stable argsort sorts them instead
    import dataclasses

    import numpy as np

    from journeydb.scoring import caption_corpus

    rng = random.Random(5)
    sentences = [" ".join(rng.choices("abcdefgh", k=rng.randint(0, 25))) for _ in range(80)]
    corpus = encode_corpus(sentences[::2], [[s, s[:9]] for s in sentences[1::2]])
    packed = ngram_tables(corpus)
    original = caption_corpus.sort_by_key
    monkeypatch.setattr(caption_corpus, "sort_by_key", lambda p, k, space, bits: original(p, k, 1 << 64, bits))
    for ours, wide in zip(packed, ngram_tables(corpus), strict=True):
        for field in dataclasses.fields(ours):
            assert np.array_equal(getattr(ours, field.name), getattr(wide, field.name)), field.name


def test_a_vocabulary_beyond_16_bits_equals_the_toolkit():
    # more than 65,536 distinct tokens: ids and n-gram keys beyond 16 bits
    rng = random.Random(7)
    words = [f"w{i}" for i in range(70_000)]
    predictions = [" ".join(rng.choices(words, k=30)) for _ in range(600)]
    references = [[" ".join(rng.choices(words, k=30)), predictions[i][:40]] for i in range(600)]
    predictions += [" ".join(words[i : i + 100]) for i in range(0, 70_000, 700)]
    references += [[" ".join(words[i + 50 : i + 150])] for i in range(0, 70_000, 700)]
    ours, theirs = engine_scores(predictions, references), toolkit_scores(predictions, references)
    for key in COCO_KEYS:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-9, rel=0), key
