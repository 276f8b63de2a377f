"""The package's floors: each layer (a folder of src/journeydb/) imports only from the layers before it.

Read from the source with `ast`, so every import counts, also those inside functions (deferred imports are still
dependencies). The top-level `__init__` (the lazy public face) and `__main__` stand above every layer.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "journeydb"
LAYERS = ("release", "builder", "export", "scoring", "models", "evaluation", "integrations", "testing", "cli")
# what scoring/ may not import at module level: it is numbers in, numbers out
HEAVY = ("torch", "transformers", "evaluate", "datasets", "sentence_transformers", "accelerate")
# release/ reads files through datasets' fsspec-aware helpers (so hf:// paths work) and follows its progress-bar
# switch, but never uses datasets' builders or tables
RELEASE_DATASETS_ALLOWED = ("datasets.utils.file_utils", "datasets.utils.logging", "datasets.utils.tqdm")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _dotted(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = PACKAGE) -> list[tuple[int, str, bool]]:
    """(line, imported module, at module level) for every import of `path`, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    dotted = _dotted(path, root)
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module, id(node) in top_level))
            if node.module is None or module in {f"journeydb.{layer}" for layer in LAYERS}:
                found += [(node.lineno, f"{module}.{alias.name}", id(node) in top_level) for alias in node.names]
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "journeydb" and parts[1] in LAYERS else None


def test_every_module_is_in_a_layer() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"modules outside a layer folder: {loose}"
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS)


def test_layers_import_only_from_earlier_layers() -> None:
    crossings = []
    for path in _modules():
        layer = _layer(_dotted(path))
        if layer is None:
            continue
        for line, module, _ in _imports(path):
            target = _layer(module)
            if target is not None and LAYERS.index(target) > LAYERS.index(layer):
                crossings.append(f"{path.relative_to(PACKAGE)}:{line} ({layer}) imports {module} ({target})")
    assert not crossings, "layer crossings:\n" + "\n".join(crossings)


def test_scoring_imports_no_framework_at_module_level() -> None:
    heavy = []
    for path in (PACKAGE / "scoring").glob("*.py"):
        for line, module, top in _imports(path):
            if top and module.split(".")[0] in HEAVY:
                heavy.append(f"scoring/{path.name}:{line} imports {module}")
    assert not heavy, "\n".join(heavy)


def test_release_uses_only_the_file_helpers_of_datasets() -> None:
    used = [
        f"release/{path.name}:{line} imports {module}"
        for path in (PACKAGE / "release").glob("*.py")
        for line, module, _ in _imports(path)
        if module.split(".")[0] == "datasets" and module not in RELEASE_DATASETS_ALLOWED
    ]
    assert not used, "\n".join(used)


def test_the_checker_sees_a_crossing(tmp_path: Path) -> None:
    """The checks above would fail on a crossing (guards against a checker that finds nothing)."""
    fake = tmp_path / "journeydb" / "scoring" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("import torch\nfrom ..models import generation\n\ndef f():\n    from journeydb.cli import main\n")
    imports = _imports(fake, root=tmp_path / "journeydb")
    assert (1, "torch", True) in imports
    assert (2, "journeydb.models.generation", True) in imports
    assert (5, "journeydb.cli", False) in imports


def test_importing_scoring_loads_no_framework() -> None:
    """At run time too: the scoring modules import without torch, transformers, evaluate or datasets."""
    names = sorted(p.stem for p in (PACKAGE / "scoring").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module('journeydb.scoring.' + name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_size(path: Path) -> None:
    """Small files: no module over 400 lines, except the mini-release writer (its data tables)."""
    if path.relative_to(PACKAGE).as_posix() == "release/sample.py":
        pytest.skip("the mini-release's data tables")
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{path.relative_to(PACKAGE)} has {lines} lines"
