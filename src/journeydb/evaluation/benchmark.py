"""The main job: predictions for every task (from a model or the built-in baselines), scored, tabulated, plotted.

`run_benchmark` writes each task's predictions to `<out>/predictions/<task>.jsonl`, then scores those files exactly
as `journeydb evaluate` would (the same reading, id matching and scoring code), and writes `results.json`,
`report.md` and the PNG plots.

Who predicts what (each task's `model_role` and `predict_baseline` in the registry, `tasks.py`):

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

from journeydb.release.sample import is_synthetic_release, sample_dir

from .baseline_predictions import BaselineQueries, FittedBaselines, PredictionRows
from .gallery import DEFAULT_GALLERY_SIZE
from .model_predictions import clip_style_predictions, vlm_predictions
from .predictions import evaluate_predictions, write_predictions
from .references import TaskReferences
from .report import write_report
from .score import ScoringOptions, judge_label
from .tasks import TASK_NAMES, get_task, load_references

logger = logging.getLogger(__name__)

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
    gallery_size: int = DEFAULT_GALLERY_SIZE  # report.html: worst, best and random samples per task
    scoring: ScoringOptions = field(default_factory=ScoringOptions)

    @property
    def uses_mini_release(self) -> bool:
        return self.data_dir is None


MINI_RELEASE_STYLE_CATEGORIES = 6
NO_STYLE_TREE = "none (per-category recall needs --style-tree, e.g. from `journeydb style-tree build`)"


def _mini_release_style_tree(data_dir: str, out: str, split: str, encoder: Any = None) -> str:
    """A style tree for the mini-release (`journeydb style-tree build`'s clustering, a few categories), written to
    `<out>/style_tree.json` (+ its size plot), so the default run reports per-category recall too."""
    from journeydb.models.style_tree_builder import build_style_tree, write_style_tree
    from journeydb.release.style_tree import read_style_vocabulary

    vocabulary = read_style_vocabulary(data_dir, splits=sorted({"train", split}))
    tree = build_style_tree(vocabulary, num_categories=MINI_RELEASE_STYLE_CATEGORIES, model=encoder)
    json_path, _ = write_style_tree(tree, os.path.join(out, "style_tree.json"))
    return str(json_path)


def _model_label(path: str) -> str:
    return os.path.basename(os.path.normpath(path)) or path


def _scored_tasks(opts: BenchmarkOptions) -> list[str]:
    """`opts.tasks` in registry order, less those the split has no ground truth for (said in the log)."""
    tasks = []
    for name in TASK_NAMES:
        if name not in opts.tasks:
            continue
        if opts.split == "test" and not get_task(name).has_test_truth:
            logger.warning("%s has no test ground truth; skipped on the test split", name)
            continue
        tasks.append(name)
    return tasks


def _eval_images(opts: BenchmarkOptions, data_dir: str) -> Any:
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


def _predict(
    opts: BenchmarkOptions, data_dir: str, refs: dict[str, TaskReferences], images: Any, scoring: ScoringOptions
) -> tuple[dict[str, PredictionRows], dict[str, str]]:
    """Every task's prediction rows and the label of what made them: a model where one is given for the task's
    role, else the task's built-in baseline."""
    predictions: dict[str, PredictionRows] = {}
    labels = {name: get_task(name).baseline for name in refs}
    vlm_tasks = [n for n in refs if opts.model and get_task(n).model_role in ("generate", "choose")]
    if vlm_tasks:
        from journeydb.models.vlm_choice import load_vlm

        model, processor = load_vlm(opts.model, device=opts.device)
        served = {n: refs[n] for n in vlm_tasks}
        predictions.update(vlm_predictions(model, processor, images, served, opts.batch_size, opts.max_new_tokens))
        labels.update({n: _model_label(opts.model) for n in vlm_tasks})
        del model
    clip_tasks = [n for n in refs if opts.clip_model and get_task(n).model_role == "rank"]
    baseline_tasks = [n for n in refs if n not in vlm_tasks and n not in clip_tasks]
    if baseline_tasks:
        baselines = FittedBaselines(data_dir, opts.baseline_train_size, opts.cache_dir)
        wanted = {i for n in baseline_tasks if get_task(n).baseline_uses_image for i in refs[n].image_ids}
        queries = BaselineQueries.of(baselines, images, wanted, opts.style_limit)
        for name in baseline_tasks:
            predictions[name] = get_task(name).predict_baseline(baselines, refs[name], queries)
    for name in clip_tasks:
        predictions[name] = clip_style_predictions(
            opts.clip_model, images, refs[name], data_dir, sorted({"train", opts.split}), scoring.style_tree,
            k=max(scoring.recall_k), batch_size=opts.batch_size, device=opts.device,
        )
        labels[name] = _model_label(opts.clip_model)
    return predictions, labels


def _scoring_options(opts: BenchmarkOptions, data_dir: str, tasks: Sequence[str]) -> tuple[ScoringOptions, Optional[str]]:
    """The caller's scoring options (left as given), completed for this run: the judge of `--qas-model`, and on the
    mini-release a style tree of its own (with the note the report shows)."""
    scoring = dataclasses.replace(opts.scoring)
    if opts.qas_model:
        scoring.judge = opts.qas_model
    note = None
    ranked = any(get_task(t).ranked for t in tasks)
    if ranked and scoring.style_tree is None and opts.uses_mini_release:
        # the tree builder's default sentence model is the default Similarity model: load it once
        encoder = scoring.sentence_encoder() if scoring.similarity_model == "default" else None
        scoring.style_tree = _mini_release_style_tree(data_dir, opts.out, opts.split, encoder)
        note = (
            f"built for the mini-release by `journeydb style-tree build`'s clustering "
            f"({MINI_RELEASE_STYLE_CATEGORIES} categories): {os.path.basename(scoring.style_tree)}"
        )
    return scoring, note


def _result_entry(
    name: str, path: str, relative: str, refs: TaskReferences, scoring: ScoringOptions, labels: dict[str, str],
    style_tree_note: Optional[str], gallery_size: int = DEFAULT_GALLERY_SIZE,
) -> dict[str, Any]:
    task = get_task(name)
    entry = evaluate_predictions(path, refs, scoring, model_label=labels[name], gallery_size=gallery_size)
    entry["predictions"] = relative
    if task.ranked:
        entry["style_tree"] = style_tree_note or scoring.style_tree or NO_STYLE_TREE
    if task.prompts_from:
        entry["prompt_model"] = labels[name]
        entry["judge"] = judge_label(scoring.judge)
        entry["model"] = f"{labels[name]} + {entry['judge']}"
    return entry


def run_benchmark(opts: BenchmarkOptions) -> dict[str, Any]:
    """Predict, score and report every task of `opts.tasks`; returns the results dict written to `results.json`."""
    for name in opts.tasks:
        get_task(name)
    data_dir = opts.data_dir or sample_dir()
    tasks = _scored_tasks(opts)
    refs = {
        name: load_references(
            name, data_dir, opts.split, cache_dir=opts.cache_dir, test_annotations=opts.test_annotations
        )
        for name in tasks
    }
    images = _eval_images(opts, data_dir)
    os.makedirs(os.path.join(opts.out, "predictions"), exist_ok=True)
    scoring, style_tree_note = _scoring_options(opts, data_dir, tasks)
    predictions, labels = _predict(opts, data_dir, refs, images, scoring)
    results: dict[str, Any] = {
        "split": opts.split,
        "data_dir": data_dir,
        "mini_release": is_synthetic_release(data_dir),
        "tasks": {},
    }
    for name in tasks:
        relative = os.path.join("predictions", f"{name}.jsonl")
        path = os.path.join(opts.out, relative)
        write_predictions(path, predictions[name])
        results["tasks"][name] = _result_entry(
            name, path, relative, refs[name], scoring, labels, style_tree_note, opts.gallery_size
        )
    with open(os.path.join(opts.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, ensure_ascii=False, default=_json_default)
        f.write("\n")
    write_report(results, opts.out, images=images)
    return results


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"results.json: cannot write {type(value).__name__}")
