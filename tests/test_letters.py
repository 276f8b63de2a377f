"""The letter rule shared by the VQA scorer and the QAS judge (`journeydb.models.letters`): every single-token
spelling counts, unk never does, a letter's score is the logsumexp of its spellings' log-probabilities."""

import pytest

torch = pytest.importorskip("torch")

from journeydb.models import letter_scoring, letters, llm_judge, vlm_choice  # noqa: E402
from journeydb.models.letters import best_letters, letter_log_probs, letter_token_ids  # noqa: E402
from test_llm_judge import FixedLogits, metaspace_tokenizer  # noqa: E402


def test_one_rule_for_both_scorers():
    assert vlm_choice.letter_token_ids is letter_scoring.letter_token_ids is llm_judge.letter_token_ids
    assert letter_scoring.letter_token_ids is letters.letter_token_ids


def test_unk_is_no_spelling():
    """A tokenizer that encodes a bare "A" as unk: only its vocabulary's "ĠA" spells the letter."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pieces = ["<unk>", "\u0120A", "\u0120B", "\u0120C", "\u0120D"]
    backend = Tokenizer(models.WordLevel({p: i for i, p in enumerate(pieces)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")
    assert tokenizer.encode("A", add_special_tokens=False) == [0]
    assert letter_token_ids(tokenizer) == [[1], [2], [3], [4]]


def test_a_letter_sums_its_spellings():
    # A's two spellings at 2.0 each are likelier together than B's one at 2.5 (the best single logit)
    logits = torch.zeros(1, 8)
    logits[0, [0, 1]] = 2.0
    logits[0, 2] = 2.5
    scores = letter_log_probs(logits, [[0, 1], [2], [3], [4]])
    assert best_letters(scores) == ["A"]
    expected = torch.logsumexp(torch.log_softmax(logits, dim=-1)[0, [0, 1]], 0)
    assert scores[0, 0].item() == pytest.approx(expected.item())


def test_the_qas_judge_sums_the_spellings_too():
    tokenizer = metaspace_tokenizer()  # "▁A".."▁D" are ids 2-5, "A".."D" ids 6-9
    logits = [0, 0, 2, 2.5, 0, 0, 2, 0, 0, 0, 0]  # the old max-logit rule answered B
    assert score_letters_of(logits, tokenizer) == {0: "A"}


def score_letters_of(logits, tokenizer):
    return letter_scoring.score_letters(FixedLogits(logits), tokenizer, ["x"], add_special_tokens=False)


def test_ties_go_to_the_earlier_letter():
    assert best_letters(torch.tensor([[0.0, 1.0, 1.0, 0.0], [2.0, 2.0, 2.0, 2.0]])) == ["B", "A"]
