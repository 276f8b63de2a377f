"""Style phrases and the style tree: `{category: [phrases]}` (a phrase may sit in several categories).

The release has `Task1.Style` phrases per image but no style tree (the paper's 334/344 categories were never
published), so a tree is either brought by the user or built by `journeydb style-tree build`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import unicodedata
from typing import Iterable, Mapping, Sequence, Union

logger = logging.getLogger(__name__)

StyleTree = dict[str, list[str]]


def normalize_style(phrase: str) -> str:
    """NFC, lower-case, trimmed, inner whitespace collapsed: the form in which style phrases are compared (NFC:
    "café" typed as e + combining accent matches the precomposed one)."""
    return " ".join(unicodedata.normalize("NFC", phrase).lower().split())


def load_style_tree(tree: Union[str, os.PathLike, Mapping[str, list[str]]]) -> StyleTree:
    """A style tree from a JSON file path or a mapping; phrases normalised, duplicates removed, order kept."""
    if isinstance(tree, (str, os.PathLike)):
        path = os.fspath(tree)
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"style tree {path!r} does not exist") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"style tree {path!r} is not valid JSON: {err}") from None
        source = path
    else:
        raw, source = tree, "style_tree"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: a style tree must be a JSON object {{category: [phrases]}}")
    result: StyleTree = {}
    for category, phrases in raw.items():
        if not isinstance(category, str) or not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise ValueError(f"{source}: category {category!r} must map to a list of phrase strings")
        result[category] = list(dict.fromkeys(normalize_style(p) for p in phrases if p.strip()))
    return result


def phrase_categories(tree: StyleTree) -> dict[str, list[str]]:
    """Inverse index: normalised phrase -> sorted categories containing it."""
    index: dict[str, set[str]] = {}
    for category, phrases in tree.items():
        for phrase in phrases:
            index.setdefault(phrase, set()).add(category)
    return {phrase: sorted(cats) for phrase, cats in index.items()}


def categories_of(styles: list[str], index: Mapping[str, list[str]]) -> list[str]:
    """Sorted categories of an image's style phrases."""
    found: set[str] = set()
    for phrase in styles:
        found.update(index.get(normalize_style(phrase), ()))
    return sorted(found)


# --------------------------------------------------------------------------------------------------------------
# the style vocabulary: every distinct style phrase of a split, the candidate space of style retrieval


def style_vocabulary(style_lists: Iterable[Sequence[str]]) -> list[str]:
    """The sorted, normalised, de-duplicated phrases of per-image style lists (blank phrases dropped).

    Sorted rather than first-seen, so the vocabulary (and its hash, which keys cached text features) does not
    depend on the order in which records were read.
    """
    phrases: set[str] = set()
    for styles in style_lists:
        phrases.update(p for p in (normalize_style(s) for s in styles) if p)
    return sorted(phrases)


def vocabulary_hash(vocabulary: Sequence[str]) -> str:
    """sha256 of a vocabulary (phrases in order, newline-separated): keys caches of per-phrase features."""
    digest = hashlib.sha256()
    for phrase in vocabulary:
        digest.update(phrase.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


# skips of `records.parse_record` that lose a whole record (and so its style phrases)
_RECORD_LEVEL_SKIPS = ("malformed record", "bad img_path")


def read_style_vocabulary(
    data_dir: str, splits: Sequence[str] = ("validation",), on_bad_records: str = "warn"
) -> list[str]:
    """The style vocabulary (`style_vocabulary`) of the `Task1.Style` phrases of one or more splits of a release.

    Reads only the annotation files (no image shards), through the release reader; a record that cannot be read
    follows `on_bad_records` like in the builder, and what was skipped is logged.

    Args:
        data_dir (`str`): the folder that contains `data/` (as for `journeydb.load`).
        splits (`Sequence[str]`, defaults to `("validation",)`): `train` and/or `validation` (the test split's
            Task1 is withheld).
        on_bad_records (`str`, defaults to `"warn"`): `"error"` raises on any unreadable record or question,
            `"warn"` logs one summary of the records skipped, `"skip"` skips them silently.
    """
    from datasets.utils.logging import is_progress_bar_enabled
    from tqdm.auto import tqdm

    from . import layout, records

    records.check_on_bad_records(on_bad_records)
    if isinstance(splits, str):
        splits = (splits,)
    style_lists: list[list[str]] = []
    for split in splits:
        if split not in ("train", "validation"):
            raise ValueError(f"style phrases exist only in the train and validation splits, got split {split!r}")
        path = layout.annotation_path(layout.split_folder(data_dir, split), split)
        stats = records.ReadStats()
        lines = tqdm(
            layout.annotation_lines(path), desc=f"style phrases ({split})", unit=" lines",
            disable=not is_progress_bar_enabled(),
        )
        # "warn" is applied here as one summary, and only for what drops a record's phrases: a malformed Task3
        # question says nothing about the style vocabulary, so it is not reported
        policy = "error" if on_bad_records == "error" else "skip"
        for line_no, raw in records.iter_jsonl_lines(lines, path):
            record = records.parse_record(raw, f"{path}:{line_no}", policy, stats)
            if record is not None:
                style_lists.append(record.style)
        dropped = {kind: n for kind, n in stats.counts.items() if kind in _RECORD_LEVEL_SKIPS}
        if dropped and on_bad_records == "warn":
            logger.warning(
                "style vocabulary, %s: skipped %s",
                split, "; ".join(f"{n} {kind} (e.g. {stats.examples[kind]})" for kind, n in sorted(dropped.items())),
            )
    vocabulary = style_vocabulary(style_lists)
    logger.info("style vocabulary of %s: %d phrases from %d records", "+".join(splits), len(vocabulary), len(style_lists))
    return vocabulary
