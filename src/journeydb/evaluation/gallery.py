"""The report's per-sample gallery: which samples of a task it shows, and what each card says.

Per task, the `size` worst and `size` best images by the task's ranking score, plus `size` drawn from the rest with a
fixed seed (the same run gives the same gallery). One card per image; a vqa card holds the image's questions.
Cards are plain JSON (no image bytes: `report_html` adds the thumbnails), kept in `results.json` under `gallery`.

| task | ranked by | card |
|---|---|---|
| `prompt_inversion`, `caption` | Similarity, else CIDEr | reference, prediction, BLEU-4 / METEOR / CIDEr / Similarity |
| `style` | recall@max(k) | gold phrases, the top max(k) predicted, the hit phrases, recall@k |
| `vqa` | the image's accuracy | each question: type, options, chosen and correct letter |
| `qas` | mean of QAS_s and QAS_c | the judged prompt; each question: the judge's and the correct letter |
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pyarrow.compute as pc

from journeydb.scoring.style import normalize_style

from .columns import TEXT, arrow_of
from .references import TaskReferences
from .score import TaskScore, accuracy_by_image
from .tasks import get_task

DEFAULT_GALLERY_SIZE = 100
GALLERY_SEED = 0
_SCORE_NAMES = {"bleu_4": "BLEU-4", "meteor": "METEOR", "cider": "CIDEr", "similarity": "Similarity"}


def _number(value: Any) -> Optional[float]:
    """A JSON-safe score: NaN (no value for this sample) becomes None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


@dataclass(frozen=True)
class Ranked:
    """Every card's image id and rank (NaN: none), as arrays: a split has 234k images, a gallery 300, so only the
    chosen cards are built (`card(k)`), and the ranking makes no Python object per image."""

    image_ids: Sequence[str]
    ranks: np.ndarray  # (N,) float64


def _ranks(values: Sequence[Any]) -> np.ndarray:
    return np.array(values, dtype=np.float64)  # None becomes NaN


def _text_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> tuple[Ranked, Callable]:
    rank_key = "similarity" if "similarity" in score.samples else "cider"
    ranked = Ranked(refs.ids, _ranks(score.samples[rank_key]))

    def card(i: int) -> dict:
        scores = {_SCORE_NAMES[k]: _number(v[i]) for k, v in score.samples.items()}
        return {"image_id": refs.ids[i], "rank": _number(score.samples[rank_key][i]),
                "rank_name": _SCORE_NAMES[rank_key], "references": [refs.references[i]], "prediction": predictions[i],
                "scores": scores}

    return ranked, card


def _style_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> tuple[Ranked, Callable]:
    ks = sorted(int(k.split("@")[1]) for k in score.samples)
    top_k = ks[-1]
    ranked = Ranked(refs.ids, _ranks(score.samples[f"recall@{top_k}"]))

    def card(i: int) -> dict:
        gold = {normalize_style(p) for p in refs.references[i]} - {""}
        top = list(dict.fromkeys(p for p in map(normalize_style, predictions[i]) if p))[:top_k]
        scores = {f"recall@{k}": _number(score.samples[f"recall@{k}"][i]) for k in ks}
        return {"image_id": refs.ids[i], "rank": scores[f"recall@{top_k}"], "rank_name": f"recall@{top_k}",
                "references": list(refs.references[i]), "prediction": top, "hits": [p for p in top if p in gold],
                "scores": scores}

    return ranked, card


def _vqa_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> tuple[Ranked, Callable]:
    # one card per image, in order of its first question; its rank is its accuracy over its questions
    grouped = accuracy_by_image(refs.image_ids, score.samples["correct"])
    image_of_question, images = grouped.image_of_question, grouped.images
    questions_by_image = np.argsort(image_of_question, kind="stable")
    first_question = np.searchsorted(image_of_question[questions_by_image], np.arange(len(images) + 1))

    def card(k: int) -> dict:
        questions = [
            {"question_id": refs.ids[i], "type": refs.question_types[i], "question": refs.questions[i],
             "options": refs.options[i], "reply": predictions[i], "chosen": score.samples["letter"][i],
             "correct": refs.references[i], "right": bool(score.samples["correct"][i])}
            for i in questions_by_image[first_question[k] : first_question[k + 1]].tolist()
        ]
        rank = sum(q["right"] for q in questions) / len(questions)
        return {"image_id": images[k], "rank_name": "accuracy", "questions": questions, "rank": rank,
                "scores": {"accuracy": rank}}

    return Ranked(images, grouped.accuracy), card


