"""The paper's zero-shot multiple-choice protocol (Table 6) over transformers image-text-to-text models.

The model sees the image, the question and the four labelled options; its answer is the option letter with the
highest next-token probability. Nothing is generated, so no reply needs parsing and every question gets a letter.

Public API:

    answer_vqa(model, processor, dataset_rows, *, batch_size=8, prompt_template=None, shard=None,
               return_scores=False) -> list[dict]
        One `{"question_id", "prediction"}` per question of `dataset_rows` (rows of the `vqa` config, e.g.
        `journeydb.load("vqa", data_dir, split="validation")`), in the rows' order; `prediction` is "A".."D".
        With `return_scores=True` each dict also carries `scores`: the log-probability of each letter.
    load_vlm(name_or_path, *, device=None, dtype=None) -> (model, processor)
        BLIP-2 checkpoints through `Blip2ForConditionalGeneration` + `Blip2Processor`, others through
        `AutoModelForImageTextToText` + `AutoProcessor`; bf16 (fp16 where bf16 is unsupported) on GPU, fp32 on CPU.
    build_prompt(question, options, template=PROMPT_TEMPLATE) -> str
    merge_shards(shards) -> list[dict]: the whole run's output from the per-shard outputs
        (`journeydb.models.sharding`).

The prompt. A processor without a chat template (BLIP-2) gets `PROMPT_TEMPLATE` as the whole text, after the
image's query tokens:

    Question: {question}
    Options:
    {options}
    Answer with the option's letter from the given choices directly.
    Answer:

A processor with a chat template gets one user turn, the image then `CHAT_PROMPT_TEMPLATE` (the same lines without
the "Question:" / "Options:" labels and the trailing "Answer:"), followed by the template's generation prompt.
`{options}` is four lines "A. <text>" .. "D. <text>"; a custom template may use `{question}`, `{options}` and
`{A}`..`{D}` (the bare option texts) and nothing else. Both defaults are frozen by a snapshot test
(tests/snapshots/vlm_choice_prompts.json).

The letter (`journeydb.models.letters`, the rule the QAS judge follows too). Every spelling of a letter that is a
single token counts ("A", " A", "ĠA", "▁A"; never the unknown token): a letter's probability is the sum of its
spellings' next-token probabilities (with one spelling each, this is simply the highest logit). Ties go to the
earlier letter.

Sharding (`journeydb.models.sharding`). Under `accelerate launch` (or `torchrun`) each process takes every N-th
question (question k goes to process k mod N), scores its share with its own model copy (`load_vlm` puts it on the
process's GPU), and the results are gathered and interleaved back into question order on every process. (For
several CPU processes, create `accelerate.PartialState(cpu=True)` before calling: accelerate only goes distributed
on CPU when asked.) Passing `shard=(index, count)` does one share by hand and returns only it; `merge_shards` puts
shares together. Inputs are right-padded and each row is read at its own last token, so a question's score does not
depend on which other questions share its batch: the sharded run equals the whole one.
"""

from __future__ import annotations

import logging
import string
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

from journeydb.release.records import LETTERS

from .letters import best_letters, letter_log_probs, letter_token_ids
from .model_inputs import build_model_inputs, to_rgb, uses_chat_template
from .placement import dtype_argument, model_placement
from .sharding import ProcessLayout, merge_shards, process_layout

if TYPE_CHECKING:  # torch and transformers are imported where they are used
    import torch

logger = logging.getLogger(__name__)

PROMPT_TEMPLATE = (
    "Question: {question}\n"
    "Options:\n"
    "{options}\n"
    "Answer with the option's letter from the given choices directly.\n"
    "Answer:"
)
CHAT_PROMPT_TEMPLATE = "{question}\n{options}\nAnswer with the option's letter from the given choices directly."
TEMPLATE_FIELDS = ("question", "options", *LETTERS)

