"""The LLM judge of the Question Answering Score (paper App. B.1/C.1, Table 8), by letter scoring.

The paper gives each predicted prompt to Vicuna with an instruction (here is a prompt; assume you see the image
generated from it; answer the question; choose among the options; reply with one letter) and parses the letter it
generates. Here the judge answers with **one forward pass per question**: the answer is the letter whose token has
the highest next-token logit, over the four letters only. Where greedy generation would start with a letter token,
both give the same letter; scoring never produces an unparsable answer and needs no decoding loop. Questions are
batched longest first with left padding (position ids follow the padding, so a padded row scores like an unpadded
one). The token prefix common to all questions is run once and its key/value cache reused, and in each batch the
prefix shared by the questions about one prompt is run once (`score_letters(share_prefix=...)`). Under
`accelerate launch` each process scores every N-th batch and the answers are gathered, so every process returns
what a single process would.

The text the judge reads (frozen by `tests/snapshots/qas_prompt.json`) is `QAS_INSTRUCTION` filled with the item,
wrapped by the tokenizer's chat template as one user turn with the generation prompt, or, for a tokenizer without
one (the Vicuna v1.5 checkpoints ship none), by Vicuna's own conversation format `VICUNA_CONVERSATION`.

Public: `compute_qas`, `answer_questions`, `score_letters`, `load_judge`, `render_instruction`,
`render_judge_input`, `letter_token_ids`, `plan_batches`, `QAS_INSTRUCTION`, `VICUNA_CONVERSATION`.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Optional, Union

from journeydb.scoring.qas import ANSWER_LETTERS, check_references, qas_from_answers

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

_TOKENIZE_CHUNK = 4096
_MIN_SHARED_PREFIX = 8  # tokens; below this, sharing the prefix costs more than it saves

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


def _has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_judge_input(item: Mapping[str, Any], tokenizer: Any) -> str:
    """The full text the LLM reads for one item: the instruction as one user turn of the tokenizer's chat template
    (with the generation prompt), or inside `VICUNA_CONVERSATION` when the tokenizer has no chat template."""
    instruction = render_instruction(item)
    if _has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
        )
    return VICUNA_CONVERSATION.format(instruction=instruction)


# ------------------------------------------------------------------------------------------------- letter scoring


def letter_token_ids(tokenizer: Any) -> list[list[int]]:
    """For each letter A-D, every single token that spells it: "A" and " A" as the tokenizer encodes them, and the
    vocabulary's "A", "▁A" (SentencePiece) and "ĠA" (byte-level BPE). A letter's score is its best variant's logit,
    so the answer does not depend on whether the model would emit the letter with or without a leading space."""
    vocab = tokenizer.get_vocab()
    variants = []
    for letter in ANSWER_LETTERS:
        ids = set()
        for text in (letter, " " + letter):
            encoded = tokenizer.encode(text, add_special_tokens=False)
            if len(encoded) == 1:
                ids.add(encoded[0])
        ids.update(vocab[piece] for piece in (letter, "\u2581" + letter, "\u0120" + letter) if piece in vocab)
        if not ids:
            raise ValueError(f"the tokenizer has no single token for the letter {letter!r}; letter scoring needs one")
        variants.append(sorted(ids))
    if len({i for v in variants for i in v}) != sum(map(len, variants)):
        raise ValueError(f"the letters A-D share token ids {variants}; letter scoring needs distinct tokens")
    return variants


def plan_batches(
    lengths: Sequence[int], batch_size: int, groups: Optional[Sequence[Hashable]] = None
) -> list[list[int]]:
    """Indices grouped into batches, longest first (an out-of-memory shows at once), ties in input order. With
    `groups` (e.g. the questions about one prompt), a group's members stay adjacent so that a batch holds few groups,
    the groups ordered by their longest member. The plan depends only on its arguments, so every process of a
    sharded run sees the same batches."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if groups is None:
        order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    else:
        members: dict[Hashable, list[int]] = {}
        for i, group in enumerate(groups):
            members.setdefault(group, []).append(i)
        ranked = sorted(members.values(), key=lambda ids: (-max(lengths[i] for i in ids), ids[0]))
        order = [i for ids in ranked for i in sorted(ids, key=lambda i: (-lengths[i], i))]
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _progress(iterable: Any, total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not enabled)