def _qas_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> tuple[Ranked, Callable]:
    def scores_of(i: int) -> dict:
        return {"QAS_s": _number(score.samples["qas_style"][i]), "QAS_c": _number(score.samples["qas_content"][i])}

    # the mean of the defined ones, (a + b) / 2 or a / 1; the cards read their rank from here too
    style, content = _ranks(score.samples["qas_style"]), _ranks(score.samples["qas_content"])
    defined = (~np.isnan(style)).astype(np.float64) + ~np.isnan(content)
    with np.errstate(invalid="ignore"):  # 0 / 0: neither defined, no rank
        ranked = Ranked(refs.ids, (np.nan_to_num(style) + np.nan_to_num(content)) / defined)

    def card(i: int) -> dict:
        questions = [
            {"type": q["type"], "question": q["question"], "options": list(q["options"]), "chosen": answer,
             "correct": q["answer"], "right": isinstance(answer, str) and answer.strip() == q["answer"]}
            for q, answer in zip(refs.references[i], score.samples["answers"][i])
        ]
        scores = scores_of(i)
        return {"image_id": refs.ids[i], "rank": _number(ranked.ranks[i]), "rank_name": "QAS", "prediction": predictions[i],
                "questions": questions, "scores": scores}

    return ranked, card


_CARDS = {"text": _text_cards, "phrases": _style_cards, "letter": _vqa_cards, "questions": _qas_cards}


def choose(ranked: Ranked, size: int, seed: int = GALLERY_SEED) -> list[tuple[int, str]]:
    """(position, group) of the chosen cards: the `size` worst and best by rank (ties by image id; with fewer than
    2 x `size`, half each), and `size` seeded draws from the rest in image-id order; a card without a rank (e.g. no
    gold phrase) can only be drawn."""
    by_id = np.asarray(pc.sort_indices(arrow_of(ranked.image_ids, TEXT)))  # stable; UTF-8 byte order is code point order, Python's str order
    id_rank = np.empty(len(by_id), dtype=np.int64)
    id_rank[by_id] = np.arange(len(by_id))
    ranks = np.asarray(ranked.ranks, dtype=np.float64)
    defined = np.flatnonzero(~np.isnan(ranks))
    order = defined[np.lexsort((id_rank[defined], ranks[defined]))].tolist()
    worst = order[: min(size, math.ceil(len(order) / 2))]  # a small split shows both ends, not only the worst
    best = order[len(worst) :][-size:] if size else []
    taken = np.zeros(len(ranks), dtype=bool)
    taken[worst + best] = True
    rest = by_id[~taken[by_id]].tolist()
    drawn = random.Random(seed).sample(rest, min(size, len(rest)))
    groups = [("worst", worst), ("best", best[::-1]), ("random", sorted(drawn, key=ranked.image_ids.__getitem__))]
    return [(i, name) for name, part in groups for i in part]


def select(cards: list[dict], size: int, seed: int = GALLERY_SEED) -> list[dict]:
    """`choose` over built cards (each with `image_id` and `rank`), each chosen card marked with its `group`."""
    ranked = Ranked([c["image_id"] for c in cards], _ranks([c["rank"] for c in cards]))
    return [dict(cards[i], group=name) for i, name in choose(ranked, size, seed)]


def build_gallery(
    references: TaskReferences, predictions: Sequence[Any], score: TaskScore, size: int = DEFAULT_GALLERY_SIZE
) -> list[dict]:
    """The gallery cards of one scored task (see the module docstring); `size` 0 gives none."""
    if size < 0:
        raise ValueError(f"gallery size must be >= 0, got {size}")
    if not size or not score.samples:
        return []
    ranked, card = _CARDS[get_task(references.task).reference_kind](references, predictions, score)
    return [dict(card(i), group=name) for i, name in choose(ranked, size)]
