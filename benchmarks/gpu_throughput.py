"""GPU throughput of the benchmark's model stages at real size, with random weights (nothing is downloaded).

Builds BLIP-2 OPT-2.7B, BLIP-2 FlanT5-XL, CLIP ViT-L/14 and a 7B Llama judge (Vicuna-7B's shape) from configs
written out below with the published sizes, in bf16 directly on the device, and times the project's own runners on
synthetic inputs:

- caption generation, `journeydb.models.generation.generate_texts`: greedy, exactly `--max-new-tokens` (60) new
  tokens per image (EOS is held back by `min_new_tokens`: random weights would otherwise stop at any point; real
  captions stop at their EOS, so this is the slow end);
- VQA letter scoring, `journeydb.models.vlm_choice.answer_vqa`: one forward pass per question, its image included;
- CLIP: encoding the style vocabulary (`clip_features.text_features`, `--phrases` 150,000, cache off), then images
  ranked against it (`clip_features.image_features` + `clip_retrieval.rank_features`, top 10, no style tree);
- the QAS judge, `journeydb.models.llm_judge.answer_questions`: letter scoring with shared prefixes.

Inputs: random `--image-size` (512) RGB images held in memory (the processor's resize is timed, JPEG decoding is
not); texts of pseudo-words through the project's word-level test tokenizer (`journeydb.testing.tiny_blip2`: one
token per word, where BPE gives about 1.3); prompts of 10-60 words; three questions per image (and per prompt).

Timing: each workload runs `--warmup` times untimed, then `--repeats` times between `torch.cuda.synchronize()`
calls; the table gives the median. `prep %` is the share of that wall time spent in processor/tokenizer calls (CPU).

FLOPs: those of the first warm-up run, as counted by `torch.utils.flop_counter.FlopCounterMode`: 2*m*n*k per matrix
product (linear layers, attention, convolutions), i.e. about 2 x parameters x tokens per forward pass plus the
attention scores; padding counts (it is computed), embedding look-ups do not. MFU = FLOPs / median wall / peak, the
peak from `--peak-tflops` or the device name (dense bf16: H100 SXM and H200 989, H100 PCIe 756, A100 312 TFLOP/s);
for any other device no MFU is printed.

Usage: python benchmarks/gpu_throughput.py [--only blip2-opt,blip2-t5,clip,judge] [--batch-size 32] [--images 256]
       python benchmarks/gpu_throughput.py --tiny --device cpu      # tiny configs of the same code: seconds on CPU
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib.util
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Optional

import datasets
import numpy as np
import torch
import transformers
from PIL import Image

from journeydb.models.clip_features import image_features, text_features
from journeydb.models.clip_retrieval import rank_features
from journeydb.models.generation import INSTRUCTIONS, generate_texts
from journeydb.models.llm_judge import QAS_INSTRUCTION, VICUNA_CONVERSATION, answer_questions
from journeydb.models.vlm_choice import PROMPT_TEMPLATE, answer_vqa
from journeydb.testing.tiny_blip2 import BOS_ID, EOS_ID, IMAGE_ID, PAD_ID, build_tokenizer

MODELS = ("blip2-opt", "blip2-t5", "clip", "judge")
PEAK_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("A100", 312.0))  # first match wins
QUESTIONS_PER_IMAGE = 3  # the validation split has about 2.9 QAS questions per image
NUM_QUERY_TOKENS = 32
IMAGE_SIZE, PATCH_SIZE = 224, 14  # what both BLIP-2 and CLIP ViT-L/14 see


# ------------------------------------------------------------------------------------------------ synthetic inputs


@dataclass
class Inputs:
    images: list[Image.Image]
    prompts: list[str]
    questions: list[list[dict[str, Any]]]  # per image: question_id, question, options
    phrases: list[str]
    texts: list[str]  # what the tokenizer's vocabulary is built from


def make_inputs(num_images: int, num_phrases: int, image_size: int, seed: int = 0) -> Inputs:
    rng = np.random.default_rng(seed)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    lexicon: set[str] = set()
    while len(lexicon) < 16_000:  # distinct words, fewer than every model's vocabulary (ids stay in range)
        lexicon.add("".join(rng.choice(syllables, int(rng.integers(2, 4)))))
    words = sorted(lexicon)

    def text(low: int, high: int) -> str:
        return " ".join(rng.choice(words, int(rng.integers(low, high + 1))))

    images = [Image.fromarray(rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8))
              for _ in range(num_images)]
    prompts = [text(10, 60) for _ in range(num_images)]
    questions = [[{"question_id": f"{i}-{j}", "question": f"what is the {text(4, 9)} ?",
                   "options": [text(1, 3) for _ in range(4)]} for j in range(QUESTIONS_PER_IMAGE)]
                 for i in range(num_images)]
    phrases: dict[str, None] = {}
    while len(phrases) < num_phrases:  # distinct, as a style vocabulary is
        phrases[text(1, 4)] = None
    texts = [" ".join(words), QAS_INSTRUCTION, VICUNA_CONVERSATION, PROMPT_TEMPLATE, INSTRUCTIONS["caption"]]
    return Inputs(images, prompts, questions, list(phrases), texts)


class Timed:
    """Delegates to a processor or tokenizer and adds up the seconds spent in its calls: the CPU input preparation
    inside the project's runners, which the GPU waits for."""

    def __init__(self, inner: Any) -> None:
        self._inner, self.seconds = inner, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# ------------------------------------------------------------------------------------------------ the architectures


