"""METEOR 1.5 itself: the `meteor-1.5.jar` shipped inside pycocoevalcap, driven as pycocoevalcap 1.2 drives it.

Protocol (pycocoevalcap's `meteor/meteor.py`): `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm` reads
`SCORE ||| ref 1 ||| ... ||| ref n ||| hypothesis` lines and answers each with a line of statistics; then
`EVAL ||| stats 1 ||| ... ||| stats N` answers N per-segment scores and one corpus score aggregated from the
statistics (not their mean). The hypothesis loses any `|||` and double spaces first, as in the toolkit.

Unlike the toolkit, the JVMs run per call (not per process lifetime), each in a fresh temporary working directory,
and each distinct SCORE line is scored once (identical lines have identical statistics). The distinct lines are
split into contiguous chunks over `jobs` JVMs (one core each); each JVM then EVALs the distinct statistics of its own
chunk for the per-segment scores (a segment's score depends on its statistics line alone). The corpus score is what
one EVAL over all the statistics answers: `MeteorStats.addStats` sums every field, except that `chunks` skips a
segment matched completely in one chunk; the fields are integer counts, so this process sums them exactly and one
JVM EVALs the single summed line, whose corpus score is the same double (`_aggregate_stats`; a non-integral field
falls back to EVAL over all the statistics). So corpus and per-segment scores equal a single JVM's, bit for bit.
There is no whole-run timeout: a watchdog fails a JVM that answers no line for `stall_timeout` seconds, naming how
far it got.

Where the time goes (50,000 synthetic prompts of ~12 words; shared 2-core AMD EPYC, other users idle; OpenJDK 17;
`benchmarks/scale.py`): a JVM answers its first line after ~5.5-6.5 s and ~6.5 CPU s, nearly all of it
`ParaphraseTransducer.<init>` parsing the 272 MB (61 MB gzipped) paraphrase table on one thread (class-data sharing
saves 0.15 s of it: not used). Scoring then warms up: the first 25k lines cost ~6 CPU s (C2 compiling ~4.5 s,
collections ~1.7 s), the next 25k ~2.5. Both are paid again by every JVM. EVAL parses each statistics line with
`java.util.Scanner` at ~70 us a line: the former single EVAL over 50k lines was a serial 3.5-4.5 s in one JVM, and
the toolkit-style reading of each answer cost this process 1.2-2.6 CPU s; now 0.3. One JVM: 15.5 -> 10.9-11.3 s.
But 2 JVMs take ~26 CPU s against one JVM's ~15, both cores full, so they need >= 13 s (measured 12-13.5): 2 JVMs on
2 cores cannot beat one here, whatever the flags, and even one shared start would cap them at
(S + W) / (S + W / 2) ~ 1.3x (S ~6 s the start, W ~5.5 s the rest). At 200k prompts: 27.0 s vs 21.4 s, 1.26x.
`-XX:+UseSerialGC` (kept) halves a JVM's RSS (1.3 -> 0.6 GB) and saves ~1 CPU s; `-XX:TieredStopAtLevel=1`,
`-XX:-TieredCompilation`, `-XX:MaxTenuringThreshold=0`, larger young generations and compile thresholds changed the
CPU by less than the run-to-run spread (+-2 CPU s), and none of them changes a number.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
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
LINES_PER_EXTRA_JVM = 2000  # below this a second JVM's start costs more than it saves, given a spare core
LINES_PER_CORE_SHARING_JVM = 45_000  # the same when the JVMs take every core (measured, `default_meteor_jobs`)
# pycocoevalcap's heap cap, and the serial collector: G1's parallel and concurrent GC threads took CPU from the other
# JVMs and doubled the heap a JVM holds (RSS ~1.3 GB -> ~0.6 GB); collector flags leave every number unchanged
JVM_OPTIONS: tuple[str, ...] = ("-Xmx2G", "-XX:+UseSerialGC")
# MeteorStats.toString for `-l en`'s four modules: test/reference lengths and function words; per module test and
# reference content matches, then test and reference function-word matches; chunks; test/reference word matches
STATS_FIELDS = 23
_PIPE_READ, _READ_PAUSE = 1 << 16, 0.01  # bytes per read of a JVM's answers; seconds between short reads
_TEST_MATCHES, _REFERENCE_MATCHES, _CHUNKS = slice(4, 20, 2), slice(5, 20, 2), 20


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


def _eval_line(stats: Sequence[str]) -> str:
    return "EVAL ||| " + " ||| ".join(stats)


def default_meteor_jobs(num_lines: int) -> int:
    """The JVMs worth starting for `num_lines` SCORE lines (at most 4).

    A JVM keeps ~1.35 cores busy (its JIT compiler threads beside the scoring thread), and every JVM pays the whole
    start-up (paraphrase table, JIT warm-up: ~10 CPU s). So one JVM per two cores, one per 2,000 lines; JVMs that
    would take every core only with 45,000 lines each: on 2 cores 2 JVMs were 0.85x of one at 50k lines and 1.25x
    at 200k (break-even ~90k).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    spare_cores = min(MAX_DEFAULT_JOBS, max(1, cores // 2), -(-num_lines // LINES_PER_EXTRA_JVM))
    every_core = min(MAX_DEFAULT_JOBS, cores, num_lines // LINES_PER_CORE_SHARING_JVM)
    return max(1, spare_cores, every_core)


def _complete_in_one_chunk(counts: Sequence[int]) -> bool:
    """addStats' exception: every test and reference word matched, in one chunk."""
    return sum(counts[_TEST_MATCHES]) == counts[0] and sum(counts[_REFERENCE_MATCHES]) == counts[1] \
        and counts[_CHUNKS] == 1


def _aggregate_stats(stats: Sequence[str]) -> str | None:
    """One statistics line whose EVAL corpus score is that of EVAL over all of `stats`, or None if not exactly.

    EVAL aggregates with `MeteorStats.addStats`: every field summed, except a segment's `chunks` when the segment is
    matched completely (test and reference matches equal their lengths) in one chunk. Integral fields give exact
    sums in any order below 2**53, so the summed line parses to the aggregate EVAL builds. The summed line must not
    itself look like a complete one-chunk match (addStats would then drop its chunks); it never does when matches
    do not exceed lengths, and None is returned if it did.
    """
    totals = [0] * STATS_FIELDS
    for line, count in Counter(stats).items():
        try:
            values = [float(value) for value in line.split()]
        except ValueError:
            return None
        if len(values) != STATS_FIELDS or not all(v.is_integer() and v >= 0 for v in values):
            return None
        counts = [int(v) for v in values]
        if _complete_in_one_chunk(counts):
            counts[_CHUNKS] = 0
        for field, value in enumerate(counts):
            totals[field] += count * value
    if max(totals) >= 2**53 or _complete_in_one_chunk(totals):
        return None
    return " ".join(f"{total}.0" for total in totals)  # Double.toString's form of an integral double


class _Jvm:
    """One METEOR JVM: a thread writes its input, another collects its answers, so no pipe blocks a wait."""

    def __init__(self, command: list[str], cwd: str, name: str, stall_timeout: float) -> None:
        self.name = name
        self.stall_timeout = stall_timeout
        self.answered = 0  # lines handed out by `read`
        self.started = time.monotonic()
        self.marks: dict[str, float] = {}  # seconds after the start: "first answer", "SCORE", "EVAL" (DEBUG log)
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._answers: list[bytes] = []
        self._ended = False
        self._changed = threading.Condition()
        self._stderr: list[bytes] = []
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=lambda: self._stderr.append(self.process.stderr.read()), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        # The JVM flushes every answer: reading each as it comes cost this process ~25 us of CPU a line (1.2 s for
        # 50k), taken from the JVMs on a small machine. Pausing between short reads lets answers gather in the pipe
        # (64 KB, ~900 answers; a JVM writes ~80 in the pause), so one read and one wake-up serve many.
        fd, pending = self.process.stdout.fileno(), b""
        while data := os.read(fd, _PIPE_READ):
            *lines, pending = (pending + data).split(b"\n")
            if lines:
                self.marks.setdefault("first answer", time.monotonic() - self.started)
                with self._changed:
                    self._answers.extend(lines)
                    self._changed.notify_all()
            if len(data) < _PIPE_READ:
                time.sleep(_READ_PAUSE)
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def send(self, lines: Sequence[str], close: bool = False) -> None:
        """Write `lines` from a thread (the JVM answers while we write)."""

        def write() -> None:
            try:
                self.process.stdin.write("".join(line + "\n" for line in lines).encode("utf-8"))
                self.process.stdin.flush()
                if close:
                    self.process.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass  # the JVM died; read reports it

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        self._threads.append(thread)

    def read(self, count: int, expected: int) -> list[str]:
        """The next `count` answers; `expected` (this JVM's lines so far and now) only words the errors."""
        target = self.answered + count
        with self._changed:
            while len(self._answers) < target and not self._ended:
                before = len(self._answers)
                if not self._changed.wait(self.stall_timeout) and len(self._answers) == before:
                    self.process.kill()
                    raise RuntimeError(
                        f"METEOR 1.5 {self.name} made no progress for {self.stall_timeout:g} s after answering "
                        f"{before} of {expected} lines; killed"
                    )
            got = len(self._answers)
        if got < target:
            self.process.kill()
            self._threads[1].join(5)
            tail = b"".join(self._stderr).decode(errors="replace")[-500:].strip()
            raise RuntimeError(f"METEOR 1.5 {self.name} stopped after answering {got} of {expected} lines: {tail}")
        lines = [line.decode("utf-8").strip() for line in self._answers[self.answered : target]]
        self.answered = target
        return lines

    def kill(self) -> None:
        self.process.kill()

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


def _floats(lines: Sequence[str]) -> list[float]:
    try:
        return [float(line) for line in lines]
    except ValueError as err:
        raise RuntimeError(f"METEOR 1.5 answered something unexpected to EVAL: {err}") from None


def _score_chunk(jvm: _Jvm, lines: Sequence[str]) -> tuple[list[str], dict[str, float]]:
    """One JVM's chunk: its statistics in order, and the segment score of each distinct statistics line."""
    jvm.send(lines)
    stats = jvm.read(len(lines), len(lines))
    jvm.marks["SCORE"] = time.monotonic() - jvm.started
    distinct = list(dict.fromkeys(stats))
    jvm.send([_eval_line(distinct)])
    scores = _floats(jvm.read(len(distinct) + 1, len(lines) + len(distinct) + 1)[:-1])  # less the chunk's aggregate
    jvm.marks["EVAL"] = time.monotonic() - jvm.started
    return stats, dict(zip(distinct, scores))


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
        jobs: JVMs scoring the distinct SCORE lines (default `default_meteor_jobs`); the numbers do not depend on it.
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
    first_of: dict[str, int] = {}
    line_ids = [first_of.setdefault(line, len(first_of)) for line in score_lines]
    distinct = list(first_of)
    jobs = min(jobs or default_meteor_jobs(len(distinct)), len(distinct))

    command = [java, "-jar", *JVM_OPTIONS, str(jar_path), "-", "-", "-stdio", "-l", "en", "-norm"]
    bounds = [len(distinct) * k // jobs for k in range(jobs + 1)]
    with ExitStack() as stack:
        jvms = []
        for k in range(jobs):
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="journeydb-meteor-"))
            name = f"JVM {k + 1} of {jobs} (distinct SCORE lines {bounds[k]}-{bounds[k + 1] - 1} of {len(distinct)})"
            jvm = _Jvm(command, tmp, name, stall_timeout)
            stack.callback(jvm.close)
            jvms.append(jvm)
        try:
            return _score_and_eval(jvms, distinct, bounds, line_ids, sizes)
        except BaseException:
            for jvm in jvms:  # one failed: the others' work is useless, stop them now
                jvm.kill()
            raise


def _score_and_eval(
    jvms: list[_Jvm], distinct: list[str], bounds: list[int], line_ids: list[int], sizes: list[int]
) -> list[MeteorResult]:
    """Score each JVM's chunk in parallel, then EVAL one summed statistics line per corpus in the first JVM."""
    with ThreadPoolExecutor(len(jvms), thread_name_prefix="meteor") as pool:
        futures = [pool.submit(_score_chunk, jvm, distinct[bounds[k] : bounds[k + 1]]) for k, jvm in enumerate(jvms)]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((future for future in futures if future in done and future.exception()), None)
        if failed is not None:
            for jvm in jvms:  # the other chunks' threads then see their JVM end and return
                jvm.kill()
            failed.result()
    line_stats: list[str] = []  # the statistics of each distinct line
    segment_score: dict[str, float] = {}
    for future in futures:
        chunk_stats, chunk_scores = future.result()
        line_stats.extend(chunk_stats)
        segment_score.update(chunk_scores)

    corpus_stats, start = [], 0
    for size in sizes:
        corpus_stats.append([line_stats[i] for i in line_ids[start : start + size]])
        start += size
    summed = [_aggregate_stats(stats) for stats in corpus_stats]
    first = jvms[0]
    first.send([_eval_line([line] if line is not None else stats) for line, stats in zip(summed, corpus_stats)],
               close=True)
    results = []
    for line, stats in zip(summed, corpus_stats):
        count = 1 if line is not None else len(stats)
        if line is None:
            logger.debug("METEOR statistics not integral: the corpus score comes from EVAL over all %d", count)
        answers = _floats(first.read(count + 1, first.answered + count + 1))
        results.append(MeteorResult(score=answers[-1], per_segment=[segment_score[s] for s in stats]))
    first.marks["corpus EVAL"] = time.monotonic() - first.started
    for jvm in jvms:
        logger.debug("METEOR 1.5 %s, seconds after its start: %s", jvm.name,
                     ", ".join(f"{mark} {seconds:.2f}" for mark, seconds in jvm.marks.items()))
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
