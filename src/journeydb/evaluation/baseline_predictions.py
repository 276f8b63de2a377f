"""The benchmark's built-in, weight-free baselines: fitted on the training split, then one predictor per task.

Each task of the registry names its predictor here (`Task.predict_baseline`); all of them share one pass over the
scored images (`BaselineQueries`: the images' features and their nearest training images).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from datasets.utils import tqdm

from journeydb.models.baselines import AnswerPrior, ImageIndex, StyleRanker, image_features

from .references import TaskReferences

logger = logging.getLogger(__name__)

PredictionRows = list[dict[str, Any]]


class FittedBaselines:
    """The baselines fitted on the training split: its first `train_size` images, in dataset order.

    The training configs are streamed and cut at `train_size` rows each, so no more of train is read than that
    (an Arrow copy of the whole split is never prepared); the index holds the features of those images only.
    """

    def __init__(self, data_dir: str, train_size: Optional[int], cache_dir: Optional[str] = None) -> None:
        ids, feats, self.prompts, styles = [], [], {}, {}
        train = _train_rows("prompt", data_dir, train_size, cache_dir=cache_dir)
        for row in tqdm(train, desc="baseline: training image features", unit="img", total=train_size):
            ids.append(row["image_id"])
            feats.append(image_features(row["image"]))
            self.prompts[row["image_id"]] = row["prompt"]
            styles[row["image_id"]] = row["style"]
        if not ids:
            raise ValueError("ImageIndex: no training images to search")
        if train_size is not None and len(ids) == train_size:
            logger.warning("baselines: using the first %d training images (--baseline-train-size)", train_size)
        self.index = ImageIndex(ids, np.stack(feats))
        self.styles = StyleRanker(styles)
        captions = _train_rows("caption", data_dir, train_size, with_image=False, cache_dir=cache_dir)
        self.captions = {r["image_id"]: r["caption"] for r in captions if r["image_id"] in self.prompts}
        self.caption_index = self.index.subset(self.captions) if self.captions else None
        vqa_rows = _train_rows("vqa", data_dir, train_size, with_image=False, cache_dir=cache_dir)
        vqa = (r for r in vqa_rows if r["image_id"] in self.prompts)
        self.prior = AnswerPrior.from_rows(vqa)


def _train_rows(
    config: str, data_dir: str, limit: Optional[int], with_image: bool = True, cache_dir: Optional[str] = None
) -> Any:
    """The first `limit` rows of a training config, streamed (`image` decoded only when `with_image`)."""
    from .export_source import open_split

    rows = open_split(config, data_dir, "train", streaming=True, cache_dir=cache_dir)
    if not with_image:
        rows = rows.remove_columns("image")
    # islice, not IterableDataset.take: take read a row more than its limit (8 images per config for 7)
    return itertools.islice(rows, limit) if limit is not None else iter(rows)


@dataclass
class BaselineQueries:
    """The scored images the image-based baselines need: their features and nearest training images."""

    ids: list[str]
    features: np.ndarray
    neighbours: dict[str, list[str]]
    style_limit: Optional[int]  # None: what recall needs (`StyleRanker.rank_needed`)
    style_k: int = 10
    style_categories: Optional[dict[str, list[str]]] = None  # normalised phrase -> categories of the style tree

    @classmethod
    def of(
        cls, baselines: FittedBaselines, images: Any, wanted: set[str], style_limit: Optional[int], style_k: int = 10,
        style_categories: Optional[dict[str, list[str]]] = None,
    ) -> "BaselineQueries":
        ids, feats = [], []
        if wanted:
            for row in tqdm(images, desc="baseline: query image features", unit="img"):
                if row["image_id"] in wanted:
                    ids.append(row["image_id"])
                    feats.append(image_features(row["image"]))
        width = baselines.index.features.shape[1]
        features = np.stack(feats) if feats else np.zeros((0, width), np.float32)
        nearest = baselines.index.nearest(features, k=baselines.styles.neighbours, query_ids=ids)
        return cls(ids, features, dict(zip(ids, nearest)), style_limit, style_k, style_categories)


def nearest_prompts(baselines: FittedBaselines, refs: TaskReferences, queries: BaselineQueries) -> PredictionRows:
    """The prompt of the nearest training image."""
    return [{"image_id": i, "prediction": baselines.prompts[queries.neighbours[i][0]]} for i in refs.ids]


def nearest_captions(baselines: FittedBaselines, refs: TaskReferences, queries: BaselineQueries) -> PredictionRows:
    """The caption of the nearest training image that has one."""
    if baselines.caption_index is None:
        raise ValueError("caption baseline: the training split has no captions")
    nearest = baselines.caption_index.nearest(queries.features, k=1, query_ids=queries.ids)
    caption_of = {i: baselines.captions[n[0]] for i, n in zip(queries.ids, nearest)}
    return [{"image_id": i, "prediction": caption_of[i]} for i in refs.ids]


def neighbour_styles(baselines: FittedBaselines, refs: TaskReferences, queries: BaselineQueries) -> PredictionRows:
    """The style phrases of the nearest training images, ranked by their votes: the top `style_limit`, or (None)
    only what recall@k needs, the top k overall and in each category."""
    styles, neighbours = baselines.styles, queries.neighbours
    if queries.style_limit is not None:
        return [{"image_id": i, "prediction": styles.rank(neighbours[i], queries.style_limit)} for i in refs.ids]
    needed = styles.rank_needed
    return [
        {"image_id": i, "prediction": needed(neighbours[i], queries.style_k, queries.style_categories)} for i in refs.ids
    ]


def prior_answers(baselines: FittedBaselines, refs: TaskReferences, queries: BaselineQueries) -> PredictionRows:
    """The training split's most frequent answer to the question (no image needed)."""
    return [
        {
            "question_id": qid,
            "image_id": image_id,
            "prediction": baselines.prior.predict({"question": q, "type": t, "options": o}),
        }
        for qid, image_id, q, t, o in zip(refs.ids, refs.image_ids, refs.questions, refs.question_types, refs.options)
    ]
