"""What the two fine-tuning examples share: options, the accelerate set-up, the streamed training loop, checkpoints.

Not a library: `finetune_caption.py` and `finetune_vqa.py` import it from beside them. Everything here runs the
same under `python` (one process, CPU or one GPU) and `accelerate launch` (several GPUs or nodes, as the
accelerate config says).

- Training data are streamed (`journeydb.load(..., streaming=True)`), shuffled with a buffer (same seed and epoch
  on every process), and split between processes with `datasets.distributed.split_dataset_by_node`, so no rank
  reads another's images. Training is counted in optimizer steps and every rank runs the same number of them (the
  stream restarts as a new epoch when it ends), so no rank waits for another at the end.
- A checkpoint (`accelerator.save_state`) holds model, optimizer, scheduler, RNG and the loop's position (step,
  epoch, batches of the epoch); resuming skips the batches already seen, so a resumed run trains on the same data
  in the same order as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import sys
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator, Optional

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from datasets.distributed import split_dataset_by_node

import journeydb

logger = logging.getLogger("journeydb.examples")

CHECKPOINT_PATTERN = re.compile(r"^step_(\d+)$")


def _spellings(flag: str) -> tuple[str, ...]:
    """`--output-dir` and HF's `--output_dir`: both spellings of a dashed option."""
    return (flag, flag.replace("-", "_").replace("__", "--", 1)) if "-" in flag[2:] else (flag,)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        *_spellings("--data-dir"), help="the release folder (contains data/); default with --tiny: the mini-release"
    )
    parser.add_argument("--model", help="BLIP-2 checkpoint (path or hub name) to fine-tune")
    parser.add_argument(
        *_spellings("--output-dir"), required=True, help="checkpoints, final model and eval_results.json go here"
    )
    parser.add_argument(
        *_spellings("--max-steps"), type=int, default=2000, help="optimizer steps (default %(default)s)"
    )
    parser.add_argument(
        *_spellings("--batch-size"), type=int, default=8, help="per-process batch size (default %(default)s)"
    )
    parser.add_argument(*_spellings("--eval-batch-size"), type=int, default=16)
    parser.add_argument(*_spellings("--gradient-accumulation-steps"), type=int, default=1)
    parser.add_argument(*_spellings("--learning-rate"), type=float, default=1e-5)
    parser.add_argument(*_spellings("--weight-decay"), type=float, default=0.05)
    parser.add_argument(*_spellings("--warmup-steps"), type=int, default=100)
    parser.add_argument(
        *_spellings("--mixed-precision"),
        choices=("no", "fp16", "bf16"),
        help="overrides the accelerate config (default: what `accelerate config` chose, else no)",
    )
    parser.add_argument(
        *_spellings("--train-modules"),
        choices=("qformer", "all"),
        default="qformer",
        help="qformer: the BLIP-2 recipe (vision tower and language model frozen); all: everything",
    )
    parser.add_argument(
        *_spellings("--checkpointing-steps"), type=int, default=500, help="save a checkpoint every N steps"
    )
    parser.add_argument(
        *_spellings("--resume-from-checkpoint"), metavar="PATH|latest", help="continue a run from a checkpoint"
    )
    parser.add_argument(
        *_spellings("--eval-steps"), type=int, default=0, help="evaluate every N steps too (0: only at the end)"
    )
    parser.add_argument(*_spellings("--eval-limit"), type=int, help="evaluate on the first N validation rows only")
    parser.add_argument(
        *_spellings("--shuffle-buffer"), type=int, default=1000, help="streaming shuffle buffer (default %(default)s)",
    )
    parser.add_argument(*_spellings("--num-workers"), type=int, default=2, help="DataLoader workers per process")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="smoke run on CPU: a tiny random BLIP-2 built in code, the mini-release, a few steps",
    )


def given_options(parser: argparse.ArgumentParser, argv: Optional[list[str]]) -> set[str]:
    """The destinations of the options written on the command line (`--x v` or `--x=v`, either spelling)."""
    tokens = [t.split("=", 1)[0] for t in (sys.argv[1:] if argv is None else argv) if t.startswith("-")]
    return {a.dest for a in parser._actions if any(t in a.option_strings for t in tokens)}


