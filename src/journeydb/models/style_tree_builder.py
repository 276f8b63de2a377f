"""Build a style tree from a style vocabulary: sentence embeddings, seeded k-means, categories named by their most
central phrases; and the long-tail plot of category sizes (paper Fig. 2).

The paper's tree (334 or 344 categories; it says both) was made by GPT-3.5 over patches of 200 phrases and merged by
hand, and was never released. This is a reproducible stand-in: one level, each phrase in exactly one category
(a user-brought tree may put a phrase in several). k-means runs with k-means++ initialisation from a fixed seed,
so the same vocabulary, model, seed and library versions give the same tree.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from .sentence_model import SentenceModel, encode_sentences, load_sentence_model  # noqa: F401 (re-export)
from journeydb.release.style_tree import StyleTree, normalize_style

logger = logging.getLogger(__name__)

DEFAULT_CATEGORIES = 334  # paper §3.3 (§4.3 says 344)
DEFAULT_SEED = 0
NAME_PHRASES = 3  # a category is named by up to this many of its most central phrases
NAME_SEPARATOR = " | "


def cluster_phrases(
    phrases: Sequence[str], embeddings: np.ndarray, num_categories: int, seed: int = DEFAULT_SEED
) -> StyleTree:
    """Group phrases into `num_categories` k-means clusters of their (unit) embeddings.

    Returns `{name: phrases}`, categories largest first (ties by name), phrases most central first (ties by
    phrase); a category is named by its up to three most central phrases joined by " | ". A request for more
    categories than phrases is clamped to one category per phrase, with a logged note.
    """
    if len(phrases) == 0:
        raise ValueError("the style vocabulary is empty: no style phrases to cluster")
    if embeddings.shape[0] != len(phrases):
        raise ValueError(f"{embeddings.shape[0]} embeddings for {len(phrases)} phrases")
    if num_categories < 1:
        raise ValueError(f"the number of categories must be positive, got {num_categories}")
    if num_categories > len(phrases):
        logger.warning(
            "asked for %d categories but the vocabulary has only %d phrases: building %d categories",
            num_categories, len(phrases), len(phrases),
        )
        num_categories = len(phrases)
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=num_categories, init="k-means++", n_init=1, random_state=seed)
    labels = kmeans.fit_predict(embeddings)
    centroids = kmeans.cluster_centers_
    groups: list[list[str]] = []
    for label in range(num_categories):
        members = np.flatnonzero(labels == label)
        if members.size == 0:  # k-means keeps clusters non-empty, but an empty one must not become a category
            continue
        centrality = embeddings[members] @ centroids[label]
        order = sorted(range(members.size), key=lambda i: (-float(centrality[i]), phrases[members[i]]))
        groups.append([phrases[members[i]] for i in order])
    named = {NAME_SEPARATOR.join(group[:NAME_PHRASES]): group for group in groups}
    return dict(sorted(named.items(), key=lambda item: (-len(item[1]), item[0])))


def build_style_tree(
    vocabulary: Sequence[str],
    num_categories: int = DEFAULT_CATEGORIES,
    model: Optional[SentenceModel] = None,
    seed: int = DEFAULT_SEED,
    batch_size: int = 256,
    device: Optional[str] = None,
) -> StyleTree:
    """A style tree for a vocabulary: embed (sentence model, default all-MiniLM-L6-v2 offline), then `cluster_phrases`.

    Args:
        vocabulary (`Sequence[str]`): the style phrases (normalised and de-duplicated here).
        num_categories (`int`, defaults to 334): how many categories (clamped to the number of phrases).
        model (`str`, `os.PathLike` or a SentenceTransformer, *optional*): the sentence model.
        seed (`int`, defaults to 0): the k-means seed.
        batch_size (`int`, defaults to 256): phrases per embedding batch.
        device (`str`, *optional*): where the sentence model runs.
    """
    phrases = sorted({p for p in map(normalize_style, vocabulary) if p})
    embeddings = encode_sentences(phrases, load_sentence_model(model, device=device), batch_size=batch_size)
    tree = cluster_phrases(phrases, embeddings, num_categories, seed=seed)
    logger.info("style tree: %d phrases in %d categories", len(phrases), len(tree))
    return tree


def write_style_tree(tree: StyleTree, out: Union[str, os.PathLike]) -> tuple[Path, Path]:
    """Write the tree as JSON at `out` and its category-size plot as a PNG beside it (same name, `.png`)."""
    json_path = Path(out)
    if json_path.suffix.lower() != ".json":
        raise ValueError(f"the style tree is written as JSON: --out must end in .json, got {str(out)!r}")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(tree, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    png_path = json_path.with_suffix(".png")
    plot_category_sizes(tree, png_path)
    return json_path, png_path


def plot_category_sizes(tree: StyleTree, path: Union[str, os.PathLike], labelled: int = 20) -> None:
    """The long-tail plot of category sizes, largest first (paper Fig. 2), with the largest categories labelled."""
    # a Figure on an Agg canvas rather than pyplot: writes a file without touching the caller's global backend
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    items = sorted(tree.items(), key=lambda item: (-len(item[1]), item[0]))
    sizes = [len(phrases) for _, phrases in items]
    shown = min(labelled, len(sizes))
    fig = Figure(figsize=(max(6.0, min(18.0, 0.05 * len(sizes) + 6)), 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar(range(len(sizes)), sizes, width=0.9, color="#4c72b0")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_xlabel(f"style categories, largest first ({len(sizes)}; the first {shown} named)")
    ax.set_ylabel("phrases per category")
    ax.set_title(f"Style tree: {sum(sizes)} phrases in {len(sizes)} categories")
    ax.set_xticks(range(shown))
    ax.set_xticklabels(
        [name.split(NAME_SEPARATOR)[0] for name, _ in items[:shown]], rotation=60, ha="right", fontsize=7
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
