"""The CLIP style-retrieval baseline end-to-end with a tiny random CLIP: ranking, chunking, caching, sharding."""

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import journeydb
from journeydb.models import clip_retrieval
from journeydb.models.clip_retrieval import rank_features, rank_styles
from journeydb.scoring.style import style_recall
from journeydb.release.style_tree import read_style_vocabulary

REPO = Path(__file__).resolve().parents[1]


def _byte_level_vocab() -> dict[str, int]:
    """Every byte-level character, alone and word-final: a CLIP BPE vocabulary with no merges."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = [chr(b) for b in printable] + [chr(256 + n) for n in range(256 - len(printable))]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for char in chars:
            vocab[char + suffix] = len(vocab)
    return vocab


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised CLIP with tiny towers, its processor built offline, saved to `folder`."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    vocab = _byte_level_vocab()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=24)
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=24, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=8,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    model.save_pretrained(folder)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def style_rows(mini_release, tmp_path_factory):
    return journeydb.load("style", data_dir=str(mini_release), split="validation",
                          cache_dir=str(tmp_path_factory.mktemp("hf")))


@pytest.fixture(scope="module")
def vocabulary(mini_release):
    return read_style_vocabulary(str(mini_release))


TREE = {"looks": ["oil painting", "watercolor", "pencil sketch", "neon glow", "not in the vocabulary"],
        "camera": ["35mm", "f/1.8", "8k", "oil painting"]}


def _brute_force(images, vocabulary, folder):
    """Full score matrix straight from the model: what the chunked ranking must reproduce."""
    from transformers import AutoModel, AutoProcessor

    model, processor = AutoModel.from_pretrained(folder).eval(), AutoProcessor.from_pretrained(folder)
    with torch.no_grad():
        text = processor(text=list(vocabulary), padding=True, return_tensors="pt")
        t = clip_retrieval._normalized(clip_retrieval._features(model.get_text_features(**text)))
        pixels = processor(images=[im.convert("RGB") for im in images], return_tensors="pt")["pixel_values"]
        v = clip_retrieval._normalized(clip_retrieval._features(model.get_image_features(pixel_values=pixels)))
    return (v @ t.T).numpy()


def test_end_to_end_on_the_mini_release(tiny_clip, style_rows, vocabulary, tmp_path):
    ranking = rank_styles(style_rows, vocabulary, str(tiny_clip), style_tree=TREE, k=3, batch_size=5,
                          cache_dir=tmp_path, device="cpu")
    n = len(style_rows)
    assert ranking.top_indices.shape == (n, 3) and ranking.categories == ["looks", "camera"]
    assert ranking.category_indices.shape == (n, 2, 3)

    scores = _brute_force(style_rows["image"], vocabulary, tiny_clip)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(ranking.top_indices, expected)
    np.testing.assert_allclose(ranking.top_scores, np.take_along_axis(scores, expected, 1), atol=1e-5)
    looks = [vocabulary.index(p) for p in TREE["looks"] if p in vocabulary]
    expected_looks = np.asarray(looks)[np.argsort(-scores[:, looks], axis=1, kind="stable")[:, :3]]
    np.testing.assert_array_equal(ranking.category_indices[:, 0], expected_looks)

    predictions = ranking.phrase_lists(vocabulary)
    for i, phrases in enumerate(predictions):  # one list in score order; each category's own top 3 inside it
        assert [vocabulary.index(p) for p in phrases][:3] == list(expected[i])
        # restricted to a category, the list starts with that category's top 3 (a phrase of it that is only in
        # another category's top 3, like "oil painting" of both, may follow: it ranks lower in this one)
        in_looks = [p for p in phrases if p in TREE["looks"]]
        assert in_looks[:3] == [vocabulary[j] for j in expected_looks[i]]
    result = style_recall(predictions, style_rows["styles"], k=[1, 3], style_tree=TREE).corpus
    assert result["num_images"] == n and result["num_skipped"] == 0
    assert 0.0 <= result["recall@1"] <= result["recall@3"] <= 1.0
    assert 0.0 <= result["per_category_recall@1"] <= result["per_category_recall@3"] <= 1.0


def test_chunking_does_not_change_the_ranking():
    gen = torch.Generator().manual_seed(0)
    images = torch.nn.functional.normalize(torch.randn(37, 8, generator=gen), dim=1)
    texts = torch.nn.functional.normalize(torch.randn(101, 8, generator=gen), dim=1)
    members = [np.arange(0, 101, 3), np.arange(50, 60), np.array([7, 3]), np.array([], dtype=np.int64)]
    whole = rank_features(images, texts, 5, members, score_budget_bytes=2**30)
    one_at_a_time = rank_features(images, texts, 5, members, score_budget_bytes=1)
    # the same phrases; scores equal up to float rounding (a matrix product's rounding depends on its shape)
    for name in ("top_indices", "category_indices"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(one_at_a_time, name))
    for name in ("top_scores", "category_scores"):
        np.testing.assert_allclose(getattr(whole, name), getattr(one_at_a_time, name), atol=1e-6)
    assert (whole.category_indices[:, 2, 2:] == -1).all() and (whole.category_indices[:, 3] == -1).all()
    expected = np.argsort(-(images @ texts.T).numpy(), axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(whole.top_indices, expected)


def test_text_features_are_cached(tiny_clip, style_rows, vocabulary, tmp_path, monkeypatch):
    images = style_rows["image"][:3]
    first = rank_styles(images, vocabulary, str(tiny_clip), k=2, cache_dir=tmp_path, device="cpu")
    cached = list(tmp_path.glob("clip-text-*.safetensors"))
    assert len(cached) == 1

    def no_encoding(*args, **kwargs):
        raise AssertionError("text features were encoded again instead of read from the cache")

    from transformers import CLIPModel

    with monkeypatch.context() as patch:
        patch.setattr(CLIPModel, "get_text_features", no_encoding)
        again = rank_styles(images, vocabulary, str(tiny_clip), k=2, cache_dir=tmp_path, device="cpu")
    np.testing.assert_array_equal(first.top_indices, again.top_indices)

    # another vocabulary, or other text weights, is another cache entry
    rank_styles(images, vocabulary[:-1], str(tiny_clip), k=2, cache_dir=tmp_path, device="cpu")
    other = save_tiny_clip(tmp_path / "other-clip", seed=1)
    rank_styles(images, vocabulary, str(other), k=2, cache_dir=tmp_path, device="cpu")
    assert len(list(tmp_path.glob("clip-text-*.safetensors"))) == 3
    assert not list(tmp_path.glob(".*partial"))


def test_input_errors(tiny_clip, vocabulary, tmp_path):
    from PIL import Image

    image = Image.new("RGB", (40, 30))
    with pytest.raises(ValueError, match=r"vocabulary\[1\] 'Oil painting' repeats vocabulary\[0\]"):
        rank_styles([image], ["oil painting", "Oil painting"], str(tiny_clip), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="positive"):
        rank_styles([image], vocabulary, str(tiny_clip), k=0, cache_dir=tmp_path)
    with pytest.raises(TypeError, match=r"images\[1\]"):
        rank_styles([image, "not an image"], vocabulary, str(tiny_clip), cache_dir=tmp_path, device="cpu")


def test_tree_phrases_outside_the_vocabulary_are_reported(tiny_clip, vocabulary, tmp_path, caplog):
    from PIL import Image

    with caplog.at_level(logging.WARNING, logger="journeydb.models.clip_retrieval"):
        rank_styles([Image.new("RGB", (40, 30))], vocabulary, str(tiny_clip), style_tree=TREE, k=2,
                     cache_dir=tmp_path, device="cpu")
    assert "1 style-tree phrase(s) are not in the vocabulary" in caplog.text


# ----------------------------------------------------------------------------------------------------------------
# two processes (torchrun + accelerate, gloo on CPU) must give what one process gives

WORKER = Path(__file__).with_name("clip_sharded_worker.py")  # run by torchrun


def worker_images() -> list:
    """The worker's images, read from the worker file itself (one definition for both runs)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("clip_sharded_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.worker_images()


@pytest.mark.slow
def test_two_processes_equal_one(tiny_clip, vocabulary, tmp_path, two_processes):
    out = tmp_path / "ranking"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    proc = two_processes(
        [str(WORKER), str(tiny_clip), str(tmp_path), str(out), json.dumps(vocabulary), json.dumps(TREE)], env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    single = rank_styles(worker_images(), vocabulary, str(tiny_clip), style_tree=TREE, k=3, batch_size=2,
                         cache_dir=tmp_path, device="cpu")
    for rank in (0, 1):  # every process holds the whole ranking, in image order
        sharded = np.load(f"{out}.{rank}.npz")
        assert sharded["num_local_images"] in (3, 4)  # the 7 images were split between the two
        for name in ("top_indices", "category_indices"):
            np.testing.assert_array_equal(sharded[name], getattr(single, name))
        for name in ("top_scores", "category_scores"):
            np.testing.assert_allclose(sharded[name], getattr(single, name), atol=1e-6)
