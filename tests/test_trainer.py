"""The compute_metrics factory inside real (2-step) Trainer runs with a tiny BLIP-2."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import EvalPrediction, Seq2SeqTrainer, Seq2SeqTrainingArguments, Trainer, TrainingArguments

import journeydb
from journeydb.evaluation.score import ScoringOptions
from journeydb.testing.tiny_blip2 import build_tiny_blip2
from journeydb.integrations.trainer import logits_to_ids, make_compute_metrics

QUICK = ScoringOptions(similarity_model=None, meteor=False)


@pytest.fixture(scope="module")
def captions(mini_release, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("hf-cache"))
    train = journeydb.load("caption", str(mini_release), split="train", cache_dir=cache)
    val = journeydb.load("caption", str(mini_release), split="validation", cache_dir=cache).select(range(6))
    return train, val


def _collate(processor, with_text=True):
    def collate(rows):
        images = [row["image"].convert("RGB") for row in rows]
        texts = [row["caption"] if with_text else "" for row in rows]
        batch = processor(images=images, text=texts, return_tensors="pt", padding=True)
        if with_text:
            labels = batch["input_ids"].clone()
            labels[batch["attention_mask"] == 0] = -100
            labels[labels == processor.tokenizer.convert_tokens_to_ids("<image>")] = -100
            batch["labels"] = labels
        return batch

    return collate


def _t5_collate(processor):
    """BLIP-2 FlanT5-style: the inputs are only the image, the labels the decoder's targets."""
    tokenizer = processor.tokenizer

    def collate(rows):
        batch = processor(images=[r["image"].convert("RGB") for r in rows], text=[""] * len(rows), return_tensors="pt")
        labels = tokenizer([r["caption"] for r in rows], padding=True, return_tensors="pt", add_special_tokens=False)
        batch["labels"] = labels["input_ids"].masked_fill(labels["attention_mask"] == 0, -100)
        return batch

    return collate


def _one_hot(ids: np.ndarray, vocab: int) -> np.ndarray:
    logits = np.zeros(ids.shape + (vocab,), dtype=np.float32)
    np.put_along_axis(logits, np.clip(ids, 0, None)[..., None], 1.0, axis=-1)
    return logits


@pytest.mark.parametrize("language_model", ["opt", "t5"])
@pytest.mark.parametrize("form", ["logits", "ids", "generate"])
def test_perfect_predictions_score_one(captions, language_model, form):
    """argmax == the token each label position asks for scores BLEU-4 1.0 and CIDEr 10.0, for both kinds of model,
    the factory learning the shift from the model alone."""
    _, val = captions
    refs = val["caption"]
    model, processor = build_tiny_blip2(refs, language_model=language_model)
    tok = processor.tokenizer
    width = max(len(tok(r, add_special_tokens=False).input_ids) for r in refs) + 2
    labels = np.full((len(refs), width), -100)
    wanted = np.zeros((len(refs), width), dtype=np.int64)  # what the model must output at each position
    for i, ref in enumerate(refs):
        ids = tok(ref, add_special_tokens=False).input_ids
        if language_model == "opt":  # labels = inputs ([BOS] + text); position t predicts label t+1
            labels[i, : len(ids) + 1] = [1] + ids
            wanted[i, : len(ids)] = ids
        else:  # labels = decoder targets, predicted in place
            labels[i, : len(ids)] = ids
            wanted[i, : len(ids)] = ids
    if form == "generate":
        eval_pred = EvalPrediction(predictions=np.where(labels >= 0, labels, 0), label_ids=labels)
        metric = make_compute_metrics("caption", processor, scoring=QUICK, model=model)
    else:
        predictions = _one_hot(wanted, len(tok)) if form == "logits" else wanted
        eval_pred = EvalPrediction(predictions=predictions, label_ids=labels)
        metric = make_compute_metrics("caption", processor, scoring=QUICK, predictions_from="logits", model=model)
    metrics = metric(eval_pred)
    assert metrics["bleu_4"] == pytest.approx(1.0)
    assert metrics["cider"] == pytest.approx(10.0)


