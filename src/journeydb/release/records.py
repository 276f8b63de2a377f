"""The JourneyDB release as it is on disk: file names, JSONL records, `img_path` checks, answer normalisation.

This module knows nothing of `datasets`: it turns raw annotation lines into plain records and says, with file and
line, what it could not read. The README's "The layout it reads" lists what is known of the real release.
The release's layout is described in `layout`.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Literal, Optional

logger = logging.getLogger(__name__)

OnBadRecords = Literal["error", "warn", "skip"]
ON_BAD_RECORDS_CHOICES = ("error", "warn", "skip")
WARN_LOG_LIMIT = 5  # bad records logged one by one per kind, per read
_WARNED: set[tuple[str, str]] = set()  # (where, reason) already logged: at most WARN_LOG_LIMIT per kind and read

# split name as `datasets` sees it -> folder under data/
SPLIT_DIRS = {"train": "train", "validation": "valid", "test": "test"}
# annotation file per split folder, as released (typo included)
ANNOTATION_FILES = {
    "train": "train_anno_realease_repath.jsonl",
    "valid": "valid_anno_repath.jsonl",
    "test": "test_questions.jsonl",
}
# the older crawl-path annotation file that ships beside the repath one; its paths match no shard, so it is not read
LEGACY_TRAIN_ANNOTATION_FILE = "train_anno.jsonl"

TASK3_KEYS = {
    "style": "Style Relevant Questions and Answers",
    "content": "Content Relevant Questions and Answers",
}
TASK1_KEYS = {"style": "Style", "content": "Content", "atmosphere": "Atmosphere", "others": "Others"}
LETTERS = ("A", "B", "C", "D")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# "C", "C.", "(C)", "C)", "C:", "C. text", "(C) text", "C) text", "C: text"
_LETTER_ANSWER = re.compile(r"^\s*\(?\s*([A-Da-d])\s*(?:[.):]\s*(.*))?\s*$", re.DOTALL)


class ReleaseFormatError(ValueError):
    """The release (a file, a line, a record) is not what JourneyDB looks like; the message names where."""


class BadRecord(ValueError):
    """One record or question that cannot be read; handled by the `on_bad_records` policy."""


@dataclass(frozen=True)
class Question:
    question_id: str
    type: str  # "style" | "content"
    question: str
    options: list[str]  # four option texts in A-D order
    answer: Optional[str]  # "A".."D", or None where the release withholds it

    def as_row(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "type": self.type,
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
        }


@dataclass
class Record:
    """One annotation line, read; `None` means the release did not give the field."""

    image_id: str
    img_path: str  # validated, relative, without leading "./"
    prompt: Optional[str] = None
    style: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    atmosphere: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    caption: Optional[str] = None
    questions: list[Question] = field(default_factory=list)
    clean_prompt: Optional[str] = None


@dataclass
class ReadStats:
    """What was read and what was skipped, with an example location per kind of skip."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def skip(self, kind: str, where: str) -> None:
        self.counts[kind] += 1
        self.examples.setdefault(kind, where)

    def summary(self) -> str:
        if not self.counts:
            return "nothing skipped"
        return "; ".join(f"{n} {kind} (e.g. {self.examples.get(kind, '?')})" for kind, n in sorted(self.counts.items()))


def check_on_bad_records(value: str) -> None:
    if value not in ON_BAD_RECORDS_CHOICES:
        raise ValueError(f"on_bad_records must be one of {ON_BAD_RECORDS_CHOICES}, got {value!r}")


def handle_bad(policy: OnBadRecords, stats: ReadStats, kind: str, where: str, reason: str) -> None:
    """Apply the policy to one bad record: raise, or count (and log when `warn`)."""
    if policy == "error":
        raise ReleaseFormatError(f"{where}: {reason} (pass on_bad_records='warn' or 'skip' to skip such records)")
    stats.skip(kind, where)
    if policy != "warn":
        return
    # a real split can hold thousands of bad items: log the first few of each kind, count the rest (the generator
    # logs the per-kind totals at the end)
    seen = stats.counts[kind]
    if seen <= WARN_LOG_LIMIT:
        # every config reads the same annotation file: say each bad record once per process (at DEBUG after that);
        # the counts, and each read's summary, still include it
        if (where, reason) in _WARNED:
            logger.debug("%s: %s; skipped (warned above)", where, reason)
        else:
            _WARNED.add((where, reason))
            logger.warning("%s: %s; skipped", where, reason)
    if seen == WARN_LOG_LIMIT:
        logger.warning("further %s are counted, not logged one by one", kind)



# --------------------------------------------------------------------------------------------------------------
# paths


