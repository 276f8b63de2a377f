"""report.html: the gallery's selection and cards, its escaping, and the page rendered by a real browser (headless
Debian chromium: `.ci/run` installs it; the browser tests skip, saying why, only where it is absent)."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from journeydb.evaluation.benchmark import BenchmarkOptions, run_benchmark
from journeydb.evaluation.gallery import build_gallery, select
from journeydb.evaluation.references import TaskReferences
from journeydb.evaluation.report_html import _script_json, write_html
from journeydb.evaluation.score import ScoringOptions, TaskScore

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (`apt-get install -y chromium`; .ci/run installs it as root)"
)
NASTY = 'a </script><b>bold</b> & "double" \'single\' <!-- 🐱 café'


def _chromium(tmp_path: Path, page: Path, *args: str, fragment: str = "") -> subprocess.CompletedProcess:
    # without the networking flags chromium waits for the network, which this closed machine does not have
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    argv = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args, page.resolve().as_uri() + fragment,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=True)


def _dom(tmp_path: Path, page: Path, fragment: str = "") -> str:
    return _chromium(tmp_path, page, "--dump-dom", fragment=fragment).stdout


def _cards(dom: str, task: str) -> list[str]:
    section = dom.split(f'id="gallery-{task}"', 1)[1].split('class="gallery"', 1)[0]
    return re.findall(r'<div class="card[^"]*" data-rank="([^"]*)"', section)


def _cards_of(n: int) -> list[dict]:
    return [{"image_id": f"img{i:02d}", "rank": (i * 7) % n / n} for i in range(n)]


def test_selection_takes_the_ends_and_a_seeded_draw_from_the_rest():
    cards = _cards_of(40) + [{"image_id": "no-gold", "rank": None}]
    chosen = select(cards, 5)
    groups = [c["group"] for c in chosen]
    assert groups == ["worst"] * 5 + ["best"] * 5 + ["random"] * 5
    ranks = sorted(c["rank"] for c in cards if c["rank"] is not None)
    assert [c["rank"] for c in chosen[:5]] == ranks[:5]
    assert [c["rank"] for c in chosen[5:10]] == ranks[::-1][:5]
    assert len({c["image_id"] for c in chosen}) == 15
    assert select(cards, 5) == chosen  # seeded: the same run gives the same gallery
    assert select(list(reversed(cards)), 5) == chosen  # and the input order does not matter
    small = select(_cards_of(6), 100)
    assert [c["group"] for c in small] == ["worst"] * 3 + ["best"] * 3
    assert select(cards, 0) == []


def test_cards_carry_per_sample_scores_hits_and_letters():
    refs = TaskReferences("style", "validation", ["a", "b"], ["a", "b"], [["Oil Painting", "8k"], []])
    score = TaskScore("style", {}, samples={"recall@1": [1.0, float("nan")], "recall@2": [0.5, float("nan")]})
    cards = build_gallery(refs, [["oil painting", "bokeh", "8k"], ["x"]], score, size=1)
    by_id = {c["image_id"]: c for c in cards}
    assert by_id["a"]["hits"] == ["oil painting"] and by_id["a"]["prediction"] == ["oil painting", "bokeh"]
    assert by_id["b"]["scores"] == {"recall@1": None, "recall@2": None} and by_id["b"]["group"] == "random"
    vqa = TaskReferences(
        "vqa", "validation", ["a-style-0", "a-content-0"], ["a", "a"], ["B", "C"],
        question_types=["style", "content"], options=[list("wxyz")] * 2, questions=["Style?", "What?"],
    )
    scored = TaskScore("vqa", {}, samples={"letter": ["B", None], "correct": [True, False]})
    (card,) = build_gallery(vqa, ["b", "no idea"], scored, size=1)
    assert card["scores"] == {"accuracy": 0.5}
    assert [(q["chosen"], q["correct"], q["right"], q["reply"]) for q in card["questions"]] == [
        ("B", "B", True, "b"), (None, "C", False, "no idea")
    ]


def test_gallery_json_cannot_close_its_script_element():
    text = _script_json({"p": NASTY})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"p": NASTY}


def _jpeg(colour: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@needs_chromium
def test_prompts_with_markup_and_emoji_render_as_text(tmp_path):
    import datasets

    refs = TaskReferences("caption", "validation", ["x1", "x2"], ["x1", "x2"], [NASTY, "plain"])
    score = TaskScore("caption", {}, samples={"bleu_4": [0.1, 0.9], "cider": [0.2, 2.0], "similarity": [0.3, 0.8]})
    gallery = build_gallery(refs, ["__DATA__ " + NASTY, "plain"], score)
    run = {"split": "validation", "data_dir": "/nowhere", "tasks": {"caption": {
        "model": "m <i>&amp;</i>", "scores": {"bleu_4": 0.5, "num_samples": 2}, "gallery": gallery}}}
    images = datasets.Dataset.from_dict(
        {"image_id": ["x1", "x2", "unused"],
         "image": [{"bytes": _jpeg("red", (900, 600)), "path": None}, {"bytes": _jpeg("blue", (40, 30)), "path": None},
                   {"bytes": b"not read", "path": None}]}
    ).cast_column("image", datasets.Image())
    page = Path(write_html([run], str(tmp_path), title='t <&> "q"', images=images))
    raw = page.read_text(encoding="utf-8")
    assert "<b>bold" not in raw and "</script><b>" not in raw
    dom = _dom(tmp_path, page)
    assert "<b>" not in dom and "<i>" not in dom  # no element was made from the data
    assert html.escape(NASTY, quote=False) in dom and "🐱" in dom
    assert "m &lt;i&gt;&amp;amp;&lt;/i&gt;" in dom  # the model label in the table, escaped once
    thumbs = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', dom)
    assert len(thumbs) == 2
    import base64

    sizes = sorted(Image.open(io.BytesIO(base64.b64decode(t))).size for t in thumbs)
    assert sizes == [(40, 30), (256, 171)]  # shrunk to fit 256 px, never enlarged


@pytest.fixture(scope="module")
def mini_report(mini_release, tmp_path_factory) -> Path:
    """`journeydb benchmark`'s default job (the baselines on the mini-release) with 3 + 3 + 3 gallery samples."""
    out = tmp_path_factory.mktemp("report")
    run_benchmark(
        BenchmarkOptions(data_dir=str(mini_release), out=str(out), gallery_size=3, scoring=ScoringOptions(meteor=False))
    )
    return out


