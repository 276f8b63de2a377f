"""A tiny, randomly initialised BLIP-2 with a word-level tokenizer built in code: no download, seconds on CPU.

For tests, CI and the `--tiny` switch of the fine-tuning examples. Its outputs are meaningless until trained; it
exists so that every code path that takes a real BLIP-2 (loading by path, processor, generation, letter scoring,
fine-tuning) runs offline.

Example:

```py
>>> from journeydb.testing.tiny_blip2 import build_tiny_blip2
>>> model, processor = build_tiny_blip2(["a red balloon on a black background"])
>>> type(model).__name__, processor.tokenizer.padding_side
('Blip2ForConditionalGeneration', 'left')

```
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Literal, Optional

from journeydb.release.records import LETTERS

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>", "<image>")
PAD_ID, BOS_ID, EOS_ID, UNK_ID, IMAGE_ID = range(len(SPECIAL_TOKENS))
NUM_QUERY_TOKENS = 4
IMAGE_SIZE = 32
# words every tiny vocabulary has, so prompts of the VQA and QAS templates tokenise without <unk>
BASE_WORDS = (
    "question answer options the a of is what image describe write prompt caption this with one letter ? : . , ( )"
)
_TOKEN = re.compile(r"\w+|[^\w\s]")


def vocabulary(texts: Iterable[str] = ()) -> list[str]:
    """Word-level vocabulary: the special tokens, letters A-D, base words, then the words of `texts` (sorted)."""
    words = set(_TOKEN.findall(BASE_WORDS))
    words.update(letter.lower() for letter in LETTERS)
    for text in texts:
        words.update(_TOKEN.findall(text.lower()))
    return list(SPECIAL_TOKENS) + sorted(words - set(SPECIAL_TOKENS))


def build_tokenizer(texts: Iterable[str] = ()):
    """A lower-casing word-level fast tokenizer (BOS prepended, left padding) over `vocabulary(texts)`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(vocabulary(texts))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    backend.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", BOS_ID)])
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=True)  # joins words with spaces, tidies punctuation
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        padding_side="left",
        model_max_length=512,
    )


def build_tiny_blip2(
    texts: Iterable[str] = (), seed: int = 0, hidden_size: int = 32, language_model: Literal["opt", "t5"] = "opt"
):
    """A tiny random `Blip2ForConditionalGeneration` and its `Blip2Processor`.

    Args:
        texts: texts whose words the tokenizer knows (e.g. the training prompts).
        seed: initialisation seed (the same seed gives the same weights).
        hidden_size: width of every tower.
        language_model: `"opt"` (decoder-only, like BLIP-2 OPT) or `"t5"` (encoder-decoder, like BLIP-2 FlanT5).
    """
    import torch
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        BlipImageProcessorPil,
        OPTConfig,
        T5Config,
    )

    tokenizer = build_tokenizer(texts)
    processor = Blip2Processor(
        BlipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}),
        tokenizer,
        num_query_tokens=NUM_QUERY_TOKENS,
    )
    vocab_size = len(tokenizer)
    heads = 2
    if language_model == "opt":
        text_config = OPTConfig(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            ffn_dim=2 * hidden_size,
            num_hidden_layers=2,
            num_attention_heads=heads,
            word_embed_proj_dim=hidden_size,
            max_position_embeddings=256,
            pad_token_id=PAD_ID,
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
        )
    elif language_model == "t5":
        text_config = T5Config(
            vocab_size=vocab_size,
            d_model=hidden_size,
            d_kv=hidden_size // heads,
            d_ff=2 * hidden_size,
            num_layers=1,
            num_decoder_layers=1,
            num_heads=heads,
            pad_token_id=PAD_ID,
            eos_token_id=EOS_ID,
            decoder_start_token_id=PAD_ID,
        )
    else:
        raise ValueError(f"language_model must be 'opt' or 't5', got {language_model!r}")
    config = Blip2Config(
        vision_config=dict(
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=1,
            num_attention_heads=heads,
            image_size=IMAGE_SIZE,
            patch_size=8,
        ),
        qformer_config=dict(
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=1,
            num_attention_heads=heads,
            encoder_hidden_size=hidden_size,
            vocab_size=vocab_size,
        ),
        text_config=text_config.to_dict(),
        num_query_tokens=NUM_QUERY_TOKENS,
        image_token_index=IMAGE_ID,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Blip2ForConditionalGeneration(config)
    model.generation_config.pad_token_id = PAD_ID
    model.generation_config.eos_token_id = EOS_ID
    if language_model == "opt":
        model.generation_config.bos_token_id = BOS_ID
    else:
        model.generation_config.decoder_start_token_id = PAD_ID
    return model.eval(), processor


def save_tiny_blip2(
    path: str | os.PathLike, texts: Iterable[str] = (), seed: int = 0, hidden_size: int = 32
) -> str:
    """Build the tiny BLIP-2 and save model + processor to `path` (loadable with `AutoModelForImageTextToText`)."""
    model, processor = build_tiny_blip2(texts, seed=seed, hidden_size=hidden_size)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return os.fspath(path)


def mini_release_texts(data_dir: Optional[str] = None, split: str = "train") -> list[str]:
    """Prompts, captions, questions and options of a (mini-)release split: a vocabulary for the tiny tokenizer."""
    from journeydb.builder.builder import load
    from journeydb.release.sample import sample_dir

    data_dir = data_dir or sample_dir()
    texts: list[str] = []
    texts += load("prompt", data_dir=data_dir, split=split).remove_columns("image")["prompt"]
    texts += load("caption", data_dir=data_dir, split=split).remove_columns("image")["caption"]
    for questions in load("vqa", data_dir=data_dir, split=split).remove_columns("image")["questions"]:
        for q in questions:
            texts.append(q["question"])
            texts += q["options"]
    return texts
