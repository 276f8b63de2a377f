"""The Java programs shipped inside pycocoevalcap 1.2: finding `java` and a tool's jar, or saying why not.

The jar-backed PTB tokenizer (`tokenize_corpus(mode="java")`) and METEOR 1.5 both need a `java` on the PATH and a
jar from the installed pycocoevalcap package (or one passed as `jar=`); this is the one place that looks them up,
so both report a missing piece in the same words.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path


@dataclass(frozen=True)
class JavaTool:
    """One jar of pycocoevalcap and how messages name it."""

    label: str  # "PTBTokenizer jar not found: ..."
    folder: str  # the jar's folder inside the pycocoevalcap package
    jar_name: str
    java_hint: str  # what a user without `java` can do, appended to that message


PTB_TOKENIZER = JavaTool("PTBTokenizer", "tokenizer", "stanford-corenlp-3.4.1.jar",
                         ": install a Java runtime, or use mode='python'")
METEOR = JavaTool("METEOR", "meteor", "meteor-1.5.jar", " (METEOR 1.5 is a Java program)")


def find_java() -> str | None:
    """The `java` executable on the PATH, or None."""
    return shutil.which("java")


def bundled_jar(tool: JavaTool) -> Path:
    """The tool's jar inside the installed pycocoevalcap package (it may still be missing there).

    Raises:
        FileNotFoundError: pycocoevalcap is not installed.
    """
    spec = find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"pycocoevalcap is not installed: pass jar= the path of {tool.jar_name}")
    return Path(next(iter(spec.submodule_search_locations))) / tool.folder / tool.jar_name


def locate(tool: JavaTool, jar: str | Path | None = None) -> tuple[str, Path]:
    """The `java` executable and the jar to run the tool with.

    Args:
        tool: `PTB_TOKENIZER` or `METEOR`.
        jar: the jar's path; default: the one inside the installed pycocoevalcap.

    Raises:
        FileNotFoundError: no `java` on the PATH (checked first), no pycocoevalcap, or no file at the jar's path;
            the message says which.
    """
    java = find_java()
    if java is None:
        raise FileNotFoundError(f"`java` was not found on the PATH{tool.java_hint}")
    path = Path(jar) if jar is not None else bundled_jar(tool)
    if not path.is_file():
        raise FileNotFoundError(f"{tool.label} jar not found: {path}")
    return java, path


def unavailable_reason(tool: JavaTool, jar: str | Path | None = None) -> str | None:
    """Why the tool cannot run here (`locate`'s message), or None when it can."""
    try:
        locate(tool, jar)
    except FileNotFoundError as error:
        return str(error)
    return None
