"""`journeydb evaluate`: score a prediction file of one task against a split of the release."""

from __future__ import annotations

import argparse
import json
import os

from journeydb.evaluation.gallery import DEFAULT_GALLERY_SIZE
from journeydb.evaluation.predictions import evaluate_predictions
from journeydb.evaluation.score import DEFAULT_RECALL_K, ScoringOptions
from journeydb.evaluation.tasks import TASK_NAMES, get_task, load_references
from journeydb.models.sentence_model import DEFAULT_EMBED_BATCH_SIZE


def add_scoring_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the scoring functions (shared with `journeydb benchmark`)."""
    g = p.add_argument_group("scoring")
    g.add_argument("--qas-model", metavar="PATH", help="judge LLM for QAS (default: the lexical baseline judge)")
    g.add_argument("--style-tree", metavar="JSON", help="style tree {category: [phrases]} for per-category recall")
    g.add_argument(
        "--similarity-model",
        default="default",
        metavar="PATH",
        help="sentence-transformers model of the Similarity score; 'default' = offline all-MiniLM-L6-v2, 'none' skips",
    )
    g.add_argument("--no-meteor", action="store_true", help="skip METEOR (it needs Java)")
    g.add_argument(
        "--meteor-jobs",
        type=int,
        metavar="N",
        help="JVMs METEOR is split over (default: one per two cores, every core for long corpora, at most 4); "
             "the scores do not depend on it",
    )
    g.add_argument(
        "--tokenizer", choices=("python", "java"), default="python", help="PTB tokenizer (default %(default)s)"
    )
    g.add_argument("--k", type=int, nargs="+", default=list(DEFAULT_RECALL_K), help="k of style recall@k")
    g.add_argument(
        "--test-annotations",
        metavar="JSONL",
        help="the withheld test ground truth (organisers only); needed to score --split test",
    )
    g.add_argument("--batch-size", type=int, default=8, help="batch size of model runs (default %(default)s)")
    g.add_argument(
        "--similarity-batch-size",
        type=int,
        default=DEFAULT_EMBED_BATCH_SIZE,
        metavar="N",
        help="texts per forward pass of the Similarity model (default %(default)s)",
    )
    g.add_argument("--device", help="torch device (default: cuda when available, else cpu)")


def add_cache_argument(p: argparse.ArgumentParser) -> None:
    """`--cache-dir` (shared with `journeydb benchmark`)."""
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="everything the run caches goes here, keyed by content: datasets' files, and under "
        "DIR/journeydb-cache the annotation index, shard listings and CLIP text features (default: datasets' cache "
        "and $JOURNEYDB_CACHE)",
    )


def apply_cache_dir(args: argparse.Namespace) -> None:
    if args.cache_dir is not None:
        from journeydb.release.cache import use_cache_dir

        use_cache_dir(args.cache_dir)


def add_gallery_argument(p: argparse.ArgumentParser) -> None:
    """`--gallery-size` of report.html (shared with `journeydb benchmark`)."""
    p.add_argument(
        "--gallery-size",
        type=int,
        default=DEFAULT_GALLERY_SIZE,
        metavar="N",
        help="report.html shows per task the N worst, N best and N random samples (default %(default)s; 0: none)",
    )


def scoring_options(args: argparse.Namespace) -> ScoringOptions:
    similarity = None if args.similarity_model.lower() == "none" else args.similarity_model
    if args.meteor_jobs is not None and args.meteor_jobs < 1:
        raise ValueError(f"--meteor-jobs must be >= 1, got {args.meteor_jobs}")
    if args.similarity_batch_size < 1:
        raise ValueError(f"--similarity-batch-size must be >= 1, got {args.similarity_batch_size}")
    if any(k < 1 for k in args.k):
        raise ValueError(f"--k values must be >= 1, got {args.k}")
    return ScoringOptions(
        similarity_model=similarity,
        meteor=not args.no_meteor,
        meteor_jobs=args.meteor_jobs,
        tokenizer=args.tokenizer,
        judge=args.qas_model,
        style_tree=args.style_tree,
        recall_k=tuple(args.k),
        batch_size=args.batch_size,
        similarity_batch_size=args.similarity_batch_size,
        device=args.device,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a prediction JSONL file of one task (paper-style table; missing/duplicate/unknown ids reported)",
        description=(
            "Predictions are JSONL: one line per image, {'image_id': ..., 'prediction': ...} (vqa: per question, "
            "with 'question_id'); a prediction is a string, or for style a list of phrases, best first. Missing ids "
            "score as wrong, duplicates use the first line, unknown ids are not scored; all are reported."
        ),
    )
    p.add_argument("--task", required=True, choices=TASK_NAMES)
    p.add_argument("--predictions", required=True, metavar="JSONL")
    p.add_argument("--data-dir", required=True, help="the release folder (contains data/)")
    p.add_argument("--split", default="validation", choices=("train", "validation", "test"), help="(default %(default)s)")
    p.add_argument("--model-name", help="row label in the tables (default: the prediction file's name)")
    p.add_argument("--out", metavar="DIR", help="also write results.json, report.md, plots and report.html here")
    p.add_argument("--strict", action="store_true", help="missing, duplicate or unknown ids are an error")
    add_cache_argument(p)
    add_gallery_argument(p)
    add_scoring_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from journeydb.release.sample import is_synthetic_release
    from journeydb.evaluation.score import judge_label
    from journeydb.evaluation.report import render_markdown, write_report

    options = scoring_options(args)
    if args.gallery_size < 0:
        raise ValueError(f"--gallery-size must be >= 0, got {args.gallery_size}")
    apply_cache_dir(args)
    refs = load_references(
        args.task, args.data_dir, args.split, cache_dir=args.cache_dir, test_annotations=args.test_annotations
    )
    entry = evaluate_predictions(
        args.predictions, refs, options, model_label=args.model_name, strict=args.strict, gallery_size=args.gallery_size
    )
    if get_task(args.task).prompts_from:  # a judged task: its rows name the judge and the prompts' model
        entry["judge"] = judge_label(options.judge)
        entry["prompt_model"] = entry["model"]
    entry["predictions"] = os.path.abspath(args.predictions)
    results = {
        "split": args.split,
        "data_dir": args.data_dir,
        "mini_release": is_synthetic_release(args.data_dir),
        "tasks": {args.task: entry},
    }
    matching = entry["matching"]
    problems = [
        f"{v['count']} {kind} (e.g. {', '.join(map(repr, v['examples']))})"
        for kind, v in matching.items()
        if v["count"]
    ]
    print(
        f"journeydb evaluate: {args.task} on {args.split}: {len(refs)} expected, "
        + ("; ".join(problems) if problems else "every id matched once")
        + (" - missing ids are scored as wrong" if matching["missing"]["count"] else "")
    )
    print(render_markdown(results, title=f"JourneyDB evaluation: {args.task}"))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, ensure_ascii=False)
            f.write("\n")
        written = write_report(
            results, args.out, title=f"JourneyDB evaluation: {args.task}", cache_dir=args.cache_dir
        )
        print(f"wrote results.json and {', '.join(os.path.basename(w) for w in written)} to {args.out}")
    return 0
