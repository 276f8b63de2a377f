"""QAS: the Question Answering Score of JourneyDB (paper App. B.1/C.1, Table 8), an `evaluate` module.

A thin wrapper: the definition is `journeydb.scoring.qas`, the judge `journeydb.models.llm_judge`.
"""

import datasets
import evaluate

from journeydb.release.citation import JOURNEYDB_CITATION
from journeydb.models.llm_judge import compute_qas
from journeydb.integrations.evaluate_inputs import CheckedInputs, scores_of
from journeydb.scoring.qas import check_qas_inputs

_CITATION = JOURNEYDB_CITATION

_DESCRIPTION = """\
QAS scores a predicted prompt by what an LLM can answer from it. The judge reads the predicted prompt, is asked to
assume it sees the image generated from it, and answers each of the image's multiple-choice questions (JourneyDB
Task3) with one letter. Per image, accuracy is taken separately over its style questions and over its content
questions; `qas_style` and `qas_content` are the means of those per-image accuracies over the images that have
questions of that type, and `qas` is their mean. The judge answers by letter scoring: one forward pass per question,
the answer being the letter the model most probably says next (its spellings' probabilities summed), the rule of
the zero-shot MC-VQA scorer too.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): One predicted prompt per image.
    references (`list` of `list` of `dict`): Per image, its questions as in the `vqa` config (`row["questions"]`):
        `type` ("style" or "content"), `question`, `options` (4 strings, A-D order), `answer` ("A"-"D");
        `question_id` is optional.
    model: A local path or hub name of a transformers causal LM (a path is read offline; naming a hub model
        downloads it), a loaded `(model, tokenizer)` pair, or a callable judge `f(batch: list[dict]) -> list[str]`
        whose dicts have `prompt`, `question`, `options` and which returns one letter "A"-"D" per item.
    batch_size (`int`, *optional*, defaults to 32): Questions per forward pass (or per call of a callable judge).
    return_per_sample (`bool`, *optional*, defaults to `False`): Also return `per_sample`: `qas_style` and
        `qas_content` per image, in input order (NaN for an image without questions of that type).

Returns:
    qas (`float` or `None`): Mean of `qas_style` and `qas_content` (`None` unless both are defined).
    qas_style (`float` or `None`): Mean over images with style questions of the per-image style accuracy.
    qas_content (`float` or `None`): The same over content questions.
    num_images (`int`), num_questions (`int`): How much was scored.
    num_invalid (`int`): Answers that were not one letter A-D (scored as wrong).

Examples:

    >>> import evaluate
    >>> qas = evaluate.load("metrics/qas")
    >>> questions = [{"type": "style", "question": "What is the art style of the image?",
    ...               "options": ["oil painting", "pixel art", "watercolor", "pencil sketch"], "answer": "C"},
    ...              {"type": "content", "question": "Which animal is shown?",
    ...               "options": ["fox", "owl", "cat", "deer"], "answer": "A"}]
    >>> def judge(batch):  # answers the first option whose text appears in the prompt
    ...     return ["ABCD"[next((k for k, o in enumerate(item["options"]) if o in item["prompt"]), 0)]
    ...             for item in batch]
    >>> qas.compute(predictions=["a watercolor fox in the snow"], references=[questions], model=judge)
    {'qas': 1.0, 'qas_style': 1.0, 'qas_content': 1.0, 'num_images': 1, 'num_questions': 2, 'num_invalid': 0}
"""

_QUESTION = {
    "question_id": datasets.Value("string"),
    "type": datasets.Value("string"),
    "question": datasets.Value("string"),
    "options": datasets.List(datasets.Value("string")),
    "answer": datasets.Value("string"),
}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Qas(CheckedInputs, evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.List(_QUESTION)}
            ),
            reference_urls=["https://arxiv.org/abs/2307.00716", "https://journeydb.github.io"],
        )

    # evaluate's encoder wants every question dict to have exactly the declared keys: the check canonicalises them,
    # so rows of the `vqa` config and hand-written questions (no `question_id`) are both accepted
    check_inputs = staticmethod(check_qas_inputs)

    def _compute(self, predictions, references, model=None, batch_size=32, return_per_sample=False):
        if model is None:
            raise ValueError(
                "QAS needs a judge: pass model=<path or name of a causal LM | (model, tokenizer) | callable>"
            )
        # With evaluate's own num_process > 1, only process 0 gets here (holding everyone's inputs): it must not wait
        # for the other processes to share the judging.
        scored = compute_qas(
            predictions, references, model, batch_size=batch_size, split_across_processes=self.num_process == 1
        )
        return scores_of(scored, return_per_sample)
