"""Loading at scale: how close `journeydb.load(..., streaming=True)` comes to reading the shards, and what
`download_and_prepare` gains from a second process.

Builds a synthetic release in the real layout in a temporary folder (default 2,048 JPEGs of 1024x1024, quality 90,
about 300 KB each, in 8 `imgs/NNN.tgz` shards of the `train` split; `valid` and `test` are tiny because the `vqa`
config declares them), then prints, in one run:

- file read: the shards' bytes read sequentially (MB/s of tgz), what the disk or page cache delivers;
- raw: the images read sequentially out of the shards (MB/s of JPEG bytes) by bare readers: `tarfile`'s gzip stream
  and `gzip.GzipFile` under a tar stream. The faster is the reference, the limit for a reader of this format in
  Python (gunzip and tar parsing are unavoidable). zlib alone (1 MB reads, no tar parsing, output counted at its
  JPEG share) is printed as the floor of the decompression work, and the ratio to it too;
- streaming: `journeydb.load("vqa", ..., split="train", streaming=True).decode(False)`, every row (MB/s of JPEG
  bytes): the same bytes plus annotation routing and parsing, answer normalisation and feature encoding;
- `download_and_prepare` of the `vqa` config with num_proc 1 and 2 (seconds);
- for comparison, `journeydb export` of `vqa` (num_proc 2) and streaming the Parquet files with `load_dataset`.

The last line is `streaming_vs_raw: ...` (target >= 0.8) with the prepare speed-up (target >= 1.6x). Image
decoding is left out of the streaming figure (`.decode(False)`): a trainer decodes in its DataLoader workers.

On a shared machine wall-clock rates move with the other processes' load, so every figure is given twice: per
wall-clock second and per CPU second of this process and its children (what a reader gets from a core of its own).
The readers are single-threaded, so streaming_vs_raw is taken on CPU time, with the wall-clock ratio beside it;
the prepare speed-up can only be a wall-clock figure. Readers run interleaved, best of `--repeat`.

Usage: `python benchmarks/loader.py [--images 2048] [--shards 8]`
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import logging
import os
import resource
import shutil
import tarfile
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

import datasets
import journeydb
from journeydb.release import layout as layout_module
from journeydb.release.records import ANNOTATION_FILES, TASK3_KEYS
from synthetic_release import write_tgz  # this folder's shared release writer

DISTINCT_IMAGES = 32  # encoding 2,000 JPEGs of 1024x1024 would dominate the run; bytes are made unique below


def _jpeg_pool(rng: np.random.Generator) -> list[bytes]:
    """Photo-like noise: smooth colour fields plus grain, ~300 KB at 1024x1024, quality 90."""
    pool = []
    for _ in range(DISTINCT_IMAGES):
        base = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(base).resize((1024, 1024), Image.BILINEAR)).astype(np.int16)
        grain = np.clip(smooth + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(grain).save(buffer, format="JPEG", quality=90)
        pool.append(buffer.getvalue())
    return pool


def _unique(jpeg: bytes, tag: str) -> bytes:
    """The same picture with a JPEG comment segment naming it, so that no two files are byte-identical."""
    comment = tag.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


def _question(kind: str, index: int) -> dict:
    options = {letter: f"{kind} option {letter.lower()} {index}" for letter in "ABCD"}
    return {"Question": f"Which {kind} is shown ({index})?", "Options": options, "Answer": "ABCD"[index % 4]}


def _record(img_path: str, index: int) -> dict:
    return {
        "img_path": img_path,
        "prompt": f"a synthetic picture number {index}, oil painting, cinematic lighting --ar 1:1 --v 5",
        "Task1": {
            "Style": ["oil painting", "cinematic lighting"],
            "Content": [f"picture {index}"],
            "Atmosphere": [],
            "Others": [],
        },
        "Task2": {"Caption": f"A synthetic picture number {index}."},
        "Task3": {
            TASK3_KEYS["style"]: [_question("style", index), _question("style", index + 1)],
            TASK3_KEYS["content"]: [_question("content", index), _question("content", index + 2)],
        },
    }


def build_release(root: Path, images: int, shards: int) -> int:
    """The synthetic release; returns the bytes of JPEGs in the train split."""
    rng = np.random.default_rng(0)
    pool = _jpeg_pool(rng)
    jpeg_bytes = 0
    layout = {"train": (shards, images // shards), "valid": (1, 4)}
    for folder, (num_shards, per_shard) in layout.items():
        records = []
        (root / "data" / folder / "imgs").mkdir(parents=True)
        for shard in range(num_shards):
            name = f"{shard:03d}"
            members = []
            for index in range(per_shard):
                image_id = str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | len(records), version=4))
                data = _unique(pool[len(records) % DISTINCT_IMAGES], image_id)
                members.append((f"{name}/{image_id}.jpg", data))
                records.append(_record(f"./{name}/{image_id}.jpg", len(records)))
                jpeg_bytes += len(data) if folder == "train" else 0
            write_tgz(root / "data" / folder / "imgs" / f"{name}.tgz", members)
        lines = "".join(json.dumps(r) + "\n" for r in records).encode()
        annotation = ANNOTATION_FILES[folder]
        write_tgz(root / "data" / folder / f"{annotation}.tgz", [(annotation, lines)])
    test_records, test_members = [], []
    for index in range(4):
        image_id = str(uuid.UUID(int=index + 1, version=4))
        test_members.append((f"imgs/{image_id}.jpg", _unique(pool[index], image_id)))
        record = _record(f"./imgs/{image_id}.jpg", index)
        test_records.append({"img_path": record["img_path"], "Task3": record["Task3"]})
    (root / "data" / "test").mkdir(parents=True)
    write_tgz(root / "data" / "test" / "imgs.tgz", test_members)
    lines = "".join(json.dumps(r) + "\n" for r in test_records).encode()
    write_tgz(root / "data" / "test" / f"{ANNOTATION_FILES['test']}.tgz", [(ANNOTATION_FILES["test"], lines)])
    return jpeg_bytes


def _train_shards(root: Path) -> list[Path]:
    return sorted((root / "data" / "train" / "imgs").glob("*.tgz"))


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (a pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = function(*args)
    return result, time.perf_counter() - wall, _cpu_seconds() - cpu


# readers: each returns the bytes it delivered


def file_read(root: Path) -> int:
    total = 0
    for path in _train_shards(root):
        with open(path, "rb") as f:
            while chunk := f.read(8 << 20):
                total += len(chunk)
    return total


def _jpeg_bytes_of_tar(tar: tarfile.TarFile) -> int:
    total = 0
    for member in tar:
        if member.isfile() and member.name.endswith(".jpg"):
            total += len(tar.extractfile(member).read())
    return total


def raw_tarfile_gz(root: Path) -> int:
    """tarfile's own gzip stream, the way datasets' iter_archive opens a tgz."""
    total = 0
    for path in _train_shards(root):
        with tarfile.open(path, mode="r|gz") as tar:
            total += _jpeg_bytes_of_tar(tar)
    return total


def raw_gzip_tar(root: Path) -> int:
    """gzip.GzipFile (128 KB reads) under a tar stream."""
    total = 0
    for path in _train_shards(root):
        with gzip.open(path, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            total += _jpeg_bytes_of_tar(tar)
    return total


def raw_inflate(root: Path) -> int:
    """zlib alone in 1 MB reads, no tar parsing: the floor of the decompression work (returns inflated bytes)."""
    inflated = 0
    for path in _train_shards(root):
        decompressor = zlib.decompressobj(31)
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                inflated += len(decompressor.decompress(chunk))
    return inflated


def streaming_read(root: Path) -> int:
    stream = journeydb.load("vqa", data_dir=str(root), split="train", streaming=True).decode(False)
    return sum(len(row["image"]["bytes"]) for row in stream)


def parquet_streaming_read(folder: Path) -> int:
    stream = datasets.load_dataset(str(folder), "vqa", split="train", streaming=True).decode(False)
    return sum(len(row["image"]["bytes"]) for row in stream)


@contextlib.contextmanager
def _counting_annotation_passes() -> Iterator[list[int]]:
    """Instrumentation: how many times the annotation file is read whole (datasets >= 5 streams each image shard
    through its own `_generate_examples` call; the annotation index makes that one read per machine)."""
    original = layout_module.annotation_lines
    passes = [0]

    def counted(*args, **kwargs):
        passes[0] += 1
        return original(*args, **kwargs)

    layout_module.annotation_lines = counted
    try:
        yield passes
    finally:
        layout_module.annotation_lines = original


def prepare(root: Path, cache: Path, num_proc: int) -> int:
    """download_and_prepare of `vqa` into a fresh cache (removed afterwards); returns the train rows."""
    builder = journeydb.JourneyDB(config_name="vqa", data_dir=str(root), cache_dir=str(cache))
    builder.download_and_prepare(num_proc=num_proc)
    rows = builder.info.splits["train"].num_examples
    shutil.rmtree(cache)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2048, help="train images (default %(default)s)")
    parser.add_argument("--shards", type=int, default=8, help="train image shards (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N, interleaved (default %(default)s)")
    args = parser.parse_args()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    logging.getLogger("journeydb").setLevel(logging.ERROR)

    print(f"cpus: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f} (the machine may be shared)")
    with tempfile.TemporaryDirectory(prefix="journeydb-bench-") as tmp:
        os.environ["JOURNEYDB_CACHE"] = str(Path(tmp) / "journeydb-cache")  # the annotation index stays in tmp
        root = Path(tmp) / "release"
        jpeg_bytes, build_s, _ = timed(build_release, root, args.images, args.shards)
        tgz_bytes = sum(p.stat().st_size for p in _train_shards(root))
        print(
            f"release: {args.images} JPEGs in {args.shards} shards, {jpeg_bytes / args.images / 1e3:.0f} KB per image, "
            f"{tgz_bytes / 1e6:.0f} MB of tgz (built in {build_s:.1f} s)"
        )
        file_read(root)  # the page cache now holds the shards for every reader below
        # the one-off imports of a first iteration (torch, PIL plugins) stay out of the timings
        next(iter(journeydb.load("vqa", data_dir=str(root), split="validation", streaming=True)))
        parquet = Path(tmp) / "parquet"
        _, export_s, export_cpu = timed(journeydb.export_parquet, root, parquet, ["vqa"], 2)

        readers = {
            "file read (tgz bytes)": (file_read, root),
            "raw: tarfile r|gz": (raw_tarfile_gz, root),
            "raw: gzip + tar": (raw_gzip_tar, root),
            "raw: zlib inflate alone": (raw_inflate, root),
            "journeydb streaming": (streaming_read, root),
            "streaming the export (Parquet)": (parquet_streaming_read, parquet),
        }
        wall = {name: float("inf") for name in readers}
        cpu = dict(wall)
        delivered = {}
        with _counting_annotation_passes() as passes:
            for _ in range(args.repeat):
                for name, (reader, folder) in readers.items():
                    delivered[name], wall_s, cpu_s = timed(reader, folder)
                    wall[name], cpu[name] = min(wall[name], wall_s), min(cpu[name], cpu_s)
        for name in ("raw: tarfile r|gz", "raw: gzip + tar", "journeydb streaming", "streaming the export (Parquet)"):
            if delivered[name] != jpeg_bytes:
                raise RuntimeError(f"{name} delivered {delivered[name]} JPEG bytes, the release has {jpeg_bytes}")
        print(f"{'MB/s of JPEG (file read: of tgz)':<34} {'wall':>8} {'CPU':>8}")
        for name in readers:
            amount = delivered[name] if name.startswith("file") else jpeg_bytes  # zlib alone: at the JPEG share
            print(f"{name:<34} {amount / wall[name] / 1e6:8.1f} {amount / cpu[name] / 1e6:8.1f}")
        print(f"annotation file reads over {args.repeat} streaming passes: {passes[0]} (the index is built once)")

        prepare_wall, prepare_cpu = {1: float("inf"), 2: float("inf")}, {1: float("inf"), 2: float("inf")}
        for _ in range(args.repeat):
            for num_proc in prepare_wall:
                rows, wall_s, cpu_s = timed(prepare, root, Path(tmp) / "cache", num_proc)
                if rows != args.images:
                    raise RuntimeError(f"num_proc={num_proc} prepared {rows} train rows, expected {args.images}")
                prepare_wall[num_proc] = min(prepare_wall[num_proc], wall_s)
                prepare_cpu[num_proc] = min(prepare_cpu[num_proc], cpu_s)
        for num_proc in prepare_wall:
            print(
                f"download_and_prepare num_proc={num_proc}: {prepare_wall[num_proc]:5.1f} s wall, "
                f"{prepare_cpu[num_proc]:5.1f} s CPU (all processes)"
            )
        print(f"journeydb export vqa num_proc=2:   {export_s:5.1f} s wall, {export_cpu:5.1f} s CPU (all processes)")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")

        raw = min(("raw: tarfile r|gz", "raw: gzip + tar"), key=cpu.get)  # the faster bare reader
        by_cpu = cpu[raw] / cpu["journeydb streaming"]
        by_wall = wall[raw] / wall["journeydb streaming"]
        floor = cpu["raw: zlib inflate alone"] / cpu["journeydb streaming"]
        print(
            f"streaming_vs_raw: {by_cpu:.2f} by CPU time, {by_wall:.2f} by wall clock "
            f"(raw = {raw.removeprefix('raw: ')}; {floor:.2f} of zlib inflate alone; target >= 0.8); "
            f"prepare_speedup_num_proc_2: {prepare_wall[1] / prepare_wall[2]:.2f}x wall (target >= 1.6x)"
        )


if __name__ == "__main__":
    main()
