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
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from journeydb.release.sample import is_synthetic_release, sample_dir
from journeydb.release.style_tree import load_style_tree, phrase_categories

from journeydb.models.sharding import ProcessLayout, process_layout

from .baseline_predictions import BaselineQueries, FittedBaselines, PredictionRows
from .gallery import DEFAULT_GALLERY_SIZE
from .model_predictions import clip_style_predictions, vlm_predictions
from .predictions import align_predictions, evaluate_predictions, read_predictions
from .references import TaskReferences
from .report import write_report
from .resumable import ChunkedPredictions, fingerprint
from .score import ScoringOptions, judge_label
from .subset import limited_image_ids, references_by_chunk, subset_references
from .tasks import TASK_NAMES, get_task, load_references, score_task
from .timing import count_stage as _count, write_timing

logger = logging.getLogger(__name__)

DEFAULT_BASELINE_TRAIN_SIZE = 100_000
DEFAULT_STYLE_LIMIT: Optional[int] = None  # the style baseline writes what recall needs
DEFAULT_CHUNK_SIZE = 1024


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
    style_limit: Optional[int] = DEFAULT_STYLE_LIMIT
    cache_dir: Optional[str] = None
    gallery_size: int = DEFAULT_GALLERY_SIZE  # report.html: worst, best and random samples per task
    limit: Optional[int] = None  # score only this many images (`subset.limited_image_ids`)
    chunk_size: int = DEFAULT_CHUNK_SIZE  # images per appended chunk of predictions (the unit of resuming)
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
    from .export_source import split_style_vocabulary

    vocabulary = split_style_vocabulary(data_dir, sorted({"train", split}))
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
    """The split's images as a dataset with `image_id` and `image`; under `--limit` (on a raw release) only the
    subset's, chosen from the annotation file: a shard holding none of them is not opened."""
    from .export_source import is_export_folder, open_split

    config, kwargs = ("test-clean", {"test_annotations": opts.test_annotations}) if opts.split == "test" else ("vqa", {})
    if opts.limit is not None and not is_export_folder(data_dir):
        from .annotation_rows import annotation_rows

        annotated = [row["image_id"] for _, row in annotation_rows(data_dir, opts.split, config, **kwargs)]
        kwargs["image_ids"] = tuple(sorted(limited_image_ids(annotated, opts.limit)))
        logger.info("--limit %d: preparing %d of the split's %d annotated images", opts.limit,
                    len(kwargs["image_ids"]), len(annotated))
    images = open_split(config, data_dir, opts.split, cache_dir=opts.cache_dir, **kwargs)
    if len(kwargs.get("image_ids", ())) > len(images):  # the builder's warning names them
        logger.warning("--limit %d: only %d of the subset's images are in the shards", opts.limit, len(images))
    return images


def _from_main(layout: ProcessLayout, value: Any) -> Any:
    """The main process's `value`, on every process (the sharding helper's gather of a one-unit share)."""
    if layout.num_processes == 1:
        return value
    return layout.gather(layout.share([value]))[0]


class _ChunkPlan:
    """The scored images in dataset order, cut into chunks of `chunk_size`: the unit of resumable writing."""

    def __init__(self, images: Any, scored: Sequence[str], chunk_size: int) -> None:
        self.images = images
        self.position = {image_id: k for k, image_id in enumerate(images["image_id"])}
        self.chunks = [list(scored[s : s + chunk_size]) for s in range(0, len(scored), chunk_size)]
        self.chunk_of = {image_id: c for c, ids in enumerate(self.chunks) for image_id in ids}
        self.digest = fingerprint({"chunks": self.chunks})

    def rows(self, chunk: int) -> Any:
        """The chunk's image rows (nothing decoded until read)."""
        return self.images.select([self.position[i] for i in self.chunks[chunk]])


def _settings(
    opts: BenchmarkOptions, name: str, labels: dict[str, str], plan: _ChunkPlan, data_dir: str, scoring: ScoringOptions
) -> str:
    """The fingerprint of everything that decides task `name`'s predictions."""
    settings = {
        "task": name, "split": opts.split, "data_dir": os.path.abspath(data_dir), "chunks": plan.digest,
        "predictor": labels[name],
    }
    role = get_task(name).model_role
    if labels[name] == get_task(name).baseline:
        settings.update(train_size=opts.baseline_train_size)
        if get_task(name).ranked:
            settings.update(style_limit=opts.style_limit, k=max(scoring.recall_k), style_tree=scoring.style_tree)
    elif role == "rank":
        settings.update(model=opts.clip_model, k=max(scoring.recall_k), style_tree=scoring.style_tree)
    else:
        settings.update(model=opts.model, batch=opts.batch_size, tokens=opts.max_new_tokens)
    return fingerprint(settings)


