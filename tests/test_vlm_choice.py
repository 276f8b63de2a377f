"""The zero-shot letter scorer (`journeydb.models.vlm_choice`) on tiny random models built from configs, offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import journeydb  # noqa: E402
from journeydb.models import vlm_choice  # noqa: E402
from journeydb.models.vlm_choice import (  # noqa: E402
    CHAT_PROMPT_TEMPLATE,
    PROMPT_TEMPLATE,
    answer_vqa,
    build_prompt,
    letter_token_ids,
    load_vlm,
    merge_shards,
)
from journeydb.scoring.choice import score_choices  # noqa: E402

SNAPSHOT = Path(__file__).parent / "snapshots" / "vlm_choice_prompts.json"
UPDATE_SNAPSHOTS = os.environ.get("JOURNEYDB_UPDATE_SNAPSHOTS") == "1"
IMAGE_SIZE = 32
NUM_QUERY_TOKENS = 4
# a chat template in the usual shape: the image placeholder, the text, then the assistant's turn
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


# --------------------------------------------------------------------------------------------------------------
# tiny models, built in code


def tiny_tokenizer():
    """A byte-level BPE tokenizer whose only merges are " A".." D": "A" and " A" are two different tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import AddedToken, PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>", "<image>"]
    spaced = [f"Ġ{letter}" for letter in "ABCD"]
    vocab = {token: i for i, token in enumerate(specials + sorted(pre_tokenizers.ByteLevel.alphabet()) + spaced)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[("Ġ", letter) for letter in "ABCD"]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", bos_token="</s>", unk_token="<unk>"
    )
    tokenizer.add_tokens([AddedToken("<image>", normalized=False, special=True)], special_tokens=True)
    return tokenizer


