"""Issue 15: a number is never silently wrong. Each test corrupts a private copy of the mini-release."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import shutil
import tarfile
from pathlib import Path

import pytest

import journeydb
from journeydb.release import records
from journeydb.release.records import ReleaseFormatError

VALID = "valid"
ANNOTATION = records.ANNOTATION_FILES[VALID]


@pytest.fixture
def release(mini_release: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(mini_release, tmp_path / "release"))


def _annotation_archive(root: Path) -> Path:
    return root / "data" / VALID / f"{ANNOTATION}.tgz"


def read_lines(root: Path) -> list[str]:
    with tarfile.open(_annotation_archive(root)) as tar:
        (member,) = tar.getmembers()
        return tar.extractfile(member).read().decode().splitlines()


def write_lines(root: Path, lines: list[str], keep_stat: bool = False) -> None:
    """Rewrite the annotation archive; `keep_stat` restores its modification time (a same-size edit then looks
    untouched to a size+mtime key)."""
    path = _annotation_archive(root)
    before = path.stat()
    data = "".join(line + "\n" for line in lines).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        info = tarfile.TarInfo(ANNOTATION)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    if keep_stat:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def first_answered(lines: list[str]) -> tuple[int, dict]:
    for index, line in enumerate(lines):
        raw = json.loads(line)
        items = raw["Task3"]["Style Relevant Questions and Answers"]
        if items and items[0]["Answer"] in ("A", "B", "C", "D"):
            return index, raw
    raise AssertionError("no record with a letter answer")


def vqa(root: Path, cache: Path, **kwargs):
    return journeydb.load("vqa", data_dir=str(root), split="validation", cache_dir=str(cache), **kwargs)


def answers(ds) -> dict[str, str]:
    return {q["question_id"]: q["answer"] for row in ds for q in row["questions"]}


# ------------------------------------------------------------------------------------------------------------
# 1. freshness: the prepared cache and the annotation index follow the release's content


def test_prepared_cache_follows_a_same_size_annotation_edit(release, tmp_path):
    lines = read_lines(release)
    before = answers(vqa(release, tmp_path / "hf"))
    index, raw = first_answered(lines)
    item = raw["Task3"]["Style Relevant Questions and Answers"][0]
    item["Answer"] = {"A": "B", "B": "A", "C": "D", "D": "C"}[item["Answer"]]  # same size, another letter
    lines[index] = json.dumps(raw, ensure_ascii=False)
    write_lines(release, lines, keep_stat=True)
    qid = f"{records.image_id_of(raw['img_path'])}-style-0"
    after = answers(vqa(release, tmp_path / "hf"))  # same cache folder: must not serve the old rows
    assert after[qid] == item["Answer"] != before[qid]
    streamed = answers(vqa(release, tmp_path / "hf", streaming=True))
    assert streamed == after


# ------------------------------------------------------------------------------------------------------------
# 3. archive integrity


def _corrupt_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes((b ^ 0x5A) for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def _rewrite_gzip_trailer_crc(path: Path) -> None:
    """Flip the stored CRC32: every member still decompresses, only the check can tell."""
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_corrupt_middle, _rewrite_gzip_trailer_crc])
@pytest.mark.parametrize("policy", ["warn", "skip"])  # (the mini-release's dirt raises first under "error")
def test_a_damaged_image_shard_is_an_error_naming_it(release, tmp_path, damage, policy):
    shard = release / "data" / VALID / "imgs" / "001.tgz"
    damage(shard)
    with pytest.raises(ReleaseFormatError, match="001"):
        vqa(release, tmp_path / "hf", on_bad_records=policy)


def test_a_tar_header_that_ends_the_stream_early_is_an_error(release, tmp_path):
    shard = release / "data" / VALID / "imgs" / "001.tgz"
    tar_bytes = bytearray(gzip.decompress(shard.read_bytes()))
    with tarfile.open(fileobj=io.BytesIO(bytes(tar_bytes))) as tar:
        third = tar.getmembers()[3]
    tar_bytes[third.offset : third.offset + 100] = b"\x01" * 100  # a damaged header mid-stream
    shard.write_bytes(gzip.compress(bytes(tar_bytes), mtime=0))
    with pytest.raises(ReleaseFormatError, match="001"):
        vqa(release, tmp_path / "hf", on_bad_records="skip")


# ------------------------------------------------------------------------------------------------------------
# 4. pairing: a row's image is the one its own parsed img_path names


def test_a_nested_img_path_does_not_pair_another_image(release, tmp_path):
    lines = read_lines(release)
    a, b = json.loads(lines[10]), json.loads(lines[11])
    # a key inside Task1 that names another image comes first on the line: the record's own img_path is a's
    line = json.dumps({"Task1": {"img_path": b["img_path"]}, **{k: v for k, v in a.items() if k != "Task1"}})
    lines[10] = line.replace('"Task1": {', '"Task1": {"Style": ' + json.dumps(a["Task1"].get("Style", [])) + ", ", 1)
    write_lines(release, lines)
    ds = journeydb.load("caption", data_dir=str(release), split="validation", cache_dir=str(tmp_path / "hf"))
    images = {row["image_id"]: row["image"] for row in ds.cast_column("image", journeydb_image_bytes())}
    a_id, b_id = records.image_id_of(a["img_path"]), records.image_id_of(b["img_path"])
    assert images[a_id]["path"].startswith(a_id)
    assert images[b_id]["path"].startswith(b_id)


def journeydb_image_bytes():
    import datasets

    return datasets.Image(decode=False)


def test_escaped_key_and_backslash_path_join(release, tmp_path):
    lines = read_lines(release)
    ids = []
    for index, how in ((12, "escaped"), (13, "backslash")):
        raw = json.loads(lines[index])
        ids.append(records.image_id_of(raw["img_path"]))
        if how == "backslash":
            raw["img_path"] = raw["img_path"].replace("/", "\\")
            lines[index] = json.dumps(raw)
        else:
            lines[index] = json.dumps(raw).replace('"img_path"', '"img\\u005fpath"')
    write_lines(release, lines)
    ds = journeydb.load("style", data_dir=str(release), split="validation", cache_dir=str(tmp_path / "hf"))
    assert set(ids) <= set(ds["image_id"])


def test_a_duplicate_img_path_key_is_a_bad_record(release, tmp_path, caplog):
    lines = read_lines(release)
    mine, other = json.loads(lines[14])["img_path"], json.loads(lines[15])["img_path"]
    lines[14] = lines[14][:-1] + ", " + json.dumps("img_path") + ": " + json.dumps(other) + "}"
    write_lines(release, lines)
    with caplog.at_level(logging.WARNING):
        ds = vqa(release, tmp_path / "hf", on_bad_records="warn")
    assert records.image_id_of(mine) not in ds["image_id"]
    assert records.image_id_of(other) in ds["image_id"]  # its own line 16 still pairs it
    assert ds["image_id"].count(records.image_id_of(other)) == 1
    assert any(f"{ANNOTATION}.tgz:15: " in m and "'img_path' given twice" in m for m in caplog.messages)


# ------------------------------------------------------------------------------------------------------------
# 7. links and non-regular files are refused


def _extract(shard: Path) -> Path:
    with tarfile.open(shard) as tar:
        tar.extractall(shard.parent, filter="data")
    shard.unlink()
    return shard.parent / shard.name[:-4]


def test_a_symlink_in_an_extracted_shard_is_refused(release, tmp_path):
    folder = _extract(release / "data" / VALID / "imgs" / "000.tgz")
    victim = next(folder.glob("*.jpg"))
    victim.unlink()
    victim.symlink_to("/etc/passwd")
    with pytest.raises(ReleaseFormatError, match="link"):
        vqa(release, tmp_path / "hf", on_bad_records="skip")


def test_a_link_member_in_an_archive_is_refused(release, tmp_path):
    shard = release / "data" / VALID / "imgs" / "000.tgz"
    with tarfile.open(shard) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    victim = next(m.name for m, _ in members if m.name.endswith(".jpg"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, data in members:
            if member.name == victim:  # the image member becomes a link to a file outside the release
                member = tarfile.TarInfo(victim)
                member.type, member.linkname, data = tarfile.SYMTYPE, "/etc/passwd", None
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    shard.write_bytes(buffer.getvalue())
    with pytest.raises(ReleaseFormatError, match="link"):
        vqa(release, tmp_path / "hf", on_bad_records="skip")


# ------------------------------------------------------------------------------------------------------------
# 2. export resume follows content, and never deletes what it did not write


def _exported_answers(out: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    found = {}
    for path in sorted((out / "vqa" / "validation").glob("*.parquet")):
        for row in pq.read_table(path, columns=["questions"]).to_pylist():
            found.update({q["question_id"]: q["answer"] for q in row["questions"]})
    return found


def test_export_resume_redoes_a_same_size_annotation_edit(release, tmp_path):
    lines = read_lines(release)
    extracted = release / "data" / VALID / ANNOTATION  # extracted, so that the edit keeps the size exactly
    extracted.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    _annotation_archive(release).unlink()
    out = tmp_path / "export"
    journeydb.export_parquet(release, out, configs=["vqa"])
    index, raw = first_answered(lines)
    item = raw["Task3"]["Style Relevant Questions and Answers"][0]
    item["Answer"] = {"A": "B", "B": "A", "C": "D", "D": "C"}[item["Answer"]]
    lines[index] = json.dumps(raw, ensure_ascii=False)
    before = extracted.stat()
    extracted.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.utime(extracted, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert extracted.stat().st_size == before.st_size
    summary = journeydb.export_parquet(release, out, configs=["vqa"])
    assert summary.units_reused == summary.units - 2  # the validation split's two shards are redone
    qid = f"{records.image_id_of(raw['img_path'])}-style-0"
    assert _exported_answers(out)[qid] == item["Answer"]


def test_export_resume_redoes_a_change_inside_an_extracted_folder(release, tmp_path):
    import pyarrow.parquet as pq

    folder = _extract(release / "data" / VALID / "imgs" / "000.tgz")
    out = tmp_path / "export"
    journeydb.export_parquet(release, out, configs=["caption"])
    image = sorted(folder.glob("*.jpg"))[0]
    replacement = sorted(folder.glob("*.jpg"))[1].read_bytes()
    image.write_bytes(replacement)
    summary = journeydb.export_parquet(release, out, configs=["caption"])
    assert summary.units_reused == summary.units - 1
    rows = pq.read_table(out / "caption" / "validation" / "000-0000.parquet").to_pylist()
    by_id = {row["image_id"]: row["image"]["bytes"] for row in rows}
    assert by_id.get(image.stem) in (None, replacement)  # rewritten (the row may have no caption)


def test_export_refuses_foreign_files_and_deletes_none(release, tmp_path):
    out = tmp_path / "export"
    journeydb.export_parquet(release, out, configs=["caption"])
    foreign = out / "caption" / "validation" / "extra-0000.parquet"
    foreign.write_bytes(b"somebody else's")
    with pytest.raises(FileExistsError, match="extra-0000.parquet"):
        journeydb.export_parquet(release, out, configs=["caption"])
    assert foreign.read_bytes() == b"somebody else's"


# ------------------------------------------------------------------------------------------------------------
# 5. losses are errors or WARNING counts, never quiet


def test_an_empty_annotation_file_is_an_error(release, tmp_path):
    write_lines(release, [])
    with pytest.raises(ReleaseFormatError, match="no annotation lines"):
        vqa(release, tmp_path / "hf", on_bad_records="skip")


def test_a_partial_extracted_annotation_file_beside_its_archive_is_an_error(release, tmp_path):
    lines = read_lines(release)
    extracted = release / "data" / VALID / ANNOTATION
    extracted.write_text("".join(line + "\n" for line in lines[: len(lines) // 2]), encoding="utf-8")
    with pytest.raises(ReleaseFormatError, match=rf"{ANNOTATION}.*{ANNOTATION}\.tgz"):
        vqa(release, tmp_path / "hf", on_bad_records="skip")
    extracted.write_text("".join(line + "\n" for line in lines), encoding="utf-8")  # the full one is fine
    assert len(vqa(release, tmp_path / "hf2")) == len(lines)


def test_a_partial_extracted_shard_beside_its_archive_is_an_error(release, tmp_path):
    archive = release / "data" / VALID / "imgs" / "000.tgz"
    kept = tmp_path / "000.tgz"
    shutil.copy(archive, kept)
    folder = _extract(archive)
    shutil.copy(kept, archive)
    expected = len(vqa(release, tmp_path / "hf"))  # complete folder beside its archive: fine
    next(folder.glob("*.jpg")).unlink()
    with pytest.raises(ReleaseFormatError, match=r"000.*000\.tgz"):
        vqa(release, tmp_path / "hf2", on_bad_records="skip")
    assert expected == 16


def test_a_malformed_last_line_is_reported_as_malformed(release, tmp_path, caplog):
    lines = read_lines(release)
    lines[-1] = lines[-1][:-30]  # a truncated last line
    write_lines(release, lines)
    with caplog.at_level(logging.WARNING):
        vqa(release, tmp_path / "hf", on_bad_records="warn")
    assert any(f"{ANNOTATION}.tgz:{len(lines)}: malformed JSON" in m for m in caplog.messages)
    assert not any("whose image is in no shard" in m for m in caplog.messages)


# ------------------------------------------------------------------------------------------------------------
# 6. no crashes, no buried messages


def test_a_bare_cr_inside_a_json_line_reads(release, tmp_path):
    lines = read_lines(release)
    lines[2] = lines[2].replace(", ", ",\r ", 1)  # CR as JSON whitespace: valid
    write_lines(release, lines)
    ds = vqa(release, tmp_path / "hf")
    assert records.image_id_of(json.loads(lines[2])["img_path"]) in ds["image_id"]


def test_num_proc_2_reraises_the_workers_file_line_error(release, tmp_path):
    with pytest.raises(ReleaseFormatError, match=r"\.jsonl\.tgz:\d+"):
        vqa(release, tmp_path / "hf", on_bad_records="error", num_proc=2)


def _replace_member(shard: Path, pick: int, data: bytes) -> str:
    with tarfile.open(shard) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    images = [m.name for m, _ in members if m.name.endswith(".jpg")]
    victim = images[pick]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, content in members:
            if member.name == victim:
                content, member.size = data, len(data)
            tar.addfile(member, io.BytesIO(content) if content is not None else None)
    shard.write_bytes(buffer.getvalue())
    return records.image_id_of(victim)


@pytest.mark.parametrize("data", [b"", b"<html>not an image</html>"])
def test_an_undecodable_image_member_is_a_bad_record_at_prepare_time(release, tmp_path, data, caplog):
    bad = _replace_member(release / "data" / VALID / "imgs" / "000.tgz", 0, data)  # before the dirt of line 5
    with pytest.raises(ReleaseFormatError, match=rf"000.*{bad}.*not a JPEG, PNG or WebP"):
        list(vqa(release, tmp_path / "hf", on_bad_records="error", streaming=True))
    with caplog.at_level(logging.WARNING):
        ds = vqa(release, tmp_path / "hf", on_bad_records="warn")
    assert bad not in ds["image_id"]
    ds.cast_column("image", journeydb_image_bytes())  # every row kept is readable
    assert all(len(row["image"]["bytes"]) > 0 for row in ds.cast_column("image", journeydb_image_bytes()))
    assert any("undecodable images" in m for m in caplog.messages)


def test_a_non_utf8_prediction_file_names_file_and_line(tmp_path):
    from journeydb.evaluation.predictions import read_predictions

    path = tmp_path / "predictions.jsonl"
    path.write_bytes(b'{"image_id": "a", "prediction": "x"}\n{"image_id": "b", "prediction": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=r"predictions\.jsonl:2: not UTF-8"):
        read_predictions(path, "caption")


# ------------------------------------------------------------------------------------------------------------
# 8. one policy: bad records follow it, conflicts are errors, style phrases are NFC


def _stats_after(raw: dict, policy: str = "skip") -> tuple[object, records.ReadStats]:
    stats = records.ReadStats()
    return records.parse_record(raw, "anno.jsonl:1", policy, stats), stats


def test_a_bom_or_malformed_line_follows_the_policy(release, tmp_path):
    lines = read_lines(release)
    lines[0] = "\ufeff" + lines[0]  # a byte-order mark is ignored
    lines[3] = lines[3][:-5]  # malformed: skipped and counted under "skip"
    write_lines(release, lines)
    ds = vqa(release, tmp_path / "hf", on_bad_records="skip")
    assert len(ds) == len(lines) - 1
    assert records.image_id_of(json.loads(lines[0][1:])["img_path"]) in ds["image_id"]


def test_wrong_types_and_contradicting_answers_are_bad_records():
    base = {"img_path": "./000/a.jpg", "prompt": "p", "Task1": {"Style": ["x"]}, "Task2": {"Caption": "c"}}
    record, stats = _stats_after(dict(base, Task2={"Caption": 123}))
    assert record is None and stats.counts["malformed record"] == 1
    record, stats = _stats_after(dict(base, Task1={"Style": "watercolor, pastel"}))
    assert record is None and stats.counts["malformed record"] == 1
    options = {"A": "pastel colors", "B": "oil painting", "C": "ink", "D": "pencil"}
    task3 = {"Style Relevant Questions and Answers": [{"Question": "q", "Options": options, "Answer": "A. oil painting"}]}
    record, stats = _stats_after(dict(base, Task3=task3))
    assert record.questions == [] and stats.counts["malformed question"] == 1
    task3["Style Relevant Questions and Answers"][0]["Answer"] = "B. Oil painting"  # agrees: fine
    record, stats = _stats_after(dict(base, Task3=task3))
    assert [q.answer for q in record.questions] == ["B"] and not stats.counts


def test_conflicting_duplicate_test_ground_truth_is_an_error(mini_release, tmp_path):
    truth = (mini_release / "ground_truth" / "test_annotations.jsonl").read_text().splitlines()
    other = json.loads(truth[0])
    other["prompt"] = other["prompt"] + " (another one)"
    path = tmp_path / "truth.jsonl"
    path.write_text("\n".join(truth + [json.dumps(other)]) + "\n")
    with pytest.raises(ReleaseFormatError, match=rf"truth\.jsonl:{len(truth) + 1}: .*other ground truth"):
        journeydb.load("test-clean", data_dir=str(mini_release), split="test", cache_dir=str(tmp_path / "hf"),
                       test_annotations=str(path), on_bad_records="skip")
    # scoring reads the same truth through the same reader (references from the annotation files alone)
    from journeydb.evaluation.tasks import load_references

    with pytest.raises(ReleaseFormatError, match=rf"truth\.jsonl:{len(truth) + 1}: .*other ground truth"):
        load_references("vqa", str(mini_release), "test", test_annotations=str(path))


def test_one_image_name_in_two_shards_is_an_error(release, tmp_path):
    lines = read_lines(release)
    raw = json.loads(lines[0])  # an image of shard 000
    name = raw["img_path"].rsplit("/", 1)[1]
    shard = release / "data" / VALID / "imgs" / "001.tgz"
    with tarfile.open(shard) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    jpeg = next(data for m, data in members if m.name.endswith(".jpg") and data)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        extra = tarfile.TarInfo(f"001/{name}")
        extra.size = len(jpeg)
        tar.addfile(extra, io.BytesIO(jpeg))
    shard.write_bytes(buffer.getvalue())
    write_lines(release, lines + [json.dumps(dict(raw, img_path=f"./001/{name}"))])
    with pytest.raises(ReleaseFormatError, match=r"annotated in shard 001 .* shard 000"):
        vqa(release, tmp_path / "hf", on_bad_records="skip")


def test_style_phrases_are_nfc_in_the_builder_and_in_style_recall():
    from journeydb.scoring.style import style_recall

    nfc, nfd = "caf\u00e9 style", "cafe\u0301 style"
    record, _ = _stats_after({"img_path": "./000/a.jpg", "Task1": {"Style": [nfd]}})
    assert record.style == [nfc]
    scores = style_recall([[nfd, "other"]], [[nfc]], k=1)
    assert scores.corpus["recall@1"] == 1.0


def test_info_counts_what_the_builder_skips(release):
    from journeydb.release.inventory import count_split

    lines = read_lines(release)
    lines[3] = lines[3][:-5]  # a malformed line: counted, not fatal
    write_lines(release, lines)
    bad = _replace_member(release / "data" / VALID / "imgs" / "001.tgz", 1, b"not an image at all")
    counts = count_split(str(release), "validation")
    assert counts.skipped.counts["malformed JSON lines"] == 1
    assert counts.skipped.counts["undecodable images"] == 1
    assert counts.images == 15 and bad not in counts.skipped.examples.get("malformed JSON lines", "")
