"""METEOR 1.5 itself: the `meteor-1.5.jar` shipped inside pycocoevalcap, driven as pycocoevalcap 1.2 drives it.

Protocol (pycocoevalcap's `meteor/meteor.py`): `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm` reads
`SCORE ||| ref 1 ||| ... ||| ref n ||| hypothesis` lines and answers each with a line of statistics; then
`EVAL ||| stats 1 ||| ... ||| stats N` answers N per-segment scores and one corpus score aggregated from the
statistics (not their mean). The hypothesis loses any `|||` and double spaces first, as in the toolkit.

Unlike the toolkit, the JVMs run per call (not per process lifetime), each in a fresh temporary working directory.
The SCORE lines are split into contiguous chunks over `jobs` JVMs (one core each); the statistics are gathered in
input order and one JVM answers one EVAL per corpus over all of them, so the numbers equal a single JVM's. There is
no whole-run timeout: a watchdog fails a JVM that answers no line for `stall_timeout` seconds, naming how far it
got. The JVM start, mostly loading the paraphrase table, takes several seconds; the scoring itself is fast.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import tempfile
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .java_tools import METEOR, bundled_jar, locate, unavailable_reason

logger = logging.getLogger(__name__)

JAR_NAME = METEOR.jar_name
# seconds a JVM may go without answering a line: the start (paraphrase table) takes seconds, a line milliseconds
DEFAULT_STALL_TIMEOUT = 180.0
MAX_DEFAULT_JOBS = 4  # each JVM takes up to 2 GB (-Xmx2G)
LINES_PER_EXTRA_JVM = 2000  # below this a second JVM's start costs more than it saves


@dataclass(frozen=True)
class MeteorResult:
    """The corpus METEOR (from the EVAL line's aggregate) and the per-segment scores."""

    score: float
    per_segment: list[float]


def default_meteor_jar() -> Path:
    """The METEOR 1.5 jar shipped inside the installed pycocoevalcap package."""
    return bundled_jar(METEOR)


def meteor_unavailable_reason(jar: str | Path | None = None) -> str | None:
    """Why METEOR cannot run here (no `java`, no jar), or None when it can."""
    return unavailable_reason(METEOR, jar)


def _score_line(hypothesis: str, references: Sequence[str]) -> str:
    hypothesis = hypothesis.replace("|||", "").replace("  ", " ")
    return " ||| ".join(("SCORE", " ||| ".join(references), hypothesis))


def default_meteor_jobs(num_lines: int) -> int:
    """The JVMs worth starting for `num_lines` SCORE lines: the cores available, capped, one per 2,000 lines."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_JOBS, -(-num_lines // LINES_PER_EXTRA_JVM)))


class _Jvm:
    """One METEOR JVM: lines are written by a thread and read from a queue, so no pipe blocks and waits time out."""

    def __init__(self, command: list[str], cwd: str, name: str, stall_timeout: float) -> None:
        self.name = name
        self.stall_timeout = stall_timeout
        self.answered = 0
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._lines: queue.Queue[Optional[bytes]] = queue.Queue()
        self._stderr: list[bytes] = []
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=lambda: self._stderr.append(self.process.stderr.read()), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, lines: Sequence[str], close: bool) -> None:
        """Write `lines` from a thread (the JVM answers while we write)."""

        def write() -> None:
            try:
                self.process.stdin.write("".join(line + "\n" for line in lines).encode("utf-8"))
                self.process.stdin.flush()
                if close:
                    self.process.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass  # the JVM died; read_line reports it

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        self._threads.append(thread)

    def read_line(self, expected: int) -> str:
        try:
            line = self._lines.get(timeout=self.stall_timeout)
        except queue.Empty:
            self.process.kill()
            raise RuntimeError(
                f"METEOR 1.5 {self.name} made no progress for {self.stall_timeout:g} s after answering "
                f"{self.answered} of {expected} lines; killed"
            ) from None
        if line is None:
            self.process.kill()
            self._threads[1].join(5)
            tail = b"".join(self._stderr).decode(errors="replace")[-500:].strip()
            raise RuntimeError(f"METEOR 1.5 {self.name} stopped after answering {self.answered} of {expected} lines: "
                               f"{tail}")
        self.answered += 1
        return line.decode("utf-8").strip()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for thread in self._threads:
            thread.join(5)


def meteor_corpora(
    corpora: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
    jar: str | Path | None = None,
    jobs: Optional[int] = None,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
) -> list[MeteorResult]:
    """METEOR 1.5 of several tokenised corpora, over `jobs` JVMs.

    Args:
        corpora: `(hypotheses, references)` pairs; `references[i]` holds the >= 1 references of `hypotheses[i]`.
            Text is used as given: tokenise it first (pycocoevalcap feeds PTB-tokenised, lower-cased text).
        jar: path of `meteor-1.5.jar`; default: the one inside the installed pycocoevalcap.
        jobs: JVMs scoring the SCORE lines (default `default_meteor_jobs`); the numbers do not depend on it.
        stall_timeout: seconds a JVM may go without answering a line before it is killed and the run fails.

    Returns:
        One `MeteorResult` per corpus.

    Raises:
        FileNotFoundError: `java` or the jar is missing.
        ValueError: an empty corpus, mismatched lengths, an image without references, a line break in a text, or
            `jobs` < 1.
        RuntimeError: a JVM failed, stalled or answered something unexpected (the message says how far it got).
    """
    java, jar_path = locate(METEOR, jar)
    score_lines: list[str] = []
    sizes: list[int] = []
    for c, (hypotheses, references) in enumerate(corpora):
        if len(hypotheses) != len(references) or not hypotheses:
            raise ValueError(f"corpus {c}: {len(hypotheses)} hypotheses for {len(references)} reference lists")
        for i, (hypothesis, refs) in enumerate(zip(hypotheses, references)):
            if not refs:
                raise ValueError(f"corpus {c}, item {i}: no references")
            line = _score_line(hypothesis, refs)
            if "\n" in line or "\r" in line:
                raise ValueError(f"corpus {c}, item {i}: a line break would break the METEOR protocol")
            score_lines.append(line)
        sizes.append(len(hypotheses))
    if not sizes:
        return []
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    jobs = min(jobs or default_meteor_jobs(len(score_lines)), len(score_lines))

    command = [java, "-jar", "-Xmx2G", str(jar_path), "-", "-", "-stdio", "-l", "en", "-norm"]
    bounds = [len(score_lines) * k // jobs for k in range(jobs + 1)]
    with ExitStack() as stack:
        jvms = []
        for k in range(jobs):
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="journeydb-meteor-"))
            jvm = _Jvm(command, tmp, f"JVM {k + 1} of {jobs} (SCORE lines {bounds[k]}-{bounds[k + 1] - 1})",
                       stall_timeout)
            stack.callback(jvm.close)
            jvms.append(jvm)
        try:
            return _score_and_eval(jvms, score_lines, bounds, sizes)
        except BaseException:
            for jvm in jvms:  # one failed: the others' work is useless, stop them now
                jvm.process.kill()
            raise


def _score_and_eval(
    jvms: list[_Jvm], score_lines: list[str], bounds: list[int], sizes: list[int]
) -> list[MeteorResult]:
    """Send each JVM its chunk, gather the statistics in input order, and EVAL them all in the first JVM."""
    for k, jvm in enumerate(jvms):  # the first JVM stays open for the EVAL lines
        jvm.send(score_lines[bounds[k] : bounds[k + 1]], close=k > 0)
    stats: list[str] = []
    for k, jvm in enumerate(jvms):
        count = bounds[k + 1] - bounds[k]
        stats.extend(jvm.read_line(count) for _ in range(count))
    # one EVAL per corpus over all its statistics: the corpus score aggregates them, as with a single JVM
    eval_lines, start = [], 0
    for size in sizes:
        eval_lines.append("EVAL ||| " + " ||| ".join(stats[start : start + size]))
        start += size
    first = jvms[0]
    first.send(eval_lines, close=True)
    expected = first.answered + sum(sizes) + len(sizes)
    results = []
    try:
        for size in sizes:
            per_segment = [float(first.read_line(expected)) for _ in range(size)]
            results.append(MeteorResult(score=float(first.read_line(expected)), per_segment=per_segment))
    except ValueError as err:
        raise RuntimeError(f"METEOR 1.5 answered something unexpected to EVAL: {err}") from None
    return results


def corpus_meteor(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    jar: str | Path | None = None,
    jobs: Optional[int] = None,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
) -> MeteorResult:
    """METEOR 1.5 of one tokenised corpus (pycocoevalcap's `Meteor().compute_score(...)`); see `meteor_corpora`."""
    return meteor_corpora([(hypotheses, references)], jar=jar, jobs=jobs, stall_timeout=stall_timeout)[0]
