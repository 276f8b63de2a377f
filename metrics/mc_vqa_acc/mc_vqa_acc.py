"""`mc_vqa_acc`: multiple-choice VQA accuracy on JourneyDB style and content questions (paper Table 6).

A thin `evaluate` wrapper: the definition lives in `journeydb.scoring.choice`.
"""

from __future__ import annotations

from typing import Optional

import datasets
import evaluate

from journeydb.release.citation import JOURNEYDB_CITATION
from journeydb.integrations.evaluate_inputs import CheckedInputs, given, scores_of
from journeydb.scoring.choice import check_choice_inputs, score_choices

_CITATION = JOURNEYDB_CITATION

_DESCRIPTION = """\
Accuracy of answers to JourneyDB's four-option (A-D) multiple-choice questions, overall and separately for style
and content questions, as in Table 6 of the JourneyDB paper. Predictions may be bare letters or free text: a
deterministic, rule-ordered extraction (a clean letter, "answer is X", "(X)" or "(x)", "X." / "X)", a unique
option-text match; the last occurrence wins within a rule) turns each into a letter. A reply no rule resolves counts as wrong
and as invalid; there is no random guess.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): one reply per question, a letter or free text.
    references (`list` of `str`): the gold answer per question: "C", "C.", "(C)", "C. text", or (with `options`)
        the text of one option. Anything else raises a `ValueError` naming its index.
    question_types (`list` of `str`, *optional*): `"style"` or `"content"` per question (a per-sample input: give
        it to `add_batch`/`add` too). Without it only `accuracy` is computed. With `evaluate.combine`, name both
        per-sample inputs in `add_batch` (`options=None` when there are none): combine looks each one up.
    options (`list` of `list` of `str`, *optional*): the four option texts per question, in A-D order (a
        per-sample input). Enables option-text predictions and references.
    return_per_sample (`bool`, defaults to `False`): also return `per_sample`: per question, in input order,
        `correct` (bool), `letter` (the extracted letter or None) and `rule` (the rule that resolved it).
Returns:
    accuracy (`float` or `None`): fraction of questions answered correctly, in [0, 1]; higher is better.
    accuracy_style (`float` or `None`): the same over style questions; `None` when there is none.
    accuracy_content (`float` or `None`): the same over content questions; `None` when there is none.
    num_questions (`int`): questions scored.
    num_invalid (`int`): replies no extraction rule resolved (counted as wrong).
    extraction (`dict`): replies resolved per rule: `letter`, `answer_is`, `paren`, `letter_punct`, `option_text`.
Examples:

    >>> import evaluate
    >>> mc_vqa_acc = evaluate.load("metrics/mc_vqa_acc")
    >>> results = mc_vqa_acc.compute(predictions=["A", "the answer is C", "D"], references=["A", "B", "D"],
    ...                              question_types=["style", "content", "content"])
    >>> print(results["accuracy"], results["accuracy_style"], results["accuracy_content"])
    0.6666666666666666 1.0 0.5
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class McVqaAcc(CheckedInputs, evaluate.Metric):
    check_inputs = staticmethod(check_choice_inputs)
    optional_inputs = {"question_types": "", "options": []}

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Value("string"),
                    "question_types": datasets.Value("string"),
                    "options": datasets.List(datasets.Value("string")),
                }
            ),
            codebase_urls=["https://github.com/JourneyDB/JourneyDB"],
            reference_urls=["https://arxiv.org/abs/2307.00716", "https://journeydb.github.io"],
        )

    def _compute(
        self,
        predictions: list[Optional[str]],
        references: list[str],
        question_types: Optional[list[str]] = None,
        options: Optional[list[Optional[list[str]]]] = None,
        return_per_sample: bool = False,
    ) -> dict:
        question_types = None if question_types is None else given(question_types, "")
        options = None if options is None else given(options, [])
        return scores_of(score_choices(predictions, references, question_types, options), return_per_sample)
