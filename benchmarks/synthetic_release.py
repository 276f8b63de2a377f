"""A synthetic JourneyDB release in the real layout, for the scale benchmarks (`benchmark_scale.py`, `scale.py`).

`build_release(root, images, train_images)` writes `images` validation and `train_images` training images (64x64
JPEGs from a pool of 256, each made distinct by its own id appended, in 2,000-image `.tgz` shards) with every
annotation of the five tasks: a prompt, a caption, two style phrases of its own beside two shared ones (so the
style vocabulary grows with the size, as the real one does) and four questions; plus a four-image test split.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from journeydb.release.records import ANNOTATION_FILES, TASK3_KEYS

SHARD_IMAGES = 2000


def _jpeg(rng: np.random.Generator) -> bytes:
    pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).resize((64, 64), Image.Resampling.BILINEAR).save(out, "JPEG", quality=80)
    return out.getvalue()


def _question(kind: str, index: int) -> dict:
    options = {letter: f"{kind} option {letter.lower()} {index % 97}" for letter in "ABCD"}
    return {"Question": f"Which {kind} is shown?", "Options": options, "Answer": "ABCD"[index % 4]}


def _record(img_path: str, index: int) -> dict:
    styles = ["oil painting", f"style {index % 7919}", f"mood {index * 31 % 10007}", "cinematic lighting"]
    return {
        "img_path": img_path,
        "prompt": f"a synthetic picture number {index}, {styles[1]}, {styles[2]} --v 5",
        "Task1": {"Style": styles, "Content": [f"picture {index}"], "Atmosphere": [], "Others": []},
        "Task2": {"Caption": f"A synthetic picture number {index} in {styles[1]}."},
        "Task3": {
            TASK3_KEYS["style"]: [_question("style", index), _question("style", index + 1)],
            TASK3_KEYS["content"]: [_question("content", index), _question("content", index + 2)],
        },
    }


def write_tgz(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A gzipped tar of (name, bytes) members; compresslevel 1 keeps a large build quick."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def build_release(root: Path, images: int, train_images: int) -> None:
    """`images` images in `valid`, `train_images` in `train`, in SHARD_IMAGES-image shards, with every annotation."""
    rng = np.random.default_rng(0)
    pool = [_jpeg(rng) for _ in range(256)]
    index = 0
    for folder, count in (("train", train_images), ("valid", images)):
        (root / "data" / folder / "imgs").mkdir(parents=True)
        records = []
        for shard in range(math.ceil(count / SHARD_IMAGES)):
            members = []
            for _ in range(min(SHARD_IMAGES, count - shard * SHARD_IMAGES)):
                image_id = str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | index, version=4))
                # the same pool JPEG with a comment of its own: distinct bytes, distinct features by the pool entry
                data = pool[index % len(pool)] + image_id.encode()
                members.append((f"{shard:03d}/{image_id}.jpg", data))
                records.append(_record(f"./{shard:03d}/{image_id}.jpg", index))
                index += 1
            write_tgz(root / "data" / folder / "imgs" / f"{shard:03d}.tgz", members)
        annotation = ANNOTATION_FILES[folder]
        lines = "".join(json.dumps(r) + "\n" for r in records).encode()
        write_tgz(root / "data" / folder / f"{annotation}.tgz", [(annotation, lines)])
    # a four-image test split: the configs declare one
    members, records = [], []
    for k in range(4):
        image_id = str(uuid.UUID(int=k + 1, version=4))
        members.append((f"imgs/{image_id}.jpg", pool[k] + image_id.encode()))
        record = _record(f"./imgs/{image_id}.jpg", k)
        records.append({"img_path": record["img_path"], "Task3": record["Task3"]})
    (root / "data" / "test").mkdir(parents=True)
    write_tgz(root / "data" / "test" / "imgs.tgz", members)
    lines = "".join(json.dumps(r) + "\n" for r in records).encode()
    write_tgz(root / "data" / "test" / f"{ANNOTATION_FILES['test']}.tgz", [(ANNOTATION_FILES["test"], lines)])
