"""The release reader: paths, options, answers, records and the bad-record policy."""

from __future__ import annotations

import logging

import pytest

from journeydb.release import records
from journeydb.release.records import BadRecord, ReadStats, ReleaseFormatError

OPTIONS = ["oil painting", "watercolor", "pencil sketch", "neon glow"]


@pytest.mark.parametrize(
    "img_path, expected",
    [("./000/abc.jpg", "000/abc.jpg"), ("000/abc.jpg", "000/abc.jpg"), ("./imgs/x.jpg", "imgs/x.jpg"), (".\\001\\y.jpg", "001/y.jpg")],
)
def test_img_path_is_made_relative(img_path, expected):
    assert records.validate_img_path(img_path, "f:1") == expected


@pytest.mark.parametrize(
    "img_path",
    ["/etc/passwd", "../secret.jpg", "./000/../../x.jpg", "https://example.com/a.jpg", "s3://bucket/a.jpg",
     "file:///a.jpg", "~/a.jpg", "C:/a.jpg", "", "   ", None, 3],
)
def test_img_path_that_could_escape_is_rejected(img_path):
    with pytest.raises(BadRecord):
        records.validate_img_path(img_path, "f:1")


def test_image_id_and_shard():
    assert records.image_id_of("000/9a04159e-017a.jpg") == "9a04159e-017a"
    assert records.shard_of("000/x.jpg") == "000"
    assert records.shard_of("imgs/x.jpg") is None
    assert records.shard_of("x.jpg") is None


@pytest.mark.parametrize(
    "answer, letter",
    [("C", "C"), ("c", "C"), ("C.", "C"), ("(C)", "C"), ("C)", "C"), ("C. pencil sketch", "C"), ("(C) pencil sketch", "C"),
     (" C ", "C"), ("pencil sketch", "C"), ("Pencil  Sketch.", "C"), ("D: neon glow", "D")],
)
def test_answer_variants_normalise_to_a_letter(answer, letter):
    assert records.normalize_answer(answer, OPTIONS) == letter


@pytest.mark.parametrize("answer", ["E", "cubism", "", None, 2, "the answer is maybe"])
def test_unreadable_answers_are_bad_records(answer):
    with pytest.raises(BadRecord):
        records.normalize_answer(answer, OPTIONS)


def test_option_labels_in_any_order():
    shuffled = {"D": "neon glow", "B": "watercolor", "A": "oil painting", "C": "pencil sketch"}
    assert records.normalize_options(shuffled) == OPTIONS
    assert records.normalize_options({"A.": "a", "(B)": "b", "C": "c", "D)": "d"}) == ["a", "b", "c", "d"]
    assert records.normalize_options(["A. a", "B. b", "c", "D) d"]) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "options",
    [{"A": "a", "B": "b", "C": "c"}, {"A": "a", "B": "b", "C": "c", "E": "e"}, {"A": "a", "a": "b", "C": "c", "D": "d"},
     ["a", "b"], "A. a B. b", None, {"A": ["x"], "B": "b", "C": "c", "D": "d"}],
)
def test_malformed_options_are_bad_records(options):
    with pytest.raises(BadRecord):
        records.normalize_options(options)


def _line(**overrides):
    raw = {
        "img_path": "./000/img1.jpg",
        "prompt": "a red sun, oil painting --ar 16:9",
        "Task1": {"Style": ["oil painting"], "Content": ["red sun"], "Atmosphere": [], "Others": ["--ar 16:9"]},
        "Task2": {"Caption": "A red sun."},
        "Task3": {
            "Style Relevant Questions and Answers": [
                {"Question": "Style?", "Options": {"A": "oil painting", "B": "x", "C": "y", "D": "z"}, "Answer": "A."}
            ],
            "Content Relevant Questions and Answers": [
                {"Question": "Colour?", "Options": {"B": "blue", "A": "red", "D": "pink", "C": "green"}, "Answer": "red"},
                {"Question": "Broken?", "Options": {"A": "a"}, "Answer": "A"},
            ],
        },
    }
    raw.update(overrides)
    return raw


def test_record_keys_are_the_real_ones():
    stats = ReadStats()
    record = records.parse_record(_line(), "anno.jsonl:1", "skip", stats)
    assert record.image_id == "img1" and record.img_path == "000/img1.jpg"
    assert record.others == ["--ar 16:9"] and record.caption == "A red sun."
    assert [(q.question_id, q.type, q.answer) for q in record.questions] == [
        ("img1-style-0", "style", "A"),
        ("img1-content-0", "content", "A"),
    ]
    assert record.questions[1].options == ["red", "blue", "green", "pink"]
    assert stats.counts == {"malformed question": 1}  # the broken item, counted; its siblings kept
    assert "img1-content-1" in stats.examples["malformed question"]