__all__ = [
    "CHAT_PROMPT_TEMPLATE",
    "PROMPT_TEMPLATE",
    "TEMPLATE_FIELDS",
    "answer_vqa",
    "build_prompt",
    "check_template",
    "letter_token_ids",
    "load_vlm",
    "merge_shards",
]


# --------------------------------------------------------------------------------------------------------------
# prompts


def check_template(template: str) -> None:
    """Refuse a template with unknown fields, attribute or index access, or without the question and options."""
    if not isinstance(template, str):
        raise TypeError(f"prompt_template must be a string, got {type(template).__name__}")
    try:
        parsed = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise ValueError(f"prompt_template {template!r} is not a valid format string ({err})") from None
    fields = [name for name, _, _ in parsed]
    unknown = sorted({name for name in fields if name not in TEMPLATE_FIELDS})
    if unknown:
        raise ValueError(f"prompt_template uses unknown field(s) {unknown}; allowed: {list(TEMPLATE_FIELDS)}")
    if any(spec or conv for _, spec, conv in parsed):
        raise ValueError("prompt_template fields take no format spec or conversion: write {question}, not {question!r}")
    if "question" not in fields or not ("options" in fields or all(letter in fields for letter in LETTERS)):
        raise ValueError("prompt_template must contain {question} and {options} (or all of {A}, {B}, {C}, {D})")


def build_prompt(question: str, options: Sequence[str], template: str = PROMPT_TEMPLATE) -> str:
    """The text a model sees for one question.

    Example:

    ```py
    >>> print(build_prompt("What colour is the box?", ["red", "blue", "green", "orange"]))
    Question: What colour is the box?
    Options:
    A. red
    B. blue
    C. green
    D. orange
    Answer with the option's letter from the given choices directly.
    Answer:

    ```
    """
    check_template(template)
    if len(options) != len(LETTERS):
        raise ValueError(f"expected four options (A-D), got {len(options)}")
    lines = "\n".join(f"{letter}. {text}" for letter, text in zip(LETTERS, options))
    return template.format(question=question, options=lines, **dict(zip(LETTERS, options)))


# --------------------------------------------------------------------------------------------------------------
# questions


def _iter_questions(dataset_rows: Iterable[dict[str, Any]]) -> Iterator[tuple[str, Any, str, list[str]]]:
    """(question_id, image, question, options) for every question, in the rows' order; the image stays lazy."""
    for row_index, row in enumerate(dataset_rows):
        if not isinstance(row, dict) or "questions" not in row or "image" not in row:
            raise ValueError(f"row {row_index} is not a `vqa` row (needs `image` and `questions`)")
        where = f"row {row_index} (image {row.get('image_id')!r})"
        for question in row["questions"] or []:
            qid = question.get("question_id") if isinstance(question, dict) else None
            if not isinstance(qid, str):
                raise ValueError(f"{where}: a question has no question_id")
            options = question.get("options")
            four_texts = isinstance(options, (list, tuple)) and len(options) == 4
            if not (four_texts and all(isinstance(o, str) for o in options)):
                raise ValueError(f"question {qid}: options must be four strings (A-D), got {options!r}")
            if not isinstance(question.get("question"), str):
                raise ValueError(f"question {qid}: question text is {question.get('question')!r}")
            yield qid, (row["image"], where), question["question"], list(options)


# --------------------------------------------------------------------------------------------------------------
# the scorer


def _is_encoder_decoder(model: Any) -> bool:
    config = model.config
    if getattr(config, "use_decoder_only_language_model", None) is not None:  # BLIP-2 / InstructBLIP
        return not config.use_decoder_only_language_model
    text_config = getattr(config, "text_config", None)
    return bool(getattr(config, "is_encoder_decoder", False) or getattr(text_config, "is_encoder_decoder", False))


def _decoder_start_id(model: Any) -> int:
    for source in (getattr(model, "generation_config", None), getattr(model.config, "text_config", None), model.config):
        value = getattr(source, "decoder_start_token_id", None) if source is not None else None
        if value is not None:
            return int(value)
    raise ValueError("encoder-decoder model without a decoder_start_token_id: cannot read its first output token")


