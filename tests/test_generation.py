"""Generation (`journeydb.models.generation`) and the model-input builder it shares with the VQA scorer
(`journeydb.models.model_inputs`), on tiny random models built in code; a real two-process run (torchrun, gloo)
must return what one process returns."""

import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from journeydb.models.generation import INSTRUCTIONS, generate_texts  # noqa: E402
from journeydb.models.model_inputs import build_model_inputs  # noqa: E402

WORKER = Path(__file__).with_name("generation_sharded_worker.py")  # run by torchrun
REPO = Path(__file__).resolve().parents[1]


def worker_module():
    """The worker's images and model, read from the worker file itself (one definition for both runs)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generation_sharded_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def worker():
    return worker_module()


@pytest.mark.parametrize("side", ["left", "right"])
def test_the_padding_side_is_the_callers_and_the_tokenizer_is_left_alone(worker, side):
    model, processor = worker.tiny_model()
    processor.tokenizer.padding_side = "right" if side == "left" else "left"
    before = processor.tokenizer.padding_side
    images = worker.worker_images()[:2]
    inputs = build_model_inputs(processor, images, ["a", "write the prompt of this image"], padding_side=side)
    assert processor.tokenizer.padding_side == before
    # left padding ends every row with a real token (BLIP-2 puts its query tokens before the padding)
    assert bool(inputs["attention_mask"][:, -1].all()) == (side == "left")


def test_inputs_go_to_the_device_and_dtype(worker):
    _, processor = worker.tiny_model()
    inputs = build_model_inputs(processor, worker.worker_images()[:1], ["a"], padding_side="left", device="cpu",
                                dtype=torch.float16)
    assert inputs["pixel_values"].dtype == torch.float16 and inputs["input_ids"].dtype == torch.long


def test_bad_builder_input(worker):
    _, processor = worker.tiny_model()
    with pytest.raises(ValueError, match="padding_side"):
        build_model_inputs(processor, worker.worker_images()[:1], ["a"], padding_side="middle")
    with pytest.raises(ValueError, match="2 images for 1 texts"):
        build_model_inputs(processor, worker.worker_images()[:2], ["a"], padding_side="left")


def test_batches_do_not_change_the_texts(worker):
    model, processor = worker.tiny_model()
    images = worker.worker_images()
    whole = generate_texts(model, processor, images, INSTRUCTIONS["caption"], batch_size=len(images),
                           max_new_tokens=worker.MAX_NEW_TOKENS)
    assert len(whole) == len(images) and all(isinstance(text, str) for text in whole)
    one_by_one = generate_texts(model, processor, images, INSTRUCTIONS["caption"], batch_size=1,
                                max_new_tokens=worker.MAX_NEW_TOKENS)
    assert one_by_one == whole  # left padding: a padded row generates what it generates alone


def test_chat_template_model_generates():
    from test_vlm_choice import tiny_llava

    from PIL import Image

    model, processor = tiny_llava()
    images = [Image.new("RGB", (40, 30), colour) for colour in ((0, 0, 0), (255, 255, 255))]
    texts = generate_texts(model, processor, images, INSTRUCTIONS["prompt_inversion"], batch_size=2,
                           max_new_tokens=3)
    assert len(texts) == 2 and all(isinstance(text, str) for text in texts)


def test_bad_generation_input(worker):
    model, processor = worker.tiny_model()
    with pytest.raises(ValueError, match="batch_size"):
        generate_texts(model, processor, worker.worker_images(), "a", batch_size=0)
    with pytest.raises(TypeError, match=r"images\[1\]"):
        generate_texts(model, processor, [worker.worker_images()[0], "not an image"], "a", batch_size=2)


@pytest.mark.slow
def test_two_processes_equal_one(worker, tmp_path, two_processes):
    out = tmp_path / "texts"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    proc = two_processes([str(WORKER), str(out)], env)
    assert proc.returncode == 0, proc.stderr[-3000:]

    model, processor = worker.tiny_model()
    single = generate_texts(model, processor, worker.worker_images(), INSTRUCTIONS["caption"],
                            batch_size=worker.BATCH_SIZE, max_new_tokens=worker.MAX_NEW_TOKENS)
    shares = {rank: json.loads(Path(f"{out}.{rank}.json").read_text(encoding="utf-8")) for rank in (0, 1)}
    assert shares[0]["batch_rows"] == [2, 1] and shares[1]["batch_rows"] == [2]  # batches 0, 2 and batch 1
    for rank in (0, 1):  # every process returns every text, in image order
        assert shares[rank]["texts"] == single
