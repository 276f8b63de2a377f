"""References come from the scored split's annotation file alone: no image shard, no other split, no Arrow copy."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from journeydb.cli.main import main
from journeydb.evaluation.tasks import TASK_NAMES, get_task, load_references, reference_rows, references_from_rows
from journeydb.release.records import ReleaseFormatError


@pytest.fixture(scope="module")
def imageless_release(mini_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini-release without train images, and with validation shards that break whoever opens them."""
    root = tmp_path_factory.mktemp("imageless") / "release"
    shutil.copytree(mini_release, root)
    train_shards = list((root / "data/train/imgs").glob("*.tgz"))
    assert train_shards
    for shard in train_shards:
        shard.unlink()
    # the train annotations go too: a split other than the scored one is never read
    (root / "data/train/train_anno_realease_repath.jsonl.tgz").unlink()
    for shard in (root / "data/valid/imgs").glob("*.tgz"):
        shard.write_bytes(b"not a tar archive")  # listed, never opened
    return root


def _fields(refs) -> dict:
    fields = asdict(refs)
    fields.pop("skipped")
    fields.pop("read_losses")  # the builder logs its own
    return fields


@pytest.mark.parametrize("task", TASK_NAMES)
def test_references_from_annotations_equal_the_builders(task, mini_release, imageless_release, tmp_path):
    rows = reference_rows(task, str(mini_release), "validation", str(tmp_path))
    from_builder = references_from_rows(task, rows, "validation")
    from_annotations = load_references(task, str(imageless_release), "validation")
    assert len(from_annotations) > 0
    assert _fields(from_annotations) == _fields(from_builder)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_evaluate_on_validation_works_without_train_images(
    task, mini_release, imageless_release, tmp_path, monkeypatch, capsys
):
    import datasets

    def no_prepare(*args, **kwargs):
        raise AssertionError("references must not prepare a dataset")

    monkeypatch.setattr(datasets.DatasetBuilder, "download_and_prepare", no_prepare)
    spec = get_task(task)
    refs = load_references(task, str(mini_release), "validation")
    rows = [{spec.key: key, "prediction": ["x"] if spec.ranked else "A"} for key in refs.ids]
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ["evaluate", "--task", task, "--predictions", str(predictions), "--data-dir", str(imageless_release)]
    # without --out: report.html's thumbnails (evaluation/report_html.py) read images by design
    assert main(args + ["--no-meteor", "--similarity-model", "none"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert f"{task} on validation: {len(refs)} expected, every id matched once" in first


def test_test_split_references_need_only_the_test_questions_and_truth(mini_release, tmp_path):
    root = tmp_path / "release"
    shutil.copytree(mini_release, root, ignore=shutil.ignore_patterns("imgs", "imgs.tgz"))
    truth = str(mini_release / "ground_truth" / "test_annotations.jsonl")
    for task in ("vqa", "prompt_inversion"):
        refs = load_references(task, str(root), "test", test_annotations=truth)
        rows = reference_rows(task, str(mini_release), "test", str(tmp_path / "c"), test_annotations=truth)
        assert len(refs) > 0 and _fields(refs) == _fields(references_from_rows(task, rows, "test"))


def test_a_malformed_annotation_line_is_an_error_naming_file_and_line(mini_release, tmp_path):
    root = tmp_path / "release"
    shutil.copytree(mini_release, root, ignore=shutil.ignore_patterns("imgs"))
    (root / "data/valid/imgs").mkdir()
    (root / "data/valid/imgs/000.tgz").write_bytes(b"")
    (root / "data/valid/valid_anno_repath.jsonl.tgz").unlink()
    anno = root / "data/valid/valid_anno_repath.jsonl"
    anno.write_text('{"img_path": "./000/a.jpg", "prompt": "p"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ReleaseFormatError, match=r"valid_anno_repath\.jsonl:2"):
        load_references("prompt_inversion", str(root), "validation")


def test_evaluate_with_a_report_prepares_nothing_and_reads_no_train(mini_release, tmp_path, monkeypatch, capsys):
    """`--out` writes report.html: its thumbnails stream the scored split's images, no dataset is prepared."""
    import datasets

    root = tmp_path / "release"
    shutil.copytree(mini_release, root)
    for shard in (root / "data/train/imgs").glob("*.tgz"):
        shard.unlink()
    (root / "data/train/train_anno_realease_repath.jsonl.tgz").unlink()

    def no_prepare(*args, **kwargs):
        raise AssertionError("evaluate must not prepare a dataset")

    monkeypatch.setattr(datasets.DatasetBuilder, "download_and_prepare", no_prepare)
    refs = load_references("caption", str(root), "validation")
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"image_id": i, "prediction": "x"}) + "\n" for i in refs.ids))
    out = tmp_path / "out"
    args = ["evaluate", "--task", "caption", "--predictions", str(predictions), "--data-dir", str(root)]
    assert main(args + ["--no-meteor", "--similarity-model", "none", "--out", str(out), "--gallery-size", "2"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/jpeg;base64,") >= 4  # every card's thumbnail


def test_what_the_release_reader_skips_is_counted_in_results_json(mini_release, tmp_path):
    """The mini-release's dirty validation lines (bad questions) are skipped under "warn": results.json says so."""
    refs = load_references("vqa", str(mini_release), "validation")
    assert refs.read_losses.counts["malformed question"] > 0
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"question_id": i, "prediction": "A"}) + "\n" for i in refs.ids))
    out = tmp_path / "out"
    args = ["evaluate", "--task", "vqa", "--predictions", str(predictions), "--data-dir", str(mini_release)]
    assert main(args + ["--out", str(out), "--gallery-size", "0"]) == 0
    entry = json.loads((out / "results.json").read_text(encoding="utf-8"))["tasks"]["vqa"]
    assert entry["release_skips"]["counts"] == dict(sorted(refs.read_losses.counts.items()))
    assert "skipped reading the release" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("task", ["prompt_inversion", "vqa"])
def test_references_follow_the_builders_shard_order_whatever_the_file_order(task, mini_release, imageless_release,
                                                                           tmp_path):
    """Rows are handed on in file order and sorted by shard afterwards: a file listing the shards backwards gives
    the builder's order (shard by shard, file order within a shard)."""
    import tarfile

    root = tmp_path / "release"
    shutil.copytree(imageless_release, root)
    archive = root / "data/valid/valid_anno_repath.jsonl.tgz"
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.isfile())
        lines = tar.extractfile(member).read().decode("utf-8").splitlines()
    archive.unlink()
    by_shard = sorted(lines, key=lambda line: json.loads(line)["img_path"].split("/")[-2], reverse=True)
    assert by_shard != lines
    (root / "data/valid/valid_anno_repath.jsonl").write_text("\n".join(by_shard) + "\n", encoding="utf-8")
    rows = reference_rows(task, str(mini_release), "validation", str(tmp_path / "cache"))
    assert _fields(load_references(task, str(root), "validation")) == _fields(references_from_rows(task, rows,
                                                                                                  "validation"))
