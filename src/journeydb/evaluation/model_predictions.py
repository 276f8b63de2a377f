"""The benchmark's model predictions, by the role the registry gives each task (`Task.model_role`).

- `generate`: the image-text-to-text model writes a text from the task's instruction (one generation pass per
  instruction: qas judges the prompt-inversion texts, `Task.prompts_from`);
- `choose`: the same model answers multiple-choice questions by letter scoring;
- `rank`: a CLIP model ranks the style vocabulary of the training and the scored split.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from .baseline_predictions import PredictionRows
from .references import TaskReferences
from .tasks import get_task


def rows_in_order(dataset: Any, image_ids: Sequence[str]) -> Any:
    """The rows of `dataset` for `image_ids`, in that order."""
    position = {image_id: i for i, image_id in enumerate(dataset["image_id"])}
    return dataset.select([position[i] for i in image_ids])


def vlm_predictions(
    model: Any,
    processor: Any,
    images: Any,
    refs: Mapping[str, TaskReferences],
    batch_size: int,
    max_new_tokens: int,
) -> dict[str, PredictionRows]:
    """Predictions of an image-text-to-text model for the tasks in `refs` whose role is `generate` or `choose`."""
    from journeydb.models.generation import INSTRUCTIONS, generate_texts

    predictions: dict[str, PredictionRows] = {}
    by_instruction: dict[str, list[str]] = {}  # instruction task -> the tasks served by its texts
    for name in refs:
        task = get_task(name)
        if task.model_role == "generate":
            by_instruction.setdefault(task.prompts_from or task.name, []).append(task.name)
    for instruction, served in by_instruction.items():
        selected = rows_in_order(images, sorted({i for t in served for i in refs[t].image_ids}))
        texts = generate_texts(
            model,
            processor,
            selected["image"],
            INSTRUCTIONS[instruction],
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            description=f"{instruction}: generating",
        )
        by_id = dict(zip(selected["image_id"], texts))
        for name in served:
            predictions[name] = [{"image_id": i, "prediction": by_id[i]} for i in refs[name].ids]
    for name in refs:
        if get_task(name).model_role == "choose":
            predictions[name] = _choices(model, processor, images, refs[name], batch_size)
    return predictions


def _choices(model: Any, processor: Any, images: Any, refs: TaskReferences, batch_size: int) -> PredictionRows:
    from journeydb.models.vlm_choice import answer_vqa

    answers = answer_vqa(model, processor, images, batch_size=batch_size)
    image_of = dict(zip(refs.ids, refs.image_ids))
    return [
        {"question_id": a["question_id"], "image_id": image_of[a["question_id"]], "prediction": a["prediction"]}
        for a in answers
        if a["question_id"] in image_of
    ]


def clip_style_predictions(
    clip_model: str,
    images: Any,
    refs: TaskReferences,
    data_dir: str,
    splits: Sequence[str],
    style_tree: Any,
    k: int,
    batch_size: int,
    device: Optional[str],
    accelerator: Any = None,
) -> PredictionRows:
    """CLIP ranks the style vocabulary of `splits` (the paper's whole style space) for each image of `refs`;
    `accelerator` (accelerate's state under a launcher) shares the images over the processes."""
    from journeydb.models.clip_retrieval import rank_styles
    from .export_source import split_style_vocabulary

    vocabulary = split_style_vocabulary(data_dir, splits)
    ranking = rank_styles(
        rows_in_order(images, refs.ids),
        vocabulary,
        clip_model,
        style_tree=style_tree,
        k=k,
        batch_size=batch_size,
        device=device,
        accelerator=accelerator,  # under a launcher: each process embeds its share of the images
    )
    return [{"image_id": i, "prediction": p} for i, p in zip(refs.ids, ranking.phrase_lists(vocabulary))]
