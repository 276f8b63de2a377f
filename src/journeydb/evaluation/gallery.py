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
from typing import Any, Optional, Sequence

from journeydb.scoring.style import normalize_style

from .references import TaskReferences
from .score import TaskScore
from .tasks import get_task

DEFAULT_GALLERY_SIZE = 100
GALLERY_SEED = 0
_SCORE_NAMES = {"bleu_4": "BLEU-4", "meteor": "METEOR", "cider": "CIDEr", "similarity": "Similarity"}


def _number(value: Any) -> Optional[float]:
    """A JSON-safe score: NaN (no value for this sample) becomes None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _text_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> list[dict]:
    rank_key = "similarity" if "similarity" in score.samples else "cider"
    cards = []
    for i, image_id in enumerate(refs.ids):
        scores = {_SCORE_NAMES[k]: _number(v[i]) for k, v in score.samples.items()}
        cards.append(
            {"image_id": image_id, "rank": _number(score.samples[rank_key][i]), "rank_name": _SCORE_NAMES[rank_key],
             "references": [refs.references[i]], "prediction": predictions[i], "scores": scores}
        )
    return cards


def _style_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> list[dict]:
    ks = sorted(int(k.split("@")[1]) for k in score.samples)
    top_k = ks[-1]
    cards = []
    for i, image_id in enumerate(refs.ids):
        gold = {normalize_style(p) for p in refs.references[i]} - {""}
        top = list(dict.fromkeys(p for p in map(normalize_style, predictions[i]) if p))[:top_k]
        scores = {f"recall@{k}": _number(score.samples[f"recall@{k}"][i]) for k in ks}
        cards.append(
            {"image_id": image_id, "rank": scores[f"recall@{top_k}"], "rank_name": f"recall@{top_k}",
             "references": list(refs.references[i]), "prediction": top, "hits": [p for p in top if p in gold],
             "scores": scores}
        )
    return cards


def _vqa_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> list[dict]:
    by_image: dict[str, dict] = {}
    for i, image_id in enumerate(refs.image_ids):
        card = by_image.setdefault(image_id, {"image_id": image_id, "rank_name": "accuracy", "questions": []})
        card["questions"].append(
            {"question_id": refs.ids[i], "type": refs.question_types[i], "question": refs.questions[i],
             "options": refs.options[i], "reply": predictions[i], "chosen": score.samples["letter"][i],
             "correct": refs.references[i], "right": bool(score.samples["correct"][i])}
        )
    for card in by_image.values():
        questions = card["questions"]
        card["rank"] = sum(q["right"] for q in questions) / len(questions)
        card["scores"] = {"accuracy": card["rank"]}
    return list(by_image.values())


def _qas_cards(refs: TaskReferences, predictions: Sequence[Any], score: TaskScore) -> list[dict]:
    cards = []
    for i, image_id in enumerate(refs.ids):
        scores = {"QAS_s": _number(score.samples["qas_style"][i]), "QAS_c": _number(score.samples["qas_content"][i])}
        defined = [v for v in scores.values() if v is not None]
        questions = [
            {"type": q["type"], "question": q["question"], "options": list(q["options"]), "chosen": answer,
             "correct": q["answer"], "right": isinstance(answer, str) and answer.strip() == q["answer"]}
            for q, answer in zip(refs.references[i], score.samples["answers"][i])
        ]
        cards.append(
            {"image_id": image_id, "rank": sum(defined) / len(defined) if defined else None, "rank_name": "QAS",
             "prediction": predictions[i], "questions": questions, "scores": scores}
        )
    return cards


_CARDS = {"text": _text_cards, "phrases": _style_cards, "letter": _vqa_cards, "questions": _qas_cards}


def select(cards: list[dict], size: int, seed: int = GALLERY_SEED) -> list[dict]:
    """The `size` worst and best cards by `rank` (ties by image id; with fewer than 2 x `size`, half each), and
    `size` seeded draws from the rest; cards without a rank (e.g. no gold phrase) can only be drawn. Each chosen
    card is marked with its `group`."""
    ranked = sorted((c for c in cards if c["rank"] is not None), key=lambda c: (c["rank"], c["image_id"]))
    worst = ranked[: min(size, math.ceil(len(ranked) / 2))]  # a small split shows both ends, not only the worst
    best = ranked[len(worst) :][-size:] if size else []
    chosen = {c["image_id"] for c in worst + best}
    rest = sorted((c for c in cards if c["image_id"] not in chosen), key=lambda c: c["image_id"])
    drawn = random.Random(seed).sample(rest, min(size, len(rest)))
    groups = [("worst", worst), ("best", best[::-1]), ("random", sorted(drawn, key=lambda c: c["image_id"]))]
    return [dict(card, group=name) for name, part in groups for card in part]


def build_gallery(
    references: TaskReferences, predictions: Sequence[Any], score: TaskScore, size: int = DEFAULT_GALLERY_SIZE
) -> list[dict]:
    """The gallery cards of one scored task (see the module docstring); `size` 0 gives none."""
    if size < 0:
        raise ValueError(f"gallery size must be >= 0, got {size}")
    if not size or not score.samples:
        return []
    make = _CARDS[get_task(references.task).reference_kind]
    return select(make(references, predictions, score), size)
