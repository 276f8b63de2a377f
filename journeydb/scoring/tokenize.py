"""PTB tokenisation as pycocoevalcap 1.2 applies it before BLEU, METEOR, ROUGE-L and CIDEr.

pycocoevalcap writes every caption of the corpus on its own line (newlines inside a caption become spaces), runs
Stanford's Java `PTBTokenizer -preserveLines -lowerCase` (`stanford-corenlp-3.4.1.jar`) once on that file, and drops
the exact, case-sensitive tokens in `PTB_DROPPED_TOKENS`. Because of `-lowerCase` the bracket codes come out as
`-lrb-`, `-rsb-`, ... and survive the (uppercase) drop list.

Two implementations:

- `ptb_tokenize` / `tokenize_corpus(mode="python")`: a clean-room pure-Python scanner. It was written from the
  jar's observed behaviour only (inputs of our choosing, the frozen goldens, docs/aesthetics.md section 5), never
  from CoreNLP's source or lexer grammar: a longest-match scanner over our own token rules, plus character classes
  measured one code point at a time (`ptb_chars.py`).
- `ptb_tokenize_java` / `tokenize_corpus(mode="java")`: the official jar, run once for the corpus in a temporary
  directory (never inside site-packages), with a timeout.

The jar looks past the end of a line: a caption's tokens can depend on the next caption (`I.` keeps its period
unless the next word starts with a capital letter and a lowercase one, e.g. the next caption `It ...`), and on
being the last line of the file (at the end of the file `you've` gives `you ve` and `:)` gives `-rrb-`).
`tokenize_corpus(mode="python")` passes each caption the next one as right context and treats the last one as the
end of the file, like the jar; `ptb_tokenize(text)` tokenises a caption as if a lowercase line followed it.

Agreement with the jar (benchmarks/tokenizer.py, seeded Midjourney-like prompts; see the README for the figures):
the frozen goldens in `tests/data/ptb_goldens.json` are matched except the inputs listed in
`tests/test_tokenize.py::KNOWN_DIFFERENCES`. Known differences, all rare in prompts: phone numbers and fractions
written with spaces, some emoticons, odd apostrophe runs, and abbreviations outside our list. Use `mode="java"`
where numbers must be official.

Java mode differs from pycocoevalcap in one respect: the line-breaking characters `\\r`, `\\v`, `\\f`, U+2028 and
U+2029 are replaced by spaces before the jar runs, because the jar treats them as line ends, which would shift
every later caption onto the wrong image in pycocoevalcap.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from journeydb.scoring.ptb_chars import DROPPED_CHARS, SYMBOL_REPLACEMENTS, WORD_CHARS

logger = logging.getLogger(__name__)

# pycocoevalcap's drop list: exact and case-sensitive
PTB_DROPPED_TOKENS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
JAR_NAME = "stanford-corenlp-3.4.1.jar"
_LINE_BREAKS = re.compile("[\r\x0b\x0c\u2028\u2029]")
_SINGLE_QUOTES = str.maketrans("\x91\x92\u2018\u2019\u201b", "'" * 5, "\u00ad")  # and drop soft hyphens

# --- character classes ------------------------------------------------------------------------------------------
_W = "A-Za-z0-9_" + WORD_CHARS  # joins a word
_L = "A-Za-z_" + WORD_CHARS  # joins a dotted word (no ASCII digits)
W, L = f"[{_W}]", f"[{_L}]"
_ALNUM = f"[{_W.replace('_', '')}]"
_SEGMENT = f"{_ALNUM}+(?:_+{_ALNUM}+)*"  # underscores join inside a word only
_LETTERED = f"{_ALNUM}*[{_L.replace('_', '')}]{_ALNUM}*"  # a dotted word's parts each hold a letter
_SPACE = re.compile(rf"[\s\x00-\x1f\x7f{DROPPED_CHARS}\U00010000-\U0010ffff]+")

# abbreviations that keep their period (matched lowercase); single letters and acronyms (U.S.A.) keep it too
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st jr sr mt ft rev gen col lt sgt capt gov sen rep pres hon messrs mme mlle
    inc co corp ltd bros vs etc ca fig figs nos vol vols pp ed eds est approx dept univ assn ave blvd rd
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    ala ariz ark calif colo conn del fla ga ill ind kan kans ky la md mass mich minn miss mo mont neb nebr nev
    okla ore pa penn tenn tex va vt wash wis wisc wyo cf al op cit ibid viz
    """.split()
)
_CONTRACTION = r"(?:'[sS]|'[dD]|'[mM]|'[lL][lL]|'[rR][eE]|'[vV][eE])"

