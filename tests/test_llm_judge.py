"""The LLM judge of QAS (`journeydb.models.llm_judge`, `journeydb.models.letter_scoring`): callable judges, a tiny
random Llama by path, letter scoring against generate(), prefix sharing, sharding, the frozen prompt text and bad
inputs."""

import json
import os
from pathlib import Path

import pytest
import torch

import journeydb
from journeydb.models import llm_judge, sharding
from journeydb.models.letter_scoring import letter_token_ids, score_letters
from journeydb.models.llm_judge import answer_questions, compute_qas, render_instruction, render_judge_input
from journeydb.models.sharding import ProcessLayout
from journeydb.testing.tiny_causal_lm import build_tiny_causal_lm, word_vocabulary
from journeydb.scoring.qas import qas_from_answers

SNAPSHOT = Path(__file__).parent / "snapshots" / "qas_prompt.json"
CHAT_TEMPLATE = (
    "{% for message in messages %}<s> {{ message['role'] }} : {{ message['content'] }} </s>\n{% endfor %}"
    "{% if add_generation_prompt %}assistant :{% endif %}"
)
SNAPSHOT_ITEM = {
    "prompt": "  a red fox in the snow, watercolor, soft morning light --ar 3:2\n",
    "question": "What is the art style of the image?",
    "options": ["oil painting", "watercolor", "pixel art", "pencil sketch"],
}


class NoChatTemplate:
    chat_template = None


@pytest.fixture(scope="module")
def validation(mini_release, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("hf-cache"))
    vqa = journeydb.load("vqa", data_dir=str(mini_release), split="validation", cache_dir=cache)
    prompts = journeydb.load("prompt", data_dir=str(mini_release), split="validation", cache_dir=cache)
    prompt_of = dict(zip(prompts["image_id"], prompts["prompt"]))
    references = [row["questions"] for row in vqa]
    predictions = [prompt_of[image_id] for image_id in vqa["image_id"]]
    test = journeydb.load("vqa", data_dir=str(mini_release), split="test", cache_dir=cache)
    return predictions, references, [row["questions"] for row in test]


def judge_items(predictions, references):
    return [
        {"prompt": p, "question": q["question"], "options": q["options"]}
        for p, qs in zip(predictions, references)
        for q in qs
    ]


@pytest.fixture(scope="module")
def tiny_llama_dirs(validation, tmp_path_factory):
    """The same tiny random Llama saved twice: with a chat template and without one (Vicuna fallback)."""
    predictions, references, _ = validation
    items = judge_items(predictions, references) + [SNAPSHOT_ITEM]
    texts = [render_judge_input(item, NoChatTemplate()) for item in items] + [CHAT_TEMPLATE]
    dirs = {}
    for name, template in (("chat", CHAT_TEMPLATE), ("plain", None)):
        model, tokenizer = build_tiny_causal_lm(word_vocabulary(texts), chat_template=template)
        path = tmp_path_factory.mktemp(f"tiny-llama-{name}")
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        dirs[name] = str(path)
    return dirs


def oracle_judge(predictions, references):
    truth = {}
    for prompt, questions in zip(predictions, references):
        for q in questions:
            key = (prompt, q["question"], tuple(q["options"]))
            assert truth.setdefault(key, q["answer"]) == q["answer"], "the oracle needs unambiguous items"
    return lambda batch: [truth[(item["prompt"], item["question"], tuple(item["options"]))] for item in batch]


# ----------------------------------------------------------------------------------------------- callable judges


def test_oracle_judge_scores_one(validation):
    predictions, references, _ = validation
    result = compute_qas(predictions, references, oracle_judge(predictions, references), batch_size=7).corpus
    assert (result["qas"], result["qas_style"], result["qas_content"], result["num_invalid"]) == (1.0, 1.0, 1.0, 0)
    assert result["num_images"] == len(references) == 16
    assert result["num_questions"] == sum(map(len, references))