def apply_tiny_defaults(
    args: argparse.Namespace, parser: argparse.ArgumentParser, argv: Optional[list[str]] = None
) -> None:
    """`--tiny`: the mini-release, a tiny model, a handful of small steps; only options the user did not give are
    filled (an explicit `--batch-size 8`, the default's value, stays 8)."""
    if not args.tiny:
        if not args.model or not args.data_dir:
            parser.error("--model and --data-dir are required (or --tiny for a smoke run)")
        return
    if args.model:
        parser.error("--tiny builds its own model; leave --model out")
    args.data_dir = args.data_dir or journeydb.sample_dir()
    defaults = {
        "max_steps": 4,
        "batch_size": 4,
        "eval_batch_size": 8,
        "warmup_steps": 0,
        "learning_rate": 1e-3,
        "checkpointing_steps": 2,
        "eval_limit": 8,
        "shuffle_buffer": 16,
        "num_workers": 0,
        "train_modules": "all",
    }
    given = given_options(parser, argv)
    for name, value in defaults.items():
        if name not in given:
            setattr(args, name, value)


def make_accelerator(args: argparse.Namespace) -> Accelerator:
    accelerator = Accelerator(
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=args.mixed_precision,
        cpu=args.tiny and not torch.cuda.is_available(),
    )
    logging.basicConfig(level=logging.INFO if accelerator.is_main_process else logging.WARNING, format="%(message)s")
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # one line per checkpoint is ours, not six
    set_seed(args.seed)
    # say how many processes really run: `accelerate launch --cpu --num_processes 2` starts one (use torchrun)
    accelerator.print(
        f"world size {accelerator.num_processes}, per-device batch {args.batch_size}, gradient accumulation "
        f"{args.gradient_accumulation_steps}, global batch "
        f"{args.batch_size * accelerator.num_processes * args.gradient_accumulation_steps}",
        flush=True,
    )
    return accelerator


def freeze_for_recipe(model: torch.nn.Module, train_modules: str) -> None:
    """BLIP-2's recipe trains the Q-Former, its query tokens and the language projection only."""
    if train_modules == "all":
        return
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith(("qformer.", "query_tokens", "language_projection."))


# --------------------------------------------------------------------------------------------------------------


