"""Paper-style tables (markdown) and plots (PNG) from benchmark / evaluation results.

The tables follow the layout of the JourneyDB paper (arXiv 2307.00716v2): Table 3 (prompt inversion), Table 4
(captioning), Table 5 (style retrieval), Table 6 (multiple-choice VQA) and Table 8 (prompt inversion with QAS), one
column group per split. Scales follow the paper: BLEU-4, METEOR, ROUGE-L and CIDEr x100; Similarity raw (0-1);
accuracies, recalls and QAS in percent. Each row is labelled with the model that made the predictions; the
project's offline baselines are labelled "baseline (...)" and are never the paper's models.

`results` is the dict `journeydb benchmark` / `journeydb evaluate` write to `results.json`:

    {"split": "validation", "data_dir": ..., "mini_release": bool,
     "tasks": {task: {"model": label, "scores": {...}, "num_missing": int, "matching": {...},
                      "per_sample": {name: [float, ...]}, "predictions": path}}}
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, Callable, Iterable, Optional, Sequence

from .timing import timing_markdown

logger = logging.getLogger(__name__)

DASH = "–"

# (header, score key, scale, decimals, printed as a percentage)
Column = tuple[str, str, float, int, bool]
Table = tuple[list[str], list[list[str]]]  # header, rows of formatted cells
_TEXT_COLUMNS: list[Column] = [
    ("BLEU-4", "bleu_4", 100.0, 2, False),
    ("METEOR", "meteor", 100.0, 2, False),
    ("ROUGE-L", "rouge_l", 100.0, 2, False),
    ("CIDEr", "cider", 100.0, 2, False),
]
_SIMILARITY: Column = ("Similarity", "similarity", 1.0, 2, False)
_VQA_COLUMNS: list[Column] = [
    ("Content", "accuracy_content", 100.0, 1, True),
    ("Style", "accuracy_style", 100.0, 1, True),
    ("All", "accuracy", 100.0, 1, True),
]
_QAS_COLUMNS: list[Column] = [("QAS_s", "qas_style", 100.0, 2, True), ("QAS_c", "qas_content", 100.0, 2, True)]

BASELINE_NOTE = (
    "Rows labelled `baseline (...)` are this project's offline, weight-free built-in baselines (nearest training "
    "image, answer prior, lexical judge): a floor for sanity checks, not models from the paper."
)
MINI_RELEASE_NOTE = (
    "Scored on the embedded **synthetic** mini-release (`journeydb.sample_dir()`): the numbers exercise the "
    "pipeline and are not comparable with the paper's."
)


def format_value(value: Any, scale: float = 1.0, decimals: int = 2, percent: bool = False) -> str:
    """A score as the tables print it: scaled, rounded, `–` when absent or not a number."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return DASH
    text = f"{value * scale:.{decimals}f}"
    return text + "%" if percent else text


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _splits(runs: Sequence[dict]) -> list[str]:
    order = {"train": 0, "validation": 1, "test": 2}
    return sorted({run["split"] for run in runs}, key=lambda s: (order.get(s, 3), s))


def _grouped_table(
    runs: Sequence[dict],
    task: str,
    columns: Sequence[Column],
    label: Callable[[dict], str] = lambda entry: entry["model"],
    extra: Sequence[tuple[str, Callable[[dict], str]]] = (),
) -> Optional[Table]:
    """(header, rows): one row per model label, one column group per split (the paper's val | test layout)."""
    splits = _splits(runs)
    cells: dict[str, dict[str, dict]] = {}  # label -> split -> task entry
    for run in runs:
        entry = run.get("tasks", {}).get(task)
        if entry and entry.get("scores"):
            cells.setdefault(label(entry), {})[run["split"]] = entry
    if not cells:
        return None
    splits = [s for s in splits if any(s in by_split for by_split in cells.values())]
    multi = len(splits) > 1
    header = ["model"] + [name for name, _ in extra]
    header += [f"{split} {col[0]}" if multi else col[0] for split in splits for col in columns]
    rows = []
    for model, by_split in cells.items():
        first = next(iter(by_split.values()))
        row = [model] + [fn(first) for _, fn in extra]
        for split in splits:
            scores = by_split.get(split, {}).get("scores", {})
            row += [format_value(scores.get(key), scale, dec, pct) for _, key, scale, dec, pct in columns]
        rows.append(row)
    return header, rows


