"""`journeydb evaluate` at the release's size: wall s, CPU s and peak RSS per task and size, on synthetic releases.

For each size N (default 1,000 / 10,000 / 50,000 / 200,000) it writes a synthetic release in the real layout
(`synthetic_release.build_release`: N validation images, `--train-images` training ones, all five tasks'
annotations, 64x64 JPEGs) and, per task, a prediction file: the references, deterministically perturbed (every
third text loses its last word, every third style list is reversed, every fourth VQA answer is the next letter; QAS
gets each image's prompt). Each `journeydb evaluate --task T` runs in a child process with METEOR and Similarity
off and a fresh `--cache-dir` (a first run: it builds the annotation index), and the command's own wall seconds,
CPU seconds (user + system) and peak RSS come from `os.wait4` in a small launcher process. The exponent is the slope of log(wall) over log(N)
between the two largest sizes (1.0: linear).

Then: `prompt_inversion` with the default Similarity (all-MiniLM-L6-v2) on `--similarity-size` images, and METEOR
(`journeydb.scoring.meteor.corpus_meteor`) with 1 and 2 JVMs on `--meteor-prompts` prompts, interleaved
`--meteor-repeats` times (min and median wall s; CPU s of the JVMs and of this process; each JVM's seconds to its
first answer, its SCORE answers and its EVAL), checking that the corpus and every per-segment score are identical.

Usage: `python benchmarks/scale.py [--sizes 1000 10000 50000 200000] [--similarity-size 10000]
[--meteor-prompts 50000] [--meteor-repeats 3]`
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthetic_release import build_release

from journeydb.evaluation.tasks import TASK_NAMES, load_references

ENV = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def _text(reference) -> str:
    return reference if isinstance(reference, str) else reference[0]


def _perturbed(text: str, index: int) -> str:
    return text.rsplit(" ", 1)[0] if index % 3 == 0 and " " in text else text


def write_predictions(release: Path, task: str, path: Path) -> int:
    """The task's references of validation, perturbed (see the module docstring), as a prediction JSONL file."""
    refs = load_references(task, str(release), "validation")
    prompts = {}
    if task == "qas":
        prompt_refs = load_references("prompt_inversion", str(release), "validation")
        prompts = {i: _text(r) for i, r in zip(prompt_refs.image_ids, prompt_refs.references)}
    with open(path, "w", encoding="utf-8") as f:
        for index, (key, image_id, reference) in enumerate(zip(refs.ids, refs.image_ids, refs.references)):
            line = {"image_id": image_id}
            if task == "vqa":
                line["question_id"] = key
                line["prediction"] = "ABCD"[("ABCD".index(reference) + 1) % 4] if index % 4 == 0 else reference
            elif task == "style":
                line["prediction"] = list(reversed(reference)) if index % 3 == 0 else list(reference)
            elif task == "qas":
                line["prediction"] = prompts[image_id]
            else:
                line["prediction"] = _perturbed(_text(reference), index)
            f.write(json.dumps(line) + "\n")
    return len(refs.ids)


# the measured command runs as the grandchild of a small launcher: a process forked from this one, which holds the
# releases and prediction files it wrote, would start with this process's resident memory in its peak RSS (Linux
# carries the forked address space's high-water mark across exec)
_LAUNCHER = """import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nJDB-RUSAGE " + json.dumps([usage.ru_utime + usage.ru_stime, usage.ru_maxrss]) + "\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(argv: list[str], env: dict) -> tuple[float, float, float, str]:
    """Wall s, CPU s (user + system), peak RSS (MB) of the command itself (see `_LAUNCHER`), and its stdout."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *argv], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:8])} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    cpu, max_rss_kb = json.loads(proc.stderr.rsplit("JDB-RUSAGE ", 1)[1])
    return wall, cpu, max_rss_kb / 1024, proc.stdout


def evaluate(release: Path, task: str, work: Path, extra: list[str]) -> tuple[float, float, float, str]:
    predictions = work / f"{release.name}-{task}.jsonl"
    if not predictions.exists():
        write_predictions(release, task, predictions)
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    env = dict(ENV, MPLCONFIGDIR=str(work / "mpl"), JOURNEYDB_CACHE=str(cache / "default-jdb"),
               HF_DATASETS_CACHE=str(cache / "default-hf"))
    argv = [sys.executable, "-m", "journeydb", "evaluate", "--task", task, "--predictions", str(predictions),
            "--data-dir", str(release), "--cache-dir", str(cache), *extra]
    return run_child(argv, env)


def release_of(size: int, work: Path, train_images: int) -> Path:
    root = work / f"release-{size}"
    if not root.exists():
        build_release(root, size, train_images)
    return root