def test_logits_shift_learned_from_inputs_or_refused(captions):
    """Without model=, the trainer's input ids tell a causal LM (labels copy them); with neither, a clear error."""
    _, processor = build_tiny_blip2(["red sun over the sea"])
    tok = processor.tokenizer
    ids = [1] + tok("red sun over the sea", add_special_tokens=False).input_ids
    labels = np.array([ids])
    wanted = np.array([ids[1:] + [0]])
    metric = make_compute_metrics("caption", processor, scoring=QUICK, predictions_from="logits")
    metrics = metric(EvalPrediction(predictions=wanted, label_ids=labels, inputs=labels.copy()))
    assert metrics["bleu_4"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pass model="):
        metric(EvalPrediction(predictions=wanted, label_ids=labels))


@pytest.mark.parametrize("language_model", ["opt", "t5"])
def test_trainer_two_steps_teacher_forced(captions, tmp_path, language_model):
    """Logits through the trainer with no ignore_keys: the factory makes the trainer drop BLIP-2's cache objects."""
    train, val = captions
    model, processor = build_tiny_blip2(train["caption"], language_model=language_model)
    collate = _collate(processor) if language_model == "opt" else _t5_collate(processor)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, per_device_eval_batch_size=4,
            remove_unused_columns=False, report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True,
        ),
        data_collator=collate,
        train_dataset=train,
        eval_dataset=val,
        preprocess_logits_for_metrics=logits_to_ids,
        compute_metrics=make_compute_metrics(
            "caption", processor, scoring=QUICK, predictions_from="logits", model=model
        ),
    )
    trainer.train()
    metrics = trainer.evaluate()
    for key in ("eval_bleu_4", "eval_rouge_l", "eval_cider", "eval_num_samples"):
        assert key in metrics
    assert metrics["eval_num_samples"] == len(val)
    assert "eval_similarity" not in metrics  # None scores are left out


def test_seq2seq_trainer_generate_encoder_decoder(captions, tmp_path):
    """BLIP-2 FlanT5-style: labels are decoder targets, the inputs only the image; predictions are generated."""
    train, val = captions
    model, processor = build_tiny_blip2(train["caption"], language_model="t5")
    tokenizer = processor.tokenizer
    collate = _t5_collate(processor)

    trainer = Seq2SeqTrainer(
        model=model,
        args=Seq2SeqTrainingArguments(
            output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, per_device_eval_batch_size=4,
            remove_unused_columns=False, report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True,
            predict_with_generate=True, generation_max_length=12, include_for_metrics=["inputs"],
        ),
        data_collator=collate,
        processing_class=tokenizer,
        train_dataset=train,
        eval_dataset=val,
        compute_metrics=make_compute_metrics("caption", processor, scoring=QUICK, model=model),
    )
    trainer.train()
    metrics = trainer.evaluate()
    assert metrics["eval_num_samples"] == len(val)
    assert "eval_cider" in metrics


def test_generate_mode_strips_echoed_prompt_and_padding(captions):
    _, processor = build_tiny_blip2(["red sun", "blue box"])
    tok = processor.tokenizer
    prompt = tok("red", add_special_tokens=False).input_ids
    new = tok("sun", add_special_tokens=False).input_ids
    preds = np.array([prompt + new + [-100], prompt + new + new])
    inputs = np.array([prompt + [-100], prompt + [-100]])
    seen = {}

    def fake_score(refs, texts, scoring=None, present=None):  # capture what would be scored
        seen["texts"], seen["refs"] = texts, refs.references
        from journeydb.evaluation.score import TaskScore

        return TaskScore(task=refs.task, scores={"num_samples": len(texts)})

    import journeydb.integrations.trainer as trainer_module

    original = trainer_module.score_task
    trainer_module.score_task = fake_score
    try:
        metrics = make_compute_metrics("caption", processor, references=["a", "b"])(
            EvalPrediction(predictions=preds, label_ids=None, inputs=inputs)
        )
    finally:
        trainer_module.score_task = original
    assert seen["texts"] == ["sun", "sun sun"] and metrics == {"num_samples": 2.0}


def test_factory_rejects_bad_configurations():
    _, processor = build_tiny_blip2()
    with pytest.raises(ValueError, match="ranked"):
        make_compute_metrics("style", processor)
    with pytest.raises(ValueError, match="question_types"):
        make_compute_metrics("vqa", processor)
    with pytest.raises(ValueError, match="references"):
        make_compute_metrics("qas", processor)
    with pytest.raises(ValueError, match="unknown task"):
        make_compute_metrics("nope", processor)
    metric = make_compute_metrics("caption", processor, references=["x"])
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        metric(EvalPrediction(predictions=np.array([[5], [6]]), label_ids=None))