def _style_columns(runs: Sequence[dict]) -> list[Column]:
    """Recall@k columns (Over-All, then Per-Category) for the k present in the results."""
    keys: list[str] = []
    for run in runs:
        for key in run.get("tasks", {}).get("style", {}).get("scores", {}):
            if key.startswith(("recall@", "per_category_recall@")) and key not in keys:
                keys.append(key)
    overall = sorted((k for k in keys if k.startswith("recall@")), key=lambda k: int(k.split("@")[1]))
    per_cat = sorted((k for k in keys if k.startswith("per_category_recall@")), key=lambda k: int(k.split("@")[1]))
    columns = [(f"Over-All R@{k.split('@')[1]}", k, 100.0, 2, False) for k in overall]
    columns += [(f"Per-Category R@{k.split('@')[1]}", k, 100.0, 2, False) for k in per_cat]
    return columns


def render_markdown(runs: dict | Sequence[dict], title: str = "JourneyDB benchmark") -> str:
    """The report: the paper's Tables 3, 4, 5, 6 and 8 for the tasks present, then per-task details."""
    runs = [runs] if isinstance(runs, dict) else list(runs)
    if not runs:
        raise ValueError("render_markdown: no results to report")
    out = [f"# {title}", ""]
    if any(run.get("mini_release") for run in runs):
        out += [MINI_RELEASE_NOTE, ""]
    out += [
        f"Split(s): {', '.join(_splits(runs))}. BLEU-4, METEOR, ROUGE-L and CIDEr x100; Similarity raw (0-1); "
        "VQA accuracy, style recall and QAS in percent (the paper's scales).",
        "",
    ]
    for heading, (header, rows) in paper_tables(runs):
        out += [f"## {heading}", "", _markdown_table(header, rows), ""]
    out += ["## Details", ""]
    for run in runs:
        out += _details(run)
    out += [BASELINE_NOTE, ""]
    return "\n".join(out)


def paper_tables(runs: Sequence[dict]) -> list[tuple[str, Table]]:
    """(heading, (header, rows)) of the paper's Tables 3, 4, 5, 6 and 8, for the tasks present in `runs`."""
    sections = [
        ("Table 3: Prompt inversion", "prompt_inversion", _TEXT_COLUMNS + [_SIMILARITY]),
        ("Table 4: Image captioning", "caption", _TEXT_COLUMNS),
        ("Table 5: Style retrieval (recall, %)", "style", _style_columns(runs)),
        ("Table 6: Multiple-choice VQA (accuracy)", "vqa", _VQA_COLUMNS),
    ]
    tables = [(heading, _grouped_table(runs, task, cols) if cols else None) for heading, task, cols in sections]
    tables.append(("Table 8: Prompt inversion with QAS", _table8(runs)))
    return [(heading, table) for heading, table in tables if table]


def _table8(runs: Sequence[dict]) -> Optional[Table]:
    """Prompt-inversion scores and QAS side by side, one row per (prompt model, judge)."""
    joined = []
    for run in runs:
        tasks = run.get("tasks", {})
        qas = tasks.get("qas")
        if not qas or not qas.get("scores"):
            continue
        prompt = tasks.get("prompt_inversion", {})
        entry = {
            "model": qas.get("prompt_model", prompt.get("model", qas["model"])),
            "judge": qas.get("judge", DASH),
            "scores": {**prompt.get("scores", {}), **qas["scores"]},
        }
        joined.append({"split": run["split"], "tasks": {"qas": entry}})
    if not joined:
        return None
    columns = _TEXT_COLUMNS + [_SIMILARITY] + _QAS_COLUMNS
    return _grouped_table(joined, "qas", columns, extra=[("judge", lambda e: e["judge"])])


