"""`journeydb benchmark`: run a model (or the built-in baselines) on every task, score, print the paper's tables."""

from __future__ import annotations

import argparse
import os
from typing import Optional

from journeydb.evaluation.benchmark import (
    DEFAULT_BASELINE_TRAIN_SIZE,
    DEFAULT_STYLE_LIMIT,
    BenchmarkOptions,
    run_benchmark,
)
from journeydb.evaluation.tasks import TASK_NAMES
from journeydb.models.sharding import process_layout
from .evaluate import add_cache_argument, add_gallery_argument, add_scoring_arguments, apply_cache_dir, scoring_options


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "benchmark",
        help="the main job: predict, score and report every task (no arguments: baselines on the mini-release)",
        description=(
            "Runs a transformers image-text-to-text model (--model: prompt inversion, captioning, VQA), a CLIP model "
            "(--clip-model: style retrieval) and a judge LLM (--qas-model: QAS) on a split of the release, writes "
            "their predictions, scores them and prints tables laid out like the paper's Tables 3-6 and 8. Tasks "
            "without a model use the offline built-in baselines, labelled as such. Without arguments it runs the "
            "baselines on the embedded synthetic mini-release."
        ),
    )
    p.add_argument("--data-dir", help="the release folder (contains data/); default: the embedded mini-release")
    p.add_argument("--split", default="validation", choices=("train", "validation", "test"), help="(default %(default)s)")
    p.add_argument("--model", metavar="PATH", help="image-text-to-text model (BLIP-2, or any with a chat template)")
    p.add_argument("--clip-model", metavar="PATH", help="CLIP model ranking the style vocabulary")
    p.add_argument(
        "--tasks", nargs="+", choices=TASK_NAMES, default=list(TASK_NAMES), help="tasks to run (default: all)"
    )
    p.add_argument("--out", default="journeydb-report", metavar="DIR", help="output folder (default ./%(default)s)")
    p.add_argument("--max-new-tokens", type=int, default=60, help="generation budget (default %(default)s)")
    p.add_argument(
        "--baseline-train-size",
        type=int,
        default=DEFAULT_BASELINE_TRAIN_SIZE,
        help="training images the baselines search (the first N, default %(default)s)",
    )
    p.add_argument(
        "--style-limit",
        type=int,
        default=DEFAULT_STYLE_LIMIT,
        help="ranked style phrases kept per image (default: what the scores need, the top max(--k) overall and in "
        "each style category)",
    )
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="score only N images of the split: those with the smallest SHA-256 of image_id (the same N for every "
        "task, model and run)",
    )
    add_gallery_argument(p)
    add_cache_argument(p)
    add_scoring_arguments(p)
    p.set_defaults(func=run)


def _first_line(opts: BenchmarkOptions, data_dir: str) -> str:
    if opts.uses_mini_release and not (opts.model or opts.clip_model or opts.qas_model):
        return (
            f"journeydb benchmark: built-in offline baselines (not the paper's models) on the embedded synthetic "
            f"mini-release ({data_dir}), split {opts.split}"
        )
    served = []
    if opts.model:
        served.append(f"{opts.model} for prompt inversion, captioning and VQA")
    if opts.clip_model:
        served.append(f"{opts.clip_model} for style retrieval")
    if opts.qas_model:
        served.append(f"{opts.qas_model} as QAS judge")
    where = "the embedded synthetic mini-release" if opts.uses_mini_release else data_dir
    return (
        f"journeydb benchmark: {'; '.join(served) or 'built-in offline baselines (not the paper models)'}"
        + ("; built-in baselines for the rest" if served else "")
        + f"; on {where}, split {opts.split}"
    )


def _start_processes(device: Optional[str]) -> None:
    """Under `accelerate launch` / torchrun, start accelerate's state; on CPU it goes distributed only when asked
    (gloo), which is how the processes of a run without GPUs share the work."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return
    import torch
    from accelerate import PartialState

    PartialState(cpu=device == "cpu" or not torch.cuda.is_available())


def run(args: argparse.Namespace) -> int:
    from journeydb.evaluation.report import render_markdown
    from journeydb.release.sample import sample_dir

    if args.baseline_train_size is not None and args.baseline_train_size < 1:
        raise ValueError(f"--baseline-train-size must be >= 1, got {args.baseline_train_size}")
    if args.gallery_size < 0:
        raise ValueError(f"--gallery-size must be >= 0, got {args.gallery_size}")
    opts = BenchmarkOptions(
        data_dir=args.data_dir,
        split=args.split,
        out=args.out,
        model=args.model,
        qas_model=args.qas_model,
        clip_model=args.clip_model,
        tasks=args.tasks,
        test_annotations=args.test_annotations,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        device=args.device,
        baseline_train_size=args.baseline_train_size,
        style_limit=args.style_limit,
        gallery_size=args.gallery_size,
        cache_dir=args.cache_dir,
        limit=args.limit,
        scoring=scoring_options(args),
    )
    if opts.split == "test" and not opts.test_annotations:
        raise ValueError(
            "the release withholds the test ground truth: pass --test-annotations, or use --split validation"
        )
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    apply_cache_dir(args)
    _start_processes(args.device)
    main = process_layout().process_index == 0  # under a launcher the main process alone prints
    if main:
        print(_first_line(opts, args.data_dir or sample_dir()), flush=True)
    results = run_benchmark(opts)
    if not main:
        return 0
    print(render_markdown(results))
    files = sorted(os.path.relpath(os.path.join(root, f), opts.out) for root, _, fs in os.walk(opts.out) for f in fs
                   if not f.startswith("."))  # not the resume states
    print(f"wrote to {opts.out}: {', '.join(files)}")
    return 0
