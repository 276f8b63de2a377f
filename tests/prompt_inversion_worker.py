"""Run under `torchrun --nproc_per_node 2` by test_prompt_inversion_metric: each process adds its half of the corpus
to `metrics/prompt_inversion` with evaluate's own `num_process`/`process_id` gathering; process 0 computes and
writes the scores. Arguments: metric folder, evaluate cache folder, JSON input file, JSON output file."""

import json
import os
import sys


def main() -> None:
    import evaluate

    metric_dir, cache_dir, data_file, out_file = sys.argv[1:5]
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    data = json.loads(open(data_file, encoding="utf-8").read())
    metric = evaluate.load(metric_dir, num_process=world, process_id=rank, experiment_id="prompt-inversion-test",
                           cache_dir=cache_dir)
    half = (len(data["predictions"]) + 1) // 2
    mine = slice(rank * half, (rank + 1) * half)  # contiguous halves: the gathered order is the one-call order
    for start in range(mine.start, min(mine.stop, len(data["predictions"])), 2):
        stop = min(start + 2, mine.stop)
        metric.add_batch(predictions=data["predictions"][start:stop], references=data["references"][start:stop])
    results = metric.compute(meteor=False, similarity_model=None)
    if rank == 0:
        with open(out_file, "w", encoding="utf-8") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
