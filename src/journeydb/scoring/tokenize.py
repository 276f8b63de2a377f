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
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from .ptb_chars import DROPPED_CHARS, SYMBOL_REPLACEMENTS, WORD_CHARS

logger = logging.getLogger(__name__)

# pycocoevalcap's drop list: exact and case-sensitive
PTB_DROPPED_TOKENS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
JAR_NAME = "stanford-corenlp-3.4.1.jar"
_LINE_BREAKS = re.compile("[\r\x0b\x0c\u2028\u2029]")
# the soft hyphen U+00AD joins words, numbers and dotted words and is then left out of them (`soft\u00adhyphen` ->
# `softhyphen`), stays in e-mail addresses, http URLs, hashtags and file names, and ends slash words (`a/b\u00adc`)
_SOFT_HYPHEN = "\u00ad"
_KEEPS_SOFT_HYPHEN = frozenset(["email", "hashtag", "file"])

# --- character classes ------------------------------------------------------------------------------------------
_W = "A-Za-z0-9_" + WORD_CHARS  # joins a word
_L = "A-Za-z_" + WORD_CHARS  # joins a dotted word (no ASCII digits)
W, L = f"[{_W}]", f"[{_L}]"
_ALNUM = f"[{_W.replace('_', '')}]"
_SEGMENT = f"{_ALNUM}+(?:_{_ALNUM}+)*"  # single underscores join inside a word only (`a__b` -> `a` `__` `b`)
_WORD_SEGMENT = f"[{_W.replace('_', '')}\u00ad]+(?:(?<!\u00ad)_{_ALNUM}+)*"  # `ab\u00ad_cd` -> `ab` `_` `cd`
_SPACE = re.compile(rf"[\s\x00-\x1f\x7f{DROPPED_CHARS}\U00010000-\U0010ffff]+")

