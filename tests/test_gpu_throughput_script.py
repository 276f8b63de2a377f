"""`benchmarks/gpu_throughput.py --tiny` runs on CPU and prints its table: the real-size run (on a GPU) takes the same
code path with bigger configs, so this keeps the script from rotting where no GPU is lent."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # ~10 s: a subprocess importing torch and transformers, running four tiny models
def test_tiny_run_prints_a_row_per_model_stage() -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_throughput.py"), "--tiny", "--device", "cpu"],
        capture_output=True, text=True, env=env, timeout=180, cwd=ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("device: CPU") and "transformers" in lines[0]
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert lines[header].split() == ["model", "stage", "batch", "items", "wall", "s", "rate", "TFLOP/s", "MFU", "%",
                                     "prep", "%", "peak", "GiB"]
    rows = [line.split()[0] for line in lines[header + 2 :] if line.strip() and not line.startswith("FLOPs")]
    # one row per stage: BLIP-2 caption + VQA, CLIP vocabulary + ranking, the judge
    assert rows == ["blip2-opt", "blip2-opt", "blip2-t5", "blip2-t5", "clip", "clip", "judge"]
    assert all(line.split()[-3] == "-" for line in lines[header + 2 : header + 9])  # no peak known for a CPU: no MFU


def test_peak_by_device_name_and_mfu() -> None:
    spec = importlib.util.spec_from_file_location("gpu_throughput", ROOT / "benchmarks" / "gpu_throughput.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    peaks = {name: module.default_peak_tflops(name) for name in
             ("NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA H200", "NVIDIA A100-SXM4-80GB", "Tesla T4")}
    assert peaks == {"NVIDIA H100 80GB HBM3": 989.0, "NVIDIA H100 PCIe": 756.0, "NVIDIA H200": 989.0,
                     "NVIDIA A100-SXM4-80GB": 312.0, "Tesla T4": None}
    row = module.Row("judge", "QAS", "questions", 32, 100, 2.0, int(989e12), 0.5, 20.0)  # 989 TFLOP in 2 s
    line = module.format_table([row], 989.0).splitlines()[-1].split()
    assert line[-4:] == ["494.50", "50.0", "25", "20.0"]  # TFLOP/s, MFU %, prep %, peak GiB
