"""Multiple-choice VQA: deterministic answer extraction and accuracy (paper Table 6).

A prediction is a model's reply to a question with four options labelled A-D: a bare letter, or free text. It is
turned into a letter by the first rule below that fires (rules are tried in this order):

    letter        the whole reply is one letter, case-insensitive, possibly wrapped: "B", "c", "(B)", "B.", "**B**"
    answer_is     "answer is X", "answer: X", "the correct option is (X)", "choice would be X"
    paren         "(X)" anywhere, either case ("Answer: (a)" is A)
    letter_punct  "X." / "X)" / "X:" anywhere ("B. a red box", "I pick C.")
    option_text   the reply names exactly one option by its text (case, punctuation and spacing ignored): it equals
                  an option; else it contains exactly one option's text ("red" found only inside a found "dark
                  red" does not count); else it is part of exactly one option ("Karaoke" for "Singing Karaoke")

Within a rule the last occurrence wins, because reasoning chains state their conclusion at the end ("A looks
plausible, but the answer is C"). Letters inside text must be uppercase: "a" is an article far more often than an
answer (a lowercase letter counts only alone or in parentheses). What no rule resolves gets the rule name `invalid`: it counts as wrong and in `num_invalid`. There is
never a random guess, so the same predictions always give the same numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import repeat
from typing import Any, Optional

import numpy as np

from journeydb.release.records import LETTERS, BadRecord, letter_of, normalize_answer, normalize_options

from .scored import ScoredCorpus

QUESTION_TYPES = ("style", "content")
RULES = ("letter", "answer_is", "paren", "letter_punct", "option_text")
INVALID = "invalid"

# markdown emphasis, quotes and brackets a model may wrap a bare letter in
_WRAP = r"[\s*_'\"`(\[{<]*"
_WRAP_END = r"[\s*_'\"`)\]}>.:,;!]*"
_CLEAN_LETTER = re.compile(rf"^{_WRAP}([A-Da-d]){_WRAP_END}$")
# an uppercase letter that stands alone: not part of a word, a contraction ("A's") or a hyphenation ("A-frame")
_ALONE = r"(?![\w'’-])"
_ANSWER_IS = re.compile(
    r"\b(?i:answer|option|choice)\b"
    r"(?:\s+(?i:is|would\s+be|should\s+be|will\s+be|must\s+be))?"
    r"\s*[:=\-]?"
    rf"{_WRAP}([A-D]){_ALONE}"
)
_PAREN = re.compile(r"\(\s*([A-Da-d])\s*\)")  # "(a)" too: a letter in parentheses is an option label either case
# "U.S.A." and "A.I." are not answers: no word character or dot before, no word character after
_LETTER_PUNCT = re.compile(r"(?<![\w.'’])([A-D])[.):](?!\w)")
_NON_WORD = re.compile(r"[\W_]+")


def _words(text: str) -> str:
    """Lowercase text reduced to space-separated words, padded so that `" x " in` tests whole words."""
    return f" {_NON_WORD.sub(' ', text.lower()).strip()} "


def _last(pattern: re.Pattern, text: str) -> Optional[str]:
    matches = pattern.findall(text)
    return matches[-1].upper() if matches else None


def _option_text_match(prediction: str, options: Sequence[str]) -> Optional[str]:
    """The option a reply names by text: equal to one option; else containing exactly one option's text (an option
    found only inside a longer found option, like "red" in "dark red", does not count); else contained in exactly
    one option ("Karaoke" for "Singing Karaoke")."""
    reply = _words(prediction)
    if not reply.strip():
        return None
    texts = [_words(option) for option in options]
    for candidates in (
        [i for i, text in enumerate(texts) if text == reply],
        _maximal([i for i, text in enumerate(texts) if text.strip() and text in reply], texts),
        [i for i, text in enumerate(texts) if reply in text],
    ):
        if len(candidates) == 1:
            return LETTERS[candidates[0]]
        if candidates:  # several options fit equally well: ambiguous, not a later, weaker test's business
            return None
    return None


def _maximal(hits: list[int], texts: list[str]) -> list[int]:
    return [i for i in hits if not any(texts[i] != texts[j] and texts[i] in texts[j] for j in hits)]


def _check_options(options: Any, where: str) -> list[str]:
    """Four option texts (a leading "A. " label is dropped), or a ValueError saying where."""
    if isinstance(options, (str, bytes)) or not hasattr(options, "__iter__"):
        raise ValueError(f"{where}: options must be four strings in A-D order, got {options!r}")
    try:
        return normalize_options(list(options))
    except BadRecord as err:
        raise ValueError(f"{where}: options must be four strings in A-D order ({err})") from None


def _as_list(column: Any, name: str) -> Sequence:
    """A column (list, tuple, `datasets` column, ...) as a sequence; a bare string is refused, not split into chars.
    A sized sequence is used as it is (a compact column is not copied into Python objects), anything else listed."""
    if isinstance(column, (str, bytes, dict)) or not hasattr(column, "__iter__"):
        raise TypeError(f"{name} must be a sequence with one entry per question, got {type(column).__name__}")
    return column if isinstance(column, Sequence) else list(column)


def extract_choice(prediction: str, options: Optional[Sequence[str]] = None) -> tuple[Optional[str], str]:
    """The option letter a reply chooses, and the name of the rule that found it.

    Args:
        prediction (`str`):
            The model's reply: a letter or free text.
        options (`Sequence[str]`, *optional*):
            The four option texts in A-D order; enables the `option_text` rule.

    Returns:
        `tuple[Optional[str], str]`: (`"A"`..`"D"`, rule name), or (`None`, `"invalid"`) when no rule resolves it.
        Rules, in the order tried: `letter`, `answer_is`, `paren`, `letter_punct`, `option_text` (see the module
        docstring).

    Example:

    ```py
    >>> extract_choice("The answer is (B).")
    ('B', 'answer_is')
    >>> extract_choice("Karaoke", options=["Dancing", "Cooking", "Reading", "Singing Karaoke"])
    ('D', 'option_text')
    >>> extract_choice("I cannot tell.")
    (None, 'invalid')

    ```
    """
    if not isinstance(prediction, str):
        raise TypeError(f"prediction must be a string, got {type(prediction).__name__}")
    texts = _check_options(options, "extract_choice") if options is not None else None
    match = _CLEAN_LETTER.match(prediction)
    if match:
        return match.group(1).upper(), "letter"
    for rule, pattern in (("answer_is", _ANSWER_IS), ("paren", _PAREN), ("letter_punct", _LETTER_PUNCT)):
        letter = _last(pattern, prediction)
        if letter is not None:
            return letter, rule
    if texts is not None:
        letter = _option_text_match(prediction, texts)
        if letter is not None:
            return letter, "option_text"
    return None, INVALID


def reference_letter(reference: Any, options: Optional[Sequence[str]], index: int) -> str:
    """The gold letter of a reference given as "C", "C.", "(C)", "C. text", or (with options) an option's text."""
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError(
            f"reference at index {index} is {reference!r}: expected a letter A-D, 'C. text' or an option's text "
            "(test-split answers are withheld and cannot be scored)"
        )
    if options is None:
        letter = letter_of(reference)
        if letter is None:
            raise ValueError(
                f"reference at index {index} is {reference!r}: not a letter A-D or 'C. text' "
                "(pass options= to accept option texts)"
            )
        return letter
    try:
        return normalize_answer(reference, list(options))
    except BadRecord as err:
        raise ValueError(f"reference at index {index}: {err}") from None


