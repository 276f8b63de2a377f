"""The main job: predictions for every task (from a model or the built-in baselines), scored, tabulated, plotted.

`run_benchmark` writes each task's predictions to `<out>/predictions/<task>.jsonl`, then scores those files exactly
as `journeydb evaluate` would (the same reading, id matching and scoring code), and writes `results.json`,
`report.md` and the PNG plots.

Who predicts what:

| task | with `model` | with `clip_model` / `qas_model` | otherwise (built-in baseline) |
|---|---|---|---|
| prompt inversion | generation | | nearest training image's prompt |
| caption | generation | | nearest training image's caption |
| vqa | letter scoring (`vlm_choice`) | | answer prior |
| style | | CLIP ranking of the style vocabulary | nearest training images' styles |
| qas | (the prompt-inversion predictions) | the judge LLM | lexical judge |
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
from datasets.utils import tqdm

from .score import ScoringOptions, evaluate_predictions, judge_label
from journeydb.models.baselines import AnswerPrior, ImageIndex, StyleRanker, image_features
from .predictions import write_predictions
from .report import write_report
from .tasks import TASK_NAMES, TaskReferences, get_task, load_references

logger = logging.getLogger(__name__)

BASELINE_LABELS = {
    "prompt_inversion": "baseline (nearest training image)",
    "caption": "baseline (nearest training image)",
    "style": "baseline (nearest training images' styles)",
    "vqa": "baseline (answer prior)",
    "qas": "baseline (nearest training image)",  # the prompts judged are the prompt-inversion baseline's
}
DEFAULT_BASELINE_TRAIN_SIZE = 100_000
DEFAULT_STYLE_LIMIT = 1000


@dataclass
class BenchmarkOptions:
    """What `journeydb benchmark` runs; see `journeydb benchmark --help` for each option."""

    data_dir: Optional[str] = None  # None: the embedded synthetic mini-release
    split: str = "validation"
    out: str = "journeydb-report"
    model: Optional[str] = None
    qas_model: Optional[str] = None
    clip_model: Optional[str] = None
    tasks: Sequence[str] = TASK_NAMES
    test_annotations: Optional[str] = None
    batch_size: int = 8
    max_new_tokens: int = 60
    device: Optional[str] = None
    baseline_train_size: Optional[int] = DEFAULT_BASELINE_TRAIN_SIZE
    style_limit: int = DEFAULT_STYLE_LIMIT
    cache_dir: Optional[str] = None
    scoring: ScoringOptions = field(default_factory=ScoringOptions)

    @property
    def uses_mini_release(self) -> bool:
        return self.data_dir is None


def is_synthetic_release(data_dir: str) -> bool:
    """Whether `data_dir` is a mini-release written by `journeydb sample` (its README says so)."""
    try:
        with open(os.path.join(data_dir, "README.md"), encoding="utf-8") as f:
            return f.readline().startswith("# JourneyDB mini-release (synthetic)")
    except OSError:
        return False


def _model_label(path: str) -> str:
    return os.path.basename(os.path.normpath(path)) or path


# --------------------------------------------------------------------------------------------------------------


class _Baselines:
    """The built-in baselines fitted on the training split (its first `train_size` images, in dataset order)."""

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


def _eval_images(opts: BenchmarkOptions, data_dir: str):
    """The split's images (every labelled one), as a dataset with `image_id` and `image`."""
    from journeydb.builder.builder import load

    if opts.split == "test":
        return load(
            "test-clean",
            data_dir=data_dir,
            split="test",
            cache_dir=opts.cache_dir,
            test_annotations=opts.test_annotations,
        )
    return load("vqa", data_dir=data_dir, split=opts.split, cache_dir=opts.cache_dir)