def validate_img_path(img_path: Any, where: str) -> str:
    """Return the annotation's image path made relative (no leading "./"); reject what could escape the release.

    Annotation files are data from outside: an absolute path, a `..` component or a URL scheme in `img_path` could
    make a reader open files outside the release, so they are refused rather than resolved.
    """
    if not isinstance(img_path, str) or not img_path.strip():
        raise BadRecord(f"img_path must be a non-empty string, got {img_path!r}")
    path = img_path.strip().replace("\\", "/")
    if _URL_SCHEME.match(path) or path.startswith("/") or path.startswith("~"):
        raise BadRecord(f"img_path {img_path!r} is absolute or carries a URL scheme")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise BadRecord(f"img_path {img_path!r} is empty or contains '..'")
    return "/".join(parts)


def image_id_of(path: str) -> str:
    """The image file's base name without extension: the join key between annotations and archive members."""
    return posixpath.splitext(posixpath.basename(path))[0]


def shard_of(relative_img_path: str) -> Optional[str]:
    """`NNN` for a repath-style `NNN/<name>.jpg`, else None (test paths carry no shard)."""
    head, sep, _ = relative_img_path.partition("/")
    return head if sep and head.isdigit() else None


def is_image_member(name: str) -> bool:
    base = posixpath.basename(name)
    return not base.startswith(".") and base.lower().endswith(IMAGE_EXTENSIONS)


# --------------------------------------------------------------------------------------------------------------
# answers and options


def letter_of(text: str) -> Optional[str]:
    """The letter of "C", "C.", "(C)", "C) ...", "C. text"; None when `text` is not in one of those forms."""
    m = _LETTER_ANSWER.match(text)
    return m.group(1).upper() if m else None