@needs_chromium
def test_mini_release_report_in_a_browser(mini_report, tmp_path):
    results = json.loads((mini_report / "results.json").read_text(encoding="utf-8"))
    page = mini_report / "report.html"
    dom = _dom(tmp_path, page)
    assert dom.count('<table class="paper-table">') == 5  # Tables 3, 4, 5, 6 and 8
    assert "Table 6: Multiple-choice VQA" in dom and dom.count('<img alt="') == 3  # the three plots
    for task, entry in results["tasks"].items():
        assert len(entry["gallery"]) == 9  # every task has more than 9 scored images
        ranks = [float(r) for r in _cards(dom, task) if r]
        assert len(_cards(dom, task)) == 9
        assert ranks == sorted(ranks), task  # worst first by default
    assert dom.count('class="card"') == 45
    assert dom.count('src="data:image/jpeg;base64,') == 45  # every card has its thumbnail
    descending = _dom(tmp_path, page, fragment="#sort=rank:desc")
    for task in results["tasks"]:
        ranks = [float(r) for r in _cards(descending, task) if r]
        assert ranks == sorted(ranks, reverse=True) and ranks != sorted(ranks), task
    shot = tmp_path / "report.png"
    _chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1400,2400")
    with Image.open(shot) as image:
        assert image.size == (1400, 2400)
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 50  # the tables and plots, not a blank page
