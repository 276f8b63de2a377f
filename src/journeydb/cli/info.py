"""`journeydb info DATA_DIR`: per-split counts, laid out like the paper's Table 2."""

from __future__ import annotations

import argparse

from journeydb.release.inventory import count_release, format_table


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="per-split counts of a release (paper Table 2 layout)")
    p.add_argument("data_dir", help="the folder that contains data/")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = count_release(args.data_dir)
    print(format_table(rows))
    for row in rows:
        if row.images_without_annotation:
            print(f"{row.split}: {row.images_without_annotation} image(s) without annotation (not labelled)")
        if row.skipped.counts:
            print(f"{row.split}: skipped {row.skipped.summary()}")
    return 0