def score_letters(
    model: Any,
    tokenizer: Any,
    texts: Iterable[str],
    *,
    add_special_tokens: bool,
    batch_size: int = 32,
    process_index: int = 0,
    num_processes: int = 1,
    groups: Optional[Sequence[Hashable]] = None,
    share_prefix: bool = True,
    labels: Optional[Sequence[str]] = None,
    show_progress: bool = False,
) -> dict[int, str]:
    """Answers each text with the letter whose token has the highest next-token logit.

    Args:
        model: A transformers causal LM (any device and dtype; it is put in eval mode for the call).
        tokenizer: Its tokenizer.
        texts (`Iterable[str]`): Full judge inputs (see `render_judge_input`); read once, in chunks, so a generator
            keeps only the token ids in memory.
        add_special_tokens (`bool`): Whether to let the tokenizer add BOS etc. (`False` for chat-template text,
            which carries its own).
        batch_size (`int`, *optional*, defaults to 32): Texts per forward pass.
        process_index (`int`), num_processes (`int`): Score only batches `process_index::num_processes` of the plan.
        groups (`Sequence`, *optional*): A key per text; texts with the same key (e.g. the questions about one
            prompt) are batched together and their common token prefix is run once (with `share_prefix`).
        share_prefix (`bool`, *optional*, defaults to `True`): Run shared token prefixes once and reuse their
            key/value cache: the prefix common to all texts (the chat preamble, the instruction's first words) once
            per call, a group's prefix once per batch. Same answers up to floating-point rounding; off (or silently
            not used) for models whose cache cannot be reused this way (sliding-window or legacy caches).
        labels (`Sequence[str]`, *optional*): Names of the texts for error messages (e.g. `references[3][1]`).
        show_progress (`bool`, *optional*, defaults to `False`): Show a progress bar over the batches.

    Returns:
        `dict[int, str]`: text index -> letter, for the texts of this process's batches.
    """
    import numpy as np
    import torch

    # Token ids as compact int32 arrays: the validation split has ~690k questions, as Python ints several GB.
    encoded: list[np.ndarray] = []
    remaining = iter(texts)
    while chunk := list(itertools.islice(remaining, _TOKENIZE_CHUNK)):
        encoded += [
            np.asarray(ids, dtype=np.int32)
            for ids in tokenizer(chunk, add_special_tokens=add_special_tokens)["input_ids"]
        ]
    if groups is not None and len(groups) != len(encoded):
        raise ValueError(f"got {len(groups)} groups for {len(encoded)} texts")
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    for i, ids in enumerate(encoded):
        if limit is not None and len(ids) > limit:
            name = labels[i] if labels is not None else f"text {i}"
            raise ValueError(f"the judge input for {name} has {len(ids)} tokens, more than the model's {limit}")
    letters = letter_token_ids(tokenizer)
    pad_id = next((i for i in (tokenizer.pad_token_id, tokenizer.eos_token_id) if i is not None), 0)
    accepted = set(inspect.signature(model.forward).parameters)

    answers: dict[int, str] = {}
    was_training = model.training
    model.eval()  # dropout off: the same input must give the same answer
    try:
        with torch.inference_mode():
            shared = _prefix_plan(model, accepted, encoded, groups, share_prefix)
            plan = plan_batches([len(ids) for ids in encoded], batch_size, groups if shared is not None else None)
            batches = plan[process_index::num_processes]
            for batch in _progress(batches, len(batches), "QAS judge", show_progress):
                logits = _last_logits(model, accepted, encoded, batch, pad_id, shared, groups)
                scores = torch.stack([logits[:, ids].max(dim=-1).values for ids in letters], dim=-1)
                for i, choice in zip(batch, scores.argmax(dim=-1).tolist()):
                    answers[i] = ANSWER_LETTERS[choice]
    finally:
        model.train(was_training)
    return answers