def test_constant_judge_matches_the_definition(validation):
    predictions, references, _ = validation
    assert any(not any(q["type"] == "style" for q in qs) for qs in references), "fixture lacks the edge case"
    seen_batches = []

    def always_b(batch):
        seen_batches.append(len(batch))
        assert all(set(item) == {"prompt", "question", "options"} for item in batch)
        return ["B"] * len(batch)

    result = compute_qas(predictions, references, always_b, batch_size=8).corpus
    expected = qas_from_answers([["B"] * len(qs) for qs in references], references).corpus
    assert result == expected
    assert max(seen_batches) == 8 and sum(seen_batches) == result["num_questions"]


def test_missing_prompts_are_not_judged(validation):
    predictions, references, _ = validation
    asked = []

    def always_a(batch):
        asked.extend(item["prompt"] for item in batch)
        return ["A"] * len(batch)

    present = [i % 3 != 0 for i in range(len(predictions))]
    scored = compute_qas(predictions, references, always_a, batch_size=5, present=present)
    assert len(asked) == sum(len(qs) for qs, here in zip(references, present) if here)
    answers = [["A" if here else None] * len(qs) for qs, here in zip(references, present)]
    expected = qas_from_answers(answers, references)
    assert scored.corpus == expected.corpus
    assert scored.corpus["num_invalid"] == sum(len(qs) for qs, here in zip(references, present) if not here)
    for key in ("qas_style", "qas_content"):
        assert scored.per_sample[key].tolist() == pytest.approx(expected.per_sample[key].tolist(), nan_ok=True)
    with pytest.raises(ValueError, match="present flags"):
        compute_qas(predictions, references, always_a, present=present[:-1])


def test_callable_must_answer_every_item(validation):
    predictions, references, _ = validation
    with pytest.raises(ValueError, match="one answer per item: got 1 for a batch of 4"):
        compute_qas(predictions, references, lambda batch: ["A"], batch_size=4)


# ------------------------------------------------------------------------------------------------------ bad inputs


def test_test_split_is_refused_before_any_model_is_loaded(validation):
    predictions, _, test_references = validation
    with pytest.raises(ValueError, match="ground truth is withheld"):
        compute_qas(predictions[: len(test_references)], test_references, model="/no/such/model")


def test_length_mismatch_and_malformed_question(validation):
    predictions, references, _ = validation
    with pytest.raises(ValueError, match="got 15 predictions but references for 16 images"):
        compute_qas(predictions[:-1], references, model=lambda b: ["A"] * len(b))
    broken = [list(qs) for qs in references]
    broken[2][1] = {**broken[2][1], "options": broken[2][1]["options"][:3]}
    with pytest.raises(ValueError, match=r"references\[2\]\[1\] has options"):
        compute_qas(predictions, broken, model=lambda b: ["A"] * len(b))
    with pytest.raises(TypeError, match=r"predictions\[3\] must be a string"):
        compute_qas(predictions[:3] + [None] + predictions[4:], references, model=lambda b: ["A"] * len(b))


def test_bare_model_and_odd_kinds_are_rejected(validation, tiny_llama_dirs):
    predictions, references, _ = validation
    model, _ = build_tiny_causal_lm(["A", "B", "C", "D"])
    with pytest.raises(TypeError, match=r"\(model, tokenizer\) pair"):
        compute_qas(predictions, references, model)
    with pytest.raises(TypeError, match="callable judge"):
        compute_qas(predictions, references, 42)


# ---------------------------------------------------------------------------------------------- the judge's text


def rendered_prompts() -> dict:
    _, chat_tokenizer = build_tiny_causal_lm(["A", "B", "C", "D"], chat_template=CHAT_TEMPLATE)
    return {
        "item": SNAPSHOT_ITEM,
        "instruction": render_instruction(SNAPSHOT_ITEM),
        "without_chat_template": render_judge_input(SNAPSHOT_ITEM, NoChatTemplate()),
        "with_chat_template": render_judge_input(SNAPSHOT_ITEM, chat_tokenizer),
        "chat_template": CHAT_TEMPLATE,
    }


