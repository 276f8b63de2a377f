"""The accelerate fine-tuning examples in their `--tiny` mode (CPU, a tiny random BLIP-2, the mini-release)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import isolated_env, run_two_processes

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = isolated_env(tmp_path, ACCELERATE_USE_CPU="1")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--tiny", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.fixture(scope="module")
def caption_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("caption") / "run"
    _run("finetune_caption.py", out.parent, "--output-dir", str(out), "--no-meteor", "--similarity-model", "none")
    return out


def test_finetune_caption_tiny(caption_run):
    results = json.loads((caption_run / "eval_results.json").read_text())
    assert results["step"] == 4 and results["task"] == "caption"
    assert results["num_samples"] == 8 and "cider" in results and "bleu_4" in results
    assert {p.name for p in (caption_run / "checkpoints").iterdir()} == {"step_2", "step_4"}
    assert (caption_run / "final" / "config.json").exists() and (caption_run / "final" / "tokenizer.json").exists()


def test_finetune_caption_resume_equals_an_uninterrupted_run(caption_run, tmp_path):
    out = tmp_path / "resumed"
    proc = _run(
        "finetune_caption.py",
        tmp_path,
        "--output-dir", str(out),
        "--resume-from-checkpoint", str(caption_run / "checkpoints" / "step_2"),
        "--no-meteor", "--similarity-model", "none",
    )
    assert "resumed from" in proc.stdout + proc.stderr
    whole, resumed = _weights(caption_run / "final"), _weights(out / "final")
    assert whole.keys() == resumed.keys()
    assert all((whole[k] == resumed[k]).all() for k in whole)


def test_finetune_vqa_tiny(tmp_path):
    out = tmp_path / "run"
    _run("finetune_vqa.py", tmp_path, "--output-dir", str(out))
    results = json.loads((out / "eval_results.json").read_text())
    assert results["task"] == "vqa" and results["step"] == 4
    assert results["num_questions"] > 0 and 0.0 <= results["accuracy"] <= 1.0
    assert results["num_invalid"] == 0  # letter scoring always answers


def test_finetune_caption_two_processes_gathers_each_validation_image_once(tmp_path):
    """torchrun, 2 CPU processes (gloo): streamed shards per rank; 7 validation images over 2 ranks pad the last
    batch with a duplicate that gather_for_metrics must drop."""
    out = tmp_path / "run"
    proc = run_two_processes(
        [
            str(EXAMPLES / "finetune_caption.py"), "--tiny", "--output-dir", str(out), "--max-steps", "2",
            "--eval-limit", "7", "--no-meteor", "--similarity-model", "none",
        ],
        isolated_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((out / "eval_results.json").read_text())
    assert results["num_samples"] == 7
    assert {p.name for p in (out / "checkpoints" / "step_2").iterdir()} >= {"random_states_0.pkl", "random_states_1.pkl"}


def _parse(script: str, *argv: str):
    import importlib.util

    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{script}", EXAMPLES / f"{script}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.parse_args(list(argv))
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.mark.parametrize("script", ["finetune_caption", "finetune_vqa"])
def test_tiny_fills_only_options_not_given_and_hf_spellings(script, tmp_path):
    args = _parse(script, "--tiny", "--output_dir", str(tmp_path), "--batch-size", "8", "--max_steps=3")
    assert args.output_dir == str(tmp_path)
    assert args.batch_size == 8  # the default's value, given explicitly: --tiny leaves it
    assert args.max_steps == 3 and args.eval_batch_size == 8  # given; filled by --tiny
    assert _parse(script, "--tiny", "--output-dir", str(tmp_path)).batch_size == 4


def test_two_processes_print_world_size_and_evaluate_as_one(tmp_path):
    """2 CPU processes x batch 2 and 1 process x batch 4 (global batch 4 both): each prints its world size and
    global batch, and the evaluation numbers agree. The learning rate is 0 so that both evaluate the same weights:
    the stream is split by shard between ranks, so trained batches hold other images than in one process."""
    common = ["--tiny", "--max-steps", "2", "--learning-rate", "0", "--eval-limit", "7", "--no-meteor",
              "--similarity-model", "none"]
    two = run_two_processes(
        [str(EXAMPLES / "finetune_caption.py"), *common, "--batch-size", "2", "--output-dir", str(tmp_path / "two")],
        isolated_env(tmp_path / "t"),
    )
    assert two.returncode == 0, two.stderr[-4000:]
    one = _run("finetune_caption.py", tmp_path / "o", *common[1:], "--batch-size", "4",
               "--output-dir", str(tmp_path / "one"))
    assert "world size 2, per-device batch 2, gradient accumulation 1, global batch 4" in two.stdout
    assert "world size 1, per-device batch 4, gradient accumulation 1, global batch 4" in one.stdout
    results = [json.loads((tmp_path / name / "eval_results.json").read_text()) for name in ("two", "one")]
    for key in ("num_samples", "bleu_4", "rouge_l", "cider"):
        assert results[0][key] == pytest.approx(results[1][key], abs=1e-12), key