def _size(tiny: bool, real: int, small: int) -> int:
    return small if tiny else real


def _image_processor(kind: str, **kwargs: Any) -> Any:
    # the torchvision processor when it is installed, as from_pretrained would pick; else the PIL one, quietly
    suffix = "" if importlib.util.find_spec("torchvision") else "Pil"
    return getattr(transformers, f"{kind}ImageProcessor{suffix}")(**kwargs)


def blip2_config(language_model: str, tiny: bool) -> Any:
    """Salesforce/blip2-opt-2.7b and blip2-flan-t5-xl: EVA ViT-g/14 (39 layers), a BERT-base Q-Former, the LM.
    (transformers 5 ties T5's LM head to its embeddings whatever the config says: FlanT5-XL then counts 66 M
    parameters fewer than the checkpoint's 3.94 B, the same FLOPs.)"""
    from transformers import Blip2Config, OPTConfig, T5Config

    s = functools.partial(_size, tiny)
    if language_model == "opt":  # OPT-2.7B
        text = OPTConfig(vocab_size=50272, hidden_size=s(2560, 32), ffn_dim=s(10240, 64),
                         num_hidden_layers=s(32, 2), num_attention_heads=s(32, 2), word_embed_proj_dim=s(2560, 32),
                         max_position_embeddings=2048, pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=EOS_ID)
    else:  # Flan-T5-XL
        text = T5Config(vocab_size=32128, d_model=s(2048, 32), d_kv=s(64, 16), d_ff=s(5120, 64),
                        num_layers=s(24, 1), num_decoder_layers=s(24, 1), num_heads=s(32, 2),
                        feed_forward_proj="gated-gelu", tie_word_embeddings=False, pad_token_id=PAD_ID,
                        eos_token_id=EOS_ID, decoder_start_token_id=PAD_ID)
    vision = dict(hidden_size=s(1408, 32), intermediate_size=s(6144, 64), num_hidden_layers=s(39, 1),
                  num_attention_heads=s(16, 2), image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, layer_norm_eps=1e-6)
    qformer = dict(hidden_size=s(768, 32), intermediate_size=s(3072, 64), num_hidden_layers=s(12, 1),
                   num_attention_heads=s(12, 2), cross_attention_frequency=2, encoder_hidden_size=vision["hidden_size"],
                   vocab_size=30522)
    return Blip2Config(vision_config=vision, qformer_config=qformer, text_config=text.to_dict(),
                       num_query_tokens=NUM_QUERY_TOKENS, image_token_index=IMAGE_ID)


def clip_config(tiny: bool) -> Any:
    """openai/clip-vit-large-patch14."""
    from transformers import CLIPConfig

    s = functools.partial(_size, tiny)
    text = dict(vocab_size=49408, hidden_size=s(768, 32), intermediate_size=s(3072, 64), num_hidden_layers=s(12, 1),
                num_attention_heads=s(12, 2), max_position_embeddings=77, pad_token_id=PAD_ID, bos_token_id=BOS_ID,
                eos_token_id=EOS_ID)
    vision = dict(hidden_size=s(1024, 32), intermediate_size=s(4096, 64), num_hidden_layers=s(24, 1),
                  num_attention_heads=s(16, 2), image_size=IMAGE_SIZE, patch_size=PATCH_SIZE)
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=s(768, 32))


def judge_config(tiny: bool) -> Any:
    """Llama-2-7B's shape (lmsys/vicuna-7b-v1.5)."""
    from transformers import LlamaConfig

    s = functools.partial(_size, tiny)
    return LlamaConfig(vocab_size=32000, hidden_size=s(4096, 32), intermediate_size=s(11008, 64),
                       num_hidden_layers=s(32, 2), num_attention_heads=s(32, 4), num_key_value_heads=s(32, 4),
                       max_position_embeddings=4096, rms_norm_eps=1e-5, pad_token_id=PAD_ID, bos_token_id=BOS_ID,
                       eos_token_id=EOS_ID)


