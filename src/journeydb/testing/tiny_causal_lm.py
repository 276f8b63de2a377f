"""A tiny randomly initialised Llama with a word-level tokenizer, built offline from a config.

For tests, benchmarks and offline demos of the LLM judge: it downloads nothing and answers at random, but it
exercises exactly the code paths of a real causal LM (chat template or not, left padding, letter tokens).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Optional

SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")
# The pre-tokenizer below splits words from punctuation runs; the vocabulary is built with the same rule.
_WORDS = re.compile(r"\w+|[^\w\s]+")

__all__ = ["build_tiny_causal_lm", "word_vocabulary"]


def word_vocabulary(texts: Iterable[str]) -> list[str]:
    """The sorted distinct words and punctuation runs of `texts`, plus the letters A-D (always single tokens)."""
    words = {"A", "B", "C", "D"}
    for text in texts:
        words.update(_WORDS.findall(text))
    return sorted(words)


def build_tiny_causal_lm(
    words: Iterable[str],
    *,
    chat_template: Optional[str] = None,
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    initializer_range: float = 1.0,
    seed: int = 0,
) -> tuple[Any, Any]:
    """A random `LlamaForCausalLM` and a matching word-level `PreTrainedTokenizerFast`.

    Args:
        words (`Iterable[str]`): The vocabulary besides `<pad> <unk> <s> </s>` (see `word_vocabulary`).
        chat_template (`str`, *optional*): A Jinja chat template to give the tokenizer; none by default.
        hidden_size (`int`, *optional*, defaults to 32), num_hidden_layers (`int`, *optional*, defaults to 2): Size.
        initializer_range (`float`, *optional*, defaults to 1.0): Standard deviation of the random weights. Llama's
            own 0.02 makes a tiny model's next token depend on the last input token only (every question would get
            the same letter); 1.0 lets the answer depend on the whole input, which the tests need.
        seed (`int`, *optional*, defaults to 0): Seed of the random weights (the same seed gives the same model).

    Returns:
        `(model, tokenizer)`: save both with `save_pretrained(path)` to load the pair by path.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(dict.fromkeys([*SPECIAL_TOKENS, *words]))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece()  # joins the words with spaces
    backend.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        initializer_range=initializer_range,
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        pad_token_id=vocab["<pad>"],
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = LlamaForCausalLM(config).eval()
    finally:
        torch.random.set_rng_state(generator_state)  # leave the caller's random stream untouched
    return model, tokenizer
