"""Offline built-in baselines: deterministic, weight-free, and always labelled as baselines in reports.

They give `journeydb benchmark` something to score without downloading a model, and give each task a floor that a
real model should beat. None of them is one of the paper's models.

- `ImageIndex`: the nearest training image on simple image features (an 8x8 colour thumbnail plus a 4x4x4 colour
  histogram), ties broken by `image_id`. Prompt inversion and captioning return that image's prompt or caption.
- `StyleRanker`: style retrieval; the neighbour's style phrases first, then the rest of the training vocabulary by
  how often it occurs among the nearest neighbours, then by training frequency, then alphabetically.
- `AnswerPrior`: multiple-choice VQA without looking at the image: the option whose text was most often the answer
  to the same question in training, else the most frequent answer letter for that question, its type, or overall.
- `lexical_judge`: a QAS judge `f(batch) -> letters` that picks the option sharing most words with the prompt.

Example:

```py
>>> from journeydb.models.baselines import lexical_judge
>>> lexical_judge([{"prompt": "a red balloon, watercolor", "question": "What colour is the balloon?",
...                 "options": ["blue", "red", "green", "pink"]}])
['B']

```
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
from datasets.utils import tqdm
from PIL import Image

from journeydb.release.records import LETTERS
from journeydb.release.style_tree import normalize_style

THUMBNAIL_SIZE = 8  # thumbnail side: 8x8 RGB cells
HISTOGRAM_LEVELS = 4  # levels per channel of the colour histogram (4**3 bins)
HISTOGRAM_WEIGHT = 4.0  # puts the histogram (sums to 1) on a par with the thumbnail's 192 values in [0, 1]
_BLOCK_BYTES = 64 << 20  # distance matrix per block of queries (float64), so memory stays bounded

_WORD = re.compile(r"\w+")


def image_features(image: Image.Image) -> np.ndarray:
    """Feature vector of an image: its 8x8 RGB thumbnail (box-filtered, in [0, 1]) and a weighted colour histogram.

    Args:
        image (`PIL.Image.Image`): any mode; converted to RGB.

    Returns:
        `np.ndarray` of shape `(8 * 8 * 3 + 4 ** 3,)`, dtype float32.
    """
    if getattr(image, "draft", None) is not None and not getattr(image, "im", None):
        image.draft("RGB", (64, 64))  # a JPEG not yet decoded: decode at reduced scale (same result every time)
    rgb = image.convert("RGB")
    thumb = np.asarray(rgb.resize((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BOX), dtype=np.float32) / 255.0
    small = np.asarray(rgb.resize((32, 32), Image.Resampling.BOX), dtype=np.int64)
    levels = np.minimum(small * HISTOGRAM_LEVELS // 256, HISTOGRAM_LEVELS - 1)
    bins = (levels[..., 0] * HISTOGRAM_LEVELS + levels[..., 1]) * HISTOGRAM_LEVELS + levels[..., 2]
    histogram = np.bincount(bins.ravel(), minlength=HISTOGRAM_LEVELS**3).astype(np.float32) / bins.size
    return np.concatenate([thumb.ravel(), HISTOGRAM_WEIGHT * histogram])


def words(text: Optional[str]) -> list[str]:
    """Lower-cased word tokens (`\\w+`) of a text; `None` has none."""
    return _WORD.findall(text.lower()) if text else []


class ImageIndex:
    """Training images by `image_features`, searched by Euclidean distance; ties go to the smaller `image_id`.

    Args:
        image_ids (`Sequence[str]`): distinct ids.
        features (`np.ndarray`): one row per id, as `image_features` returns.
    """

    def __init__(self, image_ids: Sequence[str], features: np.ndarray) -> None:
        if len(image_ids) != len(features):
            raise ValueError(f"ImageIndex: {len(image_ids)} ids but {len(features)} feature rows")
        if not image_ids:
            raise ValueError("ImageIndex: no training images to search")
        order = sorted(range(len(image_ids)), key=lambda i: image_ids[i])
        self.image_ids = [image_ids[i] for i in order]
        if len(set(self.image_ids)) != len(self.image_ids):
            duplicate = next(i for i, c in Counter(self.image_ids).items() if c > 1)
            raise ValueError(f"ImageIndex: image_id {duplicate!r} occurs more than once")
        self.features = np.asarray(features, dtype=np.float32)[order]
        self._position = {image_id: i for i, image_id in enumerate(self.image_ids)}
        self._squared_norms = (self.features.astype(np.float64) ** 2).sum(axis=1)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], description: str = "image features") -> "ImageIndex":
        """Index rows with `image_id` and a decoded `image` (e.g. a `journeydb.load(...)` split)."""
        ids, feats = [], []
        for row in tqdm(rows, desc=description, unit="img"):
            ids.append(row["image_id"])
            feats.append(image_features(row["image"]))
        if not ids:
            raise ValueError("ImageIndex: no training images to search")
        return cls(ids, np.stack(feats))

    def __len__(self) -> int:
        return len(self.image_ids)

    def subset(self, keep: Iterable[str]) -> "ImageIndex":
        """The index restricted to the given ids (unknown ids are an error)."""
        keep = sorted(set(keep))
        missing = [i for i in keep if i not in self._position]
        if missing:
            raise ValueError(f"ImageIndex.subset: {len(missing)} unknown image_id(s), e.g. {missing[0]!r}")
        return ImageIndex(keep, self.features[[self._position[i] for i in keep]])

    def nearest(
        self, queries: np.ndarray, k: int = 1, query_ids: Optional[Sequence[str]] = None
    ) -> list[list[str]]:
        """The ids of the `k` nearest indexed images of each query, nearest first.

        Args:
            queries (`np.ndarray`): one feature row per query.
            k (`int`, defaults to 1): neighbours per query (fewer when the index is smaller).
            query_ids (`Sequence[str]`, *optional*): the queries' own ids; an indexed image never neighbours
                itself (leave-one-out when the scored split is the training split).
        """
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.features.shape[1]:
            expected = f"(n, {self.features.shape[1]})"
            raise ValueError(f"ImageIndex.nearest: queries of shape {queries.shape}, expected {expected}")
        if query_ids is not None and len(query_ids) != len(queries):
            raise ValueError(f"ImageIndex.nearest: {len(query_ids)} query ids for {len(queries)} queries")
        if k < 1:
            raise ValueError(f"ImageIndex.nearest: k must be >= 1, got {k}")
        own = np.full(len(queries), -1, dtype=np.int64)
        if query_ids is not None:
            own = np.array([self._position.get(i, -1) for i in query_ids], dtype=np.int64)
        result: list[list[str]] = []
        # a block of queries at a time, sized so its distance matrix stays near _BLOCK_BYTES
        block = max(1, _BLOCK_BYTES // (8 * len(self.image_ids)))
        for start in range(0, len(queries), block):
            result.extend(self._nearest_block(queries[start : start + block], own[start : start + block], k))
        return result

    def _nearest_block(self, queries: np.ndarray, own: np.ndarray, k: int) -> list[list[str]]:
        """The block's k nearest: one matrix product and one partition for the whole block; only a row with a tie
        at its k-th distance is settled on its own (every index tied with the k-th competes, `_k_smallest`)."""
        chunk = queries.astype(np.float64)
        distances = (chunk**2).sum(axis=1)[:, None] - 2.0 * chunk @ self.features.T.astype(np.float64)
        distances += self._squared_norms[None, :]
        rows = np.flatnonzero(own >= 0)
        distances[rows, own[rows]] = np.inf  # an indexed image never neighbours itself
        n = distances.shape[1]
        kk = min(k, n - (1 if len(rows) else 0))
        if kk < 1:
            return [[] for _ in range(len(queries))]
        part = np.argpartition(distances, kk - 1, axis=1)[:, :kk]
        values = np.take_along_axis(distances, part, axis=1)
        threshold = values.max(axis=1)
        tied = (distances <= threshold[:, None]).sum(axis=1) > kk  # more candidates than places: ties to settle
        order = np.lexsort((part, values), axis=1)  # by distance, then index (= image_id order)
        best = np.take_along_axis(part, order, axis=1)
        out = []
        for row in range(len(queries)):
            picked = _k_smallest(distances[row], k) if tied[row] or kk < k else best[row].tolist()
            out.append([self.image_ids[i] for i in picked])
        return out


def _k_smallest(values: np.ndarray, k: int) -> list[int]:
    """Indices of the k smallest finite values, ascending; equal values in index order (= image_id order)."""
    finite = np.flatnonzero(np.isfinite(values))
    if len(finite) == 0:
        return []
    k = min(k, len(finite))
    part = finite[np.argpartition(values[finite], k - 1)[:k]]
    threshold = values[part].max()
    candidates = finite[values[finite] <= threshold]  # every index tied with the k-th value competes
    order = np.lexsort((candidates, values[candidates]))
    return candidates[order][:k].tolist()


# --------------------------------------------------------------------------------------------------------------


class StyleRanker:
    """Ranks the training style vocabulary for an image from its nearest training images.

    Args:
        styles_by_image (`Mapping[str, Sequence[str]]`): training `image_id` -> its `Task1.Style` phrases.
        neighbours (`int`, defaults to 10): how many nearest images vote after the first.
    """

    def __init__(self, styles_by_image: Mapping[str, Sequence[str]], neighbours: int = 10) -> None:
        self.styles_by_image = {
            image_id: list(dict.fromkeys(normalize_style(p) for p in phrases if p.strip()))
            for image_id, phrases in styles_by_image.items()
        }
        self.neighbours = neighbours
        self.frequency = Counter(p for phrases in self.styles_by_image.values() for p in phrases)
        # the fallback order after the neighbours' votes: training frequency, then alphabetical
        self.vocabulary = sorted(self.frequency, key=lambda p: (-self.frequency[p], p))
        self._vocabulary_rank = {p: i for i, p in enumerate(self.vocabulary)}
        self._category_lists: Optional[tuple[Mapping[str, Sequence[str]], dict[str, list[str]]]] = None

    def rank(self, neighbour_ids: Sequence[str], limit: Optional[int] = None) -> list[str]:
        """Ranked style phrases for one image given its neighbours (nearest first), at most `limit` of them."""
        if not neighbour_ids:
            return self.vocabulary[:limit]
        first = self.styles_by_image.get(neighbour_ids[0], [])
        voters = neighbour_ids[: self.neighbours]
        votes = Counter(p for image_id in voters for p in self.styles_by_image.get(image_id, []))
        taken = set(first)
        # only the neighbours' phrases have votes: sort those; the unvoted rest is the vocabulary's own order
        voted = sorted((p for p in votes if p not in taken), key=lambda p: (-votes[p], -self.frequency[p], p))
        ranked = first + voted
        taken.update(voted)
        wanted = len(self.vocabulary) if limit is None else limit
        for phrase in self.vocabulary:
            if len(ranked) >= wanted:
                break
            if phrase not in taken:
                ranked.append(phrase)
        return ranked[:limit]

    def rank_needed(
        self, neighbour_ids: Sequence[str], k: int, categories: Optional[Mapping[str, Sequence[str]]] = None
    ) -> list[str]:
        """What recall@k (k <= `k`) needs of `rank(neighbour_ids)`: its top `k` and, per category of `categories`
        (normalised phrase -> its categories), that category's top `k`, in `rank`'s order. Costs the neighbours'
        phrases plus k per category, not the vocabulary."""
        first = self.styles_by_image.get(neighbour_ids[0], []) if neighbour_ids else []
        votes = Counter(p for i in neighbour_ids[: self.neighbours] for p in self.styles_by_image.get(i, []))
        head = first + sorted((p for p in votes if p not in set(first)), key=lambda p: (-votes[p], -self.frequency[p], p))
        taken = set(head)
        candidates: set[str] = set()
        lists = [self.vocabulary] + (list(self._by_category(categories).values()) if categories else [])
        for phrases in lists:  # each list's first k phrases after the head, in vocabulary order
            found = 0
            for phrase in phrases:
                if found >= k:
                    break
                if phrase not in taken:
                    candidates.add(phrase)
                    found += 1
        ranked = head + sorted(candidates, key=self._vocabulary_rank.__getitem__)
        kept, per_category = [], Counter()
        for position, phrase in enumerate(ranked):
            cats = categories.get(phrase, ()) if categories else ()
            if position < k or any(per_category[c] < k for c in cats):
                kept.append(phrase)
            per_category.update(cats)
        return kept

    def _by_category(self, categories: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        """Each category's phrases of the vocabulary, in vocabulary order (computed once per index)."""
        if self._category_lists is None or self._category_lists[0] is not categories:
            lists: dict[str, list[str]] = defaultdict(list)
            for phrase in self.vocabulary:
                for category in categories.get(phrase, ()):
                    lists[category].append(phrase)
            self._category_lists = (categories, dict(lists))
        return self._category_lists[1]