_COUNT_KEY = {"vqa": "num_questions", "style": "num_images", "qas": "num_images"}  # what "scored" counts


def _details(run: dict) -> list[str]:
    lines = [f"### {run['split']} split" + (f" of `{run['data_dir']}`" if run.get("data_dir") else ""), ""]
    rows = []
    for task, entry in run.get("tasks", {}).items():
        scores = entry.get("scores") or {}
        n = scores.get(_COUNT_KEY.get(task, "num_samples"))
        matching = entry.get("matching") or {}
        problems = ", ".join(
            f"{v['count']} {kind}" for kind, v in matching.items() if isinstance(v, dict) and v.get("count")
        )
        notes = [entry["error"]] if entry.get("error") else []
        if "num_invalid" in scores and scores["num_invalid"]:
            notes.append(f"{scores['num_invalid']} unreadable answer(s) counted wrong")
        if entry.get("style_tree"):
            notes.append(f"style tree: {entry['style_tree']}")
        if entry.get("skipped"):
            notes.append(f"not scored: {entry['skipped']}")
        if entry.get("release_skips"):
            notes.append(f"skipped reading the release: {entry['release_skips']['summary']}")
        rows.append(
            [
                task,
                entry.get("model", DASH),
                DASH if n is None else str(n),
                problems or "none",
                f"`{entry['predictions']}`" if entry.get("predictions") else DASH,
                "; ".join(notes) or DASH,
            ]
        )
    header = ["task", "model", "scored", "missing / duplicate / unknown ids", "predictions", "notes"]
    lines += [_markdown_table(header, rows), ""]
    return lines


# --------------------------------------------------------------------------------------------------------------
# plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scored_entries(runs: Sequence[dict], task: str) -> list[tuple[str, dict]]:
    """(label, scores) of each run that scored `task`."""
    entries = []
    for run in runs:
        entry = run.get("tasks", {}).get(task)
        if entry and entry.get("scores"):
            entries.append((f"{entry['model']} ({run['split']})", entry["scores"]))
    return entries