def _score_batch(model: Any, processor: Any, batch: list, ids_per_letter: list[list[int]]) -> "torch.Tensor":
    """(len(batch), 4) letter log-probabilities, on the CPU."""
    import torch

    images = [to_rgb(image, where) for _, (image, where), _, _ in batch]
    prompts = [prompt for _, _, prompt, _ in batch]
    inputs = build_model_inputs(
        processor, images, prompts, padding_side="right", device=model.device, dtype=model.dtype
    )
    mask = inputs.get("attention_mask")
    if mask is None:  # a processor that does not pad returns no mask: every position is real
        mask = torch.ones_like(inputs["input_ids"])
    if _is_encoder_decoder(model):
        start = torch.full((mask.shape[0], 1), _decoder_start_id(model), dtype=torch.long, device=mask.device)
        logits = model(**inputs, decoder_input_ids=start).logits[:, 0]
    else:
        logits = model(**inputs).logits
        # each row's last real token (right padding; also right for left padding or BLIP-2's padding after the
        # query tokens); a model that prepends embeddings to the text returns a longer sequence: shift by that
        positions = (mask * torch.arange(mask.shape[1], device=mask.device)).argmax(dim=-1)
        positions = positions + (logits.shape[1] - mask.shape[1])
        logits = logits[torch.arange(logits.shape[0], device=logits.device), positions.to(logits.device)]
    return letter_log_probs(logits, ids_per_letter).cpu()


def answer_vqa(
    model: Any,
    processor: Any,
    dataset_rows: Iterable[dict[str, Any]],
    *,
    batch_size: int = 8,
    prompt_template: Optional[str] = None,
    shard: Optional[tuple[int, int]] = None,
    return_scores: bool = False,
) -> list[dict[str, Any]]:
    """Answer every question of `vqa` rows with the letter the model finds most probable (zero-shot, Table 6).

    Args:
        model (`PreTrainedModel`):
            A `Blip2ForConditionalGeneration` or an `AutoModelForImageTextToText` model (see `load_vlm`). It is put
            in eval mode; inputs go to `model.device` and `model.dtype`.
        processor (`ProcessorMixin`):
            Its processor. With a chat template, prompts go through it; without one (BLIP-2), the text is the
            prompt itself. A `Blip2Processor` must know `num_query_tokens`.
        dataset_rows (iterable of `dict`):
            Rows of the `vqa` config: `image` (PIL image or `{"bytes", "path"}`) and `questions` (each with
            `question_id`, `question`, four `options`). Read once, in order; images are opened batch by batch.
        batch_size (`int`, defaults to 8):
            Questions per forward pass.
        prompt_template (`str`, *optional*):
            Defaults to `CHAT_PROMPT_TEMPLATE` with a chat template, else `PROMPT_TEMPLATE` (module docstring).
        shard (`tuple[int, int]`, *optional*):
            `(index, count)`: score only questions k with k % count == index and return them, ungathered. By
            default, under `accelerate launch` with N processes, each process scores its share and all processes
            return the gathered whole.
        return_scores (`bool`, defaults to `False`):
            Add `scores`, `{"A": log-prob, ...}`, to each answer.

    Returns:
        `list[dict]`: `{"question_id", "prediction"}` per question in the rows' order (of this shard's questions
        when `shard` is given); `prediction` is one of "A".."D".

    Example (a sketch: real checkpoints are not downloaded in the tests):

    ```py
    import journeydb
    from journeydb.models.vlm_choice import answer_vqa, load_vlm
    from journeydb.scoring.choice import score_choices

    model, processor = load_vlm("Salesforce/blip2-flan-t5-xl")
    rows = journeydb.load("vqa", data_dir="JourneyDB", split="validation")
    answers = answer_vqa(model, processor, rows, batch_size=16)
    gold = [q for row in rows.remove_columns("image") for q in row["questions"]]
    scored = score_choices([a["prediction"] for a in answers], [q["answer"] for q in gold], [q["type"] for q in gold])
    print(scored.corpus)
    ```
    """
    import torch
    from tqdm.auto import tqdm
    from transformers.utils.logging import is_progress_bar_enabled

    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if shard is not None:
        valid = isinstance(shard, tuple) and len(shard) == 2 and all(isinstance(n, int) for n in shard)
        if not (valid and 0 <= shard[0] < shard[1]):
            raise ValueError(f"shard must be (index, count) with 0 <= index < count, got {shard!r}")
    chat = uses_chat_template(processor)
    template = prompt_template if prompt_template is not None else (CHAT_PROMPT_TEMPLATE if chat else PROMPT_TEMPLATE)
    check_template(template)
    if getattr(model.config, "model_type", None) == "blip-2" and getattr(processor, "num_query_tokens", 0) is None:
        raise ValueError(
            "this Blip2Processor has no num_query_tokens, so it would not insert the image tokens: "
            "set processor.num_query_tokens = model.config.num_query_tokens"
        )
    tokenizer = getattr(processor, "tokenizer", processor)
    ids_per_letter = letter_token_ids(tokenizer)

    layout = ProcessLayout.by_hand(*shard) if shard is not None else process_layout()

    model.eval()
    answers: list[dict[str, Any]] = []
    batch: list = []

    def flush() -> None:
        with torch.no_grad():
            scores = _score_batch(model, processor, batch, ids_per_letter)
        for (qid, _, _, _), letter, row_scores in zip(batch, best_letters(scores), scores.tolist()):
            answer: dict[str, Any] = {"question_id": qid, "prediction": letter}
            if return_scores:
                answer["scores"] = dict(zip(LETTERS, row_scores))
            answers.append(answer)
        batch.clear()

    total = len(dataset_rows) if hasattr(dataset_rows, "__len__") else None
    rows = tqdm(
        dataset_rows,
        total=total,
        unit="image",
        desc="zero-shot VQA",
        disable=not (is_progress_bar_enabled() and layout.is_local_main_process),
    )
    for k, (qid, image, question, options) in enumerate(_iter_questions(rows)):
        if not layout.owns(k):
            continue
        batch.append((qid, image, build_prompt(question, options, template), options))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    logger.info(
        "zero-shot VQA: %d questions scored (shard %d of %d)", len(answers), layout.process_index, layout.num_processes
    )
    return layout.gather(answers) if layout.distributed else answers