# --------------------------------------------------------------------------------------------------------------


def _question_key(question: str) -> str:
    return " ".join(words(question))


class AnswerPrior:
    """Multiple-choice answers from training statistics alone (the image is not looked at).

    For a question, the option whose text was most often the correct answer to the same question text in training
    wins; with no such evidence, the most frequent answer letter for the same question text, then for the question
    type, then overall. Remaining ties go to the earliest letter.
    """

    def __init__(self) -> None:
        self.answer_texts: dict[str, Counter] = defaultdict(Counter)
        self.letters_by_question: dict[str, Counter] = defaultdict(Counter)
        self.letters_by_type: dict[str, Counter] = defaultdict(Counter)
        self.letters = Counter()
        self.num_questions = 0

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "AnswerPrior":
        """Fit on `vqa` rows (their `questions` lists); questions without an answer are not counted."""
        prior = cls()
        for row in rows:
            for q in row["questions"]:
                prior.add(q)
        return prior

    def add(self, question: Mapping[str, Any]) -> None:
        letter = question.get("answer")
        if letter not in LETTERS:
            return
        key = _question_key(question["question"])
        self.answer_texts[key][_question_key(question["options"][LETTERS.index(letter)])] += 1
        self.letters_by_question[key][letter] += 1
        self.letters_by_type[question["type"]][letter] += 1
        self.letters[letter] += 1
        self.num_questions += 1

    def predict(self, question: Mapping[str, Any]) -> str:
        """The predicted letter for one question dict (`question`, `type`, `options`)."""
        key = _question_key(question["question"])
        options = list(question["options"])
        texts = self.answer_texts.get(key)
        if texts:
            counts = [texts.get(_question_key(option), 0) for option in options]
            if max(counts, default=0) > 0:
                return LETTERS[counts.index(max(counts))]  # index() takes the earliest of tied letters
        for counter in (self.letters_by_question.get(key), self.letters_by_type.get(question["type"]), self.letters):
            if counter:
                counts = [counter.get(letter, 0) for letter in LETTERS[: len(options)]]
                return LETTERS[counts.index(max(counts))]
        return LETTERS[0]


# --------------------------------------------------------------------------------------------------------------


def lexical_judge(batch: list[dict]) -> list[str]:
    """QAS judge without a language model: per item, the option sharing most distinct words with `prompt`.

    Follows the callable-judge contract of `journeydb.models.llm_judge.compute_qas`: each dict has `prompt`,
    `question` and `options` (four strings); one letter "A"-"D" comes back per item. Ties go to the earliest letter.
    """
    answers = []
    for item in batch:
        prompt_words = set(words(item["prompt"]))
        shared = [len(set(words(option)) & prompt_words) for option in item["options"]]
        answers.append(LETTERS[shared.index(max(shared))] if shared else LETTERS[0])
    return answers