def test_prompt_text_snapshot():
    """The exact text the judge reads. After an intentional change: JOURNEYDB_UPDATE_SNAPSHOTS=1 pytest ..."""
    current = rendered_prompts()
    if os.environ.get("JOURNEYDB_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


# -------------------------------------------------------------------------------------------------- letter tokens


def metaspace_tokenizer():
    """A SentencePiece-like tokenizer: "A" and " A" both encode to "▁A"; a bare "A" exists too."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pieces = ["<unk>", "</s>", "▁A", "▁B", "▁C", "▁D", "A", "B", "C", "D", "▁x"]
    backend = Tokenizer(models.WordLevel({p: i for i, p in enumerate(pieces)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="</s>")


class FixedLogits(torch.nn.Module):
    """A stand-in causal LM whose next-token logits are fixed."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits, dtype=torch.float32)
        self.config = type("Config", (), {"max_position_embeddings": 64})()
        self.device = torch.device("cpu")

    def forward(self, input_ids, attention_mask):
        out = self.logits.expand(input_ids.shape[0], input_ids.shape[1], -1)
        return type("Output", (), {"logits": out})()


def test_letter_variants_with_and_without_space():
    tokenizer = metaspace_tokenizer()
    assert letter_token_ids(tokenizer) == [[2, 6], [3, 7], [4, 8], [5, 9]]
    # The model prefers "▁C" over every bare letter: the answer is C whichever spelling wins.
    logits = [0, 0, 1, 2, 5, 1, 3, 0, 0, 0, 9]
    assert score_letters(FixedLogits(logits), tokenizer, ["x"], add_special_tokens=False) == {0: "C"}


# ---------------------------------------------------------------------------------------------- tiny Llama by path


@pytest.mark.parametrize("kind", ["chat", "plain"])
def test_tiny_llama_by_path_end_to_end(validation, tiny_llama_dirs, kind):
    predictions, references, _ = validation
    result = compute_qas(predictions, references, tiny_llama_dirs[kind], batch_size=32).corpus
    assert set(result) == {"qas", "qas_style", "qas_content", "num_images", "num_questions", "num_invalid"}
    assert result["num_invalid"] == 0 and result["num_images"] == 16
    assert 0.0 <= result["qas_style"] <= 1.0 and 0.0 <= result["qas_content"] <= 1.0
    assert compute_qas(predictions, references, tiny_llama_dirs[kind], batch_size=5).corpus == result  # deterministic


@pytest.fixture(scope="module")
def loaded_plain(tiny_llama_dirs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_llama_dirs["plain"]
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def test_pair_equals_path_and_answers_vary(validation, tiny_llama_dirs, loaded_plain):
    predictions, references, _ = validation
    items = judge_items(predictions, references)
    answers = answer_questions(items, loaded_plain, batch_size=16)
    assert len(set(answers)) >= 3, "the tiny model should not answer every question alike"
    assert answers == answer_questions(items, tiny_llama_dirs["plain"], batch_size=16)


SHARING_MODES = {  # score_letters kwargs: whole inputs, the common prefix cached, and per-prompt prefixes too
    "whole": {"share_prefix": False},
    "common_prefix": {},
    "prompt_prefixes": {"groups": "prompt"},
}


def score_with(mode, model, tokenizer, items, **kwargs):
    options = dict(SHARING_MODES[mode])
    if options.get("groups") == "prompt":
        options["groups"] = [item["prompt"] for item in items]
    texts = [render_judge_input(item, tokenizer) for item in items]
    return score_letters(model, tokenizer, texts, add_special_tokens=True, **options, **kwargs)


@pytest.mark.parametrize("mode", SHARING_MODES)
def test_left_padded_batches_match_generate(validation, loaded_plain, mode):
    """Each batched answer is the best letter (summed over its spellings) of generate()'s own first-step scores on
    the unpadded input."""
    model, tokenizer = loaded_plain
    predictions, references, _ = validation
    items = judge_items(predictions, references)[:24]
    batched = score_with(mode, model, tokenizer, items, batch_size=8)
    letters = letter_token_ids(tokenizer)
    texts = [render_judge_input(item, tokenizer) for item in items]
    for i, text in enumerate(texts):
        inputs = tokenizer(text, return_tensors="pt")
        out = model.generate(
            **inputs, max_new_tokens=1, do_sample=False, output_scores=True, return_dict_in_generate=True
        )
        log_probs = torch.log_softmax(out.scores[0][0].float(), dim=-1)
        best = max(range(4), key=lambda k: torch.logsumexp(log_probs[letters[k]], 0).item())  # the letters' rule
        assert batched[i] == "ABCD"[best], f"question {i}"


@pytest.mark.parametrize("mode", SHARING_MODES)
def test_two_shards_equal_a_single_process(validation, loaded_plain, mode):
    model, tokenizer = loaded_plain
    predictions, references, _ = validation
    items = judge_items(predictions, references)
    whole = score_with(mode, model, tokenizer, items, batch_size=4)
    shards = [
        score_with(mode, model, tokenizer, items, batch_size=4, process_index=r, num_processes=2) for r in range(2)
    ]
    assert not set(shards[0]) & set(shards[1]) and len(shards[0]) and len(shards[1])
    assert {**shards[0], **shards[1]} == whole


class _Sent(Exception):
    """Raised by the fake gather of a rank whose partner has not sent its share yet."""


def test_sharded_answer_questions_gathers_every_answer(validation, loaded_plain, monkeypatch):
    """answer_questions under a 2-process layout: each rank answers its batches, the gather returns all of them."""
    predictions, references, _ = validation
    items = judge_items(predictions, references)
    whole = answer_questions(items, loaded_plain, batch_size=4)
    sent = {}

    def fake_gather(rank):
        def gather(share):  # what every rank receives once both ranks have sent
            sent[rank] = share
            if len(sent) < 2:
                raise _Sent
            return [sent[0], sent[1]]

        return gather

    for rank in (0, 1, 0):  # rank 0 first sends alone, then both ranks receive both shares
        monkeypatch.setattr(sharding, "_all_gather_objects", fake_gather(rank))
        monkeypatch.setattr(llm_judge, "process_layout", lambda rank=rank: ProcessLayout(rank, 2, distributed=True))
        if len(sent) == 0:
            with pytest.raises(_Sent):
                answer_questions(items, loaded_plain, batch_size=4)
        else:
            assert answer_questions(items, loaded_plain, batch_size=4) == whole
    assert len(sent[0]) + len(sent[1]) == len(range(0, len(items), 4)) and sent[0] and sent[1]  # batches split


def test_too_long_input_names_the_question(validation, loaded_plain):
    model, tokenizer = loaded_plain
    predictions, references, _ = validation
    long_predictions = list(predictions)
    long_predictions[5] = " ".join(["red"] * 1100)
    with pytest.raises(ValueError, match=r"references\[5\]\[0\] has \d+ tokens, more than the model's 1024"):
        compute_qas(long_predictions, references, loaded_plain)


def test_not_splitting_ignores_the_process_layout(validation, loaded_plain, monkeypatch):
    """Behind evaluate's own gathering only process 0 computes: it must answer everything, not wait for others."""
    predictions, references, _ = validation
    whole = compute_qas(predictions, references, loaded_plain, batch_size=8).corpus
    monkeypatch.setattr(llm_judge, "process_layout", lambda: ProcessLayout(1, 2, distributed=True))
    monkeypatch.setattr(sharding, "_all_gather_objects", lambda share: pytest.fail("must not gather"))
    alone = compute_qas(predictions, references, loaded_plain, batch_size=8, split_across_processes=False)
    assert alone.corpus == whole


def test_prefix_sharing_changes_no_answer(validation, loaded_plain):
    model, tokenizer = loaded_plain
    predictions, references, _ = validation
    items = judge_items(predictions, references)
    answers = {mode: score_with(mode, model, tokenizer, items, batch_size=6) for mode in SHARING_MODES}
    assert answers["whole"] == answers["common_prefix"] == answers["prompt_prefixes"]
    # Texts without a common prefix of 8 tokens are scored whole.
    texts = [render_instruction(item) for item in items[:5]] + ["red", "What colour ?"]
    shared = score_letters(model, tokenizer, texts, add_special_tokens=False, groups=[0, 0, 1, 1, 2, 3, 3])
    assert shared == score_letters(model, tokenizer, texts, add_special_tokens=False, share_prefix=False)
