"""Style recall: recall@k of ranked style phrases, over the whole style space and per style category (JourneyDB).

A thin `evaluate` wrapper over `journeydb.scoring.style.style_recall`, where the definition lives.
"""

from typing import Any, Mapping, Optional, Sequence, Union

import datasets
import evaluate

from journeydb.release.citation import JOURNEYDB_CITATION
from journeydb.integrations.evaluate_inputs import CheckedInputs, scores_of
from journeydb.scoring.style import check_style_inputs, style_recall

_CITATION = JOURNEYDB_CITATION

_DESCRIPTION = """\
Style retrieval recall (JourneyDB paper §4.3, Table 5). Each prediction is a ranked list of style phrases for one
image; each reference is that image's gold style phrases (`Task1.Style`). Phrases are compared after normalisation
(lower-case, trimmed, inner whitespace collapsed); a repeated phrase in a ranking counts once. Per image,
recall@k = |gold ∩ top-k| / |gold|; images with no gold phrase are skipped and counted; `recall@k` is the mean
over images. Given a style tree {category: [phrases]}, `per_category_recall@k` ranks only each category's phrases
(the prediction's order restricted to them), scores the images whose gold has phrases in that category, averages
per category, then macro-averages over categories.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `str`): per image, style phrases ranked best first.
    references (`list` of `list` of `str`): per image, its gold style phrases.
    k (`int` or `list` of `int`, defaults to `[1, 5, 10]`): the cut-off(s).
    style_tree (`str` or `dict`, *optional*): a style tree `{category: [phrases]}` or the path of its JSON file;
        adds the per-category recall.
    return_per_sample (`bool`, defaults to `False`): also return `per_sample`: `recall@{k}` per image, in input
        order (NaN for an image without gold).
Returns:
    `recall@{k}` (`float` in [0, 1], higher is better; None when no image has gold) for each k;
    with a style tree also `per_category_recall@{k}`, `per_category` ({category: {"num_images", "recall@{k}"...}}),
    `num_categories` (categories with at least one scored image) and `num_gold_outside_tree`;
    `num_images` (images scored) and `num_skipped` (images without gold).
Examples:
    >>> import evaluate
    >>> recall = evaluate.load("metrics/style_recall")
    >>> results = recall.compute(
    ...     predictions=[["oil painting", "8k", "bokeh"], ["watercolor", "35mm"]],
    ...     references=[["8K", "watercolor"], ["watercolor"]],
    ...     k=[1, 2],
    ... )
    >>> print(results)
    {'recall@1': 0.5, 'recall@2': 0.75, 'num_images': 2, 'num_skipped': 0}

    >>> tree = {"medium": ["oil painting", "watercolor"], "quality": ["8k", "oil painting"]}
    >>> results = recall.compute(
    ...     predictions=[["8k", "oil painting", "watercolor"]],
    ...     references=[["oil painting", "watercolor"]],
    ...     k=1,
    ...     style_tree=tree,
    ... )
    >>> print(results["recall@1"], results["per_category_recall@1"])
    0.0 0.25
    >>> print(results["per_category"])
    {'medium': {'num_images': 1, 'recall@1': 0.5}, 'quality': {'num_images': 1, 'recall@1': 0.0}}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class StyleRecall(CheckedInputs, evaluate.Metric):
    check_inputs = staticmethod(check_style_inputs)

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.List(datasets.Value("string")),
                    "references": datasets.List(datasets.Value("string")),
                }
            ),
            reference_urls=["https://arxiv.org/abs/2307.00716"],
        )

    def _compute(
        self,
        predictions: Sequence[Sequence[str]],
        references: Sequence[Sequence[str]],
        k: Union[int, Sequence[int]] = (1, 5, 10),
        style_tree: Optional[Union[str, Mapping[str, list[str]]]] = None,
        return_per_sample: bool = False,
    ) -> dict[str, Any]:
        return scores_of(style_recall(predictions, references, k=k, style_tree=style_tree), return_per_sample)
