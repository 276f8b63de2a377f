"""Which option letter (A-D) a model says next: one rule for the zero-shot VQA scorer and the QAS judge.

The spellings. Tokenizers spell a letter differently depending on what precedes it: "A", " A", "ĠA" (byte-level
BPE), "▁A" (SentencePiece). Every spelling that is a single token counts: "A" and " A" as the tokenizer encodes
them, and the vocabulary's "A", "ĠA" and "▁A". The unknown token is never a spelling: a tokenizer that cannot
spell "A" encodes it as unk, and unk stands for every unknown text at once, not for the letter.

The score. A letter's score is the log of the summed next-token probability of its spellings (logsumexp of their
log-probabilities): the probability that the model says this letter, however it spells it, so the answer does not
depend on whether the model would put a space before the letter, and a letter whose probability is split over two
spellings is not beaten by a letter with one slightly likelier spelling. With one spelling per letter this orders
the letters as their logits do. The answer is the letter with the highest score; ties go to the earlier letter.

The letters are `journeydb.release.records.LETTERS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journeydb.release.records import LETTERS

if TYPE_CHECKING:  # torch is imported where it is used
    import torch

# a letter as the tokenizer encodes it (bare and after a space), and its vocabulary forms: bare, byte-level BPE's
# and SentencePiece's space markers
_ENCODED_SPELLINGS = ("{}", " {}")
_VOCABULARY_SPELLINGS = ("{}", "\u0120{}", "\u2581{}")

__all__ = ["best_letters", "letter_log_probs", "letter_token_ids"]


def letter_token_ids(tokenizer: Any) -> list[list[int]]:
    """For each letter A-D, in that order, the sorted ids of the single tokens that spell it (never unk).

    Raises:
        `ValueError` when a letter has no such token, or when one token spells two letters.
    """
    vocab = tokenizer.get_vocab()
    unk = getattr(tokenizer, "unk_token_id", None)
    ids_per_letter = []
    for letter in LETTERS:
        ids = set()
        for spelling in _ENCODED_SPELLINGS:
            encoded = tokenizer.encode(spelling.format(letter), add_special_tokens=False)
            if len(encoded) == 1:
                ids.add(encoded[0])
        ids.update(vocab[form.format(letter)] for form in _VOCABULARY_SPELLINGS if form.format(letter) in vocab)
        ids.discard(unk)
        if not ids:
            raise ValueError(f"the tokenizer has no single token for the letter {letter!r}; it cannot be scored")
        ids_per_letter.append(sorted(ids))
    every = [i for ids in ids_per_letter for i in ids]
    if len(every) != len(set(every)):
        raise ValueError(f"a token spells more than one letter: {dict(zip(LETTERS, ids_per_letter))}")
    return ids_per_letter


def letter_log_probs(next_token_logits: "torch.Tensor", ids_per_letter: list[list[int]]) -> "torch.Tensor":
    """(batch, 4) float32 log-probabilities of A-D from (batch, vocabulary) next-token logits: per letter, the
    logsumexp of its spellings' log-probabilities."""
    import torch

    log_probs = torch.log_softmax(next_token_logits.float(), dim=-1)
    return torch.stack([torch.logsumexp(log_probs[:, ids], dim=-1) for ids in ids_per_letter], dim=-1)


def best_letters(scores: "torch.Tensor") -> list[str]:
    """The best-scored letter of each row of (batch, 4) letter scores; the earlier letter on a tie."""
    return [LETTERS[i] for i in scores.argmax(dim=-1).tolist()]  # argmax returns the first of equal maxima
