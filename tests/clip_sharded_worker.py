"""Run under `torchrun --nproc_per_node 2` by test_clip_retrieval: rank with an accelerate Accelerator on CPU and
save what this process holds. Arguments: model folder, cache folder, output prefix, vocabulary JSON, tree JSON."""

import json
import sys

import numpy as np
from PIL import Image


def worker_images() -> list:
    """Seven random images of different sizes (the same in every process and in the single-process run)."""
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (32 + i, 40, 3), dtype=np.uint8)) for i in range(7)]


def main() -> None:
    from accelerate import Accelerator

    from journeydb.models.clip_retrieval import image_batches, rank_styles

    folder, cache_dir, out, vocabulary, tree = sys.argv[1:6]
    accelerator = Accelerator(cpu=True)
    images = worker_images()
    mine = image_batches(len(images), 2)[accelerator.process_index :: accelerator.num_processes]
    num_local = sum(end - begin for begin, end in mine)  # the images this process encodes and ranks
    ranking = rank_styles(images, json.loads(vocabulary), folder, style_tree=json.loads(tree), k=3, batch_size=2,
                          cache_dir=cache_dir, accelerator=accelerator)
    np.savez(f"{out}.{accelerator.process_index}.npz", top_indices=ranking.top_indices,
             top_scores=ranking.top_scores, category_indices=ranking.category_indices,
             category_scores=ranking.category_scores, num_local_images=num_local)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main()
