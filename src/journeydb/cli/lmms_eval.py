"""`journeydb lmms-eval-path` (the task folder for `lmms-eval --include_path`) and `journeydb lmms-eval-predictions`
(lmms-eval's logged samples as our prediction JSONL)."""

from __future__ import annotations

import argparse

from journeydb.integrations.lmms_eval import task_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lmms-eval-path",
        help="print the folder of the journeydb lmms-eval tasks (for lmms-eval --include_path)",
        description="Use: lmms-eval --include_path \"$(python -m journeydb lmms-eval-path)\" --tasks journeydb ... "
        "with JOURNEYDB_DATA_DIR set to the release folder.",
    )
    p.set_defaults(func=lambda args: print(task_dir()))
    p = subparsers.add_parser(
        "lmms-eval-predictions",
        help="turn lmms-eval's logged samples of a journeydb task into a prediction JSONL for `journeydb evaluate`",
    )
    p.add_argument("samples", metavar="SAMPLES_JSONL", help="lmms-eval's *_samples_journeydb_<task>.jsonl")
    p.add_argument("--out", required=True, metavar="JSONL", help="the prediction file to write")
    p.set_defaults(func=run_predictions)


def run_predictions(args: argparse.Namespace) -> int:
    from journeydb.evaluation.predictions import write_predictions
    from journeydb.integrations.lmms_eval.samples import prediction_rows

    count = write_predictions(args.out, prediction_rows(args.samples))
    print(f"wrote {count} predictions to {args.out}")
    return 0
