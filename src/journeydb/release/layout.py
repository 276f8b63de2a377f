"""Where the release's files are: the data root, a split's annotation file and image shards.

Paths go through datasets' `x*` file functions, so the same code lists a local folder and `hf://` (streaming with
the user's token).

Layout (the HF dataset repo `JourneyDB/JourneyDB`, i.e. the folder that contains `data/`):

    data/train/train_anno_realease_repath.jsonl.tgz   ("realease" is the release's own typo)
    data/train/imgs/000.tgz ...                       (members `000/<name>.jpg`)
    data/valid/valid_anno_repath.jsonl.tgz
    data/valid/imgs/NNN.tgz
    data/test/test_questions.jsonl.tgz                (questions only: the ground truth is withheld)
    data/test/imgs.tgz                                (top-level `imgs/`)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
import tarfile
import zlib
from typing import Iterator, Optional

from datasets.utils.file_utils import ArchiveIterable, xgetsize, xisdir, xisfile, xjoin, xlistdir, xopen, xwalk

from . import fingerprint, records
from .cache import cache_root
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
    extracted, archive = xjoin(folder, name), xjoin(folder, name + ".tgz")
    if xisfile(extracted) and xisfile(archive):
        _check_same_annotations(extracted, archive)
    for candidate in (extracted, archive):
        if xisfile(candidate):
            return candidate
    raise FileNotFoundError(f"no annotation file in {folder}: expected {name}.tgz (or the extracted {name})")


def _check_same_annotations(extracted: str, archive: str) -> None:
    """An extracted annotation file beside its archive must be the archive's member: a partial extraction would
    silently read as fewer annotations. The member's size is in the archive's first tar header (cheap to read)."""
    with xopen(archive, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
        try:
            header = tarfile.TarInfo.frombuf(gz.read(tarfile.BLOCKSIZE), "utf-8", "surrogateescape")
        except (EOFError, OSError, tarfile.TarError, zlib.error) as err:
            raise ReleaseFormatError(f"{archive}: truncated or damaged archive ({err})") from None
    size = xgetsize(extracted)
    if header.size != size:
        raise ReleaseFormatError(
            f"conflicting annotation sources: {extracted} ({size} bytes) differs from the member of {archive} "
            f"({header.size} bytes); remove one of them"
        )


def _check_same_shard(name: str, extracted: str, archive: str) -> None:
    """An extracted shard folder beside its archive must hold the archive's images (names and sizes); the
    archive's listing is read once and cached under its content key."""
    if not os.path.exists(extracted):
        return
    key = fingerprint.shard_key(archive)
    cached = cache_root() / "shard-listing" / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")
    if cached.exists():
        in_archive = json.loads(cached.read_text(encoding="utf-8"))
    else:
        in_archive = {m: len(data) for m, data in iter_archive_images(name, archive)}
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(in_archive), encoding="utf-8")
    parent = os.path.dirname(extracted)
    in_folder = {os.path.relpath(p, parent).replace(os.sep, "/"): os.path.getsize(p)
                 for p in iter_folder_images(name, extracted)}
    if in_folder != in_archive:
        differing = sorted(set(in_folder.items()) ^ set(in_archive.items()))
        raise ReleaseFormatError(
            f"conflicting image sources for shard {name}: {extracted} and {archive} differ "
            f"({len(differing)} image(s), e.g. {differing[0][0]}); remove one of them"
        )


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
    for name, path in found.items():
        archive = xjoin(imgs, name + ".tgz")
        if path != archive and xisfile(archive):
            _check_same_shard(name, path, archive)
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


def iter_archive_images(name: str, path: str) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of the image members of the image shard archive `path`, read with integrity checks.

    A damaged archive is not a bad record: under every policy it raises `ReleaseFormatError` naming the shard.
    `tarfile` alone would not tell: its header loop ends quietly at a damaged header (the rest of the shard then
    reads as missing images) and the gzip CRC and length are only checked once the stream is read to its end.
    So the archive is read as a plain gzip stream to its very end, the tar stream must end in zero blocks, and a
    link or other non-regular member is refused (it could make a row's image bytes another file's).
    """
    try:
        with xopen(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            tar = tarfile.open(fileobj=gz, mode="r:")
            for member in tar:
                if not (member.isreg() or member.isdir()):
                    raise ReleaseFormatError(
                        f"image shard {name}: member {member.name!r} is a link or special file, refused"
                    )
                if member.isreg() and records.is_image_member(member.name):
                    f = tar.extractfile(member)
                    yield member.name, f.read() if f is not None else b""
            gz.seek(tar.offset)
            while chunk := gz.read(1 << 20):  # to the end: gzip checks CRC32 and length there
                if chunk.count(0) != len(chunk):
                    raise ReleaseFormatError(
                        f"image shard {name}: damaged tar header at byte {tar.offset} ends the archive early"
                    )
    except ReleaseFormatError:
        raise
    except (EOFError, OSError, tarfile.TarError, zlib.error) as err:
        raise ReleaseFormatError(f"image shard {name}: truncated or damaged archive ({err})") from None


def iter_folder_images(name: str, root: str) -> Iterator[str]:
    """Paths of the image files of an extracted shard folder, in a stable order; links and special files are
    refused (a symlink would make a row's image bytes a file outside the release)."""
    if not os.path.exists(root):  # remote (hf://): the hub stores no links
        for path in sorted(xjoin(folder, f) for folder, _, files in xwalk(root) for f in files):
            if records.is_image_member(path):
                yield path
        return
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for entry in sorted(dirs + files):
            path = os.path.join(folder, entry)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ReleaseFormatError(f"image shard {name}: {path} is a link or special file, refused")
            if stat.S_ISREG(mode) and os.stat(path).st_nlink > 1:
                raise ReleaseFormatError(f"image shard {name}: {path} is a hard link, refused")
            if stat.S_ISREG(mode) and records.is_image_member(entry):
                yield path


def image_problem(data: bytes) -> Optional[str]:
    """Why `data` is not a decodable image (JPEG, PNG, WebP by magic bytes and first header), or None. Cheap: run
    at prepare time so a bad member is a counted bad record, not a PIL error at row access later."""
    if len(data) < 16:
        return f"not a JPEG, PNG or WebP image ({len(data)} bytes)"
    if data[:3] == b"\xff\xd8\xff" and data[3] >= 0xC0:  # SOI, then a marker
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:15] == b"VP8":
        return None
    return f"not a JPEG, PNG or WebP image (starts {data[:8].hex()})"


def read_file(path: str) -> bytes:
    with xopen(path, "rb") as f:
        return f.read()
