"""The one look-up of `java` and pycocoevalcap's jars, as the PTB tokenizer and METEOR both see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeydb.scoring import java_tools
from journeydb.scoring.java_tools import METEOR, PTB_TOKENIZER, bundled_jar, locate, unavailable_reason
from journeydb.scoring.meteor import corpus_meteor, default_meteor_jar, meteor_unavailable_reason
from journeydb.scoring.tokenize import default_jar, ptb_tokenize_java

NO_JAVA_TOKENIZER = "`java` was not found on the PATH: install a Java runtime, or use mode='python'"
NO_JAVA_METEOR = "`java` was not found on the PATH (METEOR 1.5 is a Java program)"


@pytest.fixture
def no_java(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java_tools, "find_java", lambda: None)


@pytest.fixture
def fake_java(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java_tools, "find_java", lambda: "/usr/bin/java")


@pytest.mark.usefixtures("no_java")
def test_without_java_both_tools_say_so() -> None:
    assert unavailable_reason(PTB_TOKENIZER) == NO_JAVA_TOKENIZER
    assert meteor_unavailable_reason() == NO_JAVA_METEOR
    with pytest.raises(FileNotFoundError) as error:
        ptb_tokenize_java(["a cat"])
    assert str(error.value) == NO_JAVA_TOKENIZER
    with pytest.raises(FileNotFoundError) as error:
        corpus_meteor(["a cat"], [["a dog"]])
    assert str(error.value) == NO_JAVA_METEOR
    assert ptb_tokenize_java([]) == []  # an empty corpus needs no Java


@pytest.mark.usefixtures("no_java")
def test_java_is_checked_before_the_jar(tmp_path: Path) -> None:
    assert unavailable_reason(METEOR, tmp_path / "missing.jar") == NO_JAVA_METEOR


@pytest.mark.usefixtures("fake_java")
def test_a_missing_jar_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jar"
    assert unavailable_reason(PTB_TOKENIZER, missing) == f"PTBTokenizer jar not found: {missing}"
    assert meteor_unavailable_reason(missing) == f"METEOR jar not found: {missing}"
    with pytest.raises(FileNotFoundError, match="PTBTokenizer jar not found"):
        ptb_tokenize_java(["a cat"], jar=str(missing))
    jar = tmp_path / "given.jar"
    jar.write_bytes(b"")
    assert locate(METEOR, jar) == ("/usr/bin/java", jar)
    assert meteor_unavailable_reason(str(jar)) is None


@pytest.mark.usefixtures("fake_java")
def test_without_pycocoevalcap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java_tools, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pass jar= the path of stanford-corenlp-3.4.1.jar"):
        default_jar()
    assert meteor_unavailable_reason() == "pycocoevalcap is not installed: pass jar= the path of meteor-1.5.jar"


def test_the_bundled_jars_sit_in_pycocoevalcap() -> None:
    pytest.importorskip("pycocoevalcap")
    assert default_jar() == bundled_jar(PTB_TOKENIZER)
    assert default_jar().parts[-3:] == ("pycocoevalcap", "tokenizer", "stanford-corenlp-3.4.1.jar")
    assert default_meteor_jar().parts[-3:] == ("pycocoevalcap", "meteor", "meteor-1.5.jar")
    assert default_jar().is_file() and default_meteor_jar().is_file()
