"""The JourneyDB builder on the mini-release: every config and split, streaming, num_proc, dirt and errors."""

from __future__ import annotations

import io
import json
import logging
import shutil
import tarfile
from pathlib import Path

import datasets
import pytest

import journeydb
from journeydb.release import records
from journeydb.builder.builder import JourneyDB, config_declarations
from journeydb.release.records import ReleaseFormatError

SPLIT_FOLDERS = {"train": "train", "validation": "valid", "test": "test"}
EXPECTED_SPLITS = {
    "prompt": {"train", "validation"},
    "caption": {"train", "validation"},
    "style": {"train", "validation"},
    "vqa": {"train", "validation", "test"},
    "test-clean": {"test"},
}


# ----------------------------------------------------------------------------------------------------------------
# helpers that read the release independently of the builder


def read_annotations(root: Path, split: str) -> list[dict]:
    folder = root / "data" / SPLIT_FOLDERS[split]
    (archive,) = [p for p in folder.glob("*.jsonl.tgz") if p.name != "train_anno.jsonl.tgz"]
    with tarfile.open(archive) as tar:
        (member,) = tar.getmembers()
        return [json.loads(line) for line in tar.extractfile(member).read().decode().splitlines()]


def write_annotations(root: Path, split: str, lines: list[str]) -> None:
    folder = root / "data" / SPLIT_FOLDERS[split]
    name = records.ANNOTATION_FILES[SPLIT_FOLDERS[split]]
    data = "".join(line + "\n" for line in lines).encode()
    with tarfile.open(folder / f"{name}.tgz", "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def shard_bytes(root: Path, split: str) -> dict[str, bytes]:
    """image_id -> JPEG bytes, straight from the archives."""
    folder = root / "data" / SPLIT_FOLDERS[split]
    archives = [folder / "imgs.tgz"] if split == "test" else sorted((folder / "imgs").glob("*.tgz"))
    found = {}
    for archive in archives:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(".jpg"):
                    found[records.image_id_of(member.name)] = tar.extractfile(member).read()
    return found


@pytest.fixture
def release_copy(mini_release: Path, tmp_path: Path) -> Path:
    """A private copy of the mini-release that a test may dirty."""
    return Path(shutil.copytree(mini_release, tmp_path / "release"))


def load(root: Path, config: str, cache_dir: str, **kwargs):
    return journeydb.load(config, data_dir=str(root), cache_dir=cache_dir, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# configs, splits, features


def test_public_config_names():
    assert [c.name for c in JourneyDB.BUILDER_CONFIGS] == ["caption", "prompt", "style", "test-clean", "vqa"]
    assert set(config_declarations()) == set(EXPECTED_SPLITS)


@pytest.mark.parametrize("config", sorted(EXPECTED_SPLITS))
def test_every_config_and_split_loads_with_declared_features(mini_release, cache_dir, config, mini_manifest):
    dsd = load(mini_release, config, cache_dir)
    assert set(dsd) == EXPECTED_SPLITS[config]
    for split, ds in dsd.items():
        assert ds.features == config_declarations()[config].features
        manifest = mini_manifest[SPLIT_FOLDERS[split]]
        if config == "caption":
            assert len(ds) == manifest["labeled_images"] - manifest["captions_missing"]
        else:
            assert len(ds) == manifest["labeled_images"]
        assert len(set(ds["image_id"])) == len(ds)


def test_rows_match_the_annotation_file(mini_release, cache_dir):
    lines = {records.image_id_of(r["img_path"]): r for r in read_annotations(mini_release, "validation")}
    prompt = load(mini_release, "prompt", cache_dir, split="validation")
    for row in prompt:
        raw = lines[row["image_id"]]
        assert row["prompt"] == raw["prompt"]
        assert row["style"] == raw["Task1"]["Style"] and row["others"] == raw["Task1"]["Others"]
    style = load(mini_release, "style", cache_dir, split="validation")
    assert all(r["style_categories"] == [] for r in style)  # no tree given


def test_image_bytes_pass_through_unchanged(mini_release, cache_dir):
    originals = shard_bytes(mini_release, "validation")
    ds = load(mini_release, "vqa", cache_dir, split="validation").cast_column("image", datasets.Image(decode=False))
    for row in ds:
        assert row["image"]["bytes"] == originals[row["image_id"]]
    assert load(mini_release, "vqa", cache_dir, split="validation")[0]["image"].format == "JPEG"


def test_vqa_answers_normalised_and_ids_stable(mini_release, cache_dir, mini_manifest):
    ds = load(mini_release, "vqa", cache_dir, split="validation")
    questions = [q for row in ds for q in row["questions"]]
    assert sum(q["type"] == "style" for q in questions) == mini_manifest["valid"]["style_qa"]
    assert sum(q["type"] == "content" for q in questions) == mini_manifest["valid"]["content_qa"]
    assert {q["answer"] for q in questions} <= set("ABCD")
    assert all(len(q["options"]) == 4 for q in questions)
    raw = {records.image_id_of(r["img_path"]): r for r in read_annotations(mini_release, "validation")}
    forms = set()
    for row in ds:
        for q in row["questions"]:
            image_id, qtype, index = q["question_id"].rsplit("-", 2)
            assert image_id == row["image_id"] and qtype == q["type"]
            item = raw[image_id]["Task3"][records.TASK3_KEYS[qtype]][int(index)]
            gold_text = item["Options"][q["answer"]]
            assert q["options"][records.LETTERS.index(q["answer"])] == gold_text
            forms.add("text" if item["Answer"] == gold_text else item["Answer"].replace(q["answer"], "X", 1)[:3])
    assert {"X", "X.", "(X)", "X. ", "text"} <= forms  # every answer form of the release was met


def test_test_split_withholds_answers(mini_release, cache_dir, mini_manifest):
    test = load(mini_release, "vqa", cache_dir, split="test")
    assert len(test) == mini_manifest["test"]["images"]
    assert all(q["answer"] is None for row in test for q in row["questions"])
    clean = load(mini_release, "test-clean", cache_dir, split="test")
    assert all(r["prompt"] is None and r["clean_prompt"] is None and r["caption"] is None for r in clean)


def test_test_clean_with_ground_truth(mini_release, cache_dir):
    truth_path = mini_release / "ground_truth" / "test_annotations.jsonl"
    truth = {records.image_id_of(json.loads(l)["img_path"]): json.loads(l) for l in truth_path.read_text().splitlines()}
    clean = load(mini_release, "test-clean", cache_dir, split="test", test_annotations=str(truth_path))
    for row in clean:
        gold = truth[row["image_id"]]
        assert row["prompt"] == gold["prompt"] and row["clean_prompt"] == gold["clean_prompt"]
        assert row["caption"] == gold["Task2"]["Caption"]
        assert row["questions"] and all(q["answer"] in set("ABCD") for q in row["questions"])


def test_style_tree_fills_categories(mini_release, cache_dir, tmp_path):
    tree = {"media": ["Oil Painting", "watercolor", "pencil sketch"], "light": ["cinematic lighting", "neon glow"],
            "camera": ["f/1.8", "35mm", "bokeh"]}
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(tree))
    ds = load(mini_release, "style", cache_dir, split="validation", style_tree=str(path))
    for row in ds:
        styles = {s.lower() for s in row["styles"]}
        expected = sorted(c for c, phrases in tree.items() if styles & {p.lower() for p in phrases})
        assert row["style_categories"] == expected
    assert any(row["style_categories"] for row in ds)


# ----------------------------------------------------------------------------------------------------------------
# streaming, num_proc, extracted files


@pytest.mark.parametrize("config", ["vqa", "caption"])
def test_streaming_equals_prepared(mini_release, cache_dir, config):
    prepared = load(mini_release, config, cache_dir, split="validation")
    streamed = load(mini_release, config, cache_dir, split="validation", streaming=True)
    as_rows = lambda rows: sorted(({k: v for k, v in r.items() if k != "image"} for r in rows), key=lambda r: r["image_id"])
    assert as_rows(streamed) == as_rows(prepared)


def test_num_proc_2_gives_the_same_rows(mini_release, tmp_path):
    one = load(mini_release, "prompt", str(tmp_path / "a"), split="train")
    two = load(mini_release, "prompt", str(tmp_path / "b"), split="train", num_proc=2)
    assert sorted(one["image_id"]) == sorted(two["image_id"])
    assert sorted(map(str, one.remove_columns("image"))) == sorted(map(str, two.remove_columns("image")))


def test_extracted_annotations_and_shards_read_the_same(release_copy, mini_release, tmp_path):
    folder = release_copy / "data" / "valid"
    with tarfile.open(folder / "valid_anno_repath.jsonl.tgz") as tar:
        tar.extractall(folder, filter="data")
    for archive in sorted((folder / "imgs").glob("*.tgz")):
        with tarfile.open(archive) as tar:
            tar.extractall(folder / "imgs", filter="data")
        archive.unlink()  # only the extracted NNN/ folders remain
    (folder / "valid_anno_repath.jsonl.tgz").unlink()
    extracted = load(release_copy, "vqa", str(tmp_path / "a"), split="validation")
    packed = load(mini_release, "vqa", str(tmp_path / "b"), split="validation")
    assert sorted(map(str, extracted.remove_columns("image"))) == sorted(map(str, packed.remove_columns("image")))
    originals = shard_bytes(mini_release, "validation")
    raw = extracted.cast_column("image", datasets.Image(decode=False))
    assert all(r["image"]["bytes"] == originals[r["image_id"]] for r in raw)


# ----------------------------------------------------------------------------------------------------------------
# dirt and errors


def test_dirt_is_counted_and_logged(mini_release, cache_dir, caplog):
    with caplog.at_level(logging.WARNING):
        ds = load(mini_release, "caption", cache_dir, split="train")
    assert all(r["caption"].strip() for r in ds)
    summary = [r.message for r in caplog.records if r.name == "journeydb.builder.builder"]
    assert any("3 rows without caption" in m and "2 malformed question" in m and "3 images without annotation" in m
               for m in summary)


def test_annotation_without_image_is_counted(release_copy, cache_dir, caplog):
    lines = [json.dumps(r) for r in read_annotations(release_copy, "validation")]
    orphan = dict(json.loads(lines[0]), img_path="./000/not-in-any-shard.jpg")
    other_shard = dict(json.loads(lines[0]), img_path="./777/in-a-missing-shard.jpg")
    write_annotations(release_copy, "validation", lines + [json.dumps(orphan), json.dumps(other_shard)])
    with caplog.at_level(logging.WARNING):
        ds = load(release_copy, "vqa", cache_dir, split="validation")
    assert len(ds) == len(lines)
    assert "2 annotations whose image is in no shard" in caplog.text
    assert "not-in-any-shard" in caplog.text or "in-a-missing-shard" in caplog.text


def test_bad_img_path_is_rejected_by_policy(release_copy, tmp_path):
    lines = [json.dumps(r) for r in read_annotations(release_copy, "validation")]
    lines[2] = json.dumps(dict(json.loads(lines[2]), img_path="../../etc/passwd"))
    write_annotations(release_copy, "validation", lines)
    with pytest.raises(ReleaseFormatError, match=r"valid_anno_repath\.jsonl\.tgz:3: img_path '\.\./\.\./etc/passwd'"):
        list(load(release_copy, "vqa", str(tmp_path / "a"), split="validation", streaming=True, on_bad_records="error"))
    ds = load(release_copy, "vqa", str(tmp_path / "b"), split="validation", on_bad_records="skip")
    assert len(ds) == len(lines) - 1


def test_on_bad_records_error_names_the_malformed_question(mini_release, cache_dir):
    with pytest.raises(ReleaseFormatError, match=r"realease_repath\.jsonl\.tgz:5 \(.*-content-0\): answer 'E'"):
        load(mini_release, "vqa", cache_dir, on_bad_records="error")
    with pytest.raises(ReleaseFormatError, match=r"valid_anno_repath\.jsonl\.tgz:5 \(.*-content-0\): answer 'E'"):
        list(load(mini_release, "vqa", cache_dir, split="validation", streaming=True, on_bad_records="error"))


def test_malformed_jsonl_line_names_file_and_line(release_copy, cache_dir, caplog):
    lines = [json.dumps(r) for r in read_annotations(release_copy, "validation")]
    lines[3] = lines[3][:-10]  # truncated JSON
    write_annotations(release_copy, "validation", lines)
    # a malformed line is a bad record: raised under "error", counted and named under "warn"
    with pytest.raises(ReleaseFormatError, match=r"valid_anno_repath\.jsonl\.tgz:4: malformed JSON"):
        list(load(release_copy, "vqa", cache_dir, split="validation", streaming=True, on_bad_records="error"))
    with caplog.at_level(logging.WARNING):
        ds = load(release_copy, "vqa", cache_dir, split="validation")
    assert len(ds) == len(lines) - 1
    assert any("valid_anno_repath.jsonl.tgz:4: malformed JSON" in m for m in caplog.messages)


def test_truncated_archive_is_an_error_naming_it(release_copy, cache_dir):
    shard = release_copy / "data" / "valid" / "imgs" / "001.tgz"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(ReleaseFormatError, match="001"):
        load(release_copy, "vqa", cache_dir, split="validation")


def test_truncated_annotation_archive_is_an_error_naming_it(release_copy, cache_dir):
    archive = release_copy / "data" / "valid" / "valid_anno_repath.jsonl.tgz"
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(ReleaseFormatError, match="valid_anno_repath.jsonl.tgz"):
        load(release_copy, "vqa", cache_dir, split="validation")


def test_missing_split_and_empty_shard_list_are_errors(release_copy, cache_dir):
    for archive in (release_copy / "data" / "valid" / "imgs").glob("*.tgz"):
        archive.unlink()
    with pytest.raises(FileNotFoundError, match=r"no image shards in .*valid"):
        load(release_copy, "vqa", cache_dir, split="validation")
    shutil.rmtree(release_copy / "data" / "valid")
    with pytest.raises(FileNotFoundError, match="split 'validation'"):
        load(release_copy, "caption", cache_dir, split="validation")


def test_missing_annotation_file_is_an_error(release_copy, cache_dir):
    (release_copy / "data" / "test" / "test_questions.jsonl.tgz").unlink()
    with pytest.raises(FileNotFoundError, match="test_questions.jsonl"):
        load(release_copy, "test-clean", cache_dir)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown JourneyDB config 'vqa2'"):
        journeydb.load("vqa2", data_dir=".")
    with pytest.raises(ValueError, match="on_bad_records"):
        journeydb.load("vqa", data_dir=".", on_bad_records="ignore")
    with pytest.raises(ValueError, match="needs data_dir"):
        JourneyDB(config_name="vqa").download_and_prepare()


def test_annotation_index_is_built_once_and_follows_the_file(release_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYDB_CACHE", str(tmp_path / "jdb-cache"))
    list(load(release_copy, "vqa", str(tmp_path / "a"), split="validation", streaming=True))
    (index,) = (tmp_path / "jdb-cache" / "annotation-index").glob("*/complete")
    files = sorted(p.name for p in index.parent.iterdir())
    assert files == ["000.tsv", "001.tsv", "complete"]  # one line file per shard; nothing unrouted here
    lines = sum(1 for p in index.parent.glob("*.tsv") for _ in p.open())
    assert lines == len(read_annotations(release_copy, "validation"))
    stamp = index.stat().st_mtime_ns
    load(release_copy, "vqa", str(tmp_path / "b"), split="validation")  # prepared: reuses the index
    assert index.stat().st_mtime_ns == stamp
    records = read_annotations(release_copy, "validation")
    write_annotations(release_copy, "validation", [json.dumps(r) for r in records[:-1]])
    ds = load(release_copy, "vqa", str(tmp_path / "c"), split="validation")
    assert len(ds) == len(records) - 1  # a changed annotation file gets a new index
    built = (tmp_path / "jdb-cache" / "annotation-index").glob("*/complete")
    assert sum("valid_anno_repath" in p.read_text() for p in built) == 2