def check_choice_inputs(predictions: Any, references: Any) -> tuple[list[str], list[str]]:
    """Replies (a string, or None for no answer) and gold answers (strings), one each per question. A None reply
    comes back as "" (no rule resolves it either: it scores the same), which evaluate's string feature accepts.

    Raises:
        TypeError: a column is not a sequence, or an item has the wrong type (its index is named).
        ValueError: the columns differ in length.
    """
    predictions, references = _as_list(predictions, "predictions"), _as_list(references, "references")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    for i, prediction in enumerate(predictions):
        if prediction is not None and not isinstance(prediction, str):
            raise TypeError(f"predictions[{i}] is {type(prediction).__name__}, not a string")
    for i, reference in enumerate(references):
        if not isinstance(reference, str):
            raise TypeError(f"references[{i}] is {type(reference).__name__}, not a string")
    return ["" if p is None else p for p in predictions], references


def score_choices(
    predictions: Sequence[Optional[str]],
    references: Sequence[str],
    question_types: Optional[Sequence[Optional[str]]] = None,
    options: Optional[Sequence[Optional[Sequence[str]]]] = None,
) -> ScoredCorpus:
    """Accuracy of multiple-choice answers, overall and per question type, with each question's extracted letter.

    Args:
        predictions (`Sequence[str]`):
            One reply per question, a letter or free text (see `extract_choice`). `None` means "no answer" and
            counts as invalid.
        references (`Sequence[str]`):
            The gold answer per question: "C", "C.", "(C)", "C. text", or the text of one option when `options`
            are given.
        question_types (`Sequence[str]`, *optional*):
            `"style"` or `"content"` per question; a question without one (None, or no list at all) counts in
            `accuracy` only.
        options (`Sequence[Sequence[str]]`, *optional*):
            The four option texts per question in A-D order (None for a question without them). Enables
            option-text predictions and references.

    Returns:
        `ScoredCorpus`. `corpus`: `accuracy`, `accuracy_style`, `accuracy_content` (fractions in [0, 1]; `None`
        when there is no question of that kind), `num_questions`, `num_invalid` (replies no rule resolved; they
        count as wrong) and `extraction` (how many replies each rule resolved, every rule listed). `per_sample`,
        one entry per question: `correct` (bool array), `letter` (the extracted letter, None where invalid) and
        `rule` (the rule that resolved it, or `invalid`).

    Example:

    ```py
    >>> scored = score_choices(["B", "the answer is A"], ["B", "C"], ["style", "content"])
    >>> scored.corpus["accuracy"], scored.per_sample["letter"], scored.per_sample["correct"].tolist()
    (0.5, ['B', 'A'], [True, False])

    ```
    """
    predictions = _as_list(predictions, "predictions")
    references = _as_list(references, "references")
    n = len(predictions)
    question_types = [None] * n if question_types is None else _as_list(question_types, "question_types")
    lengths = {"references": len(references), "question_types": len(question_types)}
    if options is not None:
        options = _as_list(options, "options")
        lengths["options"] = len(options)
    for name, length in lengths.items():
        if length != n:
            raise ValueError(f"{n} predictions but {length} {name}")

    correct: Counter = Counter()
    totals: Counter = Counter()
    extraction = {rule: 0 for rule in RULES}
    num_invalid = 0
    letters: list[Optional[str]] = []
    rules: list[str] = []
    is_correct = np.zeros(n, dtype=bool)
    # one pass of iteration over every column (a compact column converts a chunk at a time, not an item at a time)
    rows = zip(predictions, references, question_types, options if options is not None else repeat(None, n))
    for i, (prediction, reference, qtype, given) in enumerate(rows):
        if qtype is not None and qtype not in QUESTION_TYPES:
            raise ValueError(f"question_types[{i}] is {qtype!r}; expected one of {QUESTION_TYPES} or None")
        texts = _check_options(given, f"options[{i}]") if given is not None else None
        gold = reference_letter(reference, texts, i)
        if prediction is None:
            letter, rule = None, INVALID
        elif isinstance(prediction, str):
            letter, rule = extract_choice(prediction, texts)
        else:
            raise TypeError(f"predictions[{i}] is {type(prediction).__name__}, not a string")
        totals[qtype] += 1
        letters.append(letter)
        rules.append(rule)
        if letter is None:
            num_invalid += 1
        else:
            extraction[rule] += 1
            is_correct[i] = letter == gold
            correct[qtype] += letter == gold

    def _accuracy(*types: Optional[str]) -> Optional[float]:
        total = sum(totals[t] for t in types)
        return sum(correct[t] for t in types) / total if total else None

    corpus = {
        "accuracy": _accuracy(*QUESTION_TYPES, None),
        "accuracy_style": _accuracy("style"),
        "accuracy_content": _accuracy("content"),
        "num_questions": n,
        "num_invalid": num_invalid,
        "extraction": extraction,
    }
    return ScoredCorpus(corpus=corpus, per_sample={"correct": is_correct, "letter": letters, "rule": rules})
