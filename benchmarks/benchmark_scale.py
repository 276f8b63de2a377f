"""`journeydb benchmark` at scale: wall seconds, peak RSS and the growth exponent on synthetic releases.

For each size N (default 1,000 / 10,000 / 50,000) it writes a synthetic release in the real layout into a temporary
folder: N validation images and `--train-images` training images (default 2,000: a fixed training index, so the
figure is the cost per scored image; the nearest-image search costs train x scored, and at real size train is
capped by `--baseline-train-size`), 64x64 JPEGs, each image's own bytes, every image with a prompt, a
caption, two style phrases of its own beside two shared ones (so the style vocabulary grows with N, as the real
one does) and four questions. Then it runs `journeydb benchmark` on it with the built-in baselines (METEOR and
Similarity off: they are the scorers' cost, measured in benchmarks/caption_metrics.py) as a child process and
prints its wall seconds and peak RSS (the child's own, from wait4). The exponent is the slope of log(wall) over
log(N) between consecutive sizes: 1.0 is linear.

With `--processes` it also runs the tiny random BLIP-2 of `journeydb.testing` on `--model-images` images under
torchrun with 1 and 2 CPU processes (gloo, one thread each) and prints two speed-ups: of the whole command, and of
its model stages alone (the stage walls of `timing.json`), which is what sharing divides; `--hidden-size` widens the
random model so that its compute, not start-up and scoring, is what is timed.

Usage: `python benchmarks/benchmark_scale.py [--sizes 1000 10000 50000] [--train-images 2000] [--processes]
[--model-images 96] [--hidden-size 256]`
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthetic_release import build_release

ENV = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def _run(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of a child process (and the largest of its own children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, stderr = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:6]} failed: {stderr[-3000:]}")
    import resource

    # RUSAGE_CHILDREN is the largest child waited for so far: sizes run in increasing order
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6


def scale(sizes: list[int], train_images: int, work: Path) -> None:
    print("| images | wall s | peak RSS GB | exponent |")
    print("|---:|---:|---:|---:|")
    previous = None
    for n in sorted(sizes):
        root = work / f"release-{n}"
        build_release(root, n, train_images)
        env = dict(ENV, HF_DATASETS_CACHE=str(work / f"cache-{n}"), MPLCONFIGDIR=str(work / "mpl"))
        wall, rss = _run([sys.executable, "-m", "journeydb", "benchmark", "--data-dir", str(root), "--out",
                          str(work / f"out-{n}"), "--no-meteor", "--similarity-model", "none"], env)
        exponent = f"{math.log(wall / previous[1]) / math.log(n / previous[0]):.2f}" if previous else "–"
        print(f"| {n:,} | {wall:.1f} | {rss:.2f} | {exponent} |", flush=True)
        previous = (n, wall)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes(images: int, work: Path, hidden_size: int) -> None:
    from journeydb.testing.tiny_blip2 import mini_release_texts, save_tiny_blip2

    root = work / f"release-model-{images}"
    if not root.exists():
        build_release(root, images, images)
    model = save_tiny_blip2(work / "tiny-blip2", mini_release_texts(str(root)), hidden_size=hidden_size)
    env = dict(ENV, HF_DATASETS_CACHE=str(work / "cache-model"), MPLCONFIGDIR=str(work / "mpl"), OMP_NUM_THREADS="1")
    walls, model_walls = {}, {}
    for count in (1, 2):
        argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(count), "--master_addr",
                "127.0.0.1", "--master_port", str(_free_port()), "-m", "journeydb", "benchmark", "--data-dir",
                str(root), "--out", str(work / f"out-model-{count}"), "--model", str(model), "--tasks",
                "prompt_inversion", "caption", "vqa", "--device", "cpu", "--max-new-tokens", "20", "--no-meteor",
                "--similarity-model", "none"]
        walls[count], _ = _run(argv, env)
        stages = json.loads((work / f"out-model-{count}" / "timing.json").read_text())["stages"]
        model_walls[count] = sum(s["seconds"] for name, s in stages.items() if not name.startswith("baseline"))
        print(f"random BLIP-2 (hidden {hidden_size}), {images} images, {count} process(es): {walls[count]:.1f} s, "
              f"model stages {model_walls[count]:.1f} s ({', '.join(sorted(stages))})", flush=True)
    same = all((work / "out-model-1" / "predictions" / f"{t}.jsonl").read_bytes()
               == (work / "out-model-2" / "predictions" / f"{t}.jsonl").read_bytes()
               for t in ("prompt_inversion", "caption", "vqa"))
    print(f"speed-up 2 processes vs 1: whole command {walls[1] / walls[2]:.2f}x, model stages "
          f"{model_walls[1] / model_walls[2]:.2f}x (target >= 1.6x); identical predictions: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000], help="validation images")
    parser.add_argument("--train-images", type=int, default=2000, help="training images (default %(default)s)")
    parser.add_argument("--processes", action="store_true", help="also time 1 vs 2 processes with a tiny model")
    parser.add_argument("--model-images", type=int, default=96, help="images of the 1-vs-2-process run")
    parser.add_argument("--hidden-size", type=int, default=256, help="width of the random BLIP-2 (default %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jdb-bench-scale-") as tmp:
        if args.sizes:
            scale(args.sizes, args.train_images, Path(tmp))
        if args.processes:
            processes(args.model_images, Path(tmp), args.hidden_size)


if __name__ == "__main__":
    main()