# --------------------------------------------------------------------------------------------------------------
# loading


def load_vlm(
    name_or_path: str,
    *,
    device: Optional[Any] = None,
    dtype: Optional["torch.dtype"] = None,
) -> tuple[Any, Any]:
    """A model and its processor for `answer_vqa`, in eval mode on `device`.

    Args:
        name_or_path (`str`): a local folder or a Hub id (downloads follow the usual HF offline settings).
        device (*optional*): defaults to this process's device under accelerate (its own GPU), else CUDA or CPU.
        dtype (`torch.dtype`, *optional*): defaults to bf16 on a GPU that supports it, else fp16 on GPU, fp32 on CPU.
    """
    from transformers import (
        AutoConfig,
        AutoModelForImageTextToText,
        AutoProcessor,
        Blip2ForConditionalGeneration,
        Blip2Processor,
    )

    device, dtype = model_placement(device, dtype)
    config = AutoConfig.from_pretrained(name_or_path)
    if config.model_type == "blip-2":
        model = Blip2ForConditionalGeneration.from_pretrained(name_or_path, **dtype_argument(dtype))
        processor = Blip2Processor.from_pretrained(name_or_path)
        if processor.num_query_tokens is None:  # processors saved before the image tokens were in the text
            processor.num_query_tokens = config.num_query_tokens
    else:
        model = AutoModelForImageTextToText.from_pretrained(name_or_path, **dtype_argument(dtype))
        processor = AutoProcessor.from_pretrained(name_or_path)
    return model.to(device).eval(), processor