# one (name, pattern) per token shape; at each position the longest match wins, the first listed on ties
_RULES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in [
        ("url", r"(?:[A-Za-z]+://|www\.)[A-Za-z0-9\-._~:/?#@!$&'*+;=%]*[A-Za-z0-9\-_~/?#@!$&'*+;=%]"),
        ("email", rf"{W}(?:[{_W}.+\-]*{W})?@{W}+(?:[.\-]{W}+)*[!?]?"),
        ("tag", r"</?[A-Za-z!][^<>\n]*>"),
        ("phone", r"\(\d{3}\) ?\d{3}-\d{4}|\d{3} \d{3} \d{4}"),
        ("fraction", r"\d+ \d+/\d+"),
        ("bracket_code", r"-(?:[lLrR][rRsScC][bB])-"),
        ("emoticon", rf"(?:[:;=]-?[()DPdp]|\(\^_\^\)|\^_\^)(?=[^{_L}])"),
        ("word", rf"{_SEGMENT}(?:(?:[-!?\u2010\u2011]|&(?!(?:amp|quot|lt|gt);)){_SEGMENT})*"),
        ("oclock", rf"(?![yY]')[A-Za-z]'(?!(?i:s|d|m|ll|re|ve)(?!{L})){L}+"),
        ("yall", r"[yY]'(?=[A-Za-z])"),
        ("dotted", rf"{_LETTERED}(?:\.{_LETTERED})+(?:-{_SEGMENT})*"),
        ("path", rf"{W}+(?:\.{L}+)*(?:/{W}+(?:\.{L}+)*)+"),
        ("number", r"[-+]?\d*(?:[.,]\d+)+|[-+]\d+"),
        ("time", r"\d*:\d+(?:\.\d+)?"),
        ("abbreviation", rf"{L}+\."),
        ("acronym", r"(?:[A-Za-z]\.)+(?:[A-Za-z]{1,2}\.)|[A-Za-z]{2}\.(?:[A-Za-z]\.)+"),
        ("contraction", _CONTRACTION + rf"(?=[^{_L}])"),
        ("apostrophe_word", r"(?i:'(?:n'|em(?![a-z])|cause(?![a-z])|\d+s?(?![a-z]))|'t(?=(?:is|was)\b))"),
        ("hashtag", rf"#[{_L}]+|@[{_W}]+"),
        ("code", r"[A-Za-z](?:#|\+\+)"),
        ("dashes", r"-{2,}"),
        ("dots", r"\.{2,}"),
        ("run", r"[!?]{2,}|#{2,}|@{2,}|\*+|_+|\$"),
        ("entity", r"&(?:amp|quot|lt|gt);"),
    ]
]
_ENTITIES = {"&amp;": "&", "&quot;": "''", "&lt;": "<", "&gt;": ">"}
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-", '"': "''"}
_NOT_SPLIT = re.compile(r"(?:can|gon|wan|got|gim|lem)(?:not|na|ta|me)$", re.IGNORECASE)
_SPLIT_WORDS = {"cannot": 3, "gonna": 3, "wanna": 3, "gotta": 3, "gimme": 3, "lemme": 3}
_SENTENCE_START = re.compile(r"\s+[A-Z][a-z]")
_NT = re.compile(rf"[nN]'[tT](?=[^{_L}])")
_NUMBER_NEXT = re.compile(r"\s*\d|\S")  # `No.` is an abbreviation before a number (or glued to the next token)


def _scan(text: str, limit: int) -> list[str]:
    """Tokens starting before `limit`, before lowercasing and the drop list; `text[limit:]` is lookahead only."""
    tokens: list[str] = []
    pos = 0
    while pos < limit:
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
            continue
        best_name, best_end = "", pos
        for name, pattern in _RULES:
            match = pattern.match(text, pos)
            if match and match.end() > best_end:
                best_name, best_end = name, match.end()
        if best_end == pos:  # a symbol of its own; the hyphens U+2010, U+2011 are dropped alone
            char = text[pos]
            if char not in "\u2010\u2011":
                tokens.append(SYMBOL_REPLACEMENTS.get(char, _BRACKETS.get(char, char)))
            pos += 1
            continue
        token = text[pos:best_end]
        if best_name == "word" and _NT.match(text, best_end - 1) and len(token) > 1:
            tokens.extend([token[:-1], "n't"])  # `don't` -> `do n't`: the lexer looked ahead for `n't`
            pos = best_end + 2
            continue
        tokens.extend(_finish(best_name, token, text, best_end))
        pos = best_end
    return tokens


def _finish(name: str, token: str, text: str, end: int) -> list[str]:
    """Rewrite one matched token: brackets inside it, split-off parts, kept periods."""
    if name == "word":
        if token.lower() in _SPLIT_WORDS:
            cut = _SPLIT_WORDS[token.lower()]
            return [token[:cut], token[cut:]]
        return [token]
    if name in ("phone", "fraction", "tag"):
        return [token.replace("(", "-lrb-").replace(")", "-rrb-").replace(" ", "\u00a0")]
    if name == "emoticon":
        return [token.replace("(", "-lrb-").replace(")", "-rrb-")]
    if name == "entity":
        return [_ENTITIES[token]]
    if name == "dashes":
        return [token if len(token) >= 5 else "--"]
    if name == "dots":
        return ["..."]
    if name == "abbreviation":
        stem = token[:-1]
        if len(stem) == 1 and stem.isascii() and stem.isalpha():
            if _SENTENCE_START.match(text, end):  # `I. The`: the period ends the sentence
                return [stem, "."]
            return [token]
        if stem.lower() == "no":
            return [token] if _NUMBER_NEXT.match(text, end) else [stem, "."]
        return [token] if stem.lower() in ABBREVIATIONS else [stem, "."]
    if name == "apostrophe_word" and token[:2].lower() == "'t" and len(token) == 2:
        return [token]
    return [token]


def _tokens(text: str, right_context: str | None) -> list[str]:
    """The kept, lowercased tokens of one caption, with the next caption (None: end of file) as right context."""
    text = text.translate(_SINGLE_QUOTES)
    scanned = text if right_context is None else text + "\n" + right_context
    tokens = []
    for token in _scan(scanned, len(text)):
        token = token.lower()
        if token not in PTB_DROPPED_TOKENS:
            tokens.append(token)
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
    if right_context is not None:
        right_context = _LINE_BREAKS.sub(" ", right_context.replace("\n", " "))
    return " ".join(_tokens(text, right_context))
