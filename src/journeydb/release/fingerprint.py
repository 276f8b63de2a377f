"""Content keys of release files, so that caches built from them (the prepared Arrow data, the annotation index,
the export's resume records) are rebuilt when the release changes, not only when the code does.

- An annotation file is keyed by a SHA-256 of its bytes: it is small next to the images, and a same-size edit
  with a restored modification time (an answer letter) must still change the key.
- An image shard `NNN.tgz` is keyed by size, modification time and its gzip trailer (CRC32 and length of the
  uncompressed stream, the file's last 8 bytes): any change of the content changes the CRC, without reading it.
- An extracted folder is keyed by the relative path, size and modification time of every entry in it.

Keys are memoised per process by (device, inode, size, mtime, ctime): ctime changes on every write and on every
`utime`, so a memoised key is never stale.
"""

from __future__ import annotations

import hashlib
import os
from typing import Optional

from datasets.utils.file_utils import xgetsize, xisdir

_CHUNK = 1 << 20
_MEMO: dict[tuple, str] = {}


def _stat_key(path: str, stat: os.stat_result) -> tuple:
    return (path, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def annotation_key(path: str) -> str:
    """SHA-256 (hex) of an annotation file's bytes; a remote file (hf://) is keyed by its size."""
    if not os.path.exists(path):
        return f"remote-size:{xgetsize(path)}"
    stat = os.stat(path)
    memo = _stat_key(path, stat)
    if memo not in _MEMO:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        _MEMO[memo] = digest.hexdigest()
    return _MEMO[memo]


def shard_key(path: str) -> str:
    """Size, mtime and gzip trailer of an image archive, or the listing (paths, sizes, mtimes) of a folder."""
    if not os.path.exists(path):
        return f"remote-dir:{path}" if xisdir(path) else f"remote-size:{xgetsize(path)}"
    if os.path.isdir(path):
        digest = hashlib.sha256()
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files + dirs):
                entry = os.path.join(folder, name)
                stat = os.lstat(entry)
                rel = os.path.relpath(entry, path)
                digest.update(f"{rel}\0{stat.st_mode}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return "dir:" + digest.hexdigest()
    stat = os.stat(path)
    with open(path, "rb") as f:
        f.seek(max(0, stat.st_size - 8))
        trailer = f.read(8)
    return f"file:{stat.st_size}:{stat.st_mtime_ns}:{trailer.hex()}"


def optional_file_key(path: Optional[str]) -> Optional[str]:
    """The content key of a side file given by the user (style tree, test ground truth), None when not given."""
    return annotation_key(path) if path else None


def release_key(data_dir: str, splits: tuple[str, ...], side_files: tuple[Optional[str], ...] = ()) -> str:
    """One key for what a config reads of a release: its splits' annotation files and image shards, and the side
    files of its options. A split that is not there keys as missing (reading it raises the proper error later)."""
    from . import layout  # layout uses this module's keys

    digest = hashlib.sha256()
    for split in splits:
        try:
            folder = layout.split_folder(data_dir, split)
            digest.update(f"{split}\0{annotation_key(layout.annotation_path(folder, split))}\0".encode())
            for name, path in zip(*layout.shard_paths(folder, split)):
                digest.update(f"{name}\0{shard_key(path)}\0".encode())
        except FileNotFoundError:
            digest.update(f"{split}\0missing\0".encode())
    for path in side_files:
        digest.update(f"{optional_file_key(path)}\0".encode())
    return digest.hexdigest()[:16]
