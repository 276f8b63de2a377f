"""Peak host memory and time of the CLIP style-retrieval ranking at the paper's scale, on CPU.

What is measured: `journeydb.models.clip_retrieval.rank_features` (the stage that must fit 150,000 phrases x 5,402
test images) on random unit features of CLIP-ViT-L/14's dimension (768), with a synthetic long-tailed style tree of
334 categories, keeping the top 10 over all phrases and per category; then, unless `--no-scoring`, turning the
ranking into phrase lists (`StyleRanking.phrase_lists`) and scoring them with `style_recall` against random gold
phrases. Not measured: the CLIP forward passes (model-bound; text features are computed once and cached, images are
encoded in batches) — the random features stand in for their output.

Memory is the process's peak resident set (`ru_maxrss`), so it includes Python, torch and numpy themselves
(printed as the baseline). The reference is the naive method, which holds the whole images x phrases float32 score
matrix before taking top-k; its size is computed, not allocated (it alone exceeds the 2 GB bound).

    python benchmarks/style_retrieval.py                 # the paper's scale (about a minute on 2 cores)
    python benchmarks/style_retrieval.py --phrases 20000 --images 500
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from journeydb.models.clip_retrieval import DEFAULT_SCORE_BUDGET_BYTES, rank_features
from journeydb.scoring.style import style_recall

GIB = 2**30
BOUND_BYTES = 2 * GIB


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def long_tail_tree(num_phrases: int, num_categories: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Each phrase in one category with Zipf-like category sizes, 5% of phrases also in a second category."""
    weights = 1.0 / np.arange(1, num_categories + 1)
    first = rng.choice(num_categories, size=num_phrases, p=weights / weights.sum())
    first[:num_categories] = np.arange(num_categories)  # no empty category
    extra = rng.random(num_phrases) < 0.05
    second = rng.integers(0, num_categories, size=num_phrases)
    members = []
    for c in range(num_categories):
        ids = np.flatnonzero((first == c) | (extra & (second == c)))
        members.append(ids.astype(np.int64))
    return members


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phrases", type=int, default=150_000)
    parser.add_argument("--images", type=int, default=5_402)
    parser.add_argument("--dim", type=int, default=768, help="feature dimension (CLIP-ViT-L/14: 768)")
    parser.add_argument("--categories", type=int, default=334)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--gold", type=int, default=5, help="gold phrases per image for the scoring stage")
    parser.add_argument("--budget-mib", type=int, default=DEFAULT_SCORE_BUDGET_BYTES // 2**20,
                        help="score block budget (default %(default)s MiB)")
    parser.add_argument("--no-scoring", action="store_true", help="measure the ranking stage only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    baseline = peak_rss_bytes()
    print(f"baseline (python + torch + numpy imported): peak RSS {baseline / GIB:.2f} GiB; "
          f"torch threads: {torch.get_num_threads()}")
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    texts = torch.nn.functional.normalize(torch.randn(args.phrases, args.dim, generator=gen), dim=1)
    images = torch.nn.functional.normalize(torch.randn(args.images, args.dim, generator=gen), dim=1)
    members = long_tail_tree(args.phrases, args.categories, rng)
    sizes = sorted((len(m) for m in members), reverse=True)
    print(f"synthetic run: {args.phrases:,} phrases x {args.images:,} images, dim {args.dim}, "
          f"{args.categories} categories (sizes {sizes[0]:,} .. {sizes[-1]:,}), top {args.k}")

    start = time.perf_counter()
    ranking = rank_features(images, texts, args.k, members, score_budget_bytes=args.budget_mib * 2**20,
                            progress=False)
    ranking_s = time.perf_counter() - start
    ranking_peak = peak_rss_bytes()
    print(f"ranking: {ranking_s:.1f} s, peak RSS {ranking_peak / GIB:.2f} GiB "
          f"(features {(texts.numel() + images.numel()) * 4 / GIB:.2f} GiB, "
          f"score block <= {args.budget_mib} MiB)")

    peak = ranking_peak
    if not args.no_scoring:
        vocabulary = [f"style phrase {i:06d}" for i in range(args.phrases)]
        tree = {f"category {c:03d}": [vocabulary[i] for i in ids] for c, ids in enumerate(members)}
        gold = [[vocabulary[i] for i in rng.choice(args.phrases, size=args.gold, replace=False)]
                for _ in range(args.images)]
        start = time.perf_counter()
        predictions = ranking.phrase_lists(vocabulary)
        result = style_recall(predictions, gold, k=[1, 5, args.k], style_tree=tree).corpus
        scoring_s = time.perf_counter() - start
        peak = peak_rss_bytes()
        mean_len = sum(map(len, predictions)) / max(1, len(predictions))
        print(f"phrase lists + style_recall: {scoring_s:.1f} s, peak RSS {peak / GIB:.2f} GiB "
              f"({mean_len:,.0f} phrases per image; recall@{args.k} {result[f'recall@{args.k}']:.5f}, "
              f"per-category {result[f'per_category_recall@{args.k}']:.4f} over {result['num_categories']} "
              f"categories: random features, chance level)")

    naive = args.images * args.phrases * 4
    print(f"naive reference: the full score matrix alone is {naive / GIB:.2f} GiB (not allocated)")
    print(f"bound: {'within' if peak <= BOUND_BYTES else 'OVER'} 2 GiB (peak RSS {peak / GIB:.2f} GiB)")
    print(f"peak_vs_naive_matrix: {peak / naive:.2f}x")


if __name__ == "__main__":
    main()
