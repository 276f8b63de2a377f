"""`journeydb style-tree build DATA_DIR --out tree.json`: cluster a split's style phrases into a style tree."""

from __future__ import annotations

import argparse

from journeydb.release.style_tree import read_style_vocabulary
from journeydb.models.style_tree_builder import DEFAULT_CATEGORIES, DEFAULT_SEED, build_style_tree, write_style_tree


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("style-tree", help="build a style tree {category: [phrases]} (the release has none)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="cluster the style vocabulary of a release by sentence embeddings",
        description="Cluster the normalised Task1.Style phrases of a release into categories (seeded k-means over "
        "sentence embeddings), name each category by its most central phrases, and write the tree as JSON plus "
        "the long-tail plot of category sizes (paper Fig. 2) as a PNG beside it.",
    )
    build.add_argument("data_dir", help="the folder that contains data/")
    build.add_argument("--out", required=True, help="the tree's JSON path (the plot goes beside it, as .png)")
    build.add_argument(
        "--categories", type=int, default=DEFAULT_CATEGORIES,
        help="number of categories (default %(default)s, paper §3.3; clamped to the number of phrases)",
    )
    build.add_argument(
        "--split", nargs="+", default=["validation"], choices=["train", "validation"],
        help="split(s) whose phrases form the vocabulary (default: %(default)s)",
    )
    build.add_argument(
        "--model", default=None,
        help="local sentence-transformers model folder (default: the offline all-MiniLM-L6-v2 package)",
    )
    build.add_argument("--seed", type=int, default=DEFAULT_SEED, help="k-means seed (default %(default)s)")
    build.add_argument("--batch-size", type=int, default=256, help="phrases per embedding batch")
    build.add_argument("--device", default=None, help="device of the sentence model (default: cuda when available)")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    vocabulary = read_style_vocabulary(args.data_dir, tuple(args.split))
    tree = build_style_tree(
        vocabulary, args.categories, model=args.model, seed=args.seed, batch_size=args.batch_size, device=args.device
    )
    json_path, png_path = write_style_tree(tree, args.out)
    sizes = sorted((len(p) for p in tree.values()), reverse=True)
    print(f"{len(vocabulary)} style phrases ({'+'.join(args.split)}) -> {len(tree)} categories "
          f"(largest {sizes[0]}, median {sizes[len(sizes) // 2]}, smallest {sizes[-1]})")
    print(f"wrote {json_path}")
    print(f"wrote {png_path}")
    return 0
