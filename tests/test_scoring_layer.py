"""`journeydb.scoring` is pure: numbers in, numbers out. No heavy library at module level, and nothing from the
layers after it (models, evaluation, integrations, testing, cli), not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCORING = Path(__file__).resolve().parents[1] / "src" / "journeydb" / "scoring"
HEAVY = ("torch", "transformers", "evaluate", "sentence_transformers", "accelerate")
LATER_LAYERS = tuple(f"journeydb.{layer}" for layer in ("models", "evaluation", "integrations", "testing", "cli"))


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(module, at module level) of every import; relative imports resolved inside journeydb.scoring."""
    top_level = {id(node) for node in getattr(tree, "body", [])}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top_level) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = ".".join(["journeydb", "scoring"][: 3 - node.level] + ([module] if module else []))
            found.append((module, id(node) in top_level))
    return found


@pytest.mark.parametrize("path", sorted(SCORING.glob("*.py")), ids=lambda p: p.name)
def test_scoring_module_imports(path):
    for module, top_level in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        root = module.split(".")[0]
        assert not (top_level and root in HEAVY), f"{path.name} imports {module} at module level"
        assert not module.startswith(LATER_LAYERS), f"{path.name} imports {module}, a later layer"
