"""PTB tokenisation as pycocoevalcap 1.2 applies it before BLEU, METEOR, ROUGE-L and CIDEr.

pycocoevalcap writes every caption of the corpus on its own line (newlines inside a caption become spaces), runs
Stanford's Java `PTBTokenizer -preserveLines -lowerCase` (`stanford-corenlp-3.4.1.jar`) once on that file, and drops
the exact, case-sensitive tokens in `PTB_DROPPED_TOKENS`. Because of `-lowerCase` the bracket codes come out as
`-lrb-`, `-rsb-`, ... and survive the (uppercase) drop list.

Two implementations:

- `ptb_tokenize` / `tokenize_corpus(mode="python")`: a clean-room pure-Python scanner. It was written from the
  jar's observed behaviour only (inputs of our choosing, the frozen goldens, docs/aesthetics.md section 5), never
  from CoreNLP's source or lexer grammar: a longest-match scanner (here) over our own token rules (`ptb_rules.py`),
  plus character classes measured one code point at a time (`ptb_chars.py`).
- `ptb_tokenize_java` / `tokenize_corpus(mode="java")`: the official jar, run once for the corpus in a temporary
  directory (never inside site-packages), with a timeout.

The jar looks past the end of a line: a caption's tokens can depend on the next caption (`I.` keeps its period
unless the next word starts with a capital letter and a lowercase one, e.g. the next caption `It ...`), and on
being the last line of the file (at the end of the file `you've` gives `you ve` and `:)` gives `-rrb-`).
`tokenize_corpus(mode="python")` passes each caption the next one as right context and treats the last one as the
end of the file, like the jar; `ptb_tokenize(text)` tokenises a caption as if a lowercase line followed it.

Agreement with the jar, measured: all 388 frozen goldens (`tests/data/ptb_goldens.json`, in corpus order and each
alone as the last line). On `benchmarks/tokenizer.py` (88 edge cases + seeded Midjourney-like prompts) 99.98% of
captions match the jar exactly with `--n 5000` (5087/5088), and with `--n 20000 --seed S` for S = 0..10: 99.99,
99.98, 99.97, 99.95, 99.96, 99.92, 99.96, 99.96, 99.94, 99.93 and 99.95% (20071-20086 of 20088). The remaining
differences are pieces glued without spaces (`0.5x#FF0000`, `Inc.-5`, `anti-a.m.`, `Calif.I'm`, `...` between
words, soft hyphens after digits, hosts and URLs before brackets, `\\x85`/U+3000 glued to a word, `&QUOT;` after a
word) where the jar's rules go further than ours. Speed: each white-space chunk is tokenised once and cached, so
100,000 prompts (`benchmarks/prompt_corpus.py` `make_pairs(50000)`, prompts and predictions) take about 0.9-1.5 s
against 3.5-6 s for the one JVM run (start-up included), with no Java needed. Use `mode="java"` where numbers must
be official.

Java mode differs from pycocoevalcap in one respect: the line-breaking characters `\\r`, `\\v`, `\\f`, U+2028 and
U+2029 are replaced by spaces before the jar runs, because the jar treats them as line ends, which would shift
every later caption onto the wrong image in pycocoevalcap.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from .java_tools import PTB_TOKENIZER, bundled_jar, locate
from .ptb_chars import SYMBOL_REPLACEMENTS
from .ptb_rules import (
    BRACKETS,
    ENTITIES,
    FILE_RULE,
    HOST_RULE,
    KEEPS_SOFT_HYPHEN,
    KEEPS_SPLIT_WORD,
    LETTERS,
    NT_CONTRACTION,
    NUMBER_ABBREVIATION_END,
    NUMBER_ABBREVIATIONS,
    NUMBER_NEXT,
    PLAIN_WORD,
    QUOTE_SPELLING,
    RULES,
    RULES_NO_HOST,
    SENTENCE_START,
    SENTENCE_STARTERS,
    SOFT_HYPHEN,
    SPACE,
    SPLIT_WORDS,
    TLD,
)

logger = logging.getLogger(__name__)

# pycocoevalcap's drop list: exact and case-sensitive
PTB_DROPPED_TOKENS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
JAR_NAME = PTB_TOKENIZER.jar_name
_LINE_BREAKS = re.compile("[\r\x0b\x0c\u2028\u2029]")


def _scan(text: str, pos: int, limit: int) -> tuple[list[str], int]:
    """Tokens starting in `text[pos:limit]`, before lowercasing and the drop list, and where the scan stopped (past
    `limit` when a token such as a phone number runs on); `text[limit:]` is lookahead only."""
    tokens: list[str] = []
    hosts = TLD.search(text, pos, limit) is not None
    rules = RULES if hosts else RULES_NO_HOST
    while pos < limit:
        space = SPACE.match(text, pos)
        if space:
            pos = _host_in_space(text, pos, space.end(), tokens) if hosts else space.end()
            continue
        plain = PLAIN_WORD.match(text, pos)
        if plain:  # a letter-initial run of ASCII letters and digits up to white space: no other rule beats `word`
            tokens.extend(_finish("word", plain.group(), text, plain.end()))
            pos = plain.end()
            continue
        best_name, best_end = "", pos
        for name, pattern in rules:
            match = pattern.match(text, pos)
            if match and match.end() > best_end:
                best_name, best_end = name, match.end()
        if best_end == pos:  # a symbol of its own; the hyphens U+2010, U+2011 are dropped alone
            char = text[pos]
            if char not in "\u2010\u2011":
                tokens.append(SYMBOL_REPLACEMENTS.get(char, BRACKETS.get(char, char)))
            pos += 1
            continue
        token = text[pos:best_end]
        contraction = NT_CONTRACTION.match(text, best_end - 1) if best_name == "word" else None
        if SOFT_HYPHEN in token and best_name not in KEEPS_SOFT_HYPHEN and not (
                best_name == "url" and token[0] in "hH") and not FILE_RULE.fullmatch(token):
            token = token.replace(SOFT_HYPHEN, "")
            if not token:
                pos = best_end
                continue
        if contraction and len(token) > 1 and token.isascii() and LETTERS.fullmatch(token):
            # `don't` -> `do n't` (letters glued after it stay with `n't`); hyphenated, digit or non-ASCII words
            # (`cafédon't` -> `cafédon` `'` `t`) do not split
            nt = contraction.group()
            if len(nt) == 3:  # a bare `n’t` is spelt `n't`, `n‘t` `n`t`
                nt = nt[0] + QUOTE_SPELLING.get(nt[1], nt[1]) + nt[2]
            tokens.extend([token[:-1], nt])
            pos = contraction.end()
            continue
        tokens.extend(_finish(best_name, token, text, best_end))
        pos = best_end
    return tokens, pos


def _host_in_space(text: str, pos: int, end: int, tokens: list[str]) -> int:
    """Skip the dropped characters in `text[pos:end]`, unless a host starts at one of them (`🔥www.x.com` keeps
    its emoji); returns where the scan goes on."""
    for start in range(pos, end):
        if not text[start].isspace():
            host = HOST_RULE.match(text, start)
            if host:
                tokens.append(host.group())
                return host.end()
    return end


def _finish(name: str, token: str, text: str, end: int) -> list[str]:
    """Rewrite one matched token: brackets inside it, split-off parts, kept periods."""
    if name == "word":
        if token.lower() in SPLIT_WORDS and not KEEPS_SPLIT_WORD.match(text, end):
            cut = SPLIT_WORDS[token.lower()]
            return [token[:cut], token[cut:]]
        return [token]
    if name in ("phone", "fraction", "tag"):
        return [token.replace("(", "-lrb-").replace(")", "-rrb-").replace(" ", "\u00a0")]
    if name == "curly_contraction":
        return ["'" + token[1:]]
    if name == "quotes":
        if token == "''":
            return [token]
        return ["".join(QUOTE_SPELLING[char] for char in token)]
    if name == "emoticon":
        return [token.replace("(", "-lrb-").replace(")", "-rrb-")]
    if name == "entity":
        return [ENTITIES.get(token if token[1] in "qQ" else token.lower(), token)]  # `&QUOT;` stays as it is
    if name == "dashes":
        return [token if len(token) >= 5 else "--"]
    if name == "dots":
        return ["..."]
    if name == "abbreviation":
        stem = token[:-1]
        if len(stem) == 1 and stem.isascii() and stem.isalpha():
            start = SENTENCE_START.match(text, end)
            if start and start.group(1).lower() in SENTENCE_STARTERS:  # `I. The`: the period ends the sentence
                return [stem, "."]
            return [token]
        if stem.lower() in NUMBER_ABBREVIATIONS and not NUMBER_NEXT.match(text, end):
            return [stem, "."]
        return [token]
    return [token]


def _kept(tokens: list[str]) -> list[str]:
    """Lowercased, without the drop list."""
    return [token for token in map(str.lower, tokens) if token not in PTB_DROPPED_TOKENS]


def _context_free(text: str, start: int, end: int) -> bool:
    """Whether the chunk `text[start:end]` (a run of non-white-space) tokenises the same wherever it stands:
    `_word_kind` 0, or 1 when the next chunk does not start with a digit after one space (tags `<a b>`, phone numbers
    `(555) 123-4567`, `555 123 4567` and fractions `1 1/2` are the only tokens that run across white space)."""
    kind = _word_kind(text[start:end])
    return kind == 0 or (kind == 1 and not (text[end:end + 1] == " " and text[end + 1:end + 2].isdecimal()))


_CHUNK = re.compile(r"\S+")
_CHUNK_CACHE: dict[tuple[str, bool], list[str]] = {}  # (chunk, at end of file) -> kept tokens
_WORD_CACHE: dict[str, tuple[list[str], int]] = {}  # chunk -> (kept tokens, _word_kind)
_CACHE_SIZE = 500_000
_ASCII_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _word_kind(chunk: str) -> int:
    """0: the chunk's tokens never depend on its neighbours; 1: they do when the next chunk starts with a digit
    (it ends with a digit or `)`: `1 1/2`, `(555) 123-4567`); 2: they may (it ends with an abbreviation that looks
    at the next word, `I.` or `No.`, or holds a `<` that may open a tag)."""
    if "<" in chunk:
        return 2
    last = chunk[-1]
    if last == ".":
        size = len(chunk)
        if size >= 2 and chunk[-2] in _ASCII_ALNUM and not chunk[-2].isdigit() and (
                size == 2 or chunk[-3] not in _ASCII_ALNUM):
            return 2
        if NUMBER_ABBREVIATION_END.search(chunk):  # a superset of the chunks that end with one
            return 2
        return 0
    return 1 if last == ")" or last.isdecimal() else 0


def _fast_tokens(text: str) -> list[str] | None:
    """The kept tokens of a caption whose chunks are all context-free (None otherwise), one cache look-up each."""
    cache = _WORD_CACHE
    tokens: list[str] = []
    words = text.split()
    last = len(words) - 1
    for index, word in enumerate(words):
        info = cache.get(word)
        if info is None:
            info = (_kept(_scan(word + " ", 0, len(word))[0]), _word_kind(word))
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[word] = info
        kept, kind = info
        if kind and (kind == 2 or (index < last and words[index + 1][0].isdecimal())):
            return None
        tokens.extend(kept)
    return tokens


def _tokens(text: str, right_context: str | None) -> list[str]:
    """The kept, lowercased tokens of one caption, with the next caption (None: end of file) as right context.

    Prompts repeat the same words: most captions are split at white space and each chunk is tokenised once and
    cached (`_fast_tokens`); the others go through the chunk-by-chunk scan below, which caches the chunks that
    cannot depend on their neighbours and scans the rest in place.
    """
    if right_context is not None:
        fast = _fast_tokens(text)
        if fast is not None:
            return fast
        right_context = _LINE_BREAKS.sub(" ", right_context.replace("\n", " "))
    scanned = text if right_context is None else text + "\n" + right_context
    limit, size = len(text), len(scanned)
    cache = _CHUNK_CACHE
    tokens: list[str] = []
    pos = 0
    for match in _CHUNK.finditer(scanned, 0, limit):
        start, end = match.span()
        if end <= pos:  # inside a token that ran across white space
            continue
        key = None
        if start >= pos and _context_free(scanned, start, end):
            key = (match.group(), end == size)
            kept = cache.get(key)
            if kept is not None:
                tokens.extend(kept)
                pos = end
                continue
        scanned_tokens, pos = _scan(scanned, max(start, pos), end)
        kept = _kept(scanned_tokens)
        tokens.extend(kept)
        if key is not None and pos == end:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = kept
    return tokens


def ptb_tokenize(text: str, right_context: str | None = "") -> str:
    """Tokenise one caption the way pycocoevalcap's PTB step does, in pure Python.

    Args:
        text: the caption; newlines inside it count as spaces.
        right_context: the caption on the next line of the corpus (the jar looks past the line end); `""` (the
            default) for an empty next line, `None` when the caption is the last line of the file.

    Returns:
        The kept tokens, lowercased and joined by single spaces (`""` when none are kept).

    Example:
        >>> ptb_tokenize("portrait of a woman (oil painting), by Greg Rutkowski; trending on ArtStation!")
        'portrait of a woman -lrb- oil painting -rrb- by greg rutkowski trending on artstation'
    """
    if not isinstance(text, str):
        raise TypeError(f"ptb_tokenize expects a str, got {type(text).__name__}")
    text = _LINE_BREAKS.sub(" ", text.replace("\n", " "))
    return " ".join(_tokens(text, right_context))  # the right context is normalised only where it is read


def _check_texts(texts: Sequence[str]) -> list[str]:
    """The captions as a list, or a TypeError naming the first non-str one."""
    if isinstance(texts, str):
        raise TypeError("expected a sequence of captions, got a single str")
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"caption {index} is a {type(text).__name__}, expected str")
    return texts


def default_jar() -> Path:
    """The PTBTokenizer jar shipped inside the installed pycocoevalcap package."""
    return bundled_jar(PTB_TOKENIZER)


def ptb_tokenize_java(texts: Sequence[str], timeout: float = 300, jar: str | None = None) -> list[str]:
    """Tokenise a corpus with the official Java PTBTokenizer, exactly as pycocoevalcap 1.2 runs it.

    One JVM runs for the whole corpus on a file of one caption per line, written to a fresh temporary directory
    (pycocoevalcap writes it next to the jar, inside site-packages; we never do). The line-breaking characters
    `\\r`, `\\v`, `\\f`, U+2028, U+2029 become spaces first, so that every caption keeps its own line.

    Args:
        texts: the captions.
        timeout: seconds allowed for the jar.
        jar: path of `stanford-corenlp-3.4.1.jar`; default: the one inside the installed pycocoevalcap.

    Returns:
        One tokenised string per caption, with `PTB_DROPPED_TOKENS` removed.

    Raises:
        TypeError: a caption is not a str (its index is named).
        FileNotFoundError: `java` is not on the PATH, or the jar is missing.
        RuntimeError: the jar failed, timed out, or returned the wrong number of lines.
    """
    texts = _check_texts(texts)
    if not texts:
        return []
    java, jar_path = locate(PTB_TOKENIZER, jar)
    lines = [_LINE_BREAKS.sub(" ", text.replace("\n", " ")) for text in texts]
    with tempfile.TemporaryDirectory(prefix="journeydb-ptb-") as tmp:
        corpus = Path(tmp) / "captions.txt"
        corpus.write_text("\n".join(lines), encoding="utf-8")
        command = [java, "-cp", str(jar_path), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines",
                   "-lowerCase", str(corpus)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, cwd=tmp, check=False)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"PTBTokenizer did not finish within {timeout} s") from error
    if done.returncode != 0:
        raise RuntimeError(f"PTBTokenizer failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    if done.stderr:
        logger.debug("PTBTokenizer stderr: %s", done.stderr.decode(errors="replace")[-2000:])
    out_lines = done.stdout.decode("utf-8").split("\n")
    if len(out_lines) < len(texts) or any(line.strip() for line in out_lines[len(texts):]):
        raise RuntimeError(f"PTBTokenizer returned {len(out_lines)} lines for {len(texts)} captions")
    return [" ".join(t for t in line.rstrip().split(" ") if t and t not in PTB_DROPPED_TOKENS)
            for line in out_lines[: len(texts)]]


def tokenize_corpus(texts: Sequence[str], mode: Literal["python", "java"] = "python") -> list[str]:
    """Tokenise a corpus the way pycocoevalcap does, in pure Python (default) or with the official jar. In python
    mode each caption sees the next one as right context and the last one the end of the file, as in the jar's run.

    Args:
        texts: the captions.
        mode: "python" (`ptb_tokenize`, no Java needed) or "java" (`ptb_tokenize_java`, the official numbers).

    Returns:
        One tokenised string per caption.

    Raises:
        TypeError: a caption is not a str (its index is named).
        ValueError: an unknown mode.

    Example:
        >>> tokenize_corpus(["Don't panic: it's \\"the end\\"...", "cat::2 --ar 16:9"])
        ["do n't panic it 's the end", 'cat :2 ar 16:9']
    """
    return tokenize_corpora([texts], mode)[0]


def tokenize_corpora(corpora: Sequence[Sequence[str]], mode: Literal["python", "java"] = "python") -> list[list[str]]:
    """`tokenize_corpus` of each corpus, each its own run (its own file for the jar), in order. The python mode's
    chunk caches serve every corpus of the call and are emptied when it returns: they grow with the vocabulary
    (~60 MB for 200k synthetic prompts), memory a caller scoring the corpus next needs more."""
    if mode not in ("python", "java"):
        raise ValueError(f"mode must be 'python' or 'java', got {mode!r}")
    checked = [_check_texts(texts) for texts in corpora]
    if mode == "java":
        return [ptb_tokenize_java(texts) for texts in checked]
    try:
        return [
            [ptb_tokenize(text, texts[i + 1] if i + 1 < len(texts) else None) for i, text in enumerate(texts)]
            for texts in checked
        ]
    finally:
        _WORD_CACHE.clear()
        _CHUNK_CACHE.clear()