def plot_vqa_accuracy(runs: Sequence[dict], path: str) -> Optional[str]:
    """Bar chart of VQA accuracy by question type (content, style, all), one bar group per model."""
    entries = _scored_entries(runs, "vqa")
    if not entries:
        return None
    plt = _pyplot()
    types = [("content", "accuracy_content"), ("style", "accuracy_style"), ("all", "accuracy")]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    width = 0.8 / len(entries)
    for i, (label, scores) in enumerate(entries):
        values = [100.0 * (scores.get(key) or 0.0) for _, key in types]
        bars = ax.bar([t + i * width for t in range(len(types))], values, width, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks([t + width * (len(entries) - 1) / 2 for t in range(len(types))], [name for name, _ in types])
    ax.axhline(25.0, color="grey", linestyle=":", linewidth=1, label="chance (4 options)")
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Multiple-choice VQA accuracy by question type")
    ax.legend(fontsize=7, loc="upper right")
    return _save(fig, plt, path)


def _per_category(scores: dict) -> tuple[dict[str, float], str]:
    """(category -> recall at the smallest k, "recall@k"), from `style_recall`'s per-category table."""
    table = scores.get("per_category") or {}
    result: dict[str, float] = {}
    name = "recall"
    items = table.items() if isinstance(table, dict) else ((row.get("category"), row) for row in table)
    for category, value in items:
        if isinstance(value, (int, float)):
            result[str(category)] = float(value)
        elif isinstance(value, dict):
            recalls = sorted((k for k in value if k.startswith("recall@")), key=lambda k: int(k.split("@")[1]))
            if recalls and isinstance(value[recalls[0]], (int, float)):
                result[str(category)] = float(value[recalls[0]])
                name = recalls[0]
    return result, name


def plot_style_recall(runs: Sequence[dict], path: str) -> Optional[str]:
    """Per-category style recall (horizontal bars, one panel per model) when a style tree was used; else recall@k."""
    entries = _scored_entries(runs, "style")
    if not entries:
        return None
    plt = _pyplot()
    per_category = [(label, _per_category(scores)) for label, scores in entries]
    if any(cats for _, (cats, _) in per_category):
        height = max(2.5, 0.28 * max(len(c) for _, (c, _) in per_category) + 1.2)
        fig, axes = plt.subplots(1, len(entries), figsize=(6.4 * len(entries), height), squeeze=False)
        for ax, (label, (cats, metric)) in zip(axes[0], per_category):
            names = sorted(cats, key=lambda c: (cats[c], c))
            ax.barh(names, [100.0 * cats[c] for c in names])
            ax.set_xlim(0, 100)
            ax.set_xlabel(f"{metric} within the category (%)")
            ax.set_title(f"Per-category style recall\n{label}", fontsize=9)
            ax.tick_params(axis="y", labelsize=7)
    else:
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for label, scores in entries:
            ks = sorted(int(k.split("@")[1]) for k in scores if k.startswith("recall@"))
            ax.plot(ks, [100.0 * scores[f"recall@{k}"] for k in ks], marker="o", label=label)
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k (%)")
        ax.set_ylim(0, 105)
        ax.set_title("Style recall@k (no style tree given: per-category recall needs one)", fontsize=9)
        ax.legend(fontsize=7)
    return _save(fig, plt, path)


def plot_score_distributions(runs: Sequence[dict], path: str) -> Optional[str]:
    """Histograms of per-sample scores (one panel per task and score)."""
    panels = []
    for run in runs:
        for task, entry in run.get("tasks", {}).items():
            for name, values in (entry.get("per_sample") or {}).items():
                clean = [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]
                if clean:
                    panels.append((f"{task}: {name}\n{entry['model']} ({run['split']})", clean))
    if not panels:
        return None
    plt = _pyplot()
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, (title, values) in zip(axes.ravel(), panels):
        ax.hist(values, bins=20, range=(min(0.0, min(values)), max(1.0, max(values))))  # cosines can be < 0
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("samples", fontsize=8)
        ax.axvline(sum(values) / len(values), color="black", linestyle="--", linewidth=1)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    fig.suptitle("Per-sample score distributions (dashed: mean)", fontsize=10)
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})  # no version stamp: same inputs, same bytes
    plt.close(fig)
    return path


PLOTS = {
    "vqa_accuracy_by_type.png": plot_vqa_accuracy,
    "style_recall_per_category.png": plot_style_recall,
    "score_distributions.png": plot_score_distributions,
}


def write_report(
    runs: dict | Sequence[dict],
    out_dir: str | os.PathLike,
    title: str = "JourneyDB benchmark",
    images: Any = None,
    timing: Optional[dict] = None,
    cache_dir: Optional[str] = None,
) -> list[str]:
    """Write `report.md`, the PNG plots and `report.html` (`report_html`) into `out_dir`; returns the paths written.

    `images`: a dataset with `image_id` and `image` to take the gallery's thumbnails from (default: the split of
    each run's `data_dir`, loaded with `cache_dir` as the builder's). `timing` (`timing.write_timing`'s dict) adds
    the run's cost table to `report.md`."""
    runs = [runs] if isinstance(runs, dict) else list(runs)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    report = os.path.join(out_dir, "report.md")
    with open(report, "w", encoding="utf-8") as f:
        f.write(render_markdown(runs, title=title))
        if timing:
            f.write("\n" + "\n".join(timing_markdown(timing)))
    written.append(report)
    for name, plot in PLOTS.items():
        path = plot(runs, os.path.join(out_dir, name))
        if path:
            written.append(path)
    from .report_html import write_html  # it renders the tables and plots made above

    written.append(write_html(runs, out_dir, title=title, images=images, cache_dir=cache_dir))
    return written