# abbreviations that keep their period in any case; single letters and acronyms (U.S.A.) keep it too. Measured on
# the jar in three casings before a word and before a number: `approx.`, `ed.`, `vol.`, `viz.`, `Sat.` ... do not
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st jr sr mt ft rev gen col lt sgt capt gov sen rep pres hon messrs mme mlle
    inc co corp ltd bros vs etc est dept univ assn ave blvd rd sq tel ext
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri
    ala ariz calif colo conn fla ga ind kan kans ky md mich minn mo mont neb nev
    okla penn tenn va vt wis wisc wyo cf al
    """.split()
)
# ... only with a capital first letter (`Mass.`, `MASS.`, not `mass.`)
CAPITALISED_ABBREVIATIONS = frozenset("ark del ill la mass miss ore pa tex wash".split())
# ... only before a number: right after the period or one white-space character later (`No. 5`, `art.5`, `ca. 1900`;
# not `No.  5`)
NUMBER_ABBREVIATIONS = frozenset("art ca fig figs no nos op pp".split())

_ABBREVIATION = "(?:(?i:" + "|".join(sorted(ABBREVIATIONS | NUMBER_ABBREVIATIONS, key=len, reverse=True)) + ")|" + \
    "|".join(f"[{w[0].upper()}](?i:{w[1:]})" for w in sorted(CAPITALISED_ABBREVIATIONS, key=len, reverse=True)) + ")"
# abbreviations that do not join a following single letter (`Inc.A` gives `Inc.` `A`, but `vs.A` stays whole):
# measured on the jar one abbreviation at a time
FINAL_ABBREVIATIONS = frozenset(
    """
    al ala apr ariz ark assn aug blvd bros calif co colo conn corp dec del est etc feb fla fri ga ill inc ind jan jr
    jul jun kan kans ky la ltd mar mass md mich minn miss mo mon mont neb nev nov oct okla ore pa penn rd sep sept sr
    tenn tex thu thurs tue tues univ va vt wash wed wis wisc wyo
    """.split()
)
_FINAL_ABBREVIATION = "(?i:" + "|".join(sorted(FINAL_ABBREVIATIONS, key=len, reverse=True)) + ")"
_LETTER = f"[{_L.replace('_', '')}]"
_PIECE = f"{_LETTER}[{_W.replace('_', '')}{_SOFT_HYPHEN}]*"  # a dotted word's parts start with a letter (`2a.b` splits)
# `Ph.D.` and `Ed.D.` keep their period before a hyphen or a single letter (`Ph.D.x` -> `ph.d.` `x`, `Ph.D.xy` whole)
_NOT_PHD = rf"(?!(?i:(?:ph|ed)\.d\.)(?:-|{_LETTER}(?!{_ALNUM}|\.{_ALNUM})))"
_EXCLAIMED_PART = rf"{_LETTER}{_ALNUM}*(?:\.{_LETTER}{_ALNUM}*)*"
_NOT_FINAL_LETTER = rf"(?!{_FINAL_ABBREVIATION}\.[A-Za-z](?!{_ALNUM}|\.{_ALNUM}))"
FILE_EXTENSIONS = frozenset(
    "bat bmp c class cgi cpp doc docx exe gif gz h htm html jar java jpeg jpg mov mp3 pdf php pl png ppt ps py tar "
    "txt wav x xml zip".split()
)
_FILE_EXTENSION = "|".join(sorted(FILE_EXTENSIONS, key=len, reverse=True))
_URL_CHAR = r"[^\s\"()\[\]{}<>|]"
_URL_END = r"[^\s\"()\[\]{}<>|.,!?\-]"
_EMAIL_CHAR = r"[^\s\"(){}<>|]"
# measured code point by code point as `a<c>abc.com` and `®<c>abc.com`; Python's white space is left out (the jar
# also glues across U+00A0 and U+3000, but the chunk caches split there)
_HOST_BODY = (r"a-z#%&*+~\u0080-\u0084\u0086-\u009f\u00a1-\u00ac\u00ae-\u167f\u1681-\u1fff\u200b-\u2027"
              r"\u202a-\u202e\u2030-\u205e\u2060-\u2fff\u3001-\U0010ffff")
_HOST_CHAR = f"[{_HOST_BODY}]"
# curly single quotes: the right ones (U+2019, cp1252 0x92) act as apostrophes in contractions too, the left ones
# (U+2018, U+201B, 0x91) only inside words (`o‘clock`, `single‘a`, `don‘t`); `‹` `›` never do
_RIGHT_QUOTES = "\u2019\x92"
_APOSTROPHES = "'" + _RIGHT_QUOTES + "\u2018\u201b\x91"
A, RQ = f"[{_APOSTROPHES}]", f"[{_RIGHT_QUOTES}]"
# two quote characters glued together make one token, each spelt as a PTB quote (`»“` -> `''``)
_QUOTE_SPELLING = {"`": "`", "\u2018": "`", "\u201b": "`", "\u2039": "`", "\x91": "`", "\u2019": "'", "\u203a": "'",
                   "\x92": "'", "\u201c": "``", "\u00ab": "``", "\x93": "``", "\u201d": "''", "\u00bb": "''",
                   "\x94": "''", "\u201a": "\u201a", "\u201e": "\u201e", "\u201f": "\u201f"}
_QUOTE = "[" + "".join(_QUOTE_SPELLING) + "]"

# one (name, pattern) per token shape; at each position the longest match wins, the first listed on ties
_RULES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in [
        # only http(s) URLs; they take `,`, `;`, `:` and `'` inside (not a final `,`)
        ("url", rf"(?i:https?://){_URL_CHAR}*{_URL_END}"
                rf"|www(?:\.{_PIECE})+(?:/{_URL_CHAR}+{_URL_END})?"),  # a path of one character splits
        # anything between an alphanumeric start and a last character that is not `.` (`a!b@c`, `no.@@`)
        ("email", rf"<?[A-Za-z0-9](?:{_EMAIL_CHAR}*)@{_EMAIL_CHAR}*[^\s\"(){{}}<>|.]>?"),
        ("tag", r"</?[A-Za-z!][^<>\n]*>"),
        # group lengths measured: `(55) 1234-56789`, `5555 123 456789012`; longer groups end the number
        ("phone", r"\(\d{2,3}\) ?\d{3,4}-\d{3,5}|\d{2,4} \d{3,4} \d{3,9}"),
        ("fraction", r"\d+ \d+/\d+"),
        ("bracket_code", r"-(?:[lLrR][rRsScC][bB])-"),
        # eyes, an optional nose and a mouth, not followed by an ASCII letter or digit (`:-)_`, `:[日`, not `:)a`);
        # `<` or `>` may lead (`>;-)`); measured over every ASCII mouth after `:` `;` `=` and the noses `-` `o` `'`
        ("emoticon", r"[<>]?[:;=][-o']?[dpDOP()@\\|\[\]{](?=[^A-Za-z0-9])|\(\^_\^\)|\^_\^"),
        ("word", rf"{_WORD_SEGMENT}(?:[-\u2010\u2011]{_WORD_SEGMENT})*"),
        # `a!b`, `x?y`, `a.b?c.d`: parts of letter-initial pieces joined by periods (`1?b`, `a?3`, `ab_c?d` split)
        ("exclaimed", rf"{_EXCLAIMED_PART}(?:[!?]{_EXCLAIMED_PART})+"),
        ("ampersand", r"[A-Z]+&(?!(?i:amp|quot|lt|gt);)[A-Z]+"),  # AT&T, R&D
        ("prefix", rf"(?i:anti)-(?![{_W}])"),
        ("word_period", rf"{_ALNUM}+\.(?=[,;:])"),  # `5.,` `abc.;` keep their period
        # o'clock, d'Arc, l'amour, n'importe, n'tcan (not `b'clock`, `o'x`); d', l', o' take the rest of the word
        # (`o'clock2x`, `d'arc_x`, `o'clock-x`), n' two or more letters, non-ASCII too (`n'éa`, `n'tfiancée`;
        # `n'import_x` -> `n'import` `_` `x`)
        ("oclock", rf"[DdLlOo]{A}[A-Za-z]{W}+(?:[-\u2010\u2011]{_SEGMENT})*"
                   rf"|[Nn]{A}[Tt]{_LETTER}*|[Nn]{A}{_LETTER}{{2,}}"),
        # a word ending in a vowel or `y` joins a letter run after an apostrophe that starts with a lowercase ASCII
        # vowel or an ASCII capital (`single'a`, `ay'all`, `éy'Xa`; not `single'x`, `single'y`, `single'é`),
        # unless a contraction starts there (`single'vea`; capitalised only when it is all: `ae'S`)
        ("vowel_apostrophe", rf"{_LETTER}+[aeiouyAEIOUY]{A}(?![sdmtn]|ll|re|ve)"
                             rf"(?!(?i:[sdm]|ll|re|ve)(?!{_LETTER}))[aeiouA-Z]{_LETTER}*"),
        # `a,b-c`, `1,000-2`, `adog,x-ray`: ASCII letters, digits, `.` and a `,` before hyphenated ASCII parts
        ("comma_hyphen", r"[A-Za-z0-9][A-Za-z0-9.]*,[A-Za-z0-9.,]*(?:-[A-Za-z0-9]+)+"),
        ("yall", rf"[yY]['{_RIGHT_QUOTES}](?=[A-Za-z])"),
        # `ab.cd`, `Mr.Smith`, `ab.cd-ef`, `ab.-cd`, `Calif.-LRB`; after a digit-initial word single letters split off
        # as an acronym (`1990sa.k.a.` -> `1990sa` `k.a.`) unless the last one is a file extension (`2.b.c`, `2.x`)
        ("dotted", rf"{_NOT_PHD}(?:{_NOT_FINAL_LETTER}{_PIECE}(?:\.{_PIECE})+(?:\.(?=[,;:])|(?:\.?-{_SEGMENT})+)?"
                   rf"|{_PIECE}\.(?:-{_SEGMENT})+|{_ALNUM}+(?:\.{_ALNUM}+)+(?:-{_SEGMENT})+)"),
        # a file name with one of these extensions (measured one by one) may start with a digit (`3readme.txt`)
        # (not one letter after an abbreviation that does not join it: `Inc.C` -> `Inc.` `C`)
        ("file", rf"{_NOT_PHD}{_NOT_FINAL_LETTER}[{_W.replace('_', '')}\u00ad]+(?:\.{_ALNUM}+)*\.(?i:{_FILE_EXTENSION})"
                 rf"(?!{_ALNUM})"),
        # slash words: ASCII parts, at most two `/` (`1/2/3/4` -> `1/2/3` `/` `4`); with hyphens before the first
        # slash, the hyphenated parts are letters only (`co-opw/o`, but `a-b1/c` -> `a-b1` `/` `c`)
        ("path", r"[A-Za-z0-9]+(?:/[A-Za-z0-9]+(?:-[A-Za-z]+)*){1,2}"
                 r"|[A-Za-z0-9]+(?:-[A-Za-z]+)+(?:/[A-Za-z0-9]+(?:-[A-Za-z]+)*){1,2}"),
        # a host ending in `.com` `.net` `.org` `.edu`: its other characters are lowercase ASCII letters, `#%&*+~`,
        # inner periods and any non-ASCII character but the soft hyphen, emoji included (`®www.x.com`, `🔥x.org/ab`,
        # `é«x.com`; not digits, capitals, `-` or `_`), then a path of two or more characters (`x.com/a` splits)
        ("host", rf"{_HOST_CHAR}(?:[.{_HOST_BODY}]*{_HOST_CHAR})?\.(?i:com|net|org|edu)(?:/{_URL_CHAR}+{_URL_END})?"),
        # `.`, `,` and `:` join digit groups in any order (`2:12:1`, `1,2:3`, `:1.000.000`)
        ("number", r"[-+]?\d*(?:[.,]\d+)+(?:[.,:]\d+)*|[-+]\d+(?:[.,:]\d+)*"),
        ("time", r"\d*:\d+(?:[.,:]\d+)*"),
        ("abbreviation", rf"(?:{_ABBREVIATION}|[A-Za-z])\."),
        # single letters keep the final period (`U.S.A.`), other dotted words do not (`vs.U.S.A.` -> `vs.U.S.A` `.`)
        ("acronym", r"(?:[A-Za-z]\.){2,}|(?i:(?:ph|ed)\.d\.)"),
        # at the end of the file the lexer finds `'s`, `'d`, `'m`, but `'ll`, `'re`, `'ve` need one more character;
        # a non-ASCII letter after them does not join (`'sé` -> `'s` `é`)
        ("contraction", r"'(?i:s|d|m|n)(?![A-Za-z])|'(?i:ll|re|ve)(?=[^A-Za-z])"),
        ("apostrophe_word", rf"(?i:'(?:n'|em(?![a-z])|cause(?![a-z])|[2-9]0s|\d\d(?!\S))|'t(?=is|was))"
                            rf"|{RQ}(?:(?i:n{RQ}|n|em|cause|[2-9]0s)|\d\d(?!\S))"),
        # after a curly right quote the contractions need no break after them (`cat’sa` -> `cat` `'s` `a`)
        ("curly_contraction", rf"{RQ}(?i:s|d|m|ll|re|ve)"),
        # two ASCII apostrophes are one quote token, also before a contraction (`x''s` -> `x` `''` `s`)
        ("quotes", f"''|{_QUOTE}{_QUOTE}"),
        ("hashtag", rf"#[{_L.replace('_', '')}\u00ad]+|@[{_W}]+"),  # `#a_b` -> `#a` `_` `b`, `@a__b` whole
        ("code", r"[A-Za-z](?:#|\+\+)"),
        ("dashes", r"-{2,}"),
        ("dots", r"\.{2,}"),
        ("run", r"[!?]{2,}|#{2,}|@{2,}|\*+|_+|\$"),
        ("angles", r"<<|>>"),  # doubled, not tripled (`>>>` -> `>>` `>`); `<<br/>` -> `<<` `br` `/` `>`
        # two or more superscript digits, or subscript digits, are one token (`¹²`, `₂₂`; not `¹₂`); one stays
        # alone
        ("script_digits", "[\u00b9\u00b2\u00b3\u2070\u2074-\u2079]{2,}|[\u2080-\u2089]{2,}"),
        ("currency", r"[A-Z]+\$"),  # capitals take a `$` (`US$`, `C$10`, `ABC$`), not `Us$` `us$` `É$`
        # `&amp;` `&lt;` `&gt;` in any case, `&quot;` only in lowercase (`&QUOT;` stays a token)
        ("entity", r"&(?i:amp|lt|gt);|&quot;|&(?i:quot);"),
    ]
]
_FILE = dict(_RULES)["file"]
_HOST = dict(_RULES)["host"]
_RULES_NO_HOST = [(name, pattern) for name, pattern in _RULES if name != "host"]
_TLD = re.compile(r"\.(?i:com|net|org|edu)")  # the host rule is tried only in chunks that hold one
_ENTITIES = {"&amp;": "&", "&quot;": "''", "&lt;": "<", "&gt;": ">"}
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-", '"': "''"}
_SPLIT_WORDS = {"cannot": 3, "gonna": 3, "wanna": 3, "gotta": 3, "gimme": 3, "lemme": 3}
# ... but not before an apostrophe and `s`, `d`, `m`, `ll`, `re`, `ve` (`gonna's`, `cannot'dog`; `gonna'l` splits)
_KEEPS_SPLIT_WORD = re.compile(rf"['{_RIGHT_QUOTES}](?i:[sdm]|ll|re|ve)")  # not after a left quote (`gonna‘s`)
_SENTENCE_START = re.compile(r"\s+([A-Z][A-Za-z]*)(?![A-Za-z])")
# capitalised words after which a single-letter abbreviation (`I.`) loses its period: observed one by one on the jar
SENTENCE_STARTERS = frozenset(
    """
    a after an as but he her here however if in it many mr ms now one other our she since so some the their then
    there these they this we what when while yet you
    """.split()
)
_NT = re.compile(rf"[nN]{A}[tT]{_LETTER}*")  # `n'tultra_hd` -> `n'tultra` `_` `hd`
_LETTERS = re.compile(rf"[{_L.replace('_', '')}]+")
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?!\S)")
_NUMBER_ABBREVIATION_END = re.compile(
    "(?i:" + "|".join(sorted(NUMBER_ABBREVIATIONS, key=len, reverse=True)) + r")\.$")
_NUMBER_NEXT = re.compile(r"\s?\d")  # `No.` keeps its period before a number only


def _scan(text: str, pos: int, limit: int) -> tuple[list[str], int]:
    """Tokens starting in `text[pos:limit]`, before lowercasing and the drop list, and where the scan stopped (past
    `limit` when a token such as a phone number runs on); `text[limit:]` is lookahead only."""
    tokens: list[str] = []
    hosts = _TLD.search(text, pos, limit) is not None
    rules = _RULES if hosts else _RULES_NO_HOST
    while pos < limit:
        space = _SPACE.match(text, pos)
        if space:
            pos = _host_in_space(text, pos, space.end(), tokens) if hosts else space.end()
            continue
        plain = _PLAIN_WORD.match(text, pos)
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
                tokens.append(SYMBOL_REPLACEMENTS.get(char, _BRACKETS.get(char, char)))
            pos += 1
            continue
        token = text[pos:best_end]
        contraction = _NT.match(text, best_end - 1) if best_name == "word" else None
        if _SOFT_HYPHEN in token and best_name not in _KEEPS_SOFT_HYPHEN and not (
                best_name == "url" and token[0] in "hH") and not _FILE.fullmatch(token):
            token = token.replace(_SOFT_HYPHEN, "")
            if not token:
                pos = best_end
                continue
        if contraction and len(token) > 1 and token.isascii() and _LETTERS.fullmatch(token):
            # `don't` -> `do n't` (letters glued after it stay with `n't`); hyphenated, digit or non-ASCII words
            # (`cafédon't` -> `cafédon` `'` `t`) do not split
            nt = contraction.group()
            if len(nt) == 3:  # a bare `n’t` is spelt `n't`, `n‘t` `n`t`
                nt = nt[0] + _QUOTE_SPELLING.get(nt[1], nt[1]) + nt[2]
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
            host = _HOST.match(text, start)
            if host:
                tokens.append(host.group())
                return host.end()
    return end


def _finish(name: str, token: str, text: str, end: int) -> list[str]:
    """Rewrite one matched token: brackets inside it, split-off parts, kept periods."""
    if name == "word":
        if token.lower() in _SPLIT_WORDS and not _KEEPS_SPLIT_WORD.match(text, end):
            cut = _SPLIT_WORDS[token.lower()]
            return [token[:cut], token[cut:]]
        return [token]
    if name in ("phone", "fraction", "tag"):
        return [token.replace("(", "-lrb-").replace(")", "-rrb-").replace(" ", "\u00a0")]
    if name == "curly_contraction":
        return ["'" + token[1:]]
    if name == "quotes":
        if token == "''":
            return [token]
        return ["".join(_QUOTE_SPELLING[char] for char in token)]
    if name == "emoticon":
        return [token.replace("(", "-lrb-").replace(")", "-rrb-")]
    if name == "entity":
        return [_ENTITIES.get(token if token[1] in "qQ" else token.lower(), token)]  # `&QUOT;` stays as it is
    if name == "dashes":
        return [token if len(token) >= 5 else "--"]
    if name == "dots":
        return ["..."]
    if name == "abbreviation":
        stem = token[:-1]
        if len(stem) == 1 and stem.isascii() and stem.isalpha():
            start = _SENTENCE_START.match(text, end)
            if start and start.group(1).lower() in SENTENCE_STARTERS:  # `I. The`: the period ends the sentence
                return [stem, "."]
            return [token]
        if stem.lower() in NUMBER_ABBREVIATIONS and not _NUMBER_NEXT.match(text, end):
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
        if _NUMBER_ABBREVIATION_END.search(chunk):  # a superset of the chunks that end with one
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
    spec = find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pycocoevalcap is not installed: pass jar= the path of stanford-corenlp-3.4.1.jar")
    return Path(next(iter(spec.submodule_search_locations))) / "tokenizer" / JAR_NAME


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
    java = shutil.which("java")
    if java is None:
        raise FileNotFoundError("`java` was not found on the PATH: install a Java runtime, or use mode='python'")
    jar_path = Path(jar) if jar is not None else default_jar()
    if not jar_path.is_file():
        raise FileNotFoundError(f"PTBTokenizer jar not found: {jar_path}")
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
    """Tokenise a corpus the way pycocoevalcap does, in pure Python (default) or with the official jar.

    In python mode each caption sees the next one as right context and the last one sees the end of the file,
    as in the jar's one-file run.

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
    if mode not in ("python", "java"):
        raise ValueError(f"mode must be 'python' or 'java', got {mode!r}")
    texts = _check_texts(texts)
    if mode == "java":
        return ptb_tokenize_java(texts)
    return [ptb_tokenize(text, texts[i + 1] if i + 1 < len(texts) else None) for i, text in enumerate(texts)]
