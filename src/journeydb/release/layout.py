"""Where the release's files are: the data root, a split's annotation file and image shards.

Paths go through datasets' `x*` file functions, so the same code lists a local folder and `hf://` (streaming with
the user's token).
"""

from __future__ import annotations

import tarfile
import zlib
from typing import Iterator

from datasets.utils.file_utils import ArchiveIterable, xisdir, xisfile, xjoin, xlistdir, xopen

from . import records
from .records import ReleaseFormatError


def data_root(data_dir: str) -> str:
    """`<data_dir>/data` when it exists (the HF repo as downloaded), else `data_dir` itself."""
    candidate = xjoin(data_dir, "data")
    return candidate if xisdir(candidate) else data_dir


def split_folder(data_dir: str, split: str) -> str:
    folder = xjoin(data_root(data_dir), records.SPLIT_DIRS[split])
    if not xisdir(folder):
        raise FileNotFoundError(f"JourneyDB split {split!r}: folder {folder} does not exist")
    return folder


def annotation_path(folder: str, split: str) -> str:
    """The split's annotation file: the extracted `.jsonl` when present, else the released `.jsonl.tgz`."""
    name = records.ANNOTATION_FILES[records.SPLIT_DIRS[split]]
    for candidate in (xjoin(folder, name), xjoin(folder, name + ".tgz")):
        if xisfile(candidate):
            return candidate
    raise FileNotFoundError(f"no annotation file in {folder}: expected {name}.tgz (or the extracted {name})")


def shard_paths(folder: str, split: str) -> tuple[list[str], list[str]]:
    """(names, paths) of a split's image shards; an extracted `NNN/` folder wins over its `NNN.tgz`."""
    if split == "test":
        for candidate in (xjoin(folder, "imgs"), xjoin(folder, "imgs.tgz")):
            if xisdir(candidate) or xisfile(candidate):
                return ["imgs"], [candidate]
        raise FileNotFoundError(f"no test images in {folder}: expected imgs.tgz (or the extracted imgs/)")
    imgs = xjoin(folder, "imgs")
    found: dict[str, str] = {}
    if xisdir(imgs):
        for entry in sorted(xlistdir(imgs)):
            path = xjoin(imgs, entry)
            if entry.endswith(".tgz") and entry[:-4].isdigit():
                found.setdefault(entry[:-4], path)
            elif entry.isdigit() and xisdir(path):
                found[entry] = path
    if not found:
        raise FileNotFoundError(f"no image shards in {imgs}: expected NNN.tgz archives (or extracted NNN/ folders)")
    names = sorted(found)
    return names, [found[n] for n in names]


def annotation_lines(path: str) -> Iterator[bytes]:
    """Raw lines of an annotation file, read straight from its `.jsonl.tgz` (one `.jsonl` member) or `.jsonl`."""
    if not (path.endswith(".tgz") or path.endswith(".tar.gz")):
        with xopen(path, "rb") as f:
            yield from f
        return
    members = 0
    try:
        for member_name, f in ArchiveIterable.from_urlpath(path):
            if member_name.endswith(".jsonl"):
                members += 1
                yield from f
    except (EOFError, OSError, tarfile.TarError, zlib.error) as err:
        raise ReleaseFormatError(f"{path}: truncated or unreadable archive ({err})") from None
    if members != 1:
        raise ReleaseFormatError(f"{path}: expected one .jsonl member, found {members}")


def iter_archive_images(name: str, members: Iterator[tuple[str, object]]) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of the image members of a tar stream; a truncated archive is an error naming it."""
    try:
        for member_name, f in members:
            if records.is_image_member(member_name):
                yield member_name, f.read()  # type: ignore[attr-defined]
    except (EOFError, OSError, tarfile.TarError, zlib.error) as err:
        raise ReleaseFormatError(f"image shard {name}: truncated or unreadable archive ({err})") from None


def read_file(path: str) -> bytes:
    with xopen(path, "rb") as f:
        return f.read()
