"""report.html at real size: the gallery's selection over a validation-sized caption task, and the page's size and
time with a full gallery (5 tasks x 300 cards, one distinct photo-like 1024 px JPEG per card).

    python benchmarks/report_gallery.py [--samples 234000] [--gallery-size 100]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time

import datasets
import numpy as np
from PIL import Image

from journeydb.evaluation.gallery import build_gallery
from journeydb.evaluation.references import TaskReferences
from journeydb.evaluation.report_html import write_html
from journeydb.evaluation.score import TaskScore


def _jpeg(rng: np.random.Generator, side: int) -> bytes:
    # smooth noise compresses like a photo, not like a flat colour
    small = rng.integers(0, 256, (side // 16, side // 16, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((side, side), Image.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=234_000)
    parser.add_argument("--gallery-size", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ids = [f"{i:08x}-image" for i in range(args.samples)]
    texts = [f"a prompt number {i} <with> & 'quotes' 🐱, cinematic lighting, 8k" for i in range(args.samples)]
    refs = TaskReferences("caption", "validation", ids, ids, texts)
    samples = {k: rng.random(args.samples).tolist() for k in ("bleu_4", "cider", "similarity")}
    start = time.perf_counter()
    cards = build_gallery(refs, texts, TaskScore("caption", {}, samples=samples), args.gallery_size)
    print(f"select_gallery_s: {time.perf_counter() - start:.2f}  ({args.samples} samples -> {len(cards)} cards)")

    images = [_jpeg(rng, 1024) for _ in cards]
    table = datasets.Dataset.from_dict(
        {"image_id": [c["image_id"] for c in cards], "image": [{"bytes": b, "path": None} for b in images]}
    ).cast_column("image", datasets.Image())
    tasks = {name: {"model": "m", "scores": {"bleu_4": 0.1, "num_samples": args.samples}, "gallery": cards}
             for name in ("prompt_inversion", "caption", "style", "vqa", "qas")}  # 5 galleries of the same images
    run = {"split": "validation", "data_dir": "/nowhere", "tasks": tasks}
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        path = write_html([run], out, images=table)
        seconds = time.perf_counter() - start
        print(f"write_html_s: {seconds:.2f}  ({len(cards)} distinct thumbnails, 5 x {len(cards)} cards)")
        source = sum(map(len, images)) / 1e6
        print(f"report_html_MB: {os.path.getsize(path) / 1e6:.1f}  (source JPEGs: {source:.1f} MB)")
    print(f"peak_rss_MB: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
