"""The token rules of the clean-room PTB scanner in `tokenize.py`: character classes, word lists, and one regular
expression per token shape.

Like the scanner, they were written from the jar's observed behaviour only (its output on inputs of our choosing),
never from CoreNLP's source. The scanner tries every pattern of `RULES` at each position and keeps the longest
match; the other public names are the checks it makes around a match. Names with a leading underscore are pieces
of the patterns only.
"""

from __future__ import annotations

import re

from .ptb_chars import DROPPED_CHARS, WORD_CHARS

# the soft hyphen U+00AD joins words, numbers and dotted words and is then left out of them (`soft\u00adhyphen` ->
# `softhyphen`), stays in e-mail addresses, http URLs, hashtags and file names, and ends slash words (`a/b\u00adc`)
SOFT_HYPHEN = "\u00ad"
KEEPS_SOFT_HYPHEN = frozenset(["email", "hashtag", "file"])

# --- character classes ------------------------------------------------------------------------------------------
_W = "A-Za-z0-9_" + WORD_CHARS  # joins a word
_L = "A-Za-z_" + WORD_CHARS  # joins a dotted word (no ASCII digits)
W, L = f"[{_W}]", f"[{_L}]"
_ALNUM = f"[{_W.replace('_', '')}]"
_SEGMENT = f"{_ALNUM}+(?:_{_ALNUM}+)*"  # single underscores join inside a word only (`a__b` -> `a` `__` `b`)
_WORD_SEGMENT = f"[{_W.replace('_', '')}\u00ad]+(?:(?<!\u00ad)_{_ALNUM}+)*"  # `ab\u00ad_cd` -> `ab` `_` `cd`
SPACE = re.compile(rf"[\s\x00-\x1f\x7f{DROPPED_CHARS}\U00010000-\U0010ffff]+")

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
_PIECE = f"{_LETTER}[{_W.replace('_', '')}{SOFT_HYPHEN}]*"  # a dotted word's parts start with a letter (`2a.b` splits)
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
QUOTE_SPELLING = {"`": "`", "\u2018": "`", "\u201b": "`", "\u2039": "`", "\x91": "`", "\u2019": "'", "\u203a": "'",
                   "\x92": "'", "\u201c": "``", "\u00ab": "``", "\x93": "``", "\u201d": "''", "\u00bb": "''",
                   "\x94": "''", "\u201a": "\u201a", "\u201e": "\u201e", "\u201f": "\u201f"}
_QUOTE = "[" + "".join(QUOTE_SPELLING) + "]"

# one (name, pattern) per token shape; at each position the longest match wins, the first listed on ties
RULES: list[tuple[str, re.Pattern[str]]] = [
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
FILE_RULE = dict(RULES)["file"]
HOST_RULE = dict(RULES)["host"]
RULES_NO_HOST = [(name, pattern) for name, pattern in RULES if name != "host"]
TLD = re.compile(r"\.(?i:com|net|org|edu)")  # the host rule is tried only in chunks that hold one
ENTITIES = {"&amp;": "&", "&quot;": "''", "&lt;": "<", "&gt;": ">"}
BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-", '"': "''"}
SPLIT_WORDS = {"cannot": 3, "gonna": 3, "wanna": 3, "gotta": 3, "gimme": 3, "lemme": 3}
# ... but not before an apostrophe and `s`, `d`, `m`, `ll`, `re`, `ve` (`gonna's`, `cannot'dog`; `gonna'l` splits)
KEEPS_SPLIT_WORD = re.compile(rf"['{_RIGHT_QUOTES}](?i:[sdm]|ll|re|ve)")  # not after a left quote (`gonna‘s`)
SENTENCE_START = re.compile(r"\s+([A-Z][A-Za-z]*)(?![A-Za-z])")
# capitalised words after which a single-letter abbreviation (`I.`) loses its period: observed one by one on the jar
SENTENCE_STARTERS = frozenset(
    """
    a after an as but he her here however if in it many mr ms now one other our she since so some the their then
    there these they this we what when while yet you
    """.split()
)
NT_CONTRACTION = re.compile(rf"[nN]{A}[tT]{_LETTER}*")  # `n'tultra_hd` -> `n'tultra` `_` `hd`
LETTERS = re.compile(rf"[{_L.replace('_', '')}]+")
PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?!\S)")
NUMBER_ABBREVIATION_END = re.compile(
    "(?i:" + "|".join(sorted(NUMBER_ABBREVIATIONS, key=len, reverse=True)) + r")\.$")
NUMBER_NEXT = re.compile(r"\s?\d")  # `No.` keeps its period before a number only
