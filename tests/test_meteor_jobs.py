"""METEOR over several JVMs: the same numbers as one JVM, and a watchdog instead of a whole-run timeout."""

from __future__ import annotations

import random
import stat
import sys
import time
from pathlib import Path

import pytest

from journeydb.scoring import meteor as meteor_module
from journeydb.scoring.meteor import _aggregate_stats, default_meteor_jobs, meteor_corpora, meteor_unavailable_reason

WORDS = "a the cat dog sky blue red over under running sitting painting of city night neon portrait".split()


def _corpus(seed: int, size: int) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)
    sentence = lambda: " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))  # noqa: E731
    return [sentence() for _ in range(size)], [[sentence() for _ in range(rng.randint(1, 3))] for _ in range(size)]


@pytest.mark.skipif(meteor_unavailable_reason() is not None, reason=str(meteor_unavailable_reason()))
def test_several_jvms_give_the_numbers_of_one():
    corpora = [_corpus(0, 23), _corpus(1, 17)]  # 40 lines: the chunks of 3 JVMs straddle the corpus boundary
    one = meteor_corpora(corpora, jobs=1)
    three = meteor_corpora(corpora, jobs=3)
    assert [r.score for r in three] == [r.score for r in one]
    assert [r.per_segment for r in three] == [r.per_segment for r in one]
    assert len(one[0].per_segment) == 23 and 0 < one[0].score < 1


def _varied_corpus(seed: int, size: int) -> tuple[list[str], list[list[str]]]:
    """Real words (so stems, synonyms and paraphrases match), exact copies, reorderings and repeated pairs."""
    hypotheses, references = _corpus(seed, size)
    rng = random.Random(seed)
    for i in range(size):
        roll = rng.random()
        if roll < 0.2:
            hypotheses[i] = references[i][0]  # matched completely in one chunk: addStats skips its chunks
        elif roll < 0.3:
            hypotheses[i] = " ".join(reversed(references[i][0].split()))
        elif roll < 0.45 and i:
            j = rng.randrange(i)
            hypotheses[i], references[i] = hypotheses[j], references[j]  # a duplicate SCORE line
    return hypotheses, references


@pytest.mark.java
@pytest.mark.skipif(meteor_unavailable_reason() is not None, reason=str(meteor_unavailable_reason()))
def test_deduplicated_lines_and_summed_statistics_give_pycocoevalcaps_numbers_exactly():
    from pycocoevalcap.meteor.meteor import Meteor

    hypotheses, references = _varied_corpus(5, 300)
    hypotheses[7] = "colour painted paintings"  # stem, synonym and paraphrase matches of the reference
    references[7] = ["the color paint of a painting"]
    scorer = Meteor()  # its own JVM, default flags: SCORE every line, then one EVAL over all the statistics
    try:
        score, per_image = scorer.compute_score(dict(enumerate(references)),
                                                {i: [h] for i, h in enumerate(hypotheses)})
    finally:
        del scorer
    for jobs in (1, 2):
        ours = meteor_corpora([(hypotheses, references)], jobs=jobs)[0]
        assert ours.score == score and ours.per_segment == list(per_image), jobs  # bit for bit


@pytest.mark.java
@pytest.mark.skipif(meteor_unavailable_reason() is not None, reason=str(meteor_unavailable_reason()))
def test_without_integral_statistics_the_corpus_score_comes_from_eval_over_all(monkeypatch):
    corpora = [_varied_corpus(6, 40), _varied_corpus(7, 9)]
    summed = meteor_corpora(corpora, jobs=1)
    monkeypatch.setattr(meteor_module, "_aggregate_stats", lambda stats: None)
    assert meteor_corpora(corpora, jobs=1) == summed


def test_the_summed_statistics_follow_addstats():
    perfect_one_chunk = "3.0 3.0 1.0 1.0 2.0 2.0 1.0 1.0" + " 0.0" * 12 + " 1.0 3.0 3.0"
    perfect_two_chunks = perfect_one_chunk[: -len("1.0 3.0 3.0")] + "2.0 3.0 3.0"
    partial = "4.0 5.0 1.0 2.0 1.0 2.0 0.0 1.0 1.0 0.0" + " 0.0" * 10 + " 2.0 2.0 3.0"
    line = _aggregate_stats([perfect_one_chunk, perfect_two_chunks, partial, partial])
    assert line == "14.0 16.0 4.0 6.0 6.0 8.0 2.0 4.0 2.0 0.0" + " 0.0" * 10 + " 6.0 10.0 12.0"
    assert _aggregate_stats(["0.5" + " 1.0" * 22]) is None  # not a count: EVAL over all instead
    assert _aggregate_stats(["1.0 2.0"]) is None
    assert _aggregate_stats([perfect_one_chunk]) == perfect_one_chunk[: -len("1.0 3.0 3.0")] + "0.0 3.0 3.0"


def _fake_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """A `java` on the PATH that runs `body` (Python, reading the SCORE lines from stdin); returns a dummy jar."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n", encoding="utf-8")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    jar = tmp_path / "meteor-1.5.jar"
    jar.write_bytes(b"")
    return jar


def test_the_watchdog_fails_a_stalled_jvm_naming_how_far_it_got(tmp_path, monkeypatch):
    # answers three lines, then hangs forever without exiting
    jar = _fake_java(tmp_path, monkeypatch, """
for n, line in enumerate(sys.stdin):
    if n == 3:
        time.sleep(3600)
    print("1 1 1 1", flush=True)
""")
    corpus = _corpus(2, 10)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"JVM 1 of 1 .*made no progress for 1 s after answering 3 of 10 lines"):
        meteor_corpora([corpus], jar=jar, jobs=1, stall_timeout=1)
    assert time.monotonic() - started < 60  # failed by the watchdog, not by waiting out the stalled JVM


def test_a_jvm_that_dies_is_named_with_its_progress_and_stderr(tmp_path, monkeypatch):
    jar = _fake_java(tmp_path, monkeypatch, """
for n, line in enumerate(sys.stdin):
    if n == 4:
        sys.stderr.write("java.lang.OutOfMemoryError\\n")
        sys.exit(1)
    print("1 1 1 1", flush=True)
""")
    # both fake JVMs die at their fifth line; whichever is seen first is named
    expected = (r"JVM (1 of 2 \(distinct SCORE lines 0-4|2 of 2 \(distinct SCORE lines 5-9) of 10\) "
                r"stopped after answering 4 of 5 lines: java.lang.OutOfMemory")
    with pytest.raises(RuntimeError, match=expected):
        meteor_corpora([_corpus(3, 10)], jar=jar, jobs=2, stall_timeout=30)


def test_default_jobs_follow_the_corpus_size_and_the_cores(monkeypatch):
    assert default_meteor_jobs(10) == 1
    assert 1 <= default_meteor_jobs(10**6) <= 4
    for cores, lines, jobs in [(1, 10**6, 1), (2, 50_000, 1), (2, 100_000, 2), (4, 3000, 2), (4, 50_000, 2),
                               (4, 200_000, 4), (16, 5000, 3), (16, 50_000, 4)]:
        monkeypatch.setattr(meteor_module.os, "sched_getaffinity", lambda pid, n=cores: set(range(n)), raising=False)
        assert default_meteor_jobs(lines) == jobs, (cores, lines)


def test_jobs_must_be_positive(tmp_path, monkeypatch):
    jar = _fake_java(tmp_path, monkeypatch, "pass")
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        meteor_corpora([_corpus(4, 3)], jar=jar, jobs=0)