@contextlib.contextmanager
def built_on(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """New tensors in `dtype` on `device`: weights are initialised where they run, never as a 28 GB fp32 CPU copy."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def build(name: str, tiny: bool, device: torch.device, dtype: torch.dtype, tokenizer: Any) -> tuple[Any, Any]:
    """(model, processor or tokenizer), random weights, eval mode, no gradients (FlopCounterMode's module tracker
    cannot follow a parameter that requires grad inside no_grad)."""
    from transformers import Blip2ForConditionalGeneration, Blip2Processor, CLIPModel, LlamaForCausalLM

    torch.manual_seed(0)
    language_model = "opt" if name == "blip2-opt" else "t5"
    with built_on(device, dtype):
        if name.startswith("blip2"):
            model = Blip2ForConditionalGeneration(blip2_config(language_model, tiny))
        else:
            model = CLIPModel(clip_config(tiny)) if name == "clip" else LlamaForCausalLM(judge_config(tiny))
    model.eval().requires_grad_(False)
    if name == "clip":  # the two halves of a CLIPProcessor, as `clip_features` reads them
        return model, SimpleNamespace(tokenizer=tokenizer,
                                      image_processor=_image_processor("CLIP", size={"shortest_edge": IMAGE_SIZE}))
    if name == "judge":
        return model, tokenizer
    model.generation_config.pad_token_id, model.generation_config.eos_token_id = PAD_ID, EOS_ID
    if language_model == "opt":
        model.generation_config.bos_token_id = BOS_ID
    else:
        model.generation_config.decoder_start_token_id = PAD_ID
    image_processor = _image_processor("Blip", size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return model, Blip2Processor(image_processor, tokenizer, num_query_tokens=NUM_QUERY_TOKENS)


# ------------------------------------------------------------------------------------------------ measuring


@dataclass
class Row:
    model: str
    stage: str
    unit: str
    batch: int
    items: int
    seconds: float
    flops: int
    prep_seconds: float
    peak_gb: Optional[float]


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(run: Callable[[], Any], timers: list[Timed], device: torch.device, warmup: int, repeats: int
            ) -> tuple[float, int, float]:
    """(median wall seconds, FLOPs of one run, median prep seconds): the first warm-up run counts the FLOPs (the
    counter slows it down), the timed runs are bracketed by synchronisations so queued GPU work is not missed."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        run()
    for _ in range(warmup - 1):
        run()
    walls, preps = [], []
    for _ in range(repeats):
        for timer in timers:
            timer.seconds = 0.0
        _synchronize(device)
        start = time.perf_counter()
        run()
        _synchronize(device)
        walls.append(time.perf_counter() - start)
        preps.append(sum(timer.seconds for timer in timers))
    return statistics.median(walls), int(counter.get_total_flops()), statistics.median(preps)


def run_model(name: str, args: argparse.Namespace, inputs: Inputs, tokenizer: Any, device: torch.device,
              dtype: torch.dtype) -> list[Row]:
    start = time.perf_counter()
    model, processor = build(name, args.tiny, device, dtype, tokenizer)
    _synchronize(device)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"{name}: {parameters / 1e9:.3f} B parameters, built in {time.perf_counter() - start:.1f} s", flush=True)
    if name == "clip":  # time both halves
        timers = [Timed(processor.tokenizer), Timed(processor.image_processor)]
        timed: Any = SimpleNamespace(tokenizer=timers[0], image_processor=timers[1])
    else:
        timers = [timed := Timed(processor)]
    rows: list[Row] = []

    def stage(stage_name: str, unit: str, batch: int, items: int, run: Callable[[], Any]) -> None:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds, flops, prep = measure(run, timers, device, args.warmup, args.repeats)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
        rows.append(Row(name, stage_name, unit, batch, items, seconds, flops, prep, peak))

    images, n = inputs.images, len(inputs.images)
    if name.startswith("blip2"):
        # every row generates exactly max_new_tokens: the cost does not depend on where random weights put EOS
        model.generation_config.min_new_tokens = args.max_new_tokens
        stage(f"caption, {args.max_new_tokens} new tokens", "images", args.batch_size, n,
              lambda: generate_texts(model, timed, images, INSTRUCTIONS["caption"], batch_size=args.batch_size,
                                     max_new_tokens=args.max_new_tokens, split_across_processes=False))
        rows_vqa = [{"image_id": str(i), "image": image, "questions": questions}
                    for i, (image, questions) in enumerate(zip(images, inputs.questions))]
        stage("VQA letter scoring", "questions", args.batch_size, n * QUESTIONS_PER_IMAGE,
              lambda: answer_vqa(model, timed, rows_vqa, batch_size=args.batch_size, shard=(0, 1)))
    elif name == "clip":
        vocabulary_features: list[torch.Tensor] = []

        def encode_vocabulary() -> None:
            vocabulary_features[:] = [text_features(inputs.phrases, model, timed, batch_size=args.text_batch_size,
                                                    use_cache=False)]

        stage(f"style vocabulary, {len(inputs.phrases):,} phrases", "phrases", args.text_batch_size,
              len(inputs.phrases), encode_vocabulary)
        stage("style ranking, top 10", "images", args.clip_batch_size, n,
              lambda: rank_features(image_features(images, model, timed, batch_size=args.clip_batch_size,
                                                   progress=False), vocabulary_features[0], 10, progress=False))
    else:
        items = [{"prompt": prompt, "question": q["question"], "options": q["options"]}
                 for prompt, questions in zip(inputs.prompts, inputs.questions) for q in questions]
        stage("QAS judge letter scoring", "questions", args.judge_batch_size, len(items),
              lambda: answer_questions(items, (model, timed), batch_size=args.judge_batch_size,
                                       split_across_processes=False))
    return rows  # the model goes with this frame: main() then frees its memory before the next one is built


