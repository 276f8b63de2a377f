"""`report.html`: one self-contained page (no network) with the paper-style tables, the plots and per task a gallery.

The page is `report_template.html` (package data) filled in here: the tables as HTML (every cell escaped), the PNG
plots `report.write_report` just wrote, embedded as data URIs, and one JSON block holding the gallery cards
(`gallery.build_gallery`, from `results["tasks"][task]["gallery"]`) and their thumbnails. The template's small
script builds the cards from that JSON with `textContent` only, so prompts with `<`, `&`, quotes or emoji show as
written. Thumbnails (JPEG, at most 256 px a side) are made from the gallery's images alone: by row from the benchmark's
dataset, or streamed from the scored split until each is found (nothing prepared, no other split read).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import os
import re
from importlib import resources
from typing import Any, Iterator, Optional, Sequence

from .report import BASELINE_NOTE, MINI_RELEASE_NOTE, PLOTS, paper_tables
from .tasks import get_task

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 256
_TEMPLATE = "report_template.html"


def _script_json(value: Any) -> str:
    """JSON that cannot end its <script> element early (`</script>`, `<!--`) whatever the prompts hold."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _markdown_inline(text: str) -> str:
    """The notes' `code` and **bold**, escaped first."""
    parts = html.escape(text).split("`")
    out = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    bold = out.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(bold))


def _tables_html(runs: Sequence[dict]) -> str:
    out = []
    for heading, (header, rows) in paper_tables(runs):
        out.append(f"<h2>{html.escape(heading)}</h2>\n<table class=\"paper-table\">")
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows]
        out.append("</table>")
    return "\n".join(out)


def _plots_html(out_dir: str) -> str:
    images = []
    for name in PLOTS:
        path = os.path.join(out_dir, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
            images.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">')
    return "\n".join(images)


def thumbnail(image_bytes: bytes, size: int = THUMBNAIL_SIZE) -> str:
    """A JPEG data URI of the image shrunk to fit `size` x `size` (never enlarged)."""
    from PIL import Image

    with Image.open(io.BytesIO(image_bytes)) as image:
        image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, the full image is never needed
        small = image.convert("RGB")
        small.thumbnail((size, size))
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _gallery_rows(
    run: dict, task: str, wanted: set[str], images: Any, cache_dir: Optional[str] = None
) -> Iterator[tuple[str, dict]]:
    """(image_id, undecoded image) of the wanted ids. From `images` (the benchmark's dataset) by row; otherwise the
    scored split of the task's own config (the test split's images: `vqa`) is streamed until every wanted image is
    found: nothing is prepared, no other split is opened."""
    import datasets

    if images is None:
        from .export_source import open_split

        config = get_task(task).config if run["split"] != "test" else "vqa"
        images = open_split(config, run["data_dir"], run["split"], streaming=True, cache_dir=cache_dir)
    if isinstance(images, datasets.Dataset):
        images = images.select([i for i, image_id in enumerate(images["image_id"]) if image_id in wanted])
    images = images.select_columns(["image_id", "image"]).cast_column("image", datasets.Image(decode=False))
    left = set(wanted)
    for row in images:
        if row["image_id"] in left:
            left.discard(row["image_id"])
            yield row["image_id"], row["image"]
            if not left:
                return


def _thumbnails(
    run: dict, task: str, wanted: set[str], images: Any, cache_dir: Optional[str] = None
) -> dict[str, str]:
    """image_id -> thumbnail for the wanted ids, reading only their rows; what cannot be read is logged."""
    if not wanted:
        return {}
    thumbs, bad = {}, []
    try:
        for image_id, image in _gallery_rows(run, task, wanted, images, cache_dir):
            try:
                thumbs[image_id] = thumbnail(image["bytes"])
            except OSError as err:  # PIL's UnidentifiedImageError is an OSError
                bad.append(f"{image_id} ({err})")
    except (FileNotFoundError, ValueError, OSError) as err:
        logger.warning("report.html: no thumbnails for the %s split of %s (%s)", run["split"], run["data_dir"], err)
        return thumbs
    missing = wanted - thumbs.keys() - {b.split(" ")[0] for b in bad}
    if bad or missing:
        logger.warning(
            "report.html: %s: %d gallery image(s) unreadable, %d not found in the %s split; e.g. %s",
            task, len(bad), len(missing), run["split"], ", ".join((bad + sorted(missing))[:3]),
        )
    return thumbs


def gallery_data(runs: Sequence[dict], images: Any = None, cache_dir: Optional[str] = None) -> dict[str, Any]:
    """The page's JSON: per (run, task) its cards, and the thumbnails of all cards' images (each image once)."""
    tasks, thumbs = [], {}
    for run in runs:
        for name, entry in run.get("tasks", {}).items():
            cards = entry.get("gallery") or []
            if not cards:
                continue
            spec = get_task(name)
            tasks.append(
                {"task": name, "title": spec.title, "model": entry.get("model", ""), "split": run["split"],
                 "judged": spec.prompts_from is not None, "cards": cards}
            )
            wanted = {card["image_id"] for card in cards} - thumbs.keys()  # an image shown by several tasks once
            thumbs.update(_thumbnails(run, name, wanted, images if len(runs) == 1 else None, cache_dir))
    return {"tasks": tasks, "thumbnails": thumbs}


def render_html(
    runs: Sequence[dict], out_dir: str, title: str, images: Any = None, cache_dir: Optional[str] = None
) -> str:
    template = resources.files(__package__).joinpath(_TEMPLATE).read_text(encoding="utf-8")
    notes = [MINI_RELEASE_NOTE] if any(run.get("mini_release") for run in runs) else []
    notes.append(BASELINE_NOTE)
    filled = {
        "__TITLE__": html.escape(title),
        "__NOTES__": "\n".join(f"<p>{_markdown_inline(n)}</p>" for n in notes),
        "__TABLES__": _tables_html(runs),
        "__PLOTS__": _plots_html(out_dir),
        "__DATA__": _script_json(gallery_data(runs, images, cache_dir)),
    }
    # one pass: text put in (a prompt, a model name) is never searched for markers again
    return re.sub("|".join(filled), lambda m: filled[m.group(0)], template)


def write_html(
    runs: Sequence[dict],
    out_dir: str,
    title: str = "JourneyDB benchmark",
    images: Optional[Any] = None,
    cache_dir: Optional[str] = None,
) -> str:
    """Write `out_dir/report.html` (after the plots, which it embeds); returns its path."""
    path = os.path.join(out_dir, "report.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_html(runs, out_dir, title, images, cache_dir))
    return path