def _image_processor(kind: str):
    import transformers

    if kind == "blip":
        cls = getattr(transformers, "BlipImageProcessorPil", transformers.BlipImageProcessor)
        return cls(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    cls = getattr(transformers, "CLIPImageProcessorPil", transformers.CLIPImageProcessor)
    return cls(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


def tiny_blip2(text_model: str = "opt"):
    from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, OPTConfig, T5Config

    tokenizer = tiny_tokenizer()
    processor = Blip2Processor(_image_processor("blip"), tokenizer, num_query_tokens=NUM_QUERY_TOKENS)
    vocab_size = len(tokenizer)
    if text_model == "opt":
        text_config = OPTConfig(
            vocab_size=vocab_size, hidden_size=16, ffn_dim=32, num_hidden_layers=1, num_attention_heads=2,
            word_embed_proj_dim=16, max_position_embeddings=512, pad_token_id=0, bos_token_id=1, eos_token_id=1,
        )
    else:
        text_config = T5Config(
            vocab_size=vocab_size, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        )
    config = Blip2Config(
        vision_config=dict(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            image_size=IMAGE_SIZE, patch_size=16,
        ),
        qformer_config=dict(
            hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            encoder_hidden_size=16, vocab_size=64, max_position_embeddings=32,
        ),
        text_config=text_config.to_dict(),
        num_query_tokens=NUM_QUERY_TOKENS,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(0)
    return Blip2ForConditionalGeneration(config).eval(), processor


def tiny_llava():
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tokenizer = tiny_tokenizer()
    processor = LlavaProcessor(
        image_processor=_image_processor("clip"),
        tokenizer=tokenizer,
        patch_size=16,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            image_size=IMAGE_SIZE, patch_size=16, projection_dim=16,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512, pad_token_id=0,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    return LlavaForConditionalGeneration(config).eval(), processor


@pytest.fixture(scope="module")
def blip2():
    return tiny_blip2("opt")


@pytest.fixture(scope="module")
def vqa_rows(mini_release, tmp_path_factory):
    cache = tmp_path_factory.mktemp("vqa-cache")
    return journeydb.load("vqa", data_dir=str(mini_release), split="validation", cache_dir=str(cache))


def _questions(rows):
    return [q for row in rows.remove_columns("image") for q in row["questions"]]


# --------------------------------------------------------------------------------------------------------------
# prompts


def _snapshot_cases() -> dict:
    question = "What is the art style of the image?"
    options = ["watercolor", "neon glow", "cinematic lighting", "pastel colors"]
    return {
        "PROMPT_TEMPLATE": PROMPT_TEMPLATE,
        "CHAT_PROMPT_TEMPLATE": CHAT_PROMPT_TEMPLATE,
        "question": question,
        "options": options,
        "prompt": build_prompt(question, options, PROMPT_TEMPLATE),
        "chat_prompt": build_prompt(question, options, CHAT_PROMPT_TEMPLATE),
    }


def test_prompt_templates_match_snapshot():
    """The prompts are part of the protocol: changing them changes the numbers. To accept an intended change,
    run with JOURNEYDB_UPDATE_SNAPSHOTS=1 and commit tests/snapshots/vlm_choice_prompts.json."""
    current = _snapshot_cases()
    if UPDATE_SNAPSHOTS:
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(SNAPSHOT.read_text(encoding="utf-8")) == current


def test_card_shows_the_prompt_template():
    card = (Path(__file__).resolve().parents[1] / "metrics" / "mc_vqa_acc" / "README.md").read_text(encoding="utf-8")
    assert _snapshot_cases()["prompt"] in card
    assert all(line in vlm_choice.__doc__ for line in PROMPT_TEMPLATE.splitlines())


def test_custom_template_fields():
    options = ["w", "x", "y", "z"]
    assert build_prompt("Q?", options, "{question} (A) {A} (B) {B} (C) {C} (D) {D}") == "Q? (A) w (B) x (C) y (D) z"


@pytest.mark.parametrize(
    "template, message",
    [
        ("{question}", "must contain"),
        ("{options}", "must contain"),
        ("{question} {options} {image}", "unknown field"),
        ("{question.__class__} {options}", "unknown field"),
        ("{question!r} {options}", "no format spec"),
        ("{question} {options", "not a valid format string"),
    ],
)
def test_bad_template(template, message):
    with pytest.raises(ValueError, match=message):
        build_prompt("Q?", ["w", "x", "y", "z"], template)


def test_build_prompt_needs_four_options():
    with pytest.raises(ValueError, match="four options"):
        build_prompt("Q?", ["w", "x", "y"])


# --------------------------------------------------------------------------------------------------------------
# letters


def test_letter_token_ids_take_every_single_token_spelling():
    tokenizer = tiny_tokenizer()
    ids = letter_token_ids(tokenizer)
    for letter, letter_ids in zip("ABCD", ids):
        assert sorted(letter_ids) == sorted(tokenizer.convert_tokens_to_ids([letter, f"Ġ{letter}"]))


def test_letter_scores_sum_the_spellings():
    from journeydb.models.letters import letter_log_probs

    logits = torch.zeros(1, 8)
    logits[0, 0] = 2.0  # "A" bare
    logits[0, 1] = 2.0  # " A"
    logits[0, 2] = 2.5  # "B": the highest single logit, but A's spellings together are more probable
    scores = letter_log_probs(logits, [[0, 1], [2], [3], [4]])
    assert scores.argmax().item() == 0
    log_probs = torch.log_softmax(logits, dim=-1)[0]
    assert scores[0, 0].item() == pytest.approx(torch.logsumexp(log_probs[[0, 1]], 0).item())


def test_letter_without_token_is_an_error():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(vocab={"<unk>": 0, "A": 1, "B": 2, "C": 3}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")
    with pytest.raises(ValueError, match="no single token for the letter 'D'"):
        letter_token_ids(tokenizer)


# --------------------------------------------------------------------------------------------------------------
# the scorer


def test_end_to_end_on_mini_release(blip2, vqa_rows):
    model, processor = blip2
    answers = answer_vqa(model, processor, vqa_rows, batch_size=8)
    questions = _questions(vqa_rows)
    assert [a["question_id"] for a in answers] == [q["question_id"] for q in questions]
    assert set(answers[0]) == {"question_id", "prediction"}
    assert {a["prediction"] for a in answers} <= set("ABCD")
    result = score_choices(
        [a["prediction"] for a in answers], [q["answer"] for q in questions], [q["type"] for q in questions]
    ).corpus
    assert result["num_questions"] == len(questions) > 0
    assert result["num_invalid"] == 0 and result["extraction"]["letter"] == len(questions)
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["accuracy_style"] is not None and result["accuracy_content"] is not None


def test_scores_are_the_next_token_letter_probabilities(blip2, vqa_rows):
    """Oracle: one question encoded alone, unpadded, read at the last position by hand."""
    model, processor = blip2
    row = vqa_rows[0]
    question = row["questions"][0]
    [answer] = answer_vqa(model, processor, [{**row, "questions": [question]}], return_scores=True)
    prompt = build_prompt(question["question"], question["options"])
    inputs = processor(images=[row["image"].convert("RGB")], text=[prompt], return_tensors="pt")
    with torch.no_grad():
        log_probs = torch.log_softmax(model(**inputs).logits[0, -1], dim=-1)
    tokenizer = processor.tokenizer
    expected = {
        letter: torch.logsumexp(log_probs[tokenizer.convert_tokens_to_ids([letter, f"Ġ{letter}"])], 0).item()
        for letter in "ABCD"
    }
    assert answer["scores"] == pytest.approx(expected, abs=1e-5)
    assert answer["prediction"] == max(expected, key=expected.get)


def test_sharded_run_equals_whole_run(blip2, vqa_rows):
    """Two processes simulated on CPU: each scores its share (with other batch companions), then the shares merge."""
    model, processor = blip2
    whole = answer_vqa(model, processor, vqa_rows, batch_size=8, return_scores=True)
    shares = [answer_vqa(model, processor, vqa_rows, batch_size=3, shard=(i, 2), return_scores=True) for i in range(2)]
    assert len(shares[0]) + len(shares[1]) == len(whole) and abs(len(shares[0]) - len(shares[1])) <= 1
    merged = merge_shards(shares)
    assert [a["question_id"] for a in merged] == [a["question_id"] for a in whole]
    assert [a["prediction"] for a in merged] == [a["prediction"] for a in whole]
    for got, want in zip(merged, whole):
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


_TWO_PROCESS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[3])
from accelerate import PartialState
import journeydb
from journeydb.models.vlm_choice import answer_vqa
from test_vlm_choice import tiny_blip2

state = PartialState(cpu=True)  # gloo: two CPU processes stand in for two GPUs
cache_dir = f"{sys.argv[2]}/cache{state.process_index}"
rows = journeydb.load("vqa", data_dir=sys.argv[1], split="validation", cache_dir=cache_dir)
model, processor = tiny_blip2("opt")
answers = answer_vqa(model, processor, rows, batch_size=4, return_scores=True)
with open(f"{sys.argv[2]}/answers{state.process_index}.json", "w") as f:
    json.dump(answers, f)
"""


@pytest.mark.slow
def test_two_processes_gather_equals_whole_run(blip2, vqa_rows, mini_release, tmp_path, two_processes):
    """A real two-process run (torch.distributed, gloo): every process returns the gathered whole, equal to one
    process's run."""
    script = tmp_path / "two_processes.py"
    script.write_text(_TWO_PROCESS_SCRIPT)
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    done = two_processes([str(script), str(mini_release), str(tmp_path), str(Path(__file__).parent)], env)
    assert done.returncode == 0, done.stderr[-3000:]
    model, processor = blip2
    whole = answer_vqa(model, processor, vqa_rows, batch_size=8, return_scores=True)
    for rank in range(2):
        gathered = json.loads((tmp_path / f"answers{rank}.json").read_text())
        assert [a["question_id"] for a in gathered] == [a["question_id"] for a in whole]
        assert [a["prediction"] for a in gathered] == [a["prediction"] for a in whole]
        for got, want in zip(gathered, whole):
            assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


def test_the_image_matters(blip2, vqa_rows):
    from PIL import Image

    model, processor = blip2
    row = vqa_rows[0]
    row = {**row, "questions": row["questions"][:1]}
    dark, light = (
        answer_vqa(model, processor, [{**row, "image": Image.new("RGB", (40, 30), colour)}], return_scores=True)
        for colour in ((0, 0, 0), (255, 255, 255))
    )
    assert dark[0]["scores"] != pytest.approx(light[0]["scores"], abs=1e-6)


def test_encoder_decoder_blip2(vqa_rows):
    """BLIP-2 with a T5 language model (the FlanT5 variant of Table 6): the letter is the decoder's first token."""
    model, processor = tiny_blip2("t5")
    rows = vqa_rows.select(range(3))
    answers = answer_vqa(model, processor, rows, batch_size=4, return_scores=True)
    assert [a["question_id"] for a in answers] == [q["question_id"] for q in _questions(rows)]
    shares = [answer_vqa(model, processor, rows, batch_size=2, shard=(i, 2), return_scores=True) for i in range(2)]
    for got, want in zip(merge_shards(shares), answers):
        assert got["prediction"] == want["prediction"]
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


def test_chat_template_model(vqa_rows):
    """A non-BLIP-2 model through its processor's chat template (AutoModelForImageTextToText's path)."""
    model, processor = tiny_llava()
    rows = vqa_rows.select(range(3))
    answers = answer_vqa(model, processor, rows, batch_size=4, return_scores=True)
    questions = _questions(rows)
    assert [a["question_id"] for a in answers] == [q["question_id"] for q in questions]
    # the rendered conversation carries the chat prompt and ends with the generation prompt
    first = questions[0]
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": build_prompt(
            first["question"], first["options"], CHAT_PROMPT_TEMPLATE)}]}],
        add_generation_prompt=True,
    )
    assert text.startswith("user: <image>What") and text.endswith("directly.\nassistant:")
    single = answer_vqa(model, processor, [{**rows[0], "questions": [rows[0]["questions"][0]]}], return_scores=True)
    assert single[0]["scores"] == pytest.approx(answers[0]["scores"], abs=1e-5)  # padding does not leak in