def _predict(
    opts: BenchmarkOptions,
    data_dir: str,
    refs: dict[str, TaskReferences],
    plan: _ChunkPlan,
    layout: ProcessLayout,
    scoring: ScoringOptions,
    stages: dict[str, dict[str, Any]],
) -> dict[str, str]:
    """Every task's predictions appended chunk by chunk to `<out>/predictions/<task>.jsonl` (resumed where a
    previous run stopped); returns the label of what made each: a model where one is given for the task's role,
    else the task's built-in baseline. Model stages run on every process (each its share); the main process alone
    writes, and alone runs the baselines."""
    labels = {name: get_task(name).baseline for name in refs}
    vlm_tasks = [n for n in refs if opts.model and get_task(n).model_role in ("generate", "choose")]
    clip_tasks = [n for n in refs if opts.clip_model and get_task(n).model_role == "rank"]
    labels.update({n: _model_label(opts.model) for n in vlm_tasks})
    labels.update({n: _model_label(opts.clip_model) for n in clip_tasks})
    main = layout.process_index == 0
    files: dict[str, ChunkedPredictions] = {}
    done: dict[str, int] = {}
    for name in refs:
        chunks = 1 if name in clip_tasks else len(plan.chunks)  # CLIP ranks the vocabulary once: one chunk
        if main:
            path = os.path.join(opts.out, "predictions", f"{name}.jsonl")
            files[name] = ChunkedPredictions(path, _settings(opts, name, labels, plan, data_dir, scoring), chunks, name)
        done[name] = _from_main(layout, files[name].done_chunks if main else None)
    by_chunk = {n: references_by_chunk(refs[n], plan.chunk_of, len(plan.chunks)) for n in refs}
    derived = [n for n in refs if get_task(n).prompts_from in refs]  # qas judges the prompt-inversion texts

    def append(name: str, chunk: int, rows: PredictionRows, started: float) -> None:
        _count(stages, name, time.perf_counter() - started, len(rows))
        if main:
            files[name].append(chunk, rows)

    generated = [n for n in vlm_tasks if n not in derived and done[n] < len(plan.chunks)]
    if generated:
        from journeydb.models.vlm_choice import load_vlm

        model, processor = load_vlm(opts.model, device=opts.device)
        for name in generated:
            for chunk in range(done[name], len(plan.chunks)):
                started = time.perf_counter()
                served = {name: by_chunk[name][chunk]}
                rows = vlm_predictions(model, processor, plan.rows(chunk), served, opts.batch_size, opts.max_new_tokens)
                append(name, chunk, rows[name], started)
        del model
    for name in clip_tasks:
        if done[name] == 0:
            started = time.perf_counter()
            rows = clip_style_predictions(
                opts.clip_model, plan.images, refs[name], data_dir, sorted({"train", opts.split}),
                scoring.style_tree, k=max(scoring.recall_k), batch_size=opts.batch_size, device=opts.device,
                accelerator=_accelerator(layout),
            )
            append(name, 0, rows, started)
    baseline_tasks = [n for n in refs if n not in vlm_tasks and n not in clip_tasks and n not in derived]
    pending = [n for n in baseline_tasks if done[n] < len(plan.chunks)]
    if main and pending:
        baselines = FittedBaselines(data_dir, opts.baseline_train_size, cache_dir=opts.cache_dir)
        tree = scoring.style_tree
        categories = phrase_categories(load_style_tree(tree)) if tree is not None else None
        for chunk in range(min(done[n] for n in pending), len(plan.chunks)):
            names = [n for n in pending if done[n] <= chunk]
            wanted = {i for n in names if get_task(n).baseline_uses_image for i in by_chunk[n][chunk].image_ids}
            started = time.perf_counter()
            rows = plan.rows(chunk) if wanted else []  # a task that needs no image decodes none
            queries = BaselineQueries.of(
                baselines, rows, wanted, opts.style_limit, max(scoring.recall_k), categories
            )
            _count(stages, "baseline: image features and neighbours", time.perf_counter() - started, len(queries.ids))
            for name in names:
                started = time.perf_counter()
                append(name, chunk, get_task(name).predict_baseline(baselines, by_chunk[name][chunk], queries),
                       started)
    for name in derived:
        if main and done[name] < len(plan.chunks):
            source = {line.key: line.prediction for line in read_predictions(files[get_task(name).prompts_from].path,
                                                                             get_task(name).prompts_from)}
            labels[name] = labels[get_task(name).prompts_from]
            for chunk in range(done[name], len(plan.chunks)):
                started = time.perf_counter()
                rows = [{"image_id": i, "prediction": source[i]} for i in by_chunk[name][chunk].ids if i in source]
                append(name, chunk, rows, started)  # an image without a predicted prompt is missing, and counted
        labels[name] = labels[get_task(name).prompts_from]
    return labels


