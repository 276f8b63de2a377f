#!/usr/bin/env python
"""Fine-tune BLIP-2 on JourneyDB's multiple-choice questions (the `vqa` config) and evaluate it as the paper does.

Each training example is one question: the image, the question with its four lettered options, and the answer
letter as the target. Evaluation follows the paper's zero-shot protocol (Table 6): the answer is the option letter
with the highest next-token probability (`journeydb.models.vlm_choice.answer_vqa`), scored by
`journeydb.scoring.choice.score_choices` (accuracy on style and content questions).

    accelerate launch examples/finetune_vqa.py --data-dir /data/JourneyDB --model Salesforce/blip2-flan-t5-xl \\
        --output-dir runs/blip2-vqa --batch-size 16 --gradient-accumulation-steps 2 --mixed-precision bf16
    accelerate launch examples/finetune_vqa.py ... --resume-from-checkpoint latest
    python examples/finetune_vqa.py --tiny --output-dir /tmp/jdb-vqa      # CPU smoke run

See `examples/common.py` for streaming, sharding, checkpoints and the multi-node set-up.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `common` beside this script

import common  # noqa: E402

import journeydb  # noqa: E402
from journeydb.evaluation.tasks import references_from_rows, score_task  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--max-length", type=int, default=128, help="prompt + answer tokens kept (default %(default)s)")
    args = parser.parse_args(argv)
    common.apply_tiny_defaults(args, parser, argv)
    return args


def load_model(args: argparse.Namespace):
    if args.tiny:
        from journeydb.testing.tiny_blip2 import build_tiny_blip2, mini_release_texts

        return build_tiny_blip2(mini_release_texts(args.data_dir), seed=args.seed)
    from transformers import Blip2ForConditionalGeneration, Blip2Processor

    return Blip2ForConditionalGeneration.from_pretrained(args.model), Blip2Processor.from_pretrained(args.model)


def one_row_per_question(batch: dict) -> dict:
    """Batched map: image rows with a list of questions -> one row per question (the image repeated)."""
    out = {"image": [], "prompt": [], "answer": []}
    for image, questions in zip(batch["image"], batch["questions"]):
        for q in questions:
            if q["answer"] is None:
                continue
            out["image"].append(image)
            out["prompt"].append(question_prompt(q))
            out["answer"].append(q["answer"])
    return out


def question_prompt(question: dict) -> str:
    """The text the model sees: the zero-shot scorer's own template, so training and evaluation prompts agree."""
    from journeydb.models.vlm_choice import PROMPT_TEMPLATE, build_prompt

    return build_prompt(question["question"], question["options"], PROMPT_TEMPLATE)


def make_collate(processor, model_config, max_length: int):
    """Loss on the answer letter (and EOS) only; the prompt and the image tokens are masked out."""
    tokenizer = processor.tokenizer
    decoder_only = model_config.use_decoder_only_language_model

    def collate(rows):
        images = [row["image"].convert("RGB") for row in rows]
        answers = [f" {row['answer']}{tokenizer.eos_token}" for row in rows]
        if decoder_only:
            tokenizer.padding_side = "right"
            batch = processor(
                images=images,
                text=[row["prompt"] + answer for row, answer in zip(rows, answers)],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_length,
            )
            labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
            for i, row in enumerate(rows):
                # image tokens + the prompt's tokens come first: everything before the answer is not a target
                prompt_len = processor.num_query_tokens + len(tokenizer(row["prompt"])["input_ids"])
                labels[i, :prompt_len] = -100
            batch["labels"] = labels
        else:
            batch = processor(
                images=images, text=[row["prompt"] for row in rows], return_tensors="pt", padding=True, truncation=True,
                max_length=max_length,
            )
            encoded = tokenizer(answers, return_tensors="pt", padding=True, add_special_tokens=False)
            batch["labels"] = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
        return dict(batch)

    return collate


def make_evaluate(processor, accelerator, args):
    """Letter scoring on every process's share of the validation images, gathered, scored on the main process."""
    from journeydb.models.vlm_choice import answer_vqa

    val = journeydb.load("vqa", data_dir=args.data_dir, split="validation")
    if args.eval_limit:
        val = val.select(range(min(args.eval_limit, len(val))))
    references = references_from_rows("vqa", val.remove_columns("image"), "validation")
    # one item per image: accelerate shards them, pads the last batch, and gather_for_metrics drops the padding
    loader = accelerator.prepare(torch.utils.data.DataLoader(val, batch_size=args.eval_batch_size, collate_fn=list))

    def evaluate(model, step: int) -> dict:
        model.eval()
        scorer = accelerator.unwrap_model(model)
        per_image = []
        for rows in loader:
            with accelerator.autocast():
                # shard=(0, 1): this process scores the rows it was dealt; the loader did the sharding
                answers = answer_vqa(scorer, processor, rows, batch_size=args.eval_batch_size, shard=(0, 1))
            by_image = {}
            image_of = {q["question_id"]: row["image_id"] for row in rows for q in row["questions"]}
            for answer in answers:
                by_image.setdefault(image_of[answer["question_id"]], []).append(answer)
            mine = [by_image.get(r["image_id"], []) for r in rows]
            per_image += accelerator.gather_for_metrics(mine, use_gather_object=True)
        if not accelerator.is_main_process:
            return {}
        predicted = {a["question_id"]: a["prediction"] for answers in per_image for a in answers}
        missing = [i for i in references.ids if i not in predicted]
        if missing:
            raise RuntimeError(f"evaluation lost {len(missing)} validation questions, e.g. {missing[0]}")
        scores = score_task(references, [predicted[i] for i in references.ids]).scores
        accelerator.print(f"step {step}: " + ", ".join(f"{k}={v:.4f}" for k, v in common.clean_scores(scores).items()))
        return {"step": step, "task": "vqa", **scores}

    return evaluate


def main(argv=None) -> int:
    args = parse_args(argv)
    accelerator = common.make_accelerator(args)
    model, processor = load_model(args)
    common.freeze_for_recipe(model, args.train_modules)
    stream = journeydb.load("vqa", data_dir=args.data_dir, split="train", streaming=True)
    questions = stream.map(one_row_per_question, batched=True, remove_columns=["image_id", "questions"])
    collate = make_collate(processor, model.config, args.max_length)
    evaluate = make_evaluate(processor, accelerator, args)
    results = common.train(model, questions, collate, evaluate, accelerator, args)
    common.save_final(model, processor, accelerator, args, results)
    accelerator.print(f"done: {args.output_dir}")
    accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
