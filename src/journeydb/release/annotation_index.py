"""Annotation lines split by image shard, once per machine, so a shard reads only its own lines.

The release has one annotation file per split (4.2M lines for train) but 200 image shards. `datasets` generates
examples per shard group (and per shard when streaming), so without an index every group would decompress and
scan the whole file. The index is built on first use into `<journeydb cache>/annotation-index/<key>/`, under a
file lock (concurrent workers wait for one build), with the raw lines kept as they are (and their line numbers, for
error messages): `<shard>.tsv` holds `line_no<TAB>raw line` per annotation of that shard, `_unrouted.tsv` the lines
that name no known shard or carry no usable `img_path`. The key covers the file's path, size and modification time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from datasets.utils.file_utils import xgetsize
from filelock import FileLock

from . import layout, records
from .cache import cache_root
from .records import ReleaseFormatError

INDEX_VERSION = "1"
UNROUTED = "_unrouted"
TEST_SHARD = "imgs"


def _index_key(path: str, all_shards: tuple[str, ...], is_test: bool) -> str:
    digest = hashlib.sha256(f"{INDEX_VERSION}\0{path}\0{is_test}\0{','.join(all_shards)}".encode())
    if os.path.exists(path):
        stat = os.stat(path)
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    else:  # remote (hf://...): the size stands in for a modification time
        digest.update(str(xgetsize(path)).encode())
    return digest.hexdigest()[:24]


def route(raw: str, all_shards: frozenset[str], is_test: bool) -> str:
    """The shard an annotation line belongs to, or `UNROUTED` (no/bad `img_path`, or a shard that is not there)."""
    img_path = records.peek_img_path(raw)
    if img_path is None:
        return UNROUTED
    try:
        relative = records.validate_img_path(img_path, "")
    except records.BadRecord:
        return UNROUTED
    if is_test:
        return TEST_SHARD
    shard = records.shard_of(relative)
    return shard if shard in all_shards else UNROUTED


def build_index(path: str, name: str, all_shards: tuple[str, ...], is_test: bool) -> Path:
    """The folder of per-shard line files for annotation file `path` (named `name` in messages); built once."""
    root = cache_root() / "annotation-index" / _index_key(path, all_shards, is_test)
    done = root / "complete"
    if done.exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        if done.exists():
            return root
        shard_set = frozenset(all_shards)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root.parent))
        files: dict[str, IO[str]] = {}
        try:
            for line_no, raw_bytes in enumerate(layout.annotation_lines(path), start=1):
                try:
                    raw = raw_bytes.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise ReleaseFormatError(f"{name}:{line_no}: not UTF-8 ({err})") from None
                if not raw.strip():
                    continue
                shard = route(raw, shard_set, is_test)
                if shard not in files:
                    files[shard] = open(tmp / f"{shard}.tsv", "w", encoding="utf-8")
                files[shard].write(f"{line_no}\t{raw.rstrip(chr(10)).rstrip(chr(13))}\n")
        except BaseException:
            for f in files.values():
                f.close()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for f in files.values():
            f.close()
        (tmp / "complete").write_text(f"{name}\n", encoding="utf-8")
        shutil.rmtree(root, ignore_errors=True)  # a partial folder from a crashed build
        os.replace(tmp, root)
    return root


def shard_lines(index: Path, shard: str) -> Iterator[tuple[int, str]]:
    """(line number, raw line) of the annotations of one shard (or of `UNROUTED`)."""
    path = index / f"{shard}.tsv"
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            line_no, _, raw = line.rstrip("\n").partition("\t")
            yield int(line_no), raw
