"""The `journeydb` command. Each subcommand lives in `journeydb/cli/<name>.py` and exposes `register()`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Optional, Sequence

from tqdm.contrib.logging import logging_redirect_tqdm

from journeydb import __version__

from .process_memory import release_freed_memory

# subcommand modules, in the order `journeydb --help` lists them
COMMANDS = ("benchmark", "evaluate", "sample", "info", "style-tree", "export", "lmms-eval")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journeydb", description="JourneyDB dataset tools and benchmark.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("--version", action="version", version=f"journeydb {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"journeydb.cli.{name.replace('-', '_')}").register(subparsers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    release_freed_memory()
    try:
        with logging_redirect_tqdm():  # log lines above the progress bars, not glued to them
            return int(args.func(args) or 0)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"journeydb {args.command}: error: {err}", file=sys.stderr)
        return 2
