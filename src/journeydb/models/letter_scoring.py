"""Letter scoring: which of the letters A-D a causal LM would say next, by one forward pass per text.

The answer is the letter with the highest next-token probability, summed over the letter's single-token spellings
("A", " A", "▁A", "ĠA"; the rule of `journeydb.models.letters`, shared with the VQA scorer). Texts are batched
longest first with left padding, position ids counted from each row's first real token (as `generate()` counts
them), so a padded row scores like an unpadded one. Shared token prefixes are run once and their key/value cache
reused: the prefix common to all texts once per call, a group's prefix (e.g. the text up to the question, shared by
the questions about one prompt) once per batch. The batch plan depends only on the inputs, so a run sharded over
processes (batches `process_index::num_processes`, `journeydb.models.sharding`) gives exactly the answers of a
whole run.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Optional

from .letters import best_letters, letter_log_probs, letter_token_ids
from .sharding import ProcessLayout

logger = logging.getLogger(__name__)

_TOKENIZE_CHUNK = 4096
_MIN_SHARED_PREFIX = 8  # tokens; below this, sharing the prefix costs more than it saves

__all__ = ["letter_token_ids", "plan_batches", "score_letters"]  # letter_token_ids: from .letters


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
    layout: Optional[ProcessLayout] = None,
    groups: Optional[Sequence[Hashable]] = None,
    share_prefix: bool = True,
    labels: Optional[Sequence[str]] = None,
    show_progress: bool = False,
) -> dict[int, str]:
    """Answers each text with the letter the model is likeliest to say next (`journeydb.models.letters`).

    Args:
        model: A transformers causal LM (any device and dtype; it is put in eval mode for the call).
        tokenizer: Its tokenizer.
        texts (`Iterable[str]`): Full judge inputs (see `render_judge_input`); read once, in chunks, so a generator
            keeps only the token ids in memory.
        add_special_tokens (`bool`): Whether to let the tokenizer add BOS etc. (`False` for chat-template text,
            which carries its own).
        batch_size (`int`, *optional*, defaults to 32): Texts per forward pass.
        process_index (`int`), num_processes (`int`): Score only batches `process_index::num_processes` of the plan
            (a share done by hand; not gathered).
        layout (`ProcessLayout`, *optional*): Instead, the process layout of a distributed run
            (`journeydb.models.sharding.process_layout()`): each process scores its batches and every process
            receives every answer.
        groups (`Sequence`, *optional*): A key per text; texts with the same key (e.g. the questions about one
            prompt) are batched together and their common token prefix is run once (with `share_prefix`).
        share_prefix (`bool`, *optional*, defaults to `True`): Run shared token prefixes once and reuse their
            key/value cache: the prefix common to all texts (the chat preamble, the instruction's first words) once
            per call, a group's prefix once per batch. Same answers up to floating-point rounding; off (or silently
            not used) for models whose cache cannot be reused this way (sliding-window or legacy caches).
        labels (`Sequence[str]`, *optional*): Names of the texts for error messages (e.g. `references[3][1]`).
        show_progress (`bool`, *optional*, defaults to `False`): Show a progress bar over the batches.

    Returns:
        `dict[int, str]`: text index -> letter, for every text when `layout` is distributed, else for the texts of
        this share's batches.
    """
    import numpy as np
    import torch

    if layout is None:
        layout = ProcessLayout.by_hand(process_index, num_processes)
    elif (process_index, num_processes) != (0, 1):
        raise ValueError("give either a layout or process_index/num_processes, not both")

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

    was_training = model.training
    model.eval()  # dropout off: the same input must give the same answer
    try:
        with torch.inference_mode():
            shared = _prefix_plan(model, accepted, encoded, groups, share_prefix)
            plan = plan_batches([len(ids) for ids in encoded], batch_size, groups if shared is not None else None)
            batches = layout.share(plan)
            letters_per_batch = [
                best_letters(letter_log_probs(_last_logits(model, accepted, encoded, batch, pad_id, shared, groups),
                                              letters))
                for batch in _progress(batches, len(batches), "QAS judge", show_progress)
            ]
    finally:
        model.train(was_training)
    if layout.distributed:
        batches, letters_per_batch = plan, layout.gather(letters_per_batch)
    return {i: letter for batch, answers in zip(batches, letters_per_batch) for i, letter in zip(batch, answers)}


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