@pytest.mark.parametrize("task2", [None, {}, {"Caption": None}, {"Caption": "  "}, "oops"])
def test_missing_caption_reads_as_none(task2):
    raw = _line(Task2=task2) if task2 is not None else {k: v for k, v in _line().items() if k != "Task2"}
    record = records.parse_record(raw, "f:1", "skip", ReadStats())
    assert record.caption is None


def test_policy_error_names_file_and_line():
    with pytest.raises(ReleaseFormatError, match=r"anno\.jsonl:7 \(img1-content-1\)"):
        records.parse_record(_line(), "anno.jsonl:7", "error", ReadStats())


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Each test starts with no bad record warned about yet (release warns once per record and process)."""
    monkeypatch.setattr(records, "_WARNED", set())


def test_same_bad_record_is_warned_once_per_process_and_counted_every_time(caplog):
    first, second = ReadStats(), ReadStats()
    with caplog.at_level(logging.DEBUG, logger="journeydb.release.records"):
        records.parse_record(_line(), "anno.jsonl:7", "warn", first)
        records.parse_record(_line(), "anno.jsonl:7", "warn", second)  # another config reading the same file
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "anno.jsonl:7" in warnings[0].getMessage()
    assert any("warned above" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert first.counts == second.counts == {"malformed question": 1}


def test_policy_warn_logs_and_counts(caplog):
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="journeydb.release.records"):
        records.parse_record(_line(), "anno.jsonl:7", "warn", stats)
    assert "anno.jsonl:7" in caplog.text and "options lack label" in caplog.text
    assert stats.counts["malformed question"] == 1


def test_bad_img_path_record_is_skipped_or_raised():
    stats = ReadStats()
    assert records.parse_record(_line(img_path="../x.jpg"), "f:3", "skip", stats) is None
    assert stats.counts == {"bad img_path": 1}
    with pytest.raises(ReleaseFormatError, match="f:3"):
        records.parse_record(_line(img_path="/abs.jpg"), "f:3", "error", ReadStats())


def test_test_questions_have_no_answers():
    raw = {"img_path": "./imgs/t1.jpg", "Task3": _line()["Task3"]}
    for item in raw["Task3"]["Style Relevant Questions and Answers"]:
        item.pop("Answer")
    raw["Task3"]["Content Relevant Questions and Answers"][0]["Answer"] = ""
    record = records.parse_record(raw, "t:1", "skip", ReadStats(), with_answers=False)
    assert record.prompt is None and record.caption is None
    assert [q.answer for q in record.questions] == [None, None]


def test_missing_answer_is_bad_outside_test():
    raw = _line()
    raw["Task3"]["Style Relevant Questions and Answers"][0].pop("Answer")
    stats = ReadStats()
    record = records.parse_record(raw, "f:1", "skip", stats)
    assert [q.question_id for q in record.questions] == ["img1-content-0"]
    assert stats.counts["malformed question"] == 2


def test_malformed_json_line_names_file_and_line():
    lines = [b'{"img_path": "./000/a.jpg"}\n', b"\n", b'{"img_path": "./000/b.jpg",\n']
    with pytest.raises(ReleaseFormatError, match=r"anno\.jsonl:3: malformed JSON"):
        list(records.iter_jsonl_lines(lines, "anno.jsonl"))


def test_img_path_of_reads_the_parsed_record():
    assert records.img_path_of(records.decode_line('{"prompt": "x", "img_path": "./000/a\\u00e9.jpg"}', "f:1")) == "000/aé.jpg"
    assert records.img_path_of(records.decode_line('{"prompt": "x", "img\\u005fpath": ".\\\\000\\\\b.jpg"}', "f:1")) == "000/b.jpg"
    assert records.img_path_of({"prompt": "x"}) is None
    with pytest.raises(ReleaseFormatError, match="f:1: .*'img_path' given twice"):
        records.decode_line('{"img_path": "000/a.jpg", "img_path": "000/b.jpg"}', "f:1")


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="on_bad_records"):
        records.check_on_bad_records("ignore")


def test_warn_logs_the_first_few_and_counts_all(caplog):
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="journeydb.release.records"):
        for line in range(1, 21):
            records.parse_record(_line(), f"anno.jsonl:{line}", "warn", stats)
    assert stats.counts["malformed question"] == 20
    logged = [r.getMessage() for r in caplog.records]
    assert sum("options lack label" in m for m in logged) == records.WARN_LOG_LIMIT
    assert any("further malformed question are counted" in m for m in logged)
