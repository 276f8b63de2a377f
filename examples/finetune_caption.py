#!/usr/bin/env python
"""Fine-tune a BLIP-2 captioner on JourneyDB captions (`--target caption`) or prompts (`--target prompt`).

The paper fine-tuned Uni-Perceiver v2 for prompt inversion (Table 3, "FT" rows); this script does the same for any
BLIP-2 checkpoint (OPT or FlanT5 language model), with the JourneyDB builder feeding it and the project's own
scoring code (BLEU-4, METEOR, ROUGE-L, CIDEr, Similarity; the paper's Tables 3 and 4) evaluating it.

    # one machine, as configured by `accelerate config` (GPUs, mixed precision, ...):
    accelerate launch examples/finetune_caption.py --data-dir /data/JourneyDB \\
        --model Salesforce/blip2-opt-2.7b --target prompt --output-dir runs/blip2-prompt \\
        --batch-size 16 --gradient-accumulation-steps 4 --mixed-precision bf16
    # several nodes: the same command on each node, with an accelerate config naming the nodes and the rank
    accelerate launch --config_file multi_node.yaml examples/finetune_caption.py ...
    # continue an interrupted run
    accelerate launch examples/finetune_caption.py ... --resume-from-checkpoint latest
    # CPU smoke run: a tiny random BLIP-2 built in code, the embedded mini-release, a few steps
    python examples/finetune_caption.py --tiny --output-dir /tmp/jdb-caption

Training reads the `train` split streamed and split between processes (see `examples/common.py`); evaluation runs
on the `validation` split, sharded by accelerate, generations gathered with `gather_for_metrics` and scored once
on the main process. Everything lands in `--output-dir`: `checkpoints/step_N`, `final/`, `eval_results.json`.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `common` beside this script

import common  # noqa: E402

import journeydb  # noqa: E402
from journeydb.evaluation.score import ScoringOptions  # noqa: E402
from journeydb.evaluation.tasks import references_from_rows, score_task  # noqa: E402

TARGETS = {"caption": ("caption", "caption"), "prompt": ("prompt", "prompt_inversion")}  # config, task


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--target", choices=sorted(TARGETS), default="caption", help="what the model learns to write")
    parser.add_argument("--max-target-length", type=int, default=77, help="target tokens kept (default %(default)s)")
    parser.add_argument("--max-new-tokens", type=int, default=60, help="generation budget at evaluation")
    parser.add_argument("--no-meteor", action="store_true", help="skip METEOR at evaluation (it needs Java)")
    parser.add_argument(
        "--similarity-model", default="default", help="Sentence-BERT model of Similarity ('none' skips it)"
    )
    args = parser.parse_args(argv)
    common.apply_tiny_defaults(args, parser, argv)
    return args


def load_model(args: argparse.Namespace):
    if args.tiny:
        from journeydb.testing.tiny_blip2 import build_tiny_blip2, mini_release_texts

        model, processor = build_tiny_blip2(mini_release_texts(args.data_dir), seed=args.seed)
        return model, processor
    from transformers import Blip2ForConditionalGeneration, Blip2Processor

    return Blip2ForConditionalGeneration.from_pretrained(args.model), Blip2Processor.from_pretrained(args.model)


def make_collate(processor, model_config, field: str, max_length: int):
    """Training batches: image tokens + target (+ EOS) for decoder-only models, separate labels for encoder-decoders."""
    tokenizer = processor.tokenizer
    image_token_id = tokenizer.convert_tokens_to_ids(processor.image_token.content)
    decoder_only = model_config.use_decoder_only_language_model

    def collate(rows):
        images = [row["image"].convert("RGB") for row in rows]
        targets = [row[field] + tokenizer.eos_token for row in rows]
        if decoder_only:
            tokenizer.padding_side = "right"  # labels follow the text; padding after it is masked out
            batch = processor(
                images=images, text=targets, return_tensors="pt", padding=True, truncation=True, max_length=max_length
            )
            labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
            batch["labels"] = labels.masked_fill(labels == image_token_id, -100)
        else:
            batch = processor(images=images, text=[""] * len(rows), return_tensors="pt")
            encoded = tokenizer(
                targets,
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_length,
                add_special_tokens=False,
            )
            batch["labels"] = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
        return dict(batch)

    return collate


def make_evaluate(processor, accelerator, args, config_name: str, task: str):
    """Generate for the validation set on every process, gather, score once on the main process."""
    val = journeydb.load(config_name, data_dir=args.data_dir, split="validation")
    if args.eval_limit:
        val = val.select(range(min(args.eval_limit, len(val))))
    references = references_from_rows(task, val.remove_columns("image"), "validation")
    scoring = ScoringOptions(
        meteor=not args.no_meteor,
        similarity_model=None if args.similarity_model.lower() == "none" else args.similarity_model,
    )
    tokenizer = processor.tokenizer

    def collate(rows):
        tokenizer.padding_side = "left"
        images = [r["image"].convert("RGB") for r in rows]
        batch = processor(images=images, text=[""] * len(rows), return_tensors="pt", padding=True)
        return {**batch, "image_id": [r["image_id"] for r in rows]}

    loader = accelerator.prepare(torch.utils.data.DataLoader(val, batch_size=args.eval_batch_size, collate_fn=collate))

    def evaluate(model, step: int) -> dict:
        model.eval()
        generator = accelerator.unwrap_model(model)
        pairs = []
        for batch in loader:
            image_ids = batch.pop("image_id")
            with torch.no_grad(), accelerator.autocast():
                output = generator.generate(**batch, max_new_tokens=args.max_new_tokens, do_sample=False)
            prompt_len = batch["input_ids"].shape[1]
            if output.shape[1] >= prompt_len and torch.equal(output[:, :prompt_len], batch["input_ids"]):
                output = output[:, prompt_len:]  # decoder-only models echo the prompt
            texts = [" ".join(t.split()) for t in tokenizer.batch_decode(output, skip_special_tokens=True)]
            pairs += accelerator.gather_for_metrics(list(zip(image_ids, texts)), use_gather_object=True)
        if not accelerator.is_main_process:
            return {}
        predicted = dict(pairs)
        missing = [i for i in references.ids if i not in predicted]
        if missing:
            raise RuntimeError(f"evaluation lost {len(missing)} validation images, e.g. {missing[0]}")
        scores = score_task(references, [predicted[i] for i in references.ids], scoring).scores
        accelerator.print(f"step {step}: " + ", ".join(f"{k}={v:.4f}" for k, v in common.clean_scores(scores).items()))
        return {"step": step, "task": task, **scores}

    return evaluate


def main(argv=None) -> int:
    args = parse_args(argv)
    accelerator = common.make_accelerator(args)
    config_name, task = TARGETS[args.target]
    model, processor = load_model(args)
    common.freeze_for_recipe(model, args.train_modules)
    train_stream = journeydb.load(config_name, data_dir=args.data_dir, split="train", streaming=True)
    collate = make_collate(processor, model.config, config_name, args.max_target_length)
    evaluate = make_evaluate(processor, accelerator, args, config_name, task)
    results = common.train(model, train_stream, collate, evaluate, accelerator, args)
    common.save_final(model, processor, accelerator, args, results)
    accelerator.print(f"done: {args.output_dir}")
    accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