def _baseline_predictions(
    baselines: _Baselines, images, refs: dict[str, TaskReferences], opts: BenchmarkOptions
) -> dict[str, list[dict]]:
    needed = {i for task, r in refs.items() if task != "vqa" for i in r.image_ids}
    ids, feats = [], []
    for row in tqdm(images, desc="baseline: query image features", unit="img"):
        if row["image_id"] in needed:
            ids.append(row["image_id"])
            feats.append(image_features(row["image"]))
    queries = np.stack(feats) if feats else np.zeros((0, baselines.index.features.shape[1]), np.float32)
    neighbours = dict(zip(ids, baselines.index.nearest(queries, k=baselines.styles.neighbours, query_ids=ids)))
    predictions: dict[str, list[dict]] = {}
    for task, r in refs.items():
        if task in ("prompt_inversion", "qas"):
            rows = [{"image_id": i, "prediction": baselines.prompts[neighbours[i][0]]} for i in r.ids]
        elif task == "caption":
            if baselines.caption_index is None:
                raise ValueError("caption baseline: the training split has no captions")
            nearest = baselines.caption_index.nearest(queries, k=1, query_ids=ids)
            caption_of = {i: baselines.captions[n[0]] for i, n in zip(ids, nearest)}
            rows = [{"image_id": i, "prediction": caption_of[i]} for i in r.ids]
        elif task == "style":
            rank = baselines.styles.rank
            rows = [{"image_id": i, "prediction": rank(neighbours[i], opts.style_limit)} for i in r.ids]
        else:  # vqa
            rows = [
                {
                    "question_id": qid,
                    "image_id": image_id,
                    "prediction": baselines.prior.predict({"question": q, "type": t, "options": o}),
                }
                for qid, image_id, q, t, o in zip(r.ids, r.image_ids, r.questions, r.question_types, r.options)
            ]
        predictions[task] = rows
    return predictions


def _model_predictions(
    model: Any, processor: Any, images, refs: dict[str, TaskReferences], opts: BenchmarkOptions
) -> dict[str, list[dict]]:
    """Predictions of an image-text-to-text model for the tasks it serves (prompt inversion, caption, qas, vqa)."""
    from journeydb.models.generation import INSTRUCTIONS, generate_texts

    predictions: dict[str, list[dict]] = {}
    prompt_tasks = [t for t in ("prompt_inversion", "qas") if t in refs]
    for task in (["prompt_inversion"] if prompt_tasks else []) + (["caption"] if "caption" in refs else []):
        served = prompt_tasks if task == "prompt_inversion" else [task]
        selected = _rows_in_order(images, sorted({i for t in served for i in refs[t].image_ids}))
        texts = generate_texts(
            model,
            processor,
            selected["image"],
            INSTRUCTIONS[task],
            batch_size=opts.batch_size,
            max_new_tokens=opts.max_new_tokens,
            description=f"{task}: generating",
        )
        by_id = dict(zip(selected["image_id"], texts))
        for t in served:
            predictions[t] = [{"image_id": i, "prediction": by_id[i]} for i in refs[t].ids]
    if "vqa" in refs:
        from journeydb.models.vlm_choice import answer_vqa

        answers = answer_vqa(model, processor, images, batch_size=opts.batch_size)
        wanted = set(refs["vqa"].ids)
        image_of = dict(zip(refs["vqa"].ids, refs["vqa"].image_ids))
        predictions["vqa"] = [
            {"question_id": a["question_id"], "image_id": image_of[a["question_id"]], "prediction": a["prediction"]}
            for a in answers
            if a["question_id"] in wanted
        ]
    return predictions


def _clip_style_predictions(clip_model: str, images, refs: TaskReferences, data_dir: str, opts: BenchmarkOptions):
    """CLIP ranks the style vocabulary of the training and the scored split (the paper's whole style space)."""
    from journeydb.models.clip_retrieval import rank_styles
    from journeydb.release.style_tree import read_style_vocabulary

    vocabulary = read_style_vocabulary(data_dir, splits=sorted({"train", opts.split}))
    ranking = rank_styles(
        _rows_in_order(images, refs.ids),
        vocabulary,
        clip_model,
        style_tree=opts.scoring.style_tree,
        k=max(opts.scoring.recall_k),
        batch_size=opts.batch_size,
        device=opts.device,
    )
    return [{"image_id": i, "prediction": p} for i, p in zip(refs.ids, ranking.phrase_lists(vocabulary))]


def _rows_in_order(dataset, image_ids: Sequence[str]):
    """The rows of `dataset` for `image_ids`, in that order."""
    position = {image_id: i for i, image_id in enumerate(dataset["image_id"])}
    return dataset.select([position[i] for i in image_ids])


MINI_RELEASE_STYLE_CATEGORIES = 6
NO_STYLE_TREE = "none (per-category recall needs --style-tree, e.g. from `journeydb style-tree build`)"