# ------------------------------------------------------------------------------------------------ the report


def default_peak_tflops(device_name: str) -> Optional[float]:
    return next((peak for key, peak in PEAK_TFLOPS if key.lower() in device_name.lower()), None)


def format_table(rows: list[Row], peak_tflops: Optional[float]) -> str:
    header = ("model", "stage", "batch", "items", "wall s", "rate", "TFLOP/s", "MFU %", "prep %", "peak GiB")
    lines = []
    for r in rows:
        achieved = r.flops / r.seconds / 1e12
        mfu = f"{100 * achieved / peak_tflops:.1f}" if peak_tflops else "-"
        lines.append((r.model, r.stage, str(r.batch), str(r.items), f"{r.seconds:.2f}",
                      f"{r.items / r.seconds:,.1f} {r.unit}/s", f"{achieved:.2f}", mfu,
                      f"{100 * r.prep_seconds / r.seconds:.0f}", "-" if r.peak_gb is None else f"{r.peak_gb:.1f}"))
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    left = {0, 1}  # names left-aligned, numbers right-aligned

    def render(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([render(header), render(tuple("-" * w for w in widths)), *map(render, lines)])


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--tiny", action="store_true", help="tiny configs (a smoke run; CPU is fine)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=("bfloat16", "float16", "float32"),
                        help="default: bfloat16 on a GPU, float32 on the CPU")
    parser.add_argument("--images", type=int, help="images per workload (default 256; --tiny 2)")
    parser.add_argument("--phrases", type=int, help="style vocabulary size (default 150000; --tiny 300)")
    parser.add_argument("--image-size", type=int, default=512, help="side of the synthetic input images")
    parser.add_argument("--batch-size", type=int, default=32, help="BLIP-2 generation and VQA batch size")
    parser.add_argument("--clip-batch-size", type=int, default=64)
    parser.add_argument("--text-batch-size", type=int, default=1024, help="phrases per CLIP text forward pass")
    parser.add_argument("--judge-batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per workload (>= 1: it counts FLOPs)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per workload (the median is printed)")
    parser.add_argument("--peak-tflops", type=float, help="peak dense TFLOP/s of the device in --dtype (for MFU)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    if args.warmup < 1 or args.repeats < 1:
        parser.error("--warmup and --repeats must be at least 1")
    args.images = args.images or (2 if args.tiny else 256)
    args.phrases = args.phrases or (300 if args.tiny else 150_000)
    return args


def main(argv: Optional[list[str]] = None) -> None:
    args = parse_args(argv)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype or ("bfloat16" if device.type == "cuda" else "float32"))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak = args.peak_tflops if args.peak_tflops is not None else default_peak_tflops(name)
    transformers.utils.logging.disable_progress_bar()
    datasets.utils.logging.disable_progress_bar()  # generate_texts shows datasets' bar
    print(f"device: {name} ({device}), {dtype}; torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"peak: {f'{peak:g} TFLOP/s' if peak else 'unknown (no MFU; give --peak-tflops)'}; "
          f"{'tiny configs' if args.tiny else 'real-size configs'}, random weights")
    inputs = make_inputs(args.images, args.phrases, args.image_size)
    tokenizer = build_tokenizer(inputs.texts)
    rows: list[Row] = []
    for model_name in args.only:
        rows += run_model(model_name, args, inputs, tokenizer, device, dtype)
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print("\n" + format_table(rows, peak))
    print("\nFLOPs: torch.utils.flop_counter (2*m*n*k per matmul, ~2 x params x tokens + attention), padding included;"
          " MFU = FLOPs / wall / peak; prep % = wall share of processor/tokenizer calls (CPU)")


if __name__ == "__main__":
    main()