def test_load_vlm_round_trip(blip2, tmp_path, vqa_rows):
    model, processor = blip2
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded, loaded_processor = load_vlm(str(tmp_path), device="cpu")
    assert loaded.dtype == torch.float32 and not loaded.training
    rows = vqa_rows.select(range(2))
    got = answer_vqa(loaded, loaded_processor, rows, return_scores=True)
    want = answer_vqa(model, processor, rows, return_scores=True)
    assert [a["prediction"] for a in got] == [a["prediction"] for a in want]
    for a, b in zip(got, want):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-6)


# --------------------------------------------------------------------------------------------------------------
# bad input


def test_bad_rows(blip2, vqa_rows):
    model, processor = blip2
    row = vqa_rows[0]
    question = row["questions"][0]
    with pytest.raises(ValueError, match="row 0 is not a `vqa` row"):
        answer_vqa(model, processor, [{"image": row["image"]}])
    with pytest.raises(ValueError, match=f"question {question['question_id']}: options must be four"):
        answer_vqa(model, processor, [{**row, "questions": [{**question, "options": ["a", "b"]}]}])
    with pytest.raises(ValueError, match="has no question_id"):
        answer_vqa(model, processor, [{**row, "questions": [{"question": "Q?"}]}])
    with pytest.raises(TypeError, match="image must be a PIL image"):
        answer_vqa(model, processor, [{**row, "image": "not an image"}])
    with pytest.raises(ValueError, match="batch_size"):
        answer_vqa(model, processor, [row], batch_size=0)
    with pytest.raises(ValueError, match="shard must be"):
        answer_vqa(model, processor, [row], shard=(2, 2))
    with pytest.raises(ValueError, match="unknown field"):
        answer_vqa(model, processor, [row], prompt_template="{question} {options} {oops}")


