"""QAS judge speed: letter scoring (ours) against a per-question generate() loop (the paper's protocol), one run.

Both answer the same questions with the same tiny causal LM reading the same text. (a) `answer_questions`: one
forward pass per question, batched, the answer being the best letter token (shared prefixes are run once and their
key/value cache reused). (b) For each question, greedy
`model.generate()` and parse the letter from the generated text. The script prints how often the two agree, and,
last, `speedup_vs_generate: <time of b / time of a>`.

The model is a random tiny Llama (nothing is downloaded) whose output layer is then shaped to reply like a judge,
one letter then end-of-sequence: the letter rows of the output layer are scaled up, and the end-of-sequence row is
set to the direction that separates the hidden state after a letter from the one at the end of the question. Without
this a random model almost never generates a lone letter and the agreement would be measured on nothing. The
questions are the mini-release's validation questions, each image's paired with several prompts.

    python benchmarks/qas.py [--num-questions 256] [--batch-size 32] [--repeats 3] [--device cpu] [--threads 1]
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import time
from pathlib import Path

import torch

import journeydb
from journeydb.models.letter_scoring import letter_token_ids
from journeydb.models.llm_judge import answer_questions, render_judge_input
from journeydb.testing.tiny_causal_lm import build_tiny_causal_lm, word_vocabulary
from journeydb.release.records import LETTERS

LETTER = re.compile(r"\b([ABCD])\b")


def questions_from_mini_release(num_questions: int) -> list[dict]:
    """Validation questions of the mini-release, each image's asked about its own prompt, then the next image's, ..."""
    import datasets

    datasets.disable_progress_bars()
    logging.getLogger("journeydb").setLevel(logging.ERROR)  # the mini-release's deliberate dirt is logged as skips
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "release"
        journeydb.write_sample_release(root)
        cache = str(Path(tmp) / "cache")
        vqa = journeydb.load("vqa", data_dir=str(root), split="validation", cache_dir=cache)
        prompts = journeydb.load("prompt", data_dir=str(root), split="validation", cache_dir=cache)
        prompt_of = dict(zip(prompts["image_id"], prompts["prompt"]))
        rows = [(prompt_of[row["image_id"]], row["questions"]) for row in vqa]
    items: list[dict] = []
    shift = 0
    while len(items) < num_questions:
        for k, (_, questions) in enumerate(rows):
            prompt = rows[(k + shift) % len(rows)][0]
            items += [{"prompt": prompt, "question": q["question"], "options": q["options"]} for q in questions]
        shift += 1
    return items[:num_questions]


def shape_as_letter_judge(model, tokenizer, texts: list[str]) -> None:
    """Make greedy decoding reply with one letter then end-of-sequence (see the module docstring)."""
    letters = [ids[0] for ids in letter_token_ids(tokenizer)]
    head = model.get_output_embeddings().weight
    with torch.no_grad():
        end_of_question, after_letter = [], []
        for k, text in enumerate(texts[:64]):
            ids = tokenizer(text, return_tensors="pt")["input_ids"]
            end_of_question.append(model.model(input_ids=ids).last_hidden_state[0, -1])
            with_letter = torch.cat([ids, torch.tensor([[letters[k % 4]]])], dim=1)
            after_letter.append(model.model(input_ids=with_letter).last_hidden_state[0, -1])
        end_of_question, after_letter = torch.stack(end_of_question), torch.stack(after_letter)
        direction = after_letter.mean(0) - end_of_question.mean(0)
        # Letters: big enough to beat every other token at the end of a question.
        head[letters] *= 8.0
        # End of sequence: positive after a letter, negative at the end of a question, and larger than any letter.
        scale = 2.0 * (after_letter @ head[letters].T).abs().max() / (after_letter @ direction).min().clamp(min=1e-3)
        head[tokenizer.eos_token_id] = scale * direction


def generate_loop(model, tokenizer, texts: list[str], max_new_tokens: int) -> tuple[list[str | None], list[str]]:
    """The paper's protocol: generate greedily per question, parse the letter (the reply itself if it is one letter,
    else its first standalone A-D)."""
    parsed, replies = [], []
    for text in texts:
        inputs = tokenizer(text, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            out = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        reply = tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
        match = LETTER.search(reply)
        replies.append(reply)
        parsed.append(match.group(1) if match else None)
    return parsed, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-questions", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads; 1 keeps the figures independent of other load"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per method; the best is kept")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()

    items = questions_from_mini_release(args.num_questions)

    class NoChatTemplate:  # the vocabulary must cover the Vicuna-format text the judge will read
        chat_template = None

    vocabulary = word_vocabulary(render_judge_input(item, NoChatTemplate()) for item in items)
    model, tokenizer = build_tiny_causal_lm(vocabulary, hidden_size=args.hidden_size, num_hidden_layers=args.layers)
    texts = [render_judge_input(item, tokenizer) for item in items]
    shape_as_letter_judge(model, tokenizer, texts)
    model = model.to(device=args.device, dtype=getattr(torch, args.dtype)).eval()
    params = sum(p.numel() for p in model.parameters())

    def timed(run):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return result, (time.perf_counter() - start, time.process_time() - start_cpu)

    # Warm both paths up on a few questions (first-call allocations), then time them on all, alternating, and keep
    # each one's best round: on a shared machine the load changes during a run.
    answer_questions(items[:8], (model, tokenizer), batch_size=args.batch_size)
    generate_loop(model, tokenizer, texts[:2], args.max_new_tokens)
    scored_s = generated_s = (float("inf"), float("inf"))  # (wall, CPU) seconds, the best round of each
    for _ in range(args.repeats):
        scored, seconds = timed(lambda: answer_questions(items, (model, tokenizer), batch_size=args.batch_size))
        scored_s = min(scored_s, seconds)
        (generated, replies), seconds = timed(lambda: generate_loop(model, tokenizer, texts, args.max_new_tokens))
        generated_s = min(generated_s, seconds)

    n = len(items)
    single = [i for i, reply in enumerate(replies) if reply in LETTERS]
    agree_single = sum(scored[i] == generated[i] for i in single)
    agree_all = sum(a == b for a, b in zip(scored, generated))
    unparsable = sum(g is None for g in generated)
    print(f"questions: {n} (mini-release validation questions x prompts)")
    print(
        f"judge: tiny random Llama, hidden {args.hidden_size}, {args.layers} layers, vocabulary {len(tokenizer)}, "
        f"{params / 1e6:.2f}M parameters, shaped to reply with one letter; {args.device} {args.dtype}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"timing: best of {args.repeats} alternating rounds each; wall-clock (CPU time of this process)")
    print(
        f"letter_scorer: {scored_s[0]:.3f} s ({scored_s[1]:.3f} s CPU), {n / scored_s[0]:.1f} questions/s, "
        f"batch_size {args.batch_size}, shared prompt prefix reused"
    )
    print(
        f"generate_loop: {generated_s[0]:.3f} s ({generated_s[1]:.3f} s CPU), {n / generated_s[0]:.1f} questions/s, "
        f"greedy, max_new_tokens {args.max_new_tokens}"
    )
    print(f"single_letter_replies: {len(single)}/{n}; unparsable replies: {unparsable}/{n}")
    share = 100 * agree_single / max(1, len(single))
    print(f"agreement_where_reply_is_one_letter: {agree_single}/{len(single)} ({share:.2f}%)")
    print(f"agreement_overall: {agree_all}/{n} ({100 * agree_all / n:.2f}%)")
    print(f"speedup_in_cpu_time: {generated_s[1] / scored_s[1]:.1f}x")
    print(f"speedup_vs_generate: {generated_s[0] / scored_s[0]:.1f}x")


if __name__ == "__main__":
    main()
