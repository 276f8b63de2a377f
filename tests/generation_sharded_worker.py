"""Run under `torchrun --nproc_per_node 2` by test_generation: generate with a tiny BLIP-2 on CPU (gloo) and save
what this process returns and how many batches it generated. Arguments: output prefix."""

import json
import sys

import numpy as np
from PIL import Image

NUM_IMAGES, BATCH_SIZE, MAX_NEW_TOKENS = 5, 2, 6


def worker_images() -> list:
    """Five random images of different sizes (the same in every process and in the single-process run)."""
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (30 + 3 * i, 40, 3), dtype=np.uint8)) for i in range(NUM_IMAGES)]


def tiny_model():
    from journeydb.testing.tiny_blip2 import build_tiny_blip2

    return build_tiny_blip2(["a red fox in the snow, watercolor", "neon city at night"], seed=0)


def main() -> None:
    from accelerate import PartialState

    from journeydb.models.generation import INSTRUCTIONS, generate_texts

    out = sys.argv[1]
    state = PartialState(cpu=True)  # gloo: two CPU processes stand in for two GPUs
    model, processor = tiny_model()
    calls = []
    generate = model.generate
    model.generate = lambda **kwargs: calls.append(kwargs["input_ids"].shape[0]) or generate(**kwargs)
    texts = generate_texts(model, processor, worker_images(), INSTRUCTIONS["caption"], batch_size=BATCH_SIZE,
                           max_new_tokens=MAX_NEW_TOKENS)
    with open(f"{out}.{state.process_index}.json", "w", encoding="utf-8") as f:
        json.dump({"texts": texts, "batch_rows": calls}, f)
    state.wait_for_everyone()


if __name__ == "__main__":
    main()
