"""Our BLEU 1-4 + ROUGE-L + CIDEr-D against pycocoevalcap 1.2's Bleu(4), Rouge and Cider, in one run.

Scores N prompt-length (prediction, prompt) pairs from `benchmarks/prompt_corpus.py` with both implementations on
the same tokenised input (the Java PTBTokenizer's output when Java is available, else the Python tokenizer's),
references and predictions tokenised in two runs as pycocoevalcap does. Also compares our Python tokenizer with the
Java one on the same texts. Timings cover the scoring only (ours: corpus encoding included), one run each, wall
clock (ours runs ROUGE-L on a second thread while it builds the n-gram tables; CPU time is printed too).

    python benchmarks/caption_metrics.py --n 50000

The last two lines are `max_abs_diff: ...` (over the 6 corpus scores and the per-image ROUGE-L and CIDEr-D) and
`speedup_vs_pycocoevalcap: ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for prompt_corpus, when run as a script

from prompt_corpus import make_pairs  # noqa: E402

from journeydb.scoring.caption import ngram_scores  # noqa: E402
from journeydb.scoring.tokenize import tokenize_corpus  # noqa: E402


def ours(candidates: list[str], references: list[list[str]]) -> tuple[list[float], np.ndarray, np.ndarray]:
    scores = ngram_scores(candidates, references)
    return [*scores.bleu, scores.rouge_l, scores.cider], scores.rouge_l_per_image, scores.cider_per_image


def toolkit(candidates: list[str], references: list[list[str]]) -> tuple[list[float], np.ndarray, np.ndarray]:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts = dict(enumerate(references))
    res = {i: [c] for i, c in enumerate(candidates)}
    with contextlib.redirect_stdout(io.StringIO()):
        bleu, _ = Bleu(4).compute_score(gts, res)
    rouge, rouge_per_image = Rouge().compute_score(gts, res)
    cider, cider_per_image = Cider().compute_score(gts, res)
    return [*bleu, rouge, cider], np.asarray(rouge_per_image), np.asarray(cider_per_image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="(prediction, prompt) pairs (default 50000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    predictions, prompts = make_pairs(args.n, args.seed)
    words = sum(len(p.split()) for p in prompts) / len(prompts)
    print(f"pairs: {args.n} (seed {args.seed}); mean prompt length {words:.1f} words")

    # tokenisation: references (prompts) then predictions, two runs each, as pycocoevalcap
    start = time.perf_counter()
    python_tokens = tokenize_corpus(prompts, "python") + tokenize_corpus(predictions, "python")
    python_s = time.perf_counter() - start
    try:
        start = time.perf_counter()
        java_tokens = tokenize_corpus(prompts, "java") + tokenize_corpus(predictions, "java")
        java_s = time.perf_counter() - start
        agree = sum(a == b for a, b in zip(python_tokens, java_tokens))
        print(f"tokenizer: python agrees with java on {agree}/{len(java_tokens)} texts "
              f"({agree / len(java_tokens):.4%}); python {python_s:.2f} s, java {java_s:.2f} s "
              f"(one JVM per run, start-up included)")
        tokens, source = java_tokens, "java"
    except FileNotFoundError as error:
        print(f"tokenizer: java unavailable ({error}); python {python_s:.2f} s")
        tokens, source = python_tokens, "python"
    references = [[t] for t in tokens[: args.n]]
    candidates = tokens[args.n :]
    print(f"scoring input: the {source} tokenizer's output")

    start, cpu = time.perf_counter(), time.process_time()
    our_scores, our_rouge, our_cider = ours(candidates, references)
    ours_s, ours_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    ref_scores, ref_rouge, ref_cider = toolkit(candidates, references)
    toolkit_s, toolkit_cpu = time.perf_counter() - start, time.process_time() - cpu

    names = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]
    for name, a, b in zip(names, our_scores, ref_scores):
        print(f"{name:8s} ours {a:.15f}  pycocoevalcap {b:.15f}")
    print(f"time: ours {ours_s:.3f} s, pycocoevalcap {toolkit_s:.3f} s (BLEU 1-4 + ROUGE-L + CIDEr-D; wall)")
    print(f"cpu time: ours {ours_cpu:.3f} s, pycocoevalcap {toolkit_cpu:.3f} s "
          f"(ratio {toolkit_cpu / ours_cpu:.1f}x; ours uses a second thread for ROUGE-L)")
    diff = max(
        max(abs(a - b) for a, b in zip(our_scores, ref_scores)),
        float(np.max(np.abs(our_rouge - ref_rouge))),
        float(np.max(np.abs(our_cider - ref_cider))),
    )
    print(f"max_abs_diff: {diff:.3e}")
    print(f"speedup_vs_pycocoevalcap: {toolkit_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
