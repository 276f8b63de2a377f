"""What the integrity checks cost at release scale, on synthetic files written into a temporary folder.

- `annotation_key`: SHA-256 of an annotation archive's bytes (the prepared cache's and index's key), MB/s.
- `build_index`: routing N annotation lines (validation-like records, ~2 KB each) by the full JSON parse, with the
  cross-shard duplicate check, lines/s.
- `iter_archive_images`: reading an image shard with the gzip CRC/length and tar-end checks, against plain
  `tarfile` stream reading of the same file, MB/s of archive.

    python benchmarks/integrity.py --lines 200000 --shard-mb 200

Validation has 234k annotation lines (train 4.45M) and ~1 GB shards; the figures scale linearly.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import tarfile
import tempfile
import time
from pathlib import Path

from journeydb.release import annotation_index, fingerprint, layout


def _write_annotations(path: Path, lines: int, shards: int) -> None:
    rng = random.Random(0)
    words = [f"word{i}" for i in range(2000)]
    buffer = io.BytesIO()
    for i in range(lines):
        options = {letter: " ".join(rng.choices(words, k=3)) for letter in "ABCD"}
        record = {
            "img_path": f"./{i % shards:03d}/{i:08x}-aaaa-bbbb-cccc-{i:012x}.jpg",
            "prompt": " ".join(rng.choices(words, k=40)),
            "Task1": {"Style": rng.choices(words, k=4), "Content": rng.choices(words, k=6), "Atmosphere": [], "Others": []},
            "Task2": {"Caption": " ".join(rng.choices(words, k=25))},
            "Task3": {
                "Style Relevant Questions and Answers": [{"Question": "Which style?", "Options": options, "Answer": "A"}],
                "Content Relevant Questions and Answers": [{"Question": "What?", "Options": options, "Answer": "B"}],
            },
        }
        buffer.write((json.dumps(record) + "\n").encode())
    data = buffer.getvalue()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tar:
            info = tarfile.TarInfo("valid_anno_repath.jsonl")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _write_shard(path: Path, megabytes: int) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=1) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tar:
            for i in range(megabytes * 4):  # 256 KB "images" (incompressible, as JPEGs are)
                data = b"\xff\xd8\xff\xe0" + os.urandom(256 * 1024 - 4)
                info = tarfile.TarInfo(f"000/{i:08d}.jpg")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--shard-mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JOURNEYDB_CACHE"] = tmp
        ann = Path(tmp) / "valid_anno_repath.jsonl.tgz"
        _write_annotations(ann, args.lines, shards=200)
        size_mb = ann.stat().st_size / 1e6
        start = time.perf_counter()
        fingerprint._MEMO.clear()
        key = fingerprint.annotation_key(str(ann))
        took = time.perf_counter() - start
        print(f"annotation_key: {size_mb:.1f} MB archive in {took:.2f} s ({size_mb / took:.0f} MB/s)")
        shards = tuple(f"{i:03d}" for i in range(200))
        start = time.perf_counter()
        annotation_index.build_index(str(ann), ann.name, shards, False, content_key=key)
        took = time.perf_counter() - start
        print(f"build_index: {args.lines} lines in {took:.2f} s ({args.lines / took:,.0f} lines/s)")
        shard = Path(tmp) / "000.tgz"
        _write_shard(shard, args.shard_mb)
        shard_mb = shard.stat().st_size / 1e6
        start = time.perf_counter()
        checked = sum(len(data) for _, data in layout.iter_archive_images("000", str(shard)))
        took_checked = time.perf_counter() - start
        start = time.perf_counter()
        with tarfile.open(shard, mode="r|gz") as tar:
            plain = sum(len(tar.extractfile(m).read()) for m in tar if m.isfile())
        took_plain = time.perf_counter() - start
        assert checked == plain
        print(f"iter_archive_images (checked): {shard_mb:.0f} MB in {took_checked:.2f} s ({shard_mb / took_checked:.0f} MB/s)")
        print(f"tarfile r|gz (unchecked): {shard_mb:.0f} MB in {took_plain:.2f} s ({shard_mb / took_plain:.0f} MB/s)")


if __name__ == "__main__":
    main()
