"""`journeydb export DATA_DIR OUT`: Parquet files and a dataset card that `datasets.load_dataset(OUT, config)` reads."""

from __future__ import annotations

import argparse

from journeydb.builder.builder import config_declarations
from journeydb.export.parquet import (
    DEFAULT_MAX_SHARD_SIZE,
    DEFAULT_ROW_GROUP_ROWS,
    DEFAULT_ROW_GROUP_SIZE,
    export_parquet,
)
from journeydb.release.records import ON_BAD_RECORDS_CHOICES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write configs as Parquet + README.md for datasets.load_dataset (resumable: rerun to finish)",
    )
    p.add_argument("data_dir", help="the folder that contains data/")
    p.add_argument("out", help="export folder: new, empty, or an earlier export to resume or extend")
    names = sorted(config_declarations())
    p.add_argument(
        "--configs", nargs="+", choices=names, metavar="CONFIG", help=f"default: all of {', '.join(names)}"
    )
    p.add_argument("--num-proc", type=int, default=1, help="worker processes (default %(default)s)")
    p.add_argument(
        "--max-shard-size", default=DEFAULT_MAX_SHARD_SIZE, help="image bytes per Parquet file (default %(default)s)"
    )
    p.add_argument(
        "--row-group-rows", type=int, default=DEFAULT_ROW_GROUP_ROWS, help="rows per row group (default %(default)s)"
    )
    p.add_argument(
        "--row-group-size", default=DEFAULT_ROW_GROUP_SIZE, help="image bytes per row group (default %(default)s)"
    )
    p.add_argument("--on-bad-records", choices=ON_BAD_RECORDS_CHOICES, default="warn", help="default %(default)s")
    p.add_argument("--style-tree", help="style tree JSON {category: [phrases]}: fills style_categories")
    p.add_argument("--test-annotations", help="test ground truth JSONL: fills the test-clean config")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config_kwargs = {"on_bad_records": args.on_bad_records}
    if args.style_tree:
        config_kwargs["style_tree"] = args.style_tree
    if args.test_annotations:
        config_kwargs["test_annotations"] = args.test_annotations
    summary = export_parquet(
        args.data_dir,
        args.out,
        configs=args.configs,
        num_proc=args.num_proc,
        max_shard_size=args.max_shard_size,
        row_group_rows=args.row_group_rows,
        row_group_size=args.row_group_size,
        **config_kwargs,
    )
    written = summary.units - summary.units_reused
    print(f"exported {written} image shard(s); {summary.units_reused} were already done")
    print(f"{'config':<12} {'split':<11} {'rows':>10} {'files':>6}")
    for s in summary.splits:
        print(f"{s.config:<12} {s.split:<11} {s.num_examples:>10,} {len(s.files):>6}")
    print(f"load it with datasets.load_dataset({summary.out!r}, CONFIG); see {summary.out}/README.md")
    return 0