@dataclass
class LoopState:
    """Where the training loop is; saved with every checkpoint (`accelerator.register_for_checkpointing`)."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # pass over the training stream
    batches_in_epoch: int = 0  # batches of `epoch` already consumed (all processes consume the same number)

    def state_dict(self) -> dict[str, int]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step, self.epoch, self.batches_in_epoch = state["step"], state["epoch"], state["batches_in_epoch"]


def find_checkpoint(output_dir: str, requested: Optional[str]) -> Optional[str]:
    """The checkpoint folder to resume from: a path, or `latest` (the highest step under output_dir/checkpoints)."""
    if not requested:
        return None
    if requested != "latest":
        if not os.path.isdir(requested):
            raise FileNotFoundError(f"--resume-from-checkpoint {requested}: no such folder")
        return requested
    folder = os.path.join(output_dir, "checkpoints")
    steps = [
        (int(m.group(1)), name)
        for name in (os.listdir(folder) if os.path.isdir(folder) else [])
        if (m := CHECKPOINT_PATTERN.match(name))
    ]
    if not steps:
        logger.info("no checkpoint under %s: starting from scratch", folder)
        return None
    return os.path.join(folder, max(steps)[1])


def training_batches(
    dataset: Any,
    collate: Callable[[list[dict]], dict],
    accelerator: Accelerator,
    args: argparse.Namespace,
    state: LoopState,
) -> Iterator[dict]:
    """Endless batches of this process's share of the streamed training set, epoch after epoch.

    Each epoch reshuffles with the same seed on every process (`set_epoch`), then `split_dataset_by_node` gives
    each process its shards (or every n-th example when shards do not divide evenly). On resume the batches of the
    current epoch that were already trained on are skipped.
    """
    while True:
        shuffled = dataset.shuffle(seed=args.seed, buffer_size=args.shuffle_buffer)
        shuffled.set_epoch(state.epoch)
        mine = split_dataset_by_node(shuffled, rank=accelerator.process_index, world_size=accelerator.num_processes)
        if state.batches_in_epoch:
            mine = mine.skip(state.batches_in_epoch * args.batch_size)
        loader = torch.utils.data.DataLoader(
            mine,
            batch_size=args.batch_size,
            collate_fn=collate,
            num_workers=args.num_workers,
            drop_last=True,
            # its own generator: creating the iterator must not draw from the global RNG that dropout uses, or a
            # resumed run (which creates it after loading the RNG state) would diverge from an uninterrupted one
            generator=torch.Generator().manual_seed(args.seed + state.epoch),
        )
        produced = 0
        for batch in loader:
            produced += 1
            state.batches_in_epoch += 1  # counted before training on it: a checkpoint after this step skips it
            yield {k: v.to(accelerator.device) if hasattr(v, "to") else v for k, v in batch.items()}
        if not produced and not state.batches_in_epoch:
            raise ValueError("the training stream of this process is empty (fewer examples than --batch-size?)")
        state.epoch += 1
        state.batches_in_epoch = 0


def train(
    model: torch.nn.Module,
    train_dataset: Any,
    collate: Callable[[list[dict]], dict],
    evaluate: Callable[[torch.nn.Module, int], dict],
    accelerator: Accelerator,
    args: argparse.Namespace,
) -> dict:
    """The loop: AdamW + linear warm-up/decay, gradient accumulation, checkpoints, periodic and final evaluation."""
    from transformers import get_scheduler

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.learning_rate, weight_decay=args.weight_decay)
    # the prepared scheduler steps once per process per optimizer step (accelerate's convention)
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=args.warmup_steps * accelerator.num_processes,
        num_training_steps=args.max_steps * accelerator.num_processes,
    )
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    state = LoopState()
    accelerator.register_for_checkpointing(state)
    checkpoint = find_checkpoint(args.output_dir, args.resume_from_checkpoint)
    if checkpoint:
        accelerator.load_state(checkpoint)
        accelerator.print(f"resumed from {checkpoint} at step {state.step} (epoch {state.epoch})")

    model.train()
    batches = training_batches(train_dataset, collate, accelerator, args, state)
    results: dict = {}
    running, seen = 0.0, 0
    from tqdm.auto import tqdm

    progress = tqdm(
        total=args.max_steps, initial=state.step, desc="training", disable=not accelerator.is_local_main_process
    )
    while state.step < args.max_steps:
        batch = next(batches)
        with accelerator.accumulate(model):
            loss = model(**batch).loss
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        running += loss.detach().float().item()
        seen += 1
        if not accelerator.sync_gradients:
            continue
        state.step += 1
        progress.update(1)
        progress.set_postfix(loss=f"{running / seen:.4f}")
        running, seen = 0.0, 0
        if args.checkpointing_steps and state.step % args.checkpointing_steps == 0:
            path = os.path.join(args.output_dir, "checkpoints", f"step_{state.step}")
            accelerator.save_state(path)
            logger.info("step %d: checkpoint saved to %s", state.step, path)
        if args.eval_steps and state.step % args.eval_steps == 0 and state.step < args.max_steps:
            results = evaluate(model, state.step)
            model.train()
    progress.close()
    results = evaluate(model, state.step)
    accelerator.wait_for_everyone()
    return results


def save_final(
    model: torch.nn.Module, processor: Any, accelerator: Accelerator, args: argparse.Namespace, results: dict
) -> None:
    """The fine-tuned model and processor under output_dir/final, and the last evaluation as eval_results.json."""
    final = os.path.join(args.output_dir, "final")
    accelerator.unwrap_model(model).save_pretrained(
        final, is_main_process=accelerator.is_main_process, save_function=accelerator.save
    )
    if accelerator.is_main_process:
        processor.save_pretrained(final)
        with open(os.path.join(args.output_dir, "eval_results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


def clean_scores(scores: dict) -> dict:
    """The numeric scores (what gets logged)."""
    return {
        k: v for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }
