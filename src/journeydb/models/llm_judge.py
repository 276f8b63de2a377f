"""The LLM judge of the Question Answering Score (paper App. B.1/C.1, Table 8), by letter scoring.

The paper gives each predicted prompt to Vicuna with an instruction (here is a prompt; assume you see the image
generated from it; answer the question; choose among the options; reply with one letter) and parses the letter it
generates. Here the judge answers with **one forward pass per question** (`journeydb.models.letter_scoring`): the
answer is the letter with the highest next-token probability, summed over its single-token spellings, over the four
letters only (`journeydb.models.letters`, the rule of the VQA scorer too). Where greedy generation would start with
a letter token spelt one way, both give the same letter; scoring never produces an unparsable answer and needs no
decoding loop. Questions are batched with left padding; the text common to all questions is run once, and in each
batch the text shared by the questions about one prompt. Under `accelerate launch` each process scores every N-th
batch and the answers are gathered (`journeydb.models.sharding`), so every process returns what a single process
would.

The text the judge reads (frozen by `tests/snapshots/qas_prompt.json`) is `QAS_INSTRUCTION` filled with the item,
wrapped by the tokenizer's chat template as one user turn with the generation prompt, or, for a tokenizer without
one (the Vicuna v1.5 checkpoints ship none), by Vicuna's own conversation format `VICUNA_CONVERSATION`.

Public: `compute_qas`, `answer_questions`, `load_judge`, `render_instruction`, `render_judge_input`,
`QAS_INSTRUCTION`, `VICUNA_CONVERSATION`; re-exported from `letter_scoring`: `score_letters`, `letter_token_ids`,
`plan_batches`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from journeydb.scoring.qas import QuestionTable, qas_from_table, question_table
from journeydb.scoring.scored import ScoredCorpus

from .letter_scoring import plan_batches, score_letters
from .letters import letter_token_ids
from .model_inputs import uses_chat_template
from .placement import dtype_argument, model_placement
from .sharding import ProcessLayout, process_layout

logger = logging.getLogger(__name__)

QAS_INSTRUCTION = (
    'Here is a prompt given to a text-to-image model: "{prompt}"\n'
    "Assume you see the image generated from this prompt, and answer the following question about that image.\n"
    "Question: {question}\n"
    "Options:\n"
    "A. {options[0]}\n"
    "B. {options[1]}\n"
    "C. {options[2]}\n"
    "D. {options[3]}\n"
    "Answer with a single letter (A, B, C or D) and no explanation."
)
# FastChat's "vicuna_v1.1" template, the format Vicuna (the paper's judge) was tuned on.
VICUNA_CONVERSATION = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, "
    "and polite answers to the user's questions. USER: {instruction} ASSISTANT:"
)

Judge = Callable[[list[dict]], Sequence[Optional[str]]]
JudgeModel = Union[str, os.PathLike, tuple[Any, Any], Judge]

__all__ = [
    "QAS_INSTRUCTION",
    "VICUNA_CONVERSATION",
    "answer_questions",
    "compute_qas",
    "letter_token_ids",
    "load_judge",
    "plan_batches",
    "render_instruction",
    "render_judge_input",
    "score_letters",
]


# --------------------------------------------------------------------------------------------------- the judge's text


def render_instruction(item: Mapping[str, Any]) -> str:
    """`QAS_INSTRUCTION` filled with one item: `prompt` (stripped), `question`, `options` (4 strings, A-D)."""
    return QAS_INSTRUCTION.format(prompt=item["prompt"].strip(), question=item["question"], options=item["options"])


def render_judge_input(item: Mapping[str, Any], tokenizer: Any) -> str:
    """The full text the LLM reads for one item: the instruction as one user turn of the tokenizer's chat template
    (with the generation prompt), or inside `VICUNA_CONVERSATION` when the tokenizer has no chat template."""
    instruction = render_instruction(item)
    if uses_chat_template(tokenizer):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
        )
    return VICUNA_CONVERSATION.format(instruction=instruction)


# ------------------------------------------------------------------------------------------------------ the judges


def load_judge(name_or_path: Union[str, os.PathLike], device: Any = None, dtype: Any = None) -> tuple[Any, Any]:
    """Loads a causal LM and its tokenizer from a local folder (offline) or, if you name one, a hub model.

    Args:
        name_or_path (`str` or `os.PathLike`): What `AutoModelForCausalLM.from_pretrained` accepts.
        device (`str` or `torch.device`, *optional*): Defaults to this process's accelerator device (the GPU of
            its rank under `accelerate launch`, else `cuda` when available, else the CPU).
        dtype (`torch.dtype` or `str`, *optional*): Defaults to bfloat16 on a GPU that supports it, float16 on
            other GPUs, float32 on the CPU.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device, dtype = model_placement(device, dtype)
    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(name_or_path, **dtype_argument(dtype))
    logger.info("QAS judge %s loaded on %s in %s", name_or_path, device, dtype)
    return model.to(device).eval(), tokenizer


def _is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")  # an nn.Module can only exist if torch is already imported
    return torch is not None and isinstance(obj, torch.nn.Module)


def _progress_enabled(library: str) -> bool:
    if library == "transformers":
        from transformers.utils.logging import is_progress_bar_enabled
    else:
        from datasets.utils.logging import is_progress_bar_enabled
    return is_progress_bar_enabled()


def answer_questions(
    items: Sequence[Mapping[str, Any]],
    model: JudgeModel,
    batch_size: int = 32,
    *,
    device: Any = None,
    dtype: Any = None,
    labels: Optional[Sequence[str]] = None,
    split_across_processes: bool = True,
) -> list[Optional[str]]:
    """The judge's answer to each item (`prompt`, `question`, `options`), in order.

    `model` is a local path or hub name of a causal LM, a loaded `(model, tokenizer)` pair, or a callable judge
    `f(batch: list[dict]) -> list[str]` receiving up to `batch_size` items and returning one answer per item (what it
    returns is scored as is: anything but one letter "A"-"D" is invalid). Under `accelerate launch` every process
    must pass the same items; each answers every N-th batch and all receive all answers (unless
    `split_across_processes=False`: then this process answers everything alone). `labels` name the items in error
    messages; `device`, `dtype` apply to a judge given by path (see `load_judge`).
    """
    if _is_torch_module(model):
        raise TypeError("pass the model together with its tokenizer, as a (model, tokenizer) pair")
    layout = process_layout() if split_across_processes else ProcessLayout()
    if isinstance(model, (str, os.PathLike)) or isinstance(model, tuple):
        if isinstance(model, tuple):
            if len(model) != 2:
                raise TypeError(f"a loaded judge must be a (model, tokenizer) pair, got a tuple of {len(model)}")
            lm, tokenizer = model
        else:
            lm, tokenizer = load_judge(model, device=device, dtype=dtype)
        answered = score_letters(
            lm,
            tokenizer,
            (render_judge_input(item, tokenizer) for item in items),
            groups=[item["prompt"] for item in items],  # one prompt's questions share the text up to the question
            add_special_tokens=not uses_chat_template(tokenizer),
            batch_size=batch_size,
            layout=layout,
            labels=labels,
            show_progress=layout.process_index == 0 and _progress_enabled("transformers"),
        )
        return [answered[i] for i in range(len(items))]  # the layout gathers every batch: all indices are there
    if callable(model):
        return _ask_callable(model, items, batch_size, layout)
    raise TypeError(
        "model must be a path or name of a causal LM, a (model, tokenizer) pair or a callable judge, "
        f"got {type(model).__name__}"
    )


def _ask_callable(
    judge: Judge, items: Sequence[Mapping[str, Any]], batch_size: int, layout: ProcessLayout
) -> list[Optional[str]]:
    """A callable judge's answer to each item, batch by batch; this process asks its share of the batches."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    from tqdm.auto import tqdm

    starts = layout.share(range(0, len(items), batch_size))
    enabled = layout.process_index == 0 and _progress_enabled("datasets")
    replies_per_batch: list[list[Optional[str]]] = []
    for start in tqdm(starts, desc="QAS judge", disable=not enabled):
        batch = [
            {"prompt": item["prompt"], "question": item["question"], "options": list(item["options"])}
            for item in items[start : start + batch_size]
        ]
        replies = judge(batch)
        if isinstance(replies, (str, bytes)) or not isinstance(replies, Sequence) or len(replies) != len(batch):
            got = len(replies) if isinstance(replies, Sequence) and not isinstance(replies, str) else repr(replies)
            raise ValueError(f"the judge must return one answer per item: got {got} for a batch of {len(batch)}")
        replies_per_batch.append(list(replies))
    return [reply for replies in layout.gather(replies_per_batch) for reply in replies]


# ------------------------------------------------------------------------------------------------------------ QAS


def compute_qas(
    predictions: Sequence[str],
    references: Sequence[Sequence[Mapping[str, Any]]],
    model: JudgeModel,
    batch_size: int = 32,
    *,
    device: Any = None,
    dtype: Any = None,
    split_across_processes: bool = True,
    present: Optional[Sequence[bool]] = None,
) -> ScoredCorpus:
    """The Question Answering Score of predicted prompts, answered by an LLM judge.

    Args:
        predictions (`Sequence[str]`): One predicted prompt per image.
        references (`Sequence[Sequence[dict]]`): Per image, its questions as in the `vqa` config (`type`,
            `question`, `options`, `answer`; `question_id` optional).
        model: A local path or hub name of a transformers causal LM (a hub name downloads it; a path reads only
            local files), a loaded `(model, tokenizer)` pair, or a callable judge `f(batch: list[dict]) -> list[str]`
            whose dicts have `prompt`, `question`, `options` (4 strings) and which returns one letter per item.
        batch_size (`int`, *optional*, defaults to 32): Questions per forward pass (or per call of a callable judge).
        device, dtype (*optional*): Where and in which precision to load a judge given by path (see `load_judge`).
        split_across_processes (`bool`, *optional*, defaults to `True`): Under `accelerate launch`, let every process
            answer 1/N of the questions and gather the answers (every process must then call with the same inputs).
            `False` when only this process calls, e.g. behind `evaluate`'s own `num_process`/`process_id` gathering.
        present (`Sequence[bool]`, *optional*): False for an image whose prompt is missing: its questions are not
            put to the judge (a judge may guess right from an empty prompt) and count as unanswered, i.e. wrong and
            invalid. Default: every prompt is present.

    Returns:
        `ScoredCorpus` (see `journeydb.scoring.qas.qas_from_answers`): `corpus` has `qas`, `qas_style`,
        `qas_content`, `num_images`, `num_questions`, `num_invalid`; `per_sample` each image's `qas_style` and
        `qas_content`.

    Raises:
        `ValueError` for unequal lengths, a malformed question, or a question without ground truth (the test split
        withholds it), all before any model is loaded; `TypeError` for a `model` of the wrong kind.
    """
    table = question_table(references, require_answers=True)  # fail before loading anything
    if isinstance(predictions, (str, bytes)) or not isinstance(predictions, Sequence):
        raise TypeError(f"predictions must be a list of prompts, got {type(predictions).__name__}")
    if len(predictions) != table.num_images:
        raise ValueError(f"got {len(predictions)} predictions but references for {table.num_images} images")
    present = [True] * table.num_images if present is None else list(present)
    if len(present) != table.num_images:
        raise ValueError(f"got {len(present)} present flags but references for {table.num_images} images")
    for i, prompt in enumerate(predictions):
        if not isinstance(prompt, str):
            raise TypeError(f"predictions[{i}] must be a string, got {type(prompt).__name__}")
    items = JudgeItems(predictions, references, table, present)
    flat = (
        answer_questions(
            items,
            model,
            batch_size,
            device=device,
            dtype=dtype,
            labels=items.labels(),
            split_across_processes=split_across_processes,
        )
        if len(items)
        else []
    )
    answers, start = [], 0
    for count, here in zip(table.question_counts().tolist(), present):
        if not here:
            answers.append([None] * count)
            continue
        answers.append(flat[start : start + count])
        start += count
    return qas_from_table(answers, table)


class JudgeItems(Sequence):
    """The judge's items (`prompt`, `question`, `options`), one per question of an image whose prompt is present,
    made when asked: a split's questions as dicts would take more memory than everything else scoring holds.
    Reading in order decodes each image's questions once."""

    def __init__(self, predictions: Sequence[str], references: Sequence[Sequence[Mapping[str, Any]]],
                 table: QuestionTable, present: Sequence[bool]) -> None:
        self._predictions, self._references = predictions, references
        counts = table.question_counts()
        kept = np.asarray(present, dtype=bool)
        self._question = np.flatnonzero(np.repeat(kept, counts))  # item -> flat question index
        self._image = np.repeat(np.arange(table.num_images), counts)[self._question]  # item -> image
        self._first = table.starts[self._image]  # item -> its image's first flat question
        self._cached: tuple[int, Any] = (-1, None)

    def __len__(self) -> int:
        return len(self._question)

    def _questions_of(self, image: int) -> Any:
        if self._cached[0] != image:
            self._cached = (image, self._references[image])
        return self._cached[1]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        k = range(len(self))[index]  # IndexError beyond the end ends iteration
        image = int(self._image[k])
        question = self._questions_of(image)[int(self._question[k] - self._first[k])]
        # the checked form's fields (`check_references`): the text, and the options as a list
        return {"prompt": self._predictions[image], "question": question["question"],
                "options": list(question["options"])}

    def labels(self) -> Sequence[str]:
        """`references[i][j]` of each item, for error messages (made when asked, too)."""
        return _ItemLabels(self._image, self._question - self._first)


class _ItemLabels(Sequence):
    def __init__(self, image: np.ndarray, position: np.ndarray) -> None:
        self._image, self._position = image, position

    def __len__(self) -> int:
        return len(self._image)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        k = range(len(self))[index]
        return f"references[{int(self._image[k])}][{int(self._position[k])}]"