def scale(sizes: list[int], work: Path, train_images: int) -> None:
    quick = ["--no-meteor", "--similarity-model", "none"]
    print("| task | images | wall s | CPU s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    walls: dict[str, dict[int, float]] = {task: {} for task in TASK_NAMES}
    rss: dict[str, dict[int, float]] = {task: {} for task in TASK_NAMES}
    cpus: dict[str, dict[int, float]] = {task: {} for task in TASK_NAMES}
    for size in sorted(sizes):
        release = release_of(size, work, train_images)
        for task in TASK_NAMES:
            wall, cpu, peak, _ = evaluate(release, task, work, quick)
            walls[task][size], rss[task][size], cpus[task][size] = wall, peak, cpu
            print(f"| {task} | {size:,} | {wall:.1f} | {cpu:.1f} | {peak:.0f} |", flush=True)
    if len(sizes) >= 2:
        small, large = sorted(sizes)[-2:]
        # CPU seconds too: on a shared machine a wall time can wait for a core, a CPU time cannot
        print(f"\n| task | exponent {small:,} -> {large:,}: wall | CPU | RSS growth KB/sample |")
        print("|---|---:|---:|---:|")
        for task in TASK_NAMES:
            exponent = math.log(walls[task][large] / walls[task][small]) / math.log(large / small)
            cpu_exponent = math.log(cpus[task][large] / cpus[task][small]) / math.log(large / small)
            growth = (rss[task][large] - rss[task][small]) * 1024 / (large - small)
            print(f"| {task} | {exponent:.2f} | {cpu_exponent:.2f} | {growth:.1f} |")


def similarity(size: int, work: Path, train_images: int) -> None:
    release = release_of(size, work, train_images)
    wall, cpu, peak, stdout = evaluate(release, "prompt_inversion", work, ["--no-meteor"])
    row = next((line for line in stdout.splitlines() if "|" in line and "Similarity" not in line
                and any(c.isdigit() for c in line)), "")
    print(f"\nprompt_inversion, {size:,} images, default Similarity, METEOR off: wall {wall:.1f} s, CPU {cpu:.1f} s, "
          f"peak RSS {peak:.0f} MB")
    print(f"  its table row: {row.strip()}")


class _Marks(logging.Handler):
    """Collects meteor.py's DEBUG lines: each JVM's seconds to its first answer, SCORE answers and EVAL."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def meteor(prompts: int, work: Path, train_images: int, repeats: int) -> None:
    from journeydb.scoring.meteor import JVM_OPTIONS, corpus_meteor, meteor_unavailable_reason

    reason = meteor_unavailable_reason()
    if reason:
        print(f"\nMETEOR skipped: {reason}")
        return
    release = release_of(prompts, work, train_images)
    refs = load_references("prompt_inversion", str(release), "validation")
    references = [[_text(r).lower()] for r in refs.references]
    hypotheses = [_perturbed(r[0], i) for i, r in enumerate(references)]
    log = logging.getLogger("journeydb.scoring.meteor")
    marks = _Marks()
    log.addHandler(marks)
    log.setLevel(logging.DEBUG)
    results, walls, jvm_cpu, py_cpu, breakdown = {}, {1: [], 2: []}, {1: [], 2: []}, {1: [], 2: []}, {}
    print(f"\nMETEOR, {prompts:,} prompts, JVM options {' '.join(JVM_OPTIONS)}, 1 and 2 JVMs interleaved "
          f"{repeats} times (load average before: {os.getloadavg()[0]:.2f})", flush=True)
    for _ in range(repeats):
        for jobs in (1, 2):
            marks.lines.clear()
            self0, children0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            result = corpus_meteor(hypotheses, references, jobs=jobs)
            walls[jobs].append(time.perf_counter() - start)
            self1, children1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            jvm_cpu[jobs].append(children1.ru_utime + children1.ru_stime - children0.ru_utime - children0.ru_stime)
            py_cpu[jobs].append(self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime)
            results.setdefault(jobs, []).append(result)
            breakdown[jobs] = list(marks.lines)
    log.removeHandler(marks)
    for jobs in (1, 2):
        print(f"--meteor-jobs {jobs}: wall min {min(walls[jobs]):.1f} s, median {statistics.median(walls[jobs]):.1f} s "
              f"({', '.join(f'{w:.1f}' for w in walls[jobs])}); CPU s median: JVMs "
              f"{statistics.median(jvm_cpu[jobs]):.1f}, Python {statistics.median(py_cpu[jobs]):.1f}; "
              f"corpus {results[jobs][0].score:.6f}")
        for line in breakdown[jobs]:
            print(f"  last run: {line}")
    reference = results[1][0]
    same = all(r.score == reference.score and r.per_segment == reference.per_segment
               for runs in results.values() for r in runs)
    print(f"METEOR speed-up 2 JVMs vs 1: {min(walls[1]) / min(walls[2]):.2f}x (min), "
          f"{statistics.median(walls[1]) / statistics.median(walls[2]):.2f}x (median); "
          f"identical corpus and per-segment scores in every run: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000, 200000], help="validation images")
    parser.add_argument("--train-images", type=int, default=100, help="training images (default %(default)s)")
    parser.add_argument("--similarity-size", type=int, default=10000, help="0: skip (default %(default)s)")
    parser.add_argument("--meteor-prompts", type=int, default=50000, help="0: skip (default %(default)s)")
    parser.add_argument("--meteor-repeats", type=int, default=3,
                        help="interleaved runs of 1 and 2 JVMs; min and median are reported (default %(default)s)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs (os.cpu_count), python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="jdb-scale-") as tmp:
        work = Path(tmp)
        if args.sizes:
            scale(args.sizes, work, args.train_images)
        if args.similarity_size:
            similarity(args.similarity_size, work, args.train_images)
        if args.meteor_prompts:
            meteor(args.meteor_prompts, work, args.train_images, args.meteor_repeats)


if __name__ == "__main__":
    main()
