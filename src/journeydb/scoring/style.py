"""Style retrieval recall (paper §4.3, Table 5): over the whole style space and inside each style category.

Definition (the paper gives neither k nor the averaging; this is ours, stated in the `style_recall` metric card):

- Phrases are compared after `normalize_style` (lower-case, trimmed, inner whitespace collapsed). A prediction is a
  ranked list of phrases; after normalisation only the first occurrence of a phrase counts (blank ones are
  ignored), so top-k means the first k distinct phrases.
- Per image, recall@k = |gold ∩ top-k| / |gold|, gold being the image's distinct normalised gold phrases. Images
  with no gold phrase are skipped and counted (`num_skipped`). `recall@k` is the mean over the scored images.
- With a style tree `{category: [phrases]}` (a phrase may sit in several categories), for each category c: the
  ranking restricted to c's phrases (the prediction's order kept), and gold_c = gold ∩ c. Every image with a
  non-empty gold_c gets recall@k = |gold_c ∩ top-k of the restricted ranking| / |gold_c|; these are averaged per
  category, and `per_category_recall@k` is the macro-average over the categories that scored at least one image.
  Gold phrases in no category take no part in the per-category numbers (counted in `num_gold_outside_tree`).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from journeydb.release.style_tree import StyleTree, load_style_tree, normalize_style, phrase_categories

from .scored import ScoredCorpus

StyleTreeInput = Union[str, os.PathLike, Mapping[str, list[str]]]


def style_recall(
    predictions: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    k: Union[int, Sequence[int]] = (1, 5, 10),
    style_tree: Optional[StyleTreeInput] = None,
) -> ScoredCorpus:
    """Recall@k of ranked style phrases against each image's gold style phrases, optionally per style category.

    Args:
        predictions (`Sequence[Sequence[str]]`):
            Per image, style phrases ranked best first (e.g. the CLIP ranking of the style vocabulary). For
            per-category recall@k the list must hold each category's k best phrases (a full ranking, or the
            union of the global and per-category top-k in score order, as `models.clip_retrieval` returns).
        references (`Sequence[Sequence[str]]`):
            Per image, its gold style phrases (`Task1.Style`).
        k (`int` or `Sequence[int]`, defaults to `(1, 5, 10)`):
            The cut-off(s), each a positive integer.
        style_tree (`str`, `os.PathLike` or `Mapping[str, list[str]]`, *optional*):
            A style tree (JSON path or mapping) `{category: [phrases]}`; adds the per-category recall.

    Returns:
        `ScoredCorpus`. `corpus`: `recall@{k}` for each k (None when no image has gold); with a tree also
        `per_category_recall@{k}`, `per_category` (`{category: {"num_images": n, "recall@{k}": ...}}`, categories
        that scored no image have `num_images` 0 and recalls None), `num_categories` (categories scored) and
        `num_gold_outside_tree`; always `num_images` (images scored) and `num_skipped` (images without gold).
        `per_sample`: `recall@{k}` for each k, one float per image (NaN for an image without gold).

    Example:

    ```py
    >>> from journeydb.scoring.style import style_recall
    >>> scored = style_recall([["oil painting", "8k", "bokeh"]], [["8K", "watercolor"]], k=[1, 2])
    >>> scored.corpus
    {'recall@1': 0.0, 'recall@2': 0.5, 'num_images': 1, 'num_skipped': 0}
    >>> scored.per_sample["recall@2"].tolist()
    [0.5]
    ```
    """
    ks = _cutoffs(k)
    _check_phrase_lists(predictions, "predictions")
    _check_phrase_lists(references, "references")
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references must have the same length, got {len(predictions)} and {len(references)}"
        )
    tree: Optional[StyleTree] = load_style_tree(style_tree) if style_tree is not None else None
    index = phrase_categories(tree) if tree is not None else None
    max_k = ks[-1]

    sums = [0.0] * len(ks)
    per_image = np.full((len(ks), len(predictions)), np.nan)
    num_images = num_skipped = gold_outside_tree = 0
    category_sums: dict[str, list[float]] = {c: [0.0] * len(ks) for c in tree} if tree is not None else {}
    category_images: dict[str, int] = dict.fromkeys(category_sums, 0)

    for image, (ranked, gold_phrases) in enumerate(zip(predictions, references)):
        gold = {p for p in map(normalize_style, gold_phrases) if p}
        if not gold:
            num_skipped += 1
            continue
        num_images += 1
        ranking = _distinct(ranked)
        top = []
        for phrase in ranking:
            if len(top) == max_k:
                break
            top.append(phrase)
        for i, cutoff in enumerate(ks):
            recall = len(gold.intersection(top[:cutoff])) / len(gold)
            per_image[i, image] = recall
            sums[i] += recall
        if index is None:
            continue
        gold_by_category: dict[str, set[str]] = {}
        for phrase in gold:
            categories = index.get(phrase)
            if not categories:
                gold_outside_tree += 1
            for category in categories or ():
                gold_by_category.setdefault(category, set()).add(phrase)
        if not gold_by_category:
            continue
        hit_ranks = _category_hit_ranks(_distinct(ranked), index, gold_by_category, max_k)
        for category, category_gold in gold_by_category.items():
            category_images[category] += 1
            ranks = hit_ranks[category]
            for i, cutoff in enumerate(ks):
                category_sums[category][i] += sum(1 for r in ranks if r <= cutoff) / len(category_gold)

    result: dict[str, Any] = {f"recall@{c}": (sums[i] / num_images if num_images else None) for i, c in enumerate(ks)}
    if tree is not None:
        table: dict[str, dict[str, Any]] = {}
        for category in tree:
            n = category_images[category]
            row: dict[str, Any] = {"num_images": n}
            row.update({f"recall@{c}": (category_sums[category][i] / n if n else None) for i, c in enumerate(ks)})
            table[category] = row
        scored = [row for row in table.values() if row["num_images"]]
        for c in ks:
            result[f"per_category_recall@{c}"] = (
                sum(row[f"recall@{c}"] for row in scored) / len(scored) if scored else None
            )
        result["per_category"] = table
        result["num_categories"] = len(scored)
        result["num_gold_outside_tree"] = gold_outside_tree
    result["num_images"] = num_images
    result["num_skipped"] = num_skipped
    return ScoredCorpus(corpus=result, per_sample={f"recall@{c}": per_image[i] for i, c in enumerate(ks)})


def _category_hit_ranks(
    ranking: Iterable[str],
    index: Mapping[str, list[str]],
    gold_by_category: Mapping[str, set[str]],
    max_k: int,
) -> dict[str, list[int]]:
    """Per category of the image's gold: the ranks (1-based, within the category-restricted ranking, up to max_k)
    at which gold phrases of that category appear. One pass over the ranking, stopping once every category of the
    gold has seen max_k of its phrases, so a long ranking costs only as far as it must be read."""
    seen = dict.fromkeys(gold_by_category, 0)
    hits: dict[str, list[int]] = {c: [] for c in gold_by_category}
    open_categories = len(seen)
    for phrase in ranking:
        for category in index.get(phrase, ()):
            if category not in seen or seen[category] == max_k:
                continue
            seen[category] += 1
            if phrase in gold_by_category[category]:
                hits[category].append(seen[category])
            if seen[category] == max_k:
                open_categories -= 1
        if open_categories == 0:
            break
    return hits


def _distinct(ranked: Iterable[str]) -> Iterable[str]:
    """The normalised phrases of a ranking, each once (first occurrence), blanks dropped; lazily."""
    seen: set[str] = set()
    for raw in ranked:
        phrase = normalize_style(raw)
        if phrase and phrase not in seen:
            seen.add(phrase)
            yield phrase


def _cutoffs(k: Union[int, Sequence[int]]) -> list[int]:
    values = [k] if isinstance(k, int) and not isinstance(k, bool) else k
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"k must be a positive integer or a non-empty sequence of them, got {k!r}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"k must hold positive integers, got {value!r} in k={k!r}")
    return sorted(set(values))


def check_style_inputs(predictions: Any, references: Any) -> tuple[Any, Any]:
    """Ranked phrase lists and gold phrase lists, one each per image (the error names the first bad index)."""
    _check_phrase_lists(predictions, "predictions")
    _check_phrase_lists(references, "references")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    return predictions, references


def _check_phrase_lists(lists: Any, name: str) -> None:
    """`lists` is a sequence of sequences of strings; the error names the first bad index."""
    if isinstance(lists, (str, bytes)) or not isinstance(lists, Sequence):
        raise TypeError(f"{name} must be a list of phrase lists (one per image), got {type(lists).__name__}")
    for i, phrases in enumerate(lists):
        if isinstance(phrases, (str, bytes)) or not isinstance(phrases, Sequence):
            raise TypeError(
                f"{name}[{i}] must be a list of style phrases, got {type(phrases).__name__} {phrases!r:.60}"
            )
        for j, phrase in enumerate(phrases):
            if not isinstance(phrase, str):
                raise TypeError(f"{name}[{i}][{j}] must be a string, got {type(phrase).__name__} {phrase!r:.60}")