def _norm_text(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .")


def normalize_options(options: Any) -> list[str]:
    """Four option texts in A-D order from a {"A": text, ...} mapping (keys in any order, "A." or "(A)" allowed)
    or from a list of four texts (optionally prefixed "A. ")."""
    if isinstance(options, dict):
        by_letter: dict[str, str] = {}
        for key, text in options.items():
            letter = letter_of(str(key)) if isinstance(key, str) and len(key.strip()) <= 3 else None
            if letter is None:
                raise BadRecord(f"option label {key!r} is not one of A-D")
            if letter in by_letter:
                raise BadRecord(f"option label {letter} appears twice")
            if not isinstance(text, (str, int, float)):
                raise BadRecord(f"option {letter} is {text!r}, not text")
            by_letter[letter] = str(text).strip()
        missing = [letter for letter in LETTERS if letter not in by_letter]
        if missing:
            raise BadRecord(f"options lack label(s) {', '.join(missing)}")
        return [by_letter[letter] for letter in LETTERS]
    if isinstance(options, list):
        if len(options) != 4 or not all(isinstance(o, str) for o in options):
            raise BadRecord(f"options must be four strings, got {options!r}")
        texts = []
        for letter, text in zip(LETTERS, options):
            m = _LETTER_ANSWER.match(text)
            if m and m.group(1).upper() == letter and m.group(2):
                text = m.group(2)
            texts.append(text.strip())
        return texts
    raise BadRecord(f"Options must be a mapping of A-D to text, got {type(options).__name__}")


def normalize_answer(answer: Any, options: list[str]) -> str:
    """The answer letter from "C", "C.", "(C)", "C. text" or the text of one option (case and spacing ignored)."""
    if not isinstance(answer, str) or not answer.strip():
        raise BadRecord(f"answer {answer!r} is not text")
    m = _LETTER_ANSWER.match(answer)
    if m is not None:
        letter, text = m.group(1).upper(), m.group(2)
        if text and _norm_text(text) != _norm_text(options[LETTERS.index(letter)]):
            raise BadRecord(f"answer {answer!r} contradicts option {letter} ({options[LETTERS.index(letter)]!r})")
        return letter
    wanted = _norm_text(answer)
    hits = [LETTERS[i] for i, text in enumerate(options) if _norm_text(text) == wanted]
    if len(hits) == 1:
        return hits[0]
    raise BadRecord(f"answer {answer!r} is neither a letter A-D nor the text of exactly one option")


# --------------------------------------------------------------------------------------------------------------
# records


def _string_list(value: Any, what: str) -> list[str]:
    """A Task1 list, NFC-normalised (NFC and NFD "café" are one phrase); a single string is refused rather than
    taken as one phrase ("a, b" would be)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRecord(f"{what} must be a list of strings, got {value!r}")
    return [unicodedata.normalize("NFC", v.strip()) for v in value if v.strip()]


def parse_questions(
    task3: Any,
    image_id: str,
    where: str,
    policy: OnBadRecords,
    stats: ReadStats,
    require_answers: bool,
) -> list[Question]:
    """Task3's two question lists as `Question`s; a malformed item goes through the policy (the others stay)."""
    if task3 is None:
        return []
    if not isinstance(task3, dict):
        handle_bad(policy, stats, "malformed Task3", where, f"Task3 is {type(task3).__name__}, not an object")
        return []
    questions: list[Question] = []
    for qtype, key in TASK3_KEYS.items():
        items = task3.get(key) or []
        if not isinstance(items, list):
            handle_bad(policy, stats, "malformed Task3", where, f"Task3[{key!r}] is not a list")
            continue
        for index, item in enumerate(items):
            qid = f"{image_id}-{qtype}-{index}"
            try:
                questions.append(_parse_question(item, qid, qtype, require_answers))
            except BadRecord as err:
                handle_bad(policy, stats, "malformed question", f"{where} ({qid})", str(err))
    return questions


def _parse_question(item: Any, question_id: str, qtype: str, require_answer: bool) -> Question:
    if not isinstance(item, dict):
        raise BadRecord(f"question item is {type(item).__name__}, not an object")
    text = item.get("Question")
    if not isinstance(text, str) or not text.strip():
        raise BadRecord(f"Question is {text!r}")
    options = normalize_options(item.get("Options"))
    raw_answer = item.get("Answer")
    if raw_answer is None or (isinstance(raw_answer, str) and not raw_answer.strip()):
        if require_answer:
            raise BadRecord("Answer is missing")
        answer = None
    else:
        answer = normalize_answer(raw_answer, options)
    return Question(question_id=question_id, type=qtype, question=text.strip(), options=options, answer=answer)


def parse_record(
    raw: Any,
    where: str,
    policy: OnBadRecords,
    stats: ReadStats,
    with_answers: bool = True,
) -> Optional[Record]:
    """One JSON object of an annotation file as a `Record`, or None when the policy skips it.

    `with_answers=False` reads the test questions file, whose answers (and prompt, Task1, Task2) are withheld.
    """
    if not isinstance(raw, dict):
        handle_bad(policy, stats, "malformed record", where, f"a line must be a JSON object, got {type(raw).__name__}")
        return None
    try:
        img_path = validate_img_path(raw.get("img_path"), where)
    except BadRecord as err:
        handle_bad(policy, stats, "bad img_path", where, str(err))
        return None
    image_id = image_id_of(img_path)
    record = Record(image_id=image_id, img_path=img_path)
    try:
        prompt = raw.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise BadRecord(f"prompt is {prompt!r}, not text")
        record.prompt = prompt
        record.clean_prompt = raw.get("clean_prompt") if isinstance(raw.get("clean_prompt"), str) else None
        task1 = raw.get("Task1") or {}
        if not isinstance(task1, dict):
            raise BadRecord(f"Task1 is {type(task1).__name__}, not an object")
        for attr, key in TASK1_KEYS.items():
            setattr(record, attr, _string_list(task1.get(key), f"Task1.{key}"))
    except BadRecord as err:
        handle_bad(policy, stats, "malformed record", where, str(err))
        return None
    task2 = raw.get("Task2")
    caption = task2.get("Caption") if isinstance(task2, dict) else None
    if caption is not None and not isinstance(caption, str):  # 123 is not "no caption"
        handle_bad(policy, stats, "malformed record", where, f"Task2.Caption is {caption!r}, not text")
        return None
    record.caption = caption.strip() if isinstance(caption, str) and caption.strip() else None
    record.questions = parse_questions(raw.get("Task3"), image_id, where, policy, stats, require_answers=with_answers)
    return record


def iter_jsonl_lines(lines: Iterable[bytes | str], source: str) -> Iterator[tuple[int, Any]]:
    """(line number, decoded JSON) for each non-blank line; a line that is not JSON is an error naming file:line."""
    for line_no, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ReleaseFormatError(f"{source}:{line_no}: not UTF-8 ({err})") from None
        if line.strip():
            yield line_no, decode_line(line, f"{source}:{line_no}")


def decode_line(line: str, where: str) -> Any:
    """One JSONL line decoded; a line that is not JSON, or that gives a key twice where it could name a second
    image, is an error naming `where` (file:line). A UTF-8 byte-order mark before the line is ignored."""
    if line.startswith("\ufeff"):
        line = line[1:]
    try:
        if line.count('"img_path"') != 1 or "\\u00" in line:  # a repeated or escaped key: check for repeats
            return json.loads(line, object_pairs_hook=_unique_keys)
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise ReleaseFormatError(f"{where}: malformed JSON line ({err.msg} at column {err.colno})") from None
    except _RepeatedKey as err:
        raise ReleaseFormatError(f"{where}: malformed JSON line (key {err} given twice)") from None


def decode_or_skip(line: str, where: str, policy: OnBadRecords, stats: ReadStats) -> Optional[Any]:
    """`decode_line` under the bad-record policy: a malformed line is raised, or counted and skipped."""
    try:
        return decode_line(line, where)
    except ReleaseFormatError as err:
        handle_bad(policy, stats, "malformed JSON lines", where, str(err).removeprefix(f"{where}: "))
        return None


class _RepeatedKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        raise _RepeatedKey(next(repr(k) for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return result


def img_path_of(decoded: Any) -> Optional[str]:
    """The relative image path a decoded annotation line names (validated, normalised), or None: the one parse
    that both routes a line to its shard and builds its row, so a row never pairs another line's image."""
    if not isinstance(decoded, dict):
        return None
    try:
        return validate_img_path(decoded.get("img_path"), "")
    except BadRecord:
        return None
