"""`<out>/timing.json`: what each benchmark stage cost in this run (wall seconds, items, items/s, device).

Kept apart from `results.json`, which stays deterministic (the same bytes from one process or many, today or
after a resume). A resumed run times only the chunks it made itself.
"""

from __future__ import annotations

import json
from typing import Any, Optional


def count_stage(stages: dict[str, dict[str, Any]], name: str, seconds: float, items: int) -> None:
    """Add `seconds` and `items` (prediction rows, or images for a shared pass) to stage `name`."""
    stage = stages.setdefault(name, {"seconds": 0.0, "items": 0})
    stage["seconds"] += seconds
    stage["items"] += items


def write_timing(
    path: str, stages: dict[str, dict[str, Any]], processes: int, device: Optional[str], uses_model: bool
) -> dict[str, Any]:
    """Write the stages with their items/s, the number of processes and the device the models ran on; returns
    what was written (the report's cost table, `timing_markdown`)."""
    where = device or "cpu"
    if uses_model and device is None:
        from journeydb.models.placement import model_placement

        where = str(model_placement()[0])
    timing = {
        "processes": processes,
        "device": where,
        "stages": {
            name: {
                "seconds": round(stage["seconds"], 3),
                "items": stage["items"],
                "items_per_s": round(stage["items"] / stage["seconds"], 2) if stage["seconds"] > 0 else None,
            }
            for name, stage in stages.items()
        },
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(timing, f, indent=2)
        f.write("\n")
    return timing


def timing_markdown(timing: dict[str, Any]) -> list[str]:
    """The report's "Cost of this run" section: one row per stage (wall s, items, items/s)."""
    rows = []
    for name, stage in timing["stages"].items():
        rate = "–" if stage["items_per_s"] is None else f"{stage['items_per_s']:,.1f}"
        rows.append(f"| {name} | {stage['seconds']:.1f} | {stage['items']:,} | {rate} |")
    return [
        "## Cost of this run",
        "",
        f"{timing['processes']} process(es), models on {timing['device']} (also in `timing.json`; a resumed run "
        "times only the chunks it made).",
        "",
        "| stage | wall s | items | items/s |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ]
