"""The benchmark's built-in, weight-free baselines: fitted on the training split, then one predictor per task.

Each task of the registry names its predictor here (`Task.predict_baseline`); all of them share one pass over the
scored images (`BaselineQueries`: the images' features and their nearest training images).
"""

from __future__ import annotations

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
    """The baselines fitted on the training split (its first `train_size` images, in dataset order)."""

    def __init__(self, data_dir: str, train_size: Optional[int], cache_dir: Optional[str]) -> None:
        from journeydb.builder.builder import load

        train = load("prompt", data_dir=data_dir, split="train", cache_dir=cache_dir)
        if train_size is not None and len(train) > train_size:
            logger.warning("baselines: using the first %d of %d training images", train_size, len(train))
            train = train.select(range(train_size))
        self.index = ImageIndex.from_rows(train, description="baseline: training image features")
        meta = train.remove_columns("image")
        self.prompts = dict(zip(meta["image_id"], meta["prompt"]))
        self.styles = StyleRanker(dict(zip(meta["image_id"], meta["style"])))
        captions = load("caption", data_dir=data_dir, split="train", cache_dir=cache_dir).remove_columns("image")
        self.captions = {i: c for i, c in zip(captions["image_id"], captions["caption"]) if i in self.prompts}
        self.caption_index = self.index.subset(self.captions) if self.captions else None
        vqa = load("vqa", data_dir=data_dir, split="train", cache_dir=cache_dir).remove_columns("image")
        self.prior = AnswerPrior.from_rows(vqa)


@dataclass
class BaselineQueries:
    """The scored images the image-based baselines need: their features and nearest training images."""

    ids: list[str]
    features: np.ndarray
    neighbours: dict[str, list[str]]
    style_limit: int

    @classmethod
    def of(cls, baselines: FittedBaselines, images: Any, wanted: set[str], style_limit: int) -> "BaselineQueries":
        ids, feats = [], []
        if wanted:
            for row in tqdm(images, desc="baseline: query image features", unit="img"):
                if row["image_id"] in wanted:
                    ids.append(row["image_id"])
                    feats.append(image_features(row["image"]))
        width = baselines.index.features.shape[1]
        features = np.stack(feats) if feats else np.zeros((0, width), np.float32)
        nearest = baselines.index.nearest(features, k=baselines.styles.neighbours, query_ids=ids)
        return cls(ids, features, dict(zip(ids, nearest)), style_limit)


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
    """The style phrases of the nearest training images, ranked by their votes."""
    rank = baselines.styles.rank
    return [{"image_id": i, "prediction": rank(queries.neighbours[i], queries.style_limit)} for i in refs.ids]


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
