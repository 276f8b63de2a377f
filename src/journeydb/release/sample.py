"""A small synthetic JourneyDB release in the exact real layout, dirt included: the project's embedded default.

Everything is drawn from one seeded RNG, and archives are written with fixed timestamps, so the same seed gives the
same bytes. Images are real JPEGs drawn from their prompts (the object's colour and shape, a background tied to the
first style phrase), so that simple image-feature baselines have signal.

Dirt reproduced from the real release: the `realease` typo, `./NNN/` paths,
directory and non-image entries inside shards, images nobody annotated, the legacy crawl-path `train_anno.jsonl`,
a missing `Task2`, a `None` and a blank caption, answers as "B", "B.", "(B)", "B. text" or the option text, option
labels in shuffled order, a malformed Task3 item, prompts with Midjourney parameters, brackets, `::` weights,
emoji, accents and CJK, a trailing comma, and test questions whose answers are absent or empty.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import random
import shutil
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from PIL import Image, ImageDraw

from .cache import cache_root
from .records import ANNOTATION_FILES, LEGACY_TRAIN_ANNOTATION_FILE, LETTERS, TASK3_KEYS

logger = logging.getLogger(__name__)

SAMPLE_VERSION = "1"
DEFAULT_SEED = 0

COLOURS = {
    "red": (214, 39, 40),
    "blue": (31, 119, 180),
    "green": (44, 160, 44),
    "yellow": (240, 220, 30),
    "purple": (148, 103, 189),
    "orange": (255, 127, 14),
}
# shape drawn -> nouns a prompt may use for it
SHAPES = {
    "circle": ["sun", "balloon", "moon"],
    "square": ["box", "window", "cube"],
    "triangle": ["pyramid", "mountain", "sail"],
}
# first style phrase -> (background name, RGB): the style is visible in the picture
STYLES = {
    "oil painting": ("brown", (120, 80, 50)),
    "watercolor": ("cream", (245, 235, 210)),
    "cinematic lighting": ("black", (15, 15, 20)),
    "pastel colors": ("pink", (250, 200, 215)),
    "neon glow": ("navy", (20, 20, 80)),
    "pencil sketch": ("white", (250, 250, 250)),
}
EXTRA_STYLES = [
    "hyper-realistic",
    "8k",
    "bokeh",
    "by Greg Rutkowski",
    "trending on artstation",
    "f/1.8",
    "35mm",
    "volumetric light",
    "film grain",
    "unreal engine",
]
ATMOSPHERES = ["serene", "mysterious", "joyful", "melancholic"]
DECORATIONS = [  # Midjourney-style dirt appended to prompts
    " --ar 16:9 --v 5",
    " --v 4 --q 2",
    ", (masterpiece)",
    ", [highly detailed]",
    " ::2 sky::-0.5",
    " 🎨✨",
    ", café naïve style",
    ", 東京 at night",
    ",",
    "",
]
ANSWER_FORMS = ("letter", "letter-dot", "paren", "letter-text", "text")

SPLITS = {  # split folder -> (shards, labelled images per shard, unlabelled images per shard)
    "train": (3, 10, 1),
    "valid": (2, 8, 0),
}
TEST_IMAGES = 10


@dataclass
class SplitManifest:
    """What the generator wrote for one split: the numbers `journeydb info` must report."""

    images: int = 0
    labeled_images: int = 0
    prompts: set[str] = field(default_factory=set)
    style_qa: int = 0
    content_qa: int = 0
    malformed_questions: int = 0
    captions_missing: int = 0
    shards: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "images": self.images,
            "labeled_images": self.labeled_images,
            "labeled_prompts": len(self.prompts),
            "style_qa": self.style_qa,
            "content_qa": self.content_qa,
            "malformed_questions": self.malformed_questions,
            "captions_missing": self.captions_missing,
            "shards": self.shards,
        }


# --------------------------------------------------------------------------------------------------------------
# archive writing (deterministic bytes)


def _tar_gz(path: Path, members: list[tuple[str, Optional[bytes]]]) -> None:
    """A .tgz with fixed timestamps and owners; `None` content means a directory entry."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if data is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                else:
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


# --------------------------------------------------------------------------------------------------------------
# content


@dataclass
class _Spec:
    colour: str
    shape: str
    noun: str
    style: str
    extras: list[str]
    atmosphere: list[str]
    decoration: str