def test_undecoded_image_cells_are_read(blip2, vqa_rows):
    import io

    model, processor = blip2
    row = vqa_rows[0]
    buffer = io.BytesIO()
    row["image"].save(buffer, format="PNG")
    cell = {"bytes": buffer.getvalue(), "path": None}  # an `Image(decode=False)` cell
    raw = answer_vqa(model, processor, [{**row, "image": cell}], return_scores=True)
    decoded = answer_vqa(model, processor, [row], return_scores=True)
    for a, b in zip(raw, decoded, strict=True):
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)


def test_blip2_processor_without_query_tokens(blip2, vqa_rows):
    from transformers import Blip2Processor

    model, processor = blip2
    bare = Blip2Processor(processor.image_processor, tiny_tokenizer(), num_query_tokens=None)
    with pytest.raises(ValueError, match="num_query_tokens"):
        answer_vqa(model, bare, [vqa_rows[0]])


def test_merge_shards_checks_sizes():
    assert merge_shards([]) == []
    assert merge_shards([[{"i": 0}, {"i": 2}], [{"i": 1}]]) == [{"i": 0}, {"i": 1}, {"i": 2}]
    with pytest.raises(ValueError, match="do not interleave"):
        merge_shards([[{"i": 0}], [{"i": 1}, {"i": 3}, {"i": 5}]])
