"""Annotation lines split by image shard, once per machine, so a shard reads only its own lines.

The release has one annotation file per split (4.2M lines for train) but 200 image shards. `datasets` generates
examples per shard group (and per shard when streaming), so without an index every group would decompress and
scan the whole file. The index is built on first use into `<journeydb cache>/annotation-index/<key>/`, under a
file lock (concurrent workers wait for one build), with the raw lines kept as they are (and their line numbers, for
error messages): `<shard>.tsv` holds `line_no<TAB>raw line` per annotation of that shard, `_unrouted.tsv` the lines
that name no known shard, carry no usable `img_path` or are not JSON. Lines are routed by the same full JSON parse
that later builds their rows. The key is the annotation file's content (`fingerprint.annotation_key`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from array import array
from pathlib import Path
from typing import IO, Iterator, Optional

import numpy as np
from filelock import FileLock

from . import fingerprint, layout, records
from .cache import cache_root
from .records import ReleaseFormatError

INDEX_VERSION = "2"
UNROUTED = "_unrouted"
TEST_SHARD = "imgs"


def _index_key(content_key: str, all_shards: tuple[str, ...], is_test: bool) -> str:
    digest = hashlib.sha256(f"{INDEX_VERSION}\0{content_key}\0{is_test}\0{','.join(all_shards)}".encode())
    return digest.hexdigest()[:24]


def route(raw: str, all_shards: frozenset[str], is_test: bool) -> str:
    """The shard an annotation line belongs to, or `UNROUTED` (no/bad `img_path`, or a shard that is not there)."""
    return _shard_of(_relative_path(raw), all_shards, is_test)


def _relative_path(raw: str) -> Optional[str]:
    try:
        return records.img_path_of(records.decode_line(raw, ""))
    except ReleaseFormatError:
        return None


def _shard_of(relative: Optional[str], all_shards: frozenset[str], is_test: bool) -> str:
    if relative is None:
        return UNROUTED
    if is_test:
        return TEST_SHARD
    shard = records.shard_of(relative)
    return shard if shard in all_shards else UNROUTED


def build_index(
    path: str, name: str, all_shards: tuple[str, ...], is_test: bool, content_key: Optional[str] = None
) -> Path:
    """The folder of per-shard line files for annotation file `path` (named `name` in messages); built once.
    `content_key` is `fingerprint.annotation_key(path)` when the caller has it already."""
    key = content_key if content_key is not None else fingerprint.annotation_key(path)
    root = cache_root() / "annotation-index" / _index_key(key, all_shards, is_test)
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
        ids = array("Q")  # 8-byte hashes of the routed lines' image ids: 35 MB for train's 4.4M lines
        try:
            for line_no, raw_bytes in enumerate(layout.annotation_lines(path), start=1):
                try:
                    raw = raw_bytes.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise ReleaseFormatError(f"{name}:{line_no}: not UTF-8 ({err})") from None
                if not raw.strip():
                    continue
                relative = _relative_path(raw)  # one parse routes the line and names its image
                shard = _shard_of(relative, shard_set, is_test)
                if relative is not None and shard != UNROUTED:
                    ids.append(_id_hash(records.image_id_of(relative)))
                if shard not in files:
                    # newline="": a bare CR inside a line stays inside it (JSON allows it as whitespace)
                    files[shard] = open(tmp / f"{shard}.tsv", "w", encoding="utf-8", newline="")
                files[shard].write(f"{line_no}\t{raw.rstrip(chr(10)).rstrip(chr(13))}\n")
        except BaseException:
            for f in files.values():
                f.close()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for f in files.values():
            f.close()
        try:
            _refuse_ids_in_two_shards(tmp, name, ids)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if not files:  # an empty (or emptied) annotation file would read as a split without labels
            shutil.rmtree(tmp, ignore_errors=True)
            raise ReleaseFormatError(f"{name}: the annotation file holds no annotation lines")
        (tmp / "complete").write_text(f"{name}\n", encoding="utf-8")
        shutil.rmtree(root, ignore_errors=True)  # a partial folder from a crashed build
        os.replace(tmp, root)
    return root


def _id_hash(image_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(image_id.encode(), digest_size=8).digest(), "little")


def _refuse_ids_in_two_shards(folder: Path, name: str, ids: "array[int]") -> None:
    """The same image name annotated in two shards would give two rows with one id: an error naming both lines.
    Found by sorting the ids' hashes (memory: 8 bytes a line); only on a hash repeat are the line files re-read."""
    hashes = np.sort(np.frombuffer(ids, dtype=np.uint64)) if len(ids) else np.zeros(0, dtype=np.uint64)
    repeated = set(hashes[1:][hashes[1:] == hashes[:-1]].tolist())
    if not repeated:
        return
    seen: dict[str, tuple[str, int]] = {}
    for path in sorted(folder.glob("*.tsv")):
        shard = path.stem
        for line_no, raw in shard_lines(folder, shard):
            image_id = records.image_id_of(records.img_path_of(records.decode_line(raw, "")) or "")
            if shard == UNROUTED or _id_hash(image_id) not in repeated:
                continue
            other = seen.setdefault(image_id, (shard, line_no))
            if other[0] != shard:
                raise ReleaseFormatError(
                    f"{name}:{line_no}: image {image_id} is annotated in shard {shard} and, on line {other[1]}, in "
                    f"shard {other[0]} (one image id, two images)"
                )


def shard_lines(index: Path, shard: str) -> Iterator[tuple[int, str]]:
    """(line number, raw line) of the annotations of one shard (or of `UNROUTED`)."""
    path = index / f"{shard}.tsv"
    if not path.exists():
        return
    with open(path, "rb") as f:  # binary: lines end at LF only, a bare CR stays inside its line
        for line in f:
            line_no, _, raw = line.decode("utf-8").rstrip("\n").partition("\t")
            yield int(line_no), raw