def _cache_argument(accepted: set[str]) -> Optional[str]:
    # transformers 5 renamed `past_key_values` to `cache`.
    return next((name for name in ("cache", "past_key_values") if name in accepted), None)


def _reusable(cache: Any) -> bool:
    """A plain dynamic key/value cache: rows can be repeated and selected, and positions are not windowed."""
    if not (hasattr(cache, "batch_repeat_interleave") and hasattr(cache, "batch_select_indices")):
        return False
    layers = getattr(cache, "layers", None)  # transformers >= 4.56: one object per layer
    if layers is not None:
        return all(type(layer).__name__ == "DynamicLayer" for layer in layers)
    return type(cache).__name__ == "DynamicCache"


def _pad_left(rows: Sequence[Any], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        if len(row):
            input_ids[r, width - len(row) :] = torch.from_numpy(row)
            attention_mask[r, width - len(row) :] = 1
    return input_ids, attention_mask


def _forward(model: Any, accepted: set[str], input_ids: Any, attention_mask: Any, cache: Any, keep_cache: bool):
    """One forward pass of `input_ids` after `cache`; `attention_mask` covers the cache and the inputs. Returns the
    last position's logits and the (extended) cache."""
    device = model.device
    inputs = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
    if "position_ids" in accepted:  # count from each row's first real token, as generate() does
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        inputs["position_ids"] = positions[:, -input_ids.shape[1] :].to(device)
    if "logits_to_keep" in accepted:  # only the last position's logits are needed
        inputs["logits_to_keep"] = 1
    if cache is not None:
        inputs[_cache_argument(accepted)] = cache
    if "use_cache" in accepted:  # on whenever a cache is passed: some versions ignore a cache otherwise
        inputs["use_cache"] = keep_cache or cache is not None
    output = model(**inputs)
    if not keep_cache:
        return output.logits[:, -1, :].float(), None
    new_cache = getattr(output, "cache", None)
    return output.logits[:, -1, :].float(), new_cache if new_cache is not None else output.past_key_values


def _common_prefix_length(rows: Sequence[Any]) -> int:
    """Length of the token prefix shared by all rows, leaving every row at least its last token."""
    import numpy as np

    first = rows[0]
    length = min(len(row) for row in rows) - 1
    for row in rows[1:]:
        if length <= 0:
            return 0
        mismatch = np.flatnonzero(row[:length] != first[:length])
        if mismatch.size:
            length = int(mismatch[0])
    return max(length, 0)


class _SharedPrefixes:
    """How the texts are cut for prefix reuse: `common` tokens shared by all (their `cache`, computed once), then
    per text the end of its group's prefix (run once per batch and group), then the rest (run per text)."""

    def __init__(self, common: int, cache: Any, group_prefix: list[int]):
        self.common, self.cache, self.group_prefix = common, cache, group_prefix


def _prefix_plan(
    model: Any, accepted: set[str], encoded: Sequence[Any], groups: Optional[Sequence[Hashable]], enabled: bool
) -> Optional[_SharedPrefixes]:
    """The prefix reuse for these texts, or `None` to run every text whole."""
    import torch

    if not enabled or not encoded or _cache_argument(accepted) is None or "use_cache" not in accepted:
        return None
    # The preamble and the instruction's first words are common to every input of our template. Without such a
    # prefix nothing is shared: a batch's padding could then fill whole rows, which attend to nothing.
    common = _common_prefix_length(encoded)
    if common < _MIN_SHARED_PREFIX:
        return None
    prefix = torch.from_numpy(encoded[0][:common]).long()[None]
    _, cache = _forward(model, accepted, prefix, torch.ones_like(prefix), None, keep_cache=True)
    if not _reusable(cache):
        logger.info("QAS judge: %s cache cannot be reused; scoring whole inputs", type(cache).__name__)
        return None
    group_prefix = [common] * len(encoded)
    if groups is not None:
        members: dict[Hashable, list[int]] = {}
        for i, group in enumerate(groups):
            members.setdefault(group, []).append(i)
        for ids in members.values():
            if len(ids) > 1:
                length = max(common, _common_prefix_length([encoded[i] for i in ids]))
                for i in ids:
                    group_prefix[i] = length
    return _SharedPrefixes(common, cache, group_prefix)


def _last_logits(
    model: Any,
    accepted: set[str],
    encoded: Sequence[Any],
    batch: list[int],
    pad_id: int,
    shared: Optional[_SharedPrefixes],
    groups: Optional[Sequence[Hashable]],
) -> Any:
    """Next-token logits after each text of `batch`: whole texts, or [common prefix | group prefix | rest]."""
    import copy

    import torch

    if shared is None:
        input_ids, attention_mask = _pad_left([encoded[i] for i in batch], pad_id)
        return _forward(model, accepted, input_ids, attention_mask, None, keep_cache=False)[0]
    # One row per group present in the batch: the group's prefix after the common one (rows are left-padded, so
    # padding may sit between the common prefix and the rest; the attention mask and positions skip it).
    common = shared.common
    keys = [groups[i] if groups is not None else i for i in batch]
    first_of: dict[Hashable, int] = {}
    for i, key in zip(batch, keys):
        first_of.setdefault(key, i)
    group_keys = list(first_of)
    row_of = {key: r for r, key in enumerate(group_keys)}
    segments = [encoded[first_of[key]][common : shared.group_prefix[first_of[key]]] for key in group_keys]
    segment_ids, segment_mask = _pad_left(segments, pad_id)
    mask = torch.cat([torch.ones((len(group_keys), common), dtype=torch.long), segment_mask], dim=-1)
    cache = copy.deepcopy(shared.cache)  # forward passes append to it
    cache.batch_repeat_interleave(len(group_keys))
    if segment_ids.shape[1]:
        _, cache = _forward(model, accepted, segment_ids, mask, cache, keep_cache=True)
    rows = torch.tensor([row_of[key] for key in keys])
    cache.batch_select_indices(rows.to(model.device))
    rest_ids, rest_mask = _pad_left([encoded[i][shared.group_prefix[i] :] for i in batch], pad_id)
    attention_mask = torch.cat([mask[rows], rest_mask], dim=-1)
    return _forward(model, accepted, rest_ids, attention_mask, cache, keep_cache=False)[0]


# ------------------------------------------------------------------------------------------------------ the judges


def _default_dtype(device: Any) -> Any:
    import torch

    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_judge(name_or_path: Union[str, os.PathLike], device: Any = None, dtype: Any = None) -> tuple[Any, Any]:
    """Loads a causal LM and its tokenizer from a local folder (offline) or, if you name one, a hub model.

    Args:
        name_or_path (`str` or `os.PathLike`): What `AutoModelForCausalLM.from_pretrained` accepts.
        device (`str` or `torch.device`, *optional*): Defaults to this process's accelerator device (the GPU of
            its rank under `accelerate launch`, else `cuda` when available, else the CPU).
        dtype (`torch.dtype` or `str`, *optional*): Defaults to bfloat16 on a GPU that supports it, float16 on
            other GPUs, float32 on the CPU.
    """
    import torch
    import transformers
    from packaging import version
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if device is None:
        from accelerate import PartialState

        device = PartialState().device
    device = torch.device(device)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    dtype = dtype or _default_dtype(device)
    # transformers renamed `torch_dtype` to `dtype` in 4.56.
    dtype_kwarg = "dtype" if version.parse(transformers.__version__) >= version.parse("4.56") else "torch_dtype"
    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(name_or_path, **{dtype_kwarg: dtype})
    logger.info("QAS judge %s loaded on %s in %s", name_or_path, device, dtype)
    return model.to(device).eval(), tokenizer


def _process_layout() -> tuple[int, int]:
    """(process index, number of processes) of an `accelerate launch` / torchrun run; (0, 1) otherwise."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:  # set by accelerate launch, torchrun and their launchers
        return 0, 1
    from accelerate import PartialState

    state = PartialState()
    return state.process_index, state.num_processes


def _gather(pairs: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Every process's (index, answer) pairs, on every process."""
    from accelerate.utils import gather_object

    return gather_object(pairs)


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
    process_index, num_processes = _process_layout() if split_across_processes else (0, 1)
    if isinstance(model, (str, os.PathLike)) or isinstance(model, tuple):
        if isinstance(model, tuple):
            if len(model) != 2:
                raise TypeError(f"a loaded judge must be a (model, tokenizer) pair, got a tuple of {len(model)}")
            lm, tokenizer = model
        else:
            lm, tokenizer = load_judge(model, device=device, dtype=dtype)
        local = score_letters(
            lm,
            tokenizer,
            (render_judge_input(item, tokenizer) for item in items),
            groups=[item["prompt"] for item in items],  # one prompt's questions share the text up to the question
            add_special_tokens=not _has_chat_template(tokenizer),
            batch_size=batch_size,
            process_index=process_index,
            num_processes=num_processes,
            labels=labels,
            show_progress=process_index == 0 and _progress_enabled("transformers"),
        )
    elif callable(model):
        local = _ask_callable(model, items, batch_size, process_index, num_processes)
    else:
        raise TypeError(
            "model must be a path or name of a causal LM, a (model, tokenizer) pair or a callable judge, "
            f"got {type(model).__name__}"
        )
    pairs = sorted(local.items())
    answers: dict[int, Optional[str]] = dict(_gather(pairs) if num_processes > 1 else pairs)
    missing = [i for i in range(len(items)) if i not in answers]
    if missing:  # cannot happen unless processes were given different items
        raise RuntimeError(f"no answer was gathered for {len(missing)} questions (e.g. item {missing[0]})")
    return [answers[i] for i in range(len(items))]


def _ask_callable(
    judge: Judge, items: Sequence[Mapping[str, Any]], batch_size: int, process_index: int, num_processes: int
) -> dict[int, Optional[str]]:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    starts = list(range(0, len(items), batch_size))[process_index::num_processes]
    enabled = process_index == 0 and _progress_enabled("datasets")
    answers: dict[int, Optional[str]] = {}
    for start in _progress(starts, len(starts), "QAS judge", enabled):
        batch = [
            {"prompt": item["prompt"], "question": item["question"], "options": list(item["options"])}
            for item in items[start : start + batch_size]
        ]
        replies = judge(batch)
        if isinstance(replies, (str, bytes)) or not isinstance(replies, Sequence) or len(replies) != len(batch):
            got = len(replies) if isinstance(replies, Sequence) and not isinstance(replies, str) else repr(replies)
            raise ValueError(f"the judge must return one answer per item: got {got} for a batch of {len(batch)}")
        answers.update((start + k, reply) for k, reply in enumerate(replies))
    return answers


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
) -> dict[str, Any]:
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

    Returns:
        `dict`: `qas`, `qas_style`, `qas_content`, `num_images`, `num_questions`, `num_invalid` (see
        `journeydb.scoring.qas.qas_from_answers`).

    Raises:
        `ValueError` for unequal lengths, a malformed question, or a question without ground truth (the test split
        withholds it), all before any model is loaded; `TypeError` for a `model` of the wrong kind.
    """
    checked = check_references(references, require_answers=True)  # fail before loading anything
    if isinstance(predictions, (str, bytes)) or not isinstance(predictions, Sequence):
        raise TypeError(f"predictions must be a list of prompts, got {type(predictions).__name__}")
    if len(predictions) != len(checked):
        raise ValueError(f"got {len(predictions)} predictions but references for {len(checked)} images")
    items, labels = [], []
    for i, (prompt, questions) in enumerate(zip(predictions, checked)):
        if not isinstance(prompt, str):
            raise TypeError(f"predictions[{i}] must be a string, got {type(prompt).__name__}")
        for j, question in enumerate(questions):
            items.append({"prompt": prompt, "question": question["question"], "options": question["options"]})
            labels.append(f"references[{i}][{j}]")
    flat = (
        answer_questions(
            items,
            model,
            batch_size,
            device=device,
            dtype=dtype,
            labels=labels,
            split_across_processes=split_across_processes,
        )
        if items
        else []
    )
    answers, start = [], 0
    for questions in checked:
        answers.append(flat[start : start + len(questions)])
        start += len(questions)
    return qas_from_answers(answers, checked)