def _mini_release_style_tree(data_dir: str, out: str, split: str, encoder: Any = None) -> str:
    """A style tree for the mini-release (`journeydb style-tree build`'s clustering, a few categories), written to
    `<out>/style_tree.json` (+ its size plot), so the default run reports per-category recall too."""
    from journeydb.release.style_tree import read_style_vocabulary
    from journeydb.models.style_tree_builder import build_style_tree, write_style_tree

    vocabulary = read_style_vocabulary(data_dir, splits=sorted({"train", split}))
    tree = build_style_tree(vocabulary, num_categories=MINI_RELEASE_STYLE_CATEGORIES, model=encoder)
    json_path, _ = write_style_tree(tree, os.path.join(out, "style_tree.json"))
    return str(json_path)


# --------------------------------------------------------------------------------------------------------------


def run_benchmark(opts: BenchmarkOptions) -> dict[str, Any]:
    """Predict, score and report every task of `opts.tasks`; returns the results dict written to `results.json`."""
    from journeydb.release.sample import sample_dir

    for task in opts.tasks:
        get_task(task)
    data_dir = opts.data_dir or sample_dir()
    tasks = [t for t in TASK_NAMES if t in opts.tasks]
    if opts.split == "test" and "style" in tasks:
        logger.warning("style retrieval has no test ground truth; skipped on the test split")
        tasks.remove("style")
    refs = {
        task: load_references(
            task, data_dir, opts.split, cache_dir=opts.cache_dir, test_annotations=opts.test_annotations
        )
        for task in tasks
    }
    images = _eval_images(opts, data_dir)
    labels = {task: BASELINE_LABELS.get(task) for task in tasks}

    model_tasks = {"prompt_inversion", "caption", "vqa", "qas"} & set(tasks) if opts.model else set()
    predictions: dict[str, list[dict]] = {}
    if model_tasks:
        from journeydb.models.vlm_choice import load_vlm

        model, processor = load_vlm(opts.model, device=opts.device)
        predictions.update(_model_predictions(model, processor, images, {t: refs[t] for t in model_tasks}, opts))
        for task in model_tasks:
            labels[task] = _model_label(opts.model)
        del model
    baseline_tasks = [t for t in tasks if t not in model_tasks and not (t == "style" and opts.clip_model)]
    if baseline_tasks:
        baselines = _Baselines(data_dir, opts.baseline_train_size, opts.cache_dir)
        predictions.update(_baseline_predictions(baselines, images, {t: refs[t] for t in baseline_tasks}, opts))
    os.makedirs(os.path.join(opts.out, "predictions"), exist_ok=True)
    scoring = dataclasses.replace(opts.scoring)  # filled in below; the caller's options stay as given
    style_tree_note = None
    if "style" in tasks and scoring.style_tree is None and opts.uses_mini_release:
        # the tree builder's default sentence model is the default Similarity model: load it once
        encoder = scoring.sentence_encoder() if scoring.similarity_model == "default" else None
        scoring.style_tree = _mini_release_style_tree(data_dir, opts.out, opts.split, encoder)
        style_tree_note = (
            f"built for the mini-release by `journeydb style-tree build`'s clustering "
            f"({MINI_RELEASE_STYLE_CATEGORIES} categories): {os.path.basename(scoring.style_tree)}"
        )
    if opts.clip_model and "style" in tasks:
        predictions["style"] = _clip_style_predictions(opts.clip_model, images, refs["style"], data_dir, opts)
        labels["style"] = _model_label(opts.clip_model)

    if opts.qas_model:
        scoring.judge = opts.qas_model
    results: dict[str, Any] = {
        "split": opts.split,
        "data_dir": data_dir,
        "mini_release": is_synthetic_release(data_dir),
        "tasks": {},
    }
    for task in tasks:
        relative = os.path.join("predictions", f"{task}.jsonl")
        path = os.path.join(opts.out, relative)
        write_predictions(path, predictions[task])
        entry = evaluate_predictions(path, refs[task], scoring, model_label=labels[task])
        entry["predictions"] = relative
        if task == "style":
            entry["style_tree"] = style_tree_note or scoring.style_tree or NO_STYLE_TREE
        if task == "qas":
            entry["prompt_model"] = labels["qas"]
            entry["judge"] = judge_label(scoring.judge)
            entry["model"] = f"{labels['qas']} + {entry['judge']}"
        results["tasks"][task] = entry
    with open(os.path.join(opts.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, ensure_ascii=False, default=_json_default)
        f.write("\n")
    write_report(results, opts.out)
    return results


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"results.json: cannot write {type(value).__name__}")