def _accelerator(layout: ProcessLayout) -> Any:
    """accelerate's state under a launcher (what `rank_styles` shards by), else None (one process)."""
    if not layout.distributed:
        return None
    from accelerate import PartialState

    return PartialState()


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
    style_tree_note: Optional[str],
    layout: ProcessLayout,
    gallery_size: int = DEFAULT_GALLERY_SIZE,
) -> dict[str, Any]:
    task = get_task(name)
    if name == "qas" and layout.num_processes > 1:
        aligned = align_predictions(read_predictions(path, name), refs.ids, name, source=path)
        _from_main(layout, (aligned.predictions, aligned.present))
    entry = evaluate_predictions(path, refs, scoring, model_label=labels[name], gallery_size=gallery_size)
    entry["predictions"] = relative
    if task.ranked:
        entry["style_tree"] = style_tree_note or scoring.style_tree or NO_STYLE_TREE
    if task.prompts_from:
        entry["prompt_model"] = labels[name]
        entry["judge"] = judge_label(scoring.judge)
        entry["model"] = f"{labels[name]} + {entry['judge']}"
    return entry


def _scored_image_ids(opts: BenchmarkOptions, images: Any) -> list[str]:
    """The split's image ids in dataset order; under `--limit` only the subset (`subset.limited_image_ids`)."""
    ids = list(images["image_id"])
    if opts.limit is None:
        return ids
    keep = limited_image_ids(ids, opts.limit)
    logger.info("--limit %d: scoring %d of the %d images read (smallest SHA-256 of image_id)", opts.limit,
                len(keep), len(ids))
    return [i for i in ids if i in keep]


def run_benchmark(opts: BenchmarkOptions) -> dict[str, Any]:
    """Predict, score and report every task of `opts.tasks`; returns the results dict written to `results.json`.

    Under `accelerate launch` / torchrun every process must call it with the same options: the model stages share
    their work over the processes, the main process alone writes and scores (the QAS judge is shared too) and
    returns the results; the other processes return an empty dict."""
    for name in opts.tasks:
        get_task(name)
    if opts.chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {opts.chunk_size}")
    layout = process_layout()
    main = layout.process_index == 0
    data_dir = opts.data_dir or sample_dir()
    tasks = _scored_tasks(opts)
    images = _eval_images(opts, data_dir)
    scored = _scored_image_ids(opts, images)
    refs = {
        name: load_references(
            name, data_dir, opts.split, cache_dir=opts.cache_dir, test_annotations=opts.test_annotations
        )
        for name in tasks
    }
    if opts.limit is not None:
        refs = {name: subset_references(r, set(scored)) for name, r in refs.items()}
    if main:
        os.makedirs(os.path.join(opts.out, "predictions"), exist_ok=True)
        scoring, style_tree_note = _scoring_options(opts, data_dir, tasks)
    else:
        scoring, style_tree_note = dataclasses.replace(opts.scoring), None
    scoring.style_tree, style_tree_note = _from_main(layout, (scoring.style_tree, style_tree_note))
    if opts.qas_model:
        scoring.judge = opts.qas_model
    stages: dict[str, dict[str, Any]] = {}
    labels = _predict(opts, data_dir, refs, _ChunkPlan(images, scored, opts.chunk_size), layout, scoring, stages)
    entries: dict[str, Any] = {}
    # the judge is shared over the processes: QAS is scored first, while they are all here, and the others leave
    for name in sorted(tasks, key=lambda n: n != "qas"):
        relative = os.path.join("predictions", f"{name}.jsonl")
        if name == "qas" and not main:
            _judge_share(layout, refs[name], scoring)
        elif main:
            path = os.path.join(opts.out, relative)
            entry = _result_entry(
                name, path, relative, refs[name], scoring, labels, style_tree_note, layout, opts.gallery_size
            )
            entries[name] = entry
    if not main:
        return {}
    results: dict[str, Any] = {
        "split": opts.split,
        "data_dir": data_dir,
        "mini_release": is_synthetic_release(data_dir),
        "tasks": {name: entries[name] for name in tasks},
    }
    if opts.limit is not None:
        results["limit"] = {"requested": opts.limit, "images": len(scored), "rule": "smallest SHA-256 of image_id"}
    with open(os.path.join(opts.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, ensure_ascii=False, default=_json_default)
        f.write("\n")
    uses_model = bool(opts.model or opts.clip_model or opts.qas_model)
    timing = write_timing(os.path.join(opts.out, "timing.json"), stages, layout.num_processes, opts.device, uses_model)
    write_report(results, opts.out, images=images, timing=timing, cache_dir=opts.cache_dir)
    return results


def _judge_share(layout: ProcessLayout, refs: TaskReferences, scoring: ScoringOptions) -> None:
    """A process other than the main one: its share of the QAS judge, on the predictions the main process read."""
    predictions, present = _from_main(layout, None)
    score_task(refs, predictions, scoring, present=present)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"results.json: cannot write {type(value).__name__}")
