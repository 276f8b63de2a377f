"""The built-in baselines at scale: bounded reading of train, no image decoded for a task that needs none, and the
blocked kNN equal to a plain per-query search."""

from __future__ import annotations

import numpy as np
import pytest

from journeydb.builder import builder as builder_module
from journeydb.evaluation.baseline_predictions import FittedBaselines
from journeydb.evaluation.benchmark import BenchmarkOptions, run_benchmark
from journeydb.evaluation.score import ScoringOptions
from journeydb.models import baselines as baselines_module
from journeydb.models.baselines import ImageIndex


@pytest.fixture
def images_read(monkeypatch):
    """How many image files the archives handed out (bytes actually read)."""
    counts = {"images": 0}
    # the builder's per-shard image reader (moved to builder/shards.py on main by the integrity work)
    if hasattr(builder_module, "_iter_shard_images"):
        owner, name = builder_module, "_iter_shard_images"
    else:
        import journeydb.builder.shards as owner

        name = "iter_shard_images"
    original = getattr(owner, name)

    def counting(shard):
        for member, read_bytes in original(shard):
            def read(read_bytes=read_bytes):
                counts["images"] += 1
                return read_bytes()

            yield member, read

    monkeypatch.setattr(owner, name, counting)
    return counts


def test_a_baseline_reads_no_more_of_train_than_asked(mini_release, images_read, monkeypatch):
    decoded = []
    features = baselines_module.image_features
    monkeypatch.setattr(
        "journeydb.evaluation.baseline_predictions.image_features", lambda im: decoded.append(1) or features(im)
    )
    fitted = FittedBaselines(str(mini_release), train_size=7)
    assert len(fitted.index) == 7 and len(decoded) == 7
    assert set(fitted.prompts) == set(fitted.index.image_ids)
    assert set(fitted.captions) <= set(fitted.prompts)
    # three configs streamed (prompt, caption, vqa), each cut at 7 rows: never the 30 training images
    assert images_read["images"] == 3 * 7
    assert fitted.prior.num_questions <= 7 * 4


def test_vqa_alone_decodes_no_scored_image(mini_release, tmp_path, monkeypatch):
    decoded = []
    features = baselines_module.image_features
    monkeypatch.setattr(
        "journeydb.evaluation.baseline_predictions.image_features", lambda im: decoded.append(1) or features(im)
    )
    run_benchmark(BenchmarkOptions(data_dir=str(mini_release), out=str(tmp_path / "out"), tasks=["vqa"],
                                   baseline_train_size=5, scoring=ScoringOptions(meteor=False, similarity_model=None)))
    assert len(decoded) == 5  # the training images of the index; no validation image


def test_blocked_knn_equals_a_plain_search_with_ties(monkeypatch):
    rng = np.random.default_rng(1)
    features = rng.integers(0, 3, (40, 4)).astype(np.float32)  # many exact ties
    ids = [f"t{i:02d}" for i in rng.permutation(40)]
    queries = np.concatenate([features[:6], rng.integers(0, 3, (9, 4)).astype(np.float32)])
    query_ids = ids[:6] + [f"q{i}" for i in range(9)]
    monkeypatch.setattr(baselines_module, "_BLOCK_BYTES", 8 * 40 * 4)  # blocks of 4 queries
    index = ImageIndex(ids, features)
    for k in (1, 5, 40):
        got = index.nearest(queries, k=k, query_ids=query_ids)
        for row, own in enumerate(query_ids):
            dist = ((features - queries[row]) ** 2).sum(axis=1)
            order = sorted((d, i) for d, i in zip(dist, ids) if i != own)  # by distance, ties by image_id
            assert got[row] == [i for _, i in order[:k]]


def test_the_style_baseline_writes_what_recall_needs_of_the_full_ranking():
    from journeydb.models.baselines import StyleRanker

    rng = np.random.default_rng(2)
    ranker = StyleRanker({f"i{j}": [f"p{x}" for x in rng.choice(60, 5, replace=False)] for j in range(80)})
    categories = {f"p{x}": sorted({f"c{x % 5}", f"c{x % 3 + 5}"}) for x in range(0, 60, 2)}
    for _ in range(30):
        neighbours = [f"i{x}" for x in rng.choice(80, 12, replace=False)]
        full = ranker.rank(neighbours)  # the whole vocabulary, ranked
        for k in (1, 3, 10):
            wanted = set(full[:k])
            for category in {c for cats in categories.values() for c in cats}:
                wanted |= set([p for p in full if category in categories.get(p, ())][:k])
            assert ranker.rank_needed(neighbours, k, categories) == [p for p in full if p in wanted]
            assert ranker.rank_needed(neighbours, k) == full[:k]
