"""Style phrases and the style tree: `{category: [phrases]}` (a phrase may sit in several categories).

The release has `Task1.Style` phrases per image but no style tree (the paper's 334/344 categories were never
published), so a tree is either brought by the user or built by `journeydb style-tree build`.
"""

from __future__ import annotations

import json
import os
from typing import Mapping, Union

StyleTree = dict[str, list[str]]


def normalize_style(phrase: str) -> str:
    """Lower-case, trimmed, inner whitespace collapsed: the form in which style phrases are compared."""
    return " ".join(phrase.lower().split())


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
