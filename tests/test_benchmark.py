"""`run_benchmark` with real (tiny, random) models in place of the baselines: BLIP-2 for prompt inversion,
captioning and VQA, CLIP for style retrieval, a Llama as QAS judge."""

from __future__ import annotations

import json

from test_clip_retrieval import save_tiny_clip  # the tiny CLIP of the style-retrieval tests

from journeydb.evaluation.benchmark import BenchmarkOptions, run_benchmark
from journeydb.evaluation.score import ScoringOptions
from journeydb.testing.tiny_blip2 import mini_release_texts, save_tiny_blip2
from journeydb.testing.tiny_causal_lm import build_tiny_causal_lm, word_vocabulary


def test_named_models_replace_the_baselines_of_the_tasks_they_serve(mini_release, tmp_path):
    blip2 = save_tiny_blip2(tmp_path / "tiny-blip2", mini_release_texts(str(mini_release)))
    clip = save_tiny_clip(tmp_path / "tiny-clip")
    judge, tokenizer = build_tiny_causal_lm(word_vocabulary(mini_release_texts(str(mini_release))))
    judge.save_pretrained(tmp_path / "tiny-judge")
    tokenizer.save_pretrained(tmp_path / "tiny-judge")
    out = tmp_path / "report"
    results = run_benchmark(
        BenchmarkOptions(
            data_dir=str(mini_release),
            out=str(out),
            model=blip2,
            clip_model=str(clip),
            qas_model=str(tmp_path / "tiny-judge"),
            max_new_tokens=8,
            cache_dir=str(tmp_path / "hf-cache"),
            scoring=ScoringOptions(meteor=False, similarity_model=None),
        )
    )
    tasks = results["tasks"]
    assert {t: tasks[t]["model"] for t in ("prompt_inversion", "caption", "vqa", "style")} == {
        "prompt_inversion": "tiny-blip2",
        "caption": "tiny-blip2",
        "vqa": "tiny-blip2",
        "style": "tiny-clip",
    }
    assert tasks["qas"]["prompt_model"] == "tiny-blip2" and tasks["qas"]["judge"] == "tiny-judge"
    assert tasks["qas"]["scores"]["num_questions"] == 50 and tasks["qas"]["scores"]["num_invalid"] == 0
    assert results["mini_release"] is True  # a copy of the mini-release, named by --data-dir: still synthetic
    for task, entry in tasks.items():
        lines = (out / entry["predictions"]).read_text().splitlines()
        assert all(v["count"] == 0 for v in entry["matching"].values()), task
        assert len(lines) == {"vqa": 50, "caption": 13}.get(task, 16)
    vqa = [json.loads(line) for line in (out / "predictions" / "vqa.jsonl").read_text().splitlines()]
    assert {row["prediction"] for row in vqa} <= set("ABCD")  # letter scoring always answers
    assert tasks["vqa"]["scores"]["num_invalid"] == 0
    style = json.loads((out / "predictions" / "style.jsonl").read_text().splitlines()[0])["prediction"]
    assert len(style) >= 10 and all(isinstance(p, str) for p in style)
    assert (out / "report.md").read_text().count("tiny-blip2") >= 4