def _draw(spec: _Spec, rng: random.Random) -> bytes:
    width, height = 128, 96
    image = Image.new("RGB", (width, height), STYLES[spec.style][1])
    draw = ImageDraw.Draw(image)
    size = rng.randint(34, 52)
    x0, y0 = rng.randint(4, width - size - 4), rng.randint(4, height - size - 4)
    fill = COLOURS[spec.colour]
    if spec.shape == "circle":
        draw.ellipse((x0, y0, x0 + size, y0 + size), fill=fill)
    elif spec.shape == "square":
        draw.rectangle((x0, y0, x0 + size, y0 + size), fill=fill)
    else:
        draw.polygon([(x0, y0 + size), (x0 + size, y0 + size), (x0 + size // 2, y0)], fill=fill)
    for _ in range(40):  # a little texture so JPEGs differ like photos do
        px, py = rng.randrange(width), rng.randrange(height)
        shade = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in STYLES[spec.style][1])
        draw.point((px, py), fill=shade)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _new_spec(rng: random.Random) -> _Spec:
    shape = rng.choice(sorted(SHAPES))
    return _Spec(
        colour=rng.choice(sorted(COLOURS)),
        shape=shape,
        noun=rng.choice(SHAPES[shape]),
        style=rng.choice(sorted(STYLES)),
        extras=rng.sample(EXTRA_STYLES, rng.randint(1, 3)),
        atmosphere=[rng.choice(ATMOSPHERES)] if rng.random() < 0.5 else [],
        decoration=rng.choice(DECORATIONS),
    )


def _prompt(spec: _Spec) -> str:
    background = STYLES[spec.style][0]
    words = [f"a {spec.colour} {spec.noun} on a {background} background", spec.style, *spec.extras, *spec.atmosphere]
    return ", ".join(words) + spec.decoration


def _clean_prompt(spec: _Spec) -> str:
    """What a human cleaner keeps (the paper's 'clean prompt'): no parameters, weights or decorations."""
    background = STYLES[spec.style][0]
    return ", ".join([f"a {spec.colour} {spec.noun} on a {background} background", spec.style, *spec.extras])


def _options(correct: str, pool: list[str], rng: random.Random) -> tuple[list[str], str]:
    distractors = rng.sample([p for p in pool if p != correct], 3)
    options = [correct, *distractors]
    rng.shuffle(options)
    return options, LETTERS[options.index(correct)]


def _answer_text(letter: str, options: list[str], form: str) -> str:
    text = options[LETTERS.index(letter)]
    return {
        "letter": letter,
        "letter-dot": f"{letter}.",
        "paren": f"({letter})",
        "letter-text": f"{letter}. {text}",
        "text": text,
    }[form]


def _question_item(question: str, options: list[str], letter: str, rng: random.Random, answer: Optional[str]) -> dict:
    labels = list(LETTERS)
    if rng.random() < 0.3:  # option labels in another order, as GPT sometimes wrote them
        rng.shuffle(labels)
    item: dict[str, Any] = {"Question": question, "Options": {lab: options[LETTERS.index(lab)] for lab in labels}}
    if answer is not None:
        item["Answer"] = answer
    return item


def _task3(spec: _Spec, rng: random.Random, with_answers: bool) -> dict[str, list[dict]]:
    def answer(letter: str, options: list[str]) -> Optional[str]:
        return _answer_text(letter, options, rng.choice(ANSWER_FORMS)) if with_answers else None

    style_items = []
    opts, letter = _options(spec.style, sorted(STYLES), rng)
    style_items.append(_question_item("What is the art style of the image?", opts, letter, rng, answer(letter, opts)))
    if rng.random() < 0.5:
        background = STYLES[spec.style][0]
        opts, letter = _options(background, sorted(name for name, _ in STYLES.values()), rng)
        style_items.append(
            _question_item("What colour is the background?", opts, letter, rng, answer(letter, opts))
        )
    content_items = []
    opts, letter = _options(spec.colour, sorted(COLOURS), rng)
    content_items.append(
        _question_item(f"What colour is the {spec.noun}?", opts, letter, rng, answer(letter, opts))
    )
    nouns = sorted(n for ns in SHAPES.values() for n in ns)
    opts, letter = _options(spec.noun, nouns, rng)
    content_items.append(_question_item("What object is shown?", opts, letter, rng, answer(letter, opts)))
    return {TASK3_KEYS["style"]: style_items, TASK3_KEYS["content"]: content_items}


def _annotation(spec: _Spec, img_path: str, rng: random.Random) -> dict[str, Any]:
    background = STYLES[spec.style][0]
    return {
        "img_path": img_path,
        "prompt": _prompt(spec),
        "Task1": {
            "Style": [spec.style, *spec.extras],
            "Content": [f"{spec.colour} {spec.noun}", f"{background} background"],
            "Atmosphere": spec.atmosphere,
            "Others": ["--ar 16:9"] if "--ar" in spec.decoration else [],
        },
        "Task2": {"Caption": f"A {spec.colour} {spec.noun} on a {background} background, in {spec.style} style."},
        "Task3": _task3(spec, rng, with_answers=True),
    }


def _new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------------------------------------------
# the release


def _write_split(root: Path, folder: str, rng: random.Random) -> tuple[SplitManifest, list[dict]]:
    shards, per_shard, unlabeled = SPLITS[folder]
    manifest = SplitManifest(shards=shards)
    split_dir = root / "data" / folder
    (split_dir / "imgs").mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    previous: Optional[tuple[_Spec, dict[str, Any]]] = None
    for shard in range(shards):
        name = f"{shard:03d}"
        members: list[tuple[str, Optional[bytes]]] = [(f"{name}/", None)]  # the directory entry real shards have
        for index in range(per_shard + unlabeled):
            image_uuid = _new_uuid(rng)
            # about one image in three reuses the previous prompt, as Midjourney users upscale several variants
            if previous is not None and rng.random() < 0.35:
                spec, template = previous
                record = json.loads(json.dumps(template))
            else:
                spec = _new_spec(rng)
                record = None
            members.append((f"{name}/{image_uuid}.jpg", _draw(spec, rng)))
            manifest.images += 1
            if index >= per_shard:  # an image nobody annotated
                continue
            if record is None:
                record = _annotation(spec, "", rng)
            record["img_path"] = f"./{name}/{image_uuid}.jpg"
            previous = (spec, record)
            records.append(record)
        if shard == 0:
            members.append((f"{name}/info.txt", b"not an image\n"))  # non-image members are ignored
        _tar_gz(split_dir / "imgs" / f"{name}.tgz", members)
    _add_dirt(records, folder)
    for record in records:
        manifest.labeled_images += 1
        manifest.prompts.add(record["prompt"])
        task2 = record.get("Task2")
        caption = task2.get("Caption") if isinstance(task2, dict) else None
        if not isinstance(caption, str) or not caption.strip():
            manifest.captions_missing += 1
        for qtype, key in TASK3_KEYS.items():
            for item in record["Task3"][key]:
                if item.get("_malformed"):
                    manifest.malformed_questions += 1
                    del item["_malformed"]
                elif qtype == "style":
                    manifest.style_qa += 1
                else:
                    manifest.content_qa += 1
    annotation_name = ANNOTATION_FILES[folder]
    _tar_gz(split_dir / f"{annotation_name}.tgz", [(annotation_name, _jsonl(records))])
    return manifest, records


def _add_dirt(records: list[dict[str, Any]], folder: str) -> None:
    """Deterministic dirt on fixed rows (distinct rows, each kept readable apart from what is named)."""
    # records sharing a prompt share their dicts' content but not identity (deep-copied above)
    del records[1]["Task2"]  # a missing Task2
    records[2]["Task2"]["Caption"] = None  # a None caption
    records[3]["Task2"]["Caption"] = "   "  # a blank caption
    bad = records[4]["Task3"][TASK3_KEYS["content"]][0]
    bad["Answer"] = "E"  # a malformed Task3 item: no such option
    bad["_malformed"] = True
    bad2 = records[5]["Task3"][TASK3_KEYS["style"]][0]
    del bad2["Options"]["D"]  # a malformed Task3 item: only three options
    bad2["_malformed"] = True
    records[6]["prompt"] = records[6]["prompt"] + ","  # a trailing comma
    records[7]["prompt"] = "  " + records[7]["prompt"].replace(", ", ",  ", 1)  # odd spacing


def _legacy_train_annotations(records: list[dict[str, Any]], rng: random.Random) -> bytes:
    """`train_anno.jsonl`: the same annotations with crawl paths that match no shard (the builder ignores it)."""
    legacy = []
    for record in records:
        words = "_".join(record["prompt"].split()[:4]).replace(",", "")
        image_uuid = record["img_path"].rsplit("/", 1)[-1][:-4]
        legacy.append(dict(record, img_path=f"MidjourneyDB_03_latest/./imgs/Upscaled_user{rng.randint(1, 99)}_{words}_{image_uuid}.jpg"))
    return _jsonl(legacy)


def _write_test(root: Path, rng: random.Random) -> tuple[SplitManifest, list[dict]]:
    manifest = SplitManifest(shards=1)
    test_dir = root / "data" / "test"
    test_dir.mkdir(parents=True, exist_ok=True)
    members: list[tuple[str, Optional[bytes]]] = [("imgs/", None)]
    questions, truth = [], []
    for index in range(TEST_IMAGES):
        spec = _new_spec(rng)
        image_uuid = _new_uuid(rng)
        members.append((f"imgs/{image_uuid}.jpg", _draw(spec, rng)))
        full = _annotation(spec, f"./imgs/{image_uuid}.jpg", rng)
        full["clean_prompt"] = _clean_prompt(spec)
        truth.append(full)
        task3 = json.loads(json.dumps(full["Task3"]))
        for items in task3.values():
            for item in items:  # the release withholds answers: absent, or left empty
                if index % 2:
                    item["Answer"] = ""
                else:
                    item.pop("Answer")
        questions.append({"img_path": full["img_path"], "Task3": task3})
        manifest.images += 1
        manifest.labeled_images += 1
        manifest.style_qa += len(task3[TASK3_KEYS["style"]])
        manifest.content_qa += len(task3[TASK3_KEYS["content"]])
    _tar_gz(test_dir / "imgs.tgz", members)
    name = ANNOTATION_FILES["test"]
    _tar_gz(test_dir / f"{name}.tgz", [(name, _jsonl(questions))])
    return manifest, truth


_README_TITLE = "# JourneyDB mini-release (synthetic)"
_README = _README_TITLE + """

Written by `journeydb sample` (seed {seed}): a few dozen synthetic images in the exact layout of the real release
(HF dataset repo JourneyDB/JourneyDB), dirt included. Not JourneyDB data; for tests, demos and CI.

`ground_truth/test_annotations.jsonl` plays the organisers' withheld test ground truth (pass it as
`test_annotations=` to the `test-clean` config); the real release has no such file.
"""


def write_sample_release(out: str | os.PathLike, seed: int = DEFAULT_SEED) -> dict[str, dict[str, int]]:
    """Write the mini-release under `out` (which must not exist or be empty); return what was written per split."""
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty; choose a new folder")
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    manifests: dict[str, dict[str, int]] = {}
    train_manifest, train_records = _write_split(root, "train", rng)
    manifests["train"] = train_manifest.as_dict()
    _tar_gz(
        root / "data" / "train" / f"{LEGACY_TRAIN_ANNOTATION_FILE}.tgz",
        [(LEGACY_TRAIN_ANNOTATION_FILE, _legacy_train_annotations(train_records, rng))],
    )
    manifests["valid"] = _write_split(root, "valid", rng)[0].as_dict()
    test_manifest, truth = _write_test(root, rng)
    manifests["test"] = test_manifest.as_dict()
    (root / "ground_truth").mkdir()
    (root / "ground_truth" / "test_annotations.jsonl").write_bytes(_jsonl(truth))
    (root / "README.md").write_text(_README.format(seed=seed), encoding="utf-8")
    (root / "manifest.json").write_text(json.dumps(manifests, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    logger.info("wrote the JourneyDB mini-release to %s", root)
    return manifests


def sample_dir() -> str:
    """Path of a ready copy of the mini-release (default seed), written once into the journeydb cache.

    The cache is `$JOURNEYDB_CACHE` or `~/.cache/journeydb`; the copy is built in a temporary folder and renamed
    into place, so concurrent first calls are safe.
    """
    target = cache_root() / f"sample-v{SAMPLE_VERSION}-seed{DEFAULT_SEED}"
    if (target / "manifest.json").exists():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-", dir=target.parent))
    try:
        write_sample_release(tmp / "release")
        try:
            os.replace(tmp / "release", target)
        except OSError:
            if not (target / "manifest.json").exists():  # lost a race to a complete copy: fine; otherwise raise
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def is_synthetic_release(data_dir: str) -> bool:
    """Whether `data_dir` is a mini-release written by `journeydb sample` (its README says so)."""
    try:
        with open(os.path.join(data_dir, "README.md"), encoding="utf-8") as f:
            return f.readline().startswith(_README_TITLE)
    except OSError:
        return False
