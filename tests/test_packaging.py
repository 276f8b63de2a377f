"""The wheel carries the whole package: a non-editable install works from any folder.

The wheel is built from the repository and unpacked into a folder put first on PYTHONPATH (ahead of the editable
install), then used from a directory that holds a folder named `journeydb/`, which must not shadow it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("release", "builder", "export", "scoring", "models", "evaluation", "integrations", "testing", "cli")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # build from a copy: setuptools writes build/ and *.egg-info beside the sources, which stay untouched
    source = tmp_path_factory.mktemp("source") / "journeydb"
    skip = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
    shutil.copytree(REPO, source, symlinks=True, ignore=skip)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("journeydb-*.whl")
    return path


def test_wheel_holds_every_layer_and_its_data_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for layer in LAYERS:
        assert f"journeydb/{layer}/__init__.py" in names
    assert "journeydb/__main__.py" in names and "journeydb/py.typed" in names
    assert "journeydb/evaluation/report_template.html" in names  # report.html's page
    for config in ("prompt", "caption", "style", "vqa", "test-clean"):
        assert f"journeydb/builder/configs/{config}.yaml" in names
    card = zipfile.ZipFile(wheel).read("journeydb/export/dataset_card.md").decode()
    assert card.startswith("---")  # the card itself, not a symlink's target path
    assert not any(name.startswith(("tests/", "benchmarks/", "metrics/")) for name in names)
    for metric in ("prompt_inversion", "style_recall", "mc_vqa_acc", "qas"):
        for file in (f"{metric}.py", "README.md", "app.py"):
            assert f"journeydb/metrics/{metric}/{file}" in names


def test_installed_wheel_runs_from_another_folder(wheel: Path, tmp_path: Path, mini_release: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    work = tmp_path / "work"
    (work / "journeydb").mkdir(parents=True)  # e.g. the output of `journeydb export ... ./journeydb`
    env = {**os.environ, "PYTHONPATH": str(site), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    code = (
        "import journeydb, sys\n"
        f"ds = journeydb.load('vqa', data_dir={str(mini_release)!r}, split='validation', "
        f"cache_dir={str(tmp_path / 'cache')!r})\n"
        "print(journeydb.__file__)\n"
        "print(len(ds))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    where, rows = loaded.stdout.split()
    assert Path(where).is_relative_to(site)
    assert int(rows) > 0
    cli = subprocess.run(
        [sys.executable, "-m", "journeydb", "info", str(mini_release)], cwd=work, env=env, capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert "| validation |" in cli.stdout
    metrics = (
        "import evaluate, journeydb\n"
        "for name in ('prompt_inversion', 'style_recall', 'mc_vqa_acc', 'qas'):\n"
        "    module = evaluate.load(journeydb.metric_path(name))\n"
        "    print(name, type(module).__name__, journeydb.metric_path(name))\n"
        "acc = evaluate.load(journeydb.metric_path('mc_vqa_acc'))\n"
        "print(acc.compute(predictions=['A', 'b'], references=['A', 'C'])['accuracy'])\n"
        "import datasets\n"
        "journeydb.register()\n"
        "ds = datasets.load_dataset('journeydb', 'vqa', data_dir=journeydb.sample_dir(), split='validation')\n"
        "print(len(ds))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", metrics], cwd=work, env={**env, "HF_HOME": str(tmp_path / "hf")},
                            capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    lines = loaded.stdout.split("\n")
    assert lines[4].strip() == "0.5" and int(lines[5]) > 0
    for line in lines[:4]:
        name, _, where = line.split()
        assert Path(where).is_relative_to(site) and Path(where).name == name
    bench = subprocess.run(
        [sys.executable, "-m", "journeydb", "benchmark", "--out", str(tmp_path / "report")], cwd=work,
        env={**env, "JOURNEYDB_CACHE": str(tmp_path / "jdb"), "MPLCONFIGDIR": str(tmp_path / "mpl")},
        capture_output=True, text=True,
    )
    assert bench.returncode == 0, bench.stderr[-3000:]
    assert (tmp_path / "report" / "results.json").is_file()
    version = subprocess.run([sys.executable, "-m", "journeydb", "--version"], cwd=work, env=env, capture_output=True,
                             text=True)
    assert version.stdout.strip().startswith("journeydb ")
