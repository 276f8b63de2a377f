"""`prompt_inversion`: BLEU 1-4, METEOR, ROUGE-L, CIDEr and Similarity of generated prompts or captions (paper
Tables 3-4), on the COCO caption toolkit's (pycocoevalcap 1.2) scale.

A thin `evaluate` wrapper: the definitions live in `journeydb.scoring.caption`.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import datasets
import evaluate

from journeydb.release.citation import JOURNEYDB_CITATION
from journeydb.integrations.evaluate_inputs import CheckedInputs, scores_of
from journeydb.models.sentence_model import make_sentence_embedder
from journeydb.scoring.caption import check_caption_inputs, score_captions

_CITATION = JOURNEYDB_CITATION + """\
@article{chen2015microsoft,
  title   = {Microsoft COCO Captions: Data Collection and Evaluation Server},
  author  = {Xinlei Chen and Hao Fang and Tsung-Yi Lin and Ramakrishna Vedantam and Saurabh Gupta and Piotr Dollar
             and C. Lawrence Zitnick},
  journal = {arXiv preprint arXiv:1504.00325},
  year    = {2015},
}
"""

_DESCRIPTION = """\
The text-generation scores of the JourneyDB paper: prompt inversion (Table 3, image -> Midjourney prompt) and image
captioning (Table 4). BLEU 1-4, ROUGE-L and CIDEr-D equal the COCO caption toolkit (pycocoevalcap 1.2) to 1e-9 on the
same PTB-tokenised text, and run much faster; METEOR is METEOR 1.5 itself (the jar pycocoevalcap ships; needs Java);
Similarity is the cosine of sentence-transformers embeddings (all-MiniLM-L6-v2 by default, offline). All scores are
corpus-level: `add_batch` + `compute` equals one `compute` over the whole corpus.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str`): one generated prompt or caption per sample; an empty string is legal.
    references (`list` of `str`, or `list` of `list` of `str`): per prediction, its reference or its references.
    tokenizer (`str`, defaults to `"python"`): PTB tokenisation: `"python"` (pure Python) or `"java"` (the
        toolkit's own PTBTokenizer jar, needs Java).
    meteor (`bool`, defaults to `True`): compute METEOR 1.5 (one Java run; `None` with a logged reason without Java).
    similarity_model (defaults to `"default"`): `"default"` (the offline all-MiniLM-L6-v2), a local folder or model
        name, a loaded `SentenceTransformer`, or `None` to skip Similarity.
    batch_size (`int`, defaults to 64): sentence-embedding batch size.
    device (`str`, *optional*): torch device for the embeddings; a GPU when there is one by default.
    return_per_sample (`bool`, defaults to `False`): also return `per_sample`: per sample, in input order, its
        `bleu_1`..`bleu_4`, `rouge_l`, `cider` (and `meteor`, `similarity` when computed).
Returns:
    bleu_1, bleu_2, bleu_3, bleu_4 (`float`): corpus BLEU, cumulative, in [0, 1].
    meteor (`float` or `None`): corpus METEOR 1.5, in [0, 1].
    rouge_l (`float`): mean ROUGE-L (beta 1.2), in [0, 1].
    cider (`float`): CIDEr-D as the toolkit returns it (x10 scale; 0 for a one-sample corpus).
    similarity (`float` or `None`): mean cosine similarity, in [-1, 1].
    num_samples (`int`): predictions scored.
Examples:

    >>> import evaluate
    >>> prompt_inversion = evaluate.load("metrics/prompt_inversion")
    >>> results = prompt_inversion.compute(
    ...     predictions=["a cat on a red mat, cinematic light", "an oil painting portrait of an old man"],
    ...     references=["A cute cat sitting on a red mat, cinematic lighting --ar 16:9",
    ...                 "Portrait of an old man (oil painting), dramatic light"],
    ...     meteor=False, similarity_model=None)
    >>> print(round(results["bleu_4"], 4), round(results["rouge_l"], 4), round(results["cider"], 4))
    0.3739 0.5937 4.0984
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class PromptInversion(CheckedInputs, evaluate.Metric):
    check_inputs = staticmethod(check_caption_inputs)

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Sequence(datasets.Value("string"))}
                ),
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
            ],
            codebase_urls=["https://github.com/JourneyDB/JourneyDB", "https://github.com/salaniz/pycocoevalcap"],
            reference_urls=["https://arxiv.org/abs/2307.00716", "https://arxiv.org/abs/1504.00325"],
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[Union[str, list[str]]],
        tokenizer: str = "python",
        meteor: bool = True,
        similarity_model: Any = "default",
        batch_size: int = 64,
        device: Optional[str] = None,
        return_per_sample: bool = False,
    ) -> dict:
        embed = None
        if similarity_model is not None:
            embed = make_sentence_embedder(similarity_model, batch_size=batch_size, device=device)
        scored = score_captions(predictions, references, tokenizer=tokenizer, meteor=meteor, embed=embed)
        return scores_of(scored, return_per_sample)
