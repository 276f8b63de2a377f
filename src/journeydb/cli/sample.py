"""`journeydb sample --out DIR`: write the synthetic mini-release."""

from __future__ import annotations

import argparse

from journeydb.release.inventory import count_release, format_table
from journeydb.release.sample import DEFAULT_SEED, write_sample_release


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="write a small synthetic release in the exact real layout")
    p.add_argument("--out", required=True, help="folder to create (must be new or empty)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="RNG seed (default %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    write_sample_release(args.out, seed=args.seed)
    print(f"wrote a synthetic JourneyDB mini-release to {args.out}")
    print(format_table(count_release(args.out)))
    return 0
