"""METEOR 1.5 itself: the `meteor-1.5.jar` shipped inside pycocoevalcap, driven as pycocoevalcap 1.2 drives it.

Protocol (pycocoevalcap's `meteor/meteor.py`): `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm` reads
`SCORE ||| ref 1 ||| ... ||| ref n ||| hypothesis` lines and answers each with a line of statistics; then
`EVAL ||| stats 1 ||| ... ||| stats N` answers N per-segment scores and one corpus score aggregated from the
statistics (not their mean). The hypothesis loses any `|||` and double spaces first, as in the toolkit.

Unlike the toolkit, one JVM runs per call (not per process lifetime) in a fresh temporary working directory, with a
timeout, and several corpora can share that one JVM (one EVAL line each). The JVM start, mostly loading the
paraphrase table, takes several seconds; the scoring itself is fast.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .java_tools import METEOR, bundled_jar, locate, unavailable_reason

logger = logging.getLogger(__name__)

JAR_NAME = METEOR.jar_name
DEFAULT_TIMEOUT = 600.0


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


def meteor_corpora(
    corpora: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
    jar: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[MeteorResult]:
    """METEOR 1.5 of several tokenised corpora, in one JVM.

    Args:
        corpora: `(hypotheses, references)` pairs; `references[i]` holds the >= 1 references of `hypotheses[i]`.
            Text is used as given: tokenise it first (pycocoevalcap feeds PTB-tokenised, lower-cased text).
        jar: path of `meteor-1.5.jar`; default: the one inside the installed pycocoevalcap.
        timeout: seconds allowed for the whole JVM run.

    Returns:
        One `MeteorResult` per corpus.

    Raises:
        FileNotFoundError: `java` or the jar is missing.
        ValueError: an empty corpus, mismatched lengths, an image without references, or a line break in a text.
        RuntimeError: the jar failed, timed out or answered something unexpected.
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

    command = [java, "-jar", "-Xmx2G", str(jar_path), "-", "-", "-stdio", "-l", "en", "-norm"]
    with tempfile.TemporaryDirectory(prefix="journeydb-meteor-") as tmp:
        process = subprocess.Popen(command, cwd=tmp, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        stderr_chunks: list[bytes] = []
        stderr_reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
        stderr_reader.start()
        stats_ready = threading.Event()
        eval_lines: list[str] = []

        def write() -> None:
            # a writer thread, so that neither side blocks on a full pipe
            try:
                process.stdin.write("".join(line + "\n" for line in score_lines).encode("utf-8"))
                process.stdin.flush()
                stats_ready.wait()
                process.stdin.write("".join(line + "\n" for line in eval_lines).encode("utf-8"))
                process.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass  # the JVM died; the reader reports it

        writer = threading.Thread(target=write, daemon=True)
        writer.start()

        def read_line() -> str:
            line = process.stdout.readline()
            if not line:
                process.kill()
                stderr_reader.join(5)
                tail = b"".join(stderr_chunks).decode(errors="replace")[-500:]
                why = f"did not finish within {timeout} s" if timed_out.is_set() else "stopped early"
                raise RuntimeError(f"METEOR 1.5 {why}: {tail}")
            return line.decode("utf-8").strip()

        try:
            stats = [read_line() for _ in score_lines]
            start = 0
            for size in sizes:
                eval_lines.append("EVAL ||| " + " ||| ".join(stats[start : start + size]))
                start += size
            stats_ready.set()
            results = []
            for size in sizes:
                per_segment = [float(read_line()) for _ in range(size)]
                results.append(MeteorResult(score=float(read_line()), per_segment=per_segment))
        finally:
            stats_ready.set()
            timer.cancel()
            if process.poll() is None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            writer.join(5)
            stderr_reader.join(5)
    return results


def corpus_meteor(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    jar: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> MeteorResult:
    """METEOR 1.5 of one tokenised corpus (pycocoevalcap's `Meteor().compute_score(...)`); see `meteor_corpora`."""
    return meteor_corpora([(hypotheses, references)], jar=jar, timeout=timeout)[0]
