"""Prompt-inversion and captioning scores of paper Tables 3-4, on pycocoevalcap 1.2's scale.

BLEU 1-4, ROUGE-L and CIDEr-D are vectorised reimplementations equal to the toolkit to 1e-9; METEOR is METEOR 1.5
itself (the jar pycocoevalcap ships, needs Java); Similarity is the cosine of sentence embeddings made by the
caller's embedder (this module loads no model). Every score is corpus-level (CIDEr's document frequencies come from
the whole corpus), so a corpus must be scored in one call; each sample's own scores come out of the same pass.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Optional, Sequence, Union

import numpy as np

from .bleu import bleu_counts_from_orders, bleu_order, bleu_scores_from_counts
from .caption_corpus import CaptionCorpus, encode_corpus, iter_ngram_tables
from .cider import cider_d_context, cider_d_from_orders, cider_d_order
from .meteor import corpus_meteor, meteor_unavailable_reason
from .rouge import rouge_l_per_image
from .scored import ScoredCorpus
from .similarity import Embedder, similarity_per_sample
from .tokenize import tokenize_corpora

logger = logging.getLogger(__name__)

SCORE_KEYS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider", "similarity", "num_samples")
References = Sequence[Union[str, Sequence[str]]]


@dataclass(frozen=True)
class NGramScores:
    """BLEU 1-4, ROUGE-L and CIDEr-D of a tokenised corpus, with each image's own scores."""

    bleu: list[float]  # Bleu_1 .. Bleu_4
    rouge_l: float
    cider: float
    rouge_l_per_image: np.ndarray
    cider_per_image: np.ndarray
    bleu_per_image: np.ndarray  # (N, 4): each image's per-sentence Bleu_1 .. Bleu_4, as the toolkit returns them


def ngram_scores(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> NGramScores:
    """BLEU 1-4, ROUGE-L and CIDEr-D of PTB-tokenised predictions (one per image) against their tokenised references
    (at least one per image), exactly as pycocoevalcap 1.2 computes them from the same tokens, corpus and per image.
    """
    return corpus_ngram_scores(encode_corpus(predictions, references))


def corpus_ngram_scores(corpus: CaptionCorpus) -> NGramScores:
    """`ngram_scores` of an encoded corpus.

    ROUGE-L needs only the encoded corpus, so it runs on a second thread while the n-gram tables are built and scored
    (numpy releases the GIL in most of both); the numbers do not depend on it. BLEU and CIDEr-D take each order's
    table as it is built and let it go, so one table is held at a time, not four.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rouge-l") as pool:
        rouge = pool.submit(rouge_l_per_image, corpus)
        context = cider_d_context(corpus)
        bleu_orders, cider_orders = [], []
        for table in iter_ngram_tables(corpus):
            bleu_orders.append(bleu_order(corpus, table))
            cider_orders.append(cider_d_order(corpus, table, context))
            del table
        bleu, bleu_per_image = bleu_scores_from_counts(bleu_counts_from_orders(corpus, bleu_orders))
        cider = cider_d_from_orders(corpus, cider_orders)
        rouge_per_image = rouge.result()
    return NGramScores(
        bleu=bleu,
        rouge_l=float(np.mean(rouge_per_image)),
        cider=float(np.mean(cider)),
        rouge_l_per_image=rouge_per_image,
        cider_per_image=cider,
        bleu_per_image=bleu_per_image,
    )


def check_references(predictions: Sequence[str], references: References) -> list[int]:
    """Check the inputs; returns the number of references of each prediction.

    Raises:
        TypeError: `predictions`/`references` is a single str or not a sequence, or an item is not a str (the
            index is named).
        ValueError: an empty corpus, a length mismatch, or a prediction with an empty list of references.
    """
    for name, value in (("predictions", predictions), ("references", references)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise TypeError(f"{name} must be a list, got {type(value).__name__}")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if len(predictions) == 0:
        raise ValueError("empty corpus: no predictions to score")
    for index, prediction in enumerate(predictions):
        if not isinstance(prediction, str):
            raise TypeError(f"prediction {index} is a {type(prediction).__name__}, expected str")
    counts = []
    for index, refs in enumerate(references):
        if isinstance(refs, str):
            counts.append(1)
            continue
        if not isinstance(refs, Sequence):
            raise TypeError(f"reference {index} is a {type(refs).__name__}, expected str or a list of str")
        if len(refs) == 0:
            raise ValueError(f"reference {index} is an empty list: each prediction needs at least one reference")
        for j, ref in enumerate(refs):
            if not isinstance(ref, str):
                raise TypeError(f"reference {index}[{j}] is a {type(ref).__name__}, expected str")
        counts.append(len(refs))
    return counts


class ReferenceLists(Sequence[list[str]]):
    """Checked references (`check_references`) read as one list per prediction, a bare str being a list of one.

    A view, made as it is read: a split's references are not copied into Python lists for the whole scoring.
    """

    def __init__(self, references: References) -> None:
        self._references = references

    @staticmethod
    def _as_list(refs: Union[str, Sequence[str]]) -> list[str]:
        return [refs] if isinstance(refs, str) else list(refs)

    def __len__(self) -> int:
        return len(self._references)

    def __getitem__(self, index: int) -> list[str]:  # type: ignore[override]
        return self._as_list(self._references[index])

    def __iter__(self) -> Iterator[list[str]]:
        return map(self._as_list, self._references)


def check_caption_inputs(predictions: Any, references: Any) -> tuple[Any, Any]:
    """`check_references`, returning the inputs unchanged (for the evaluate module's own encoding)."""
    check_references(predictions, references)
    return predictions, references


def score_captions(
    predictions: Sequence[str],
    references: References,
    *,
    tokenizer: Literal["python", "java"] = "python",
    meteor: bool = True,
    embed: Optional[Embedder] = None,
    meteor_jobs: Optional[int] = None,
) -> ScoredCorpus:
    """BLEU 1-4, METEOR, ROUGE-L, CIDEr-D and Similarity of a corpus of predictions, as pycocoevalcap scores them,
    with every sample's own scores from the same pass.

    Args:
        predictions (`list[str]`): one generated prompt or caption per sample; an empty string is legal.
        references (`list[str]` or `list[list[str]]`): per prediction, one reference or a list of references.
        tokenizer (`str`, defaults to `"python"`): PTB tokenisation, `"python"` (pure-Python, no Java) or
            `"java"` (the toolkit's own PTBTokenizer jar). References and predictions are tokenised in two corpus
            runs, references first, as pycocoevalcap's `COCOEvalCap.evaluate` does.
        meteor (`bool`, defaults to `True`): run METEOR 1.5; `meteor` is None, with a logged reason, when False
            or when Java or the jar is missing.
        embed (*optional*): texts -> unit-length sentence embeddings (one row per text) for Similarity, e.g.
            `journeydb.models.sentence_model.make_sentence_embedder()`; called once with every distinct text.
            None skips Similarity (`similarity` is None).
        meteor_jobs (*optional*): JVMs METEOR's lines are split over (default: `meteor.default_meteor_jobs`); the
            scores are those of one JVM.

    Returns:
        `ScoredCorpus`: `corpus` has the keys `bleu_1`, `bleu_2`, `bleu_3`, `bleu_4`, `meteor`, `rouge_l`,
        `cider`, `similarity` (floats in pycocoevalcap's scale, [0, 1] except CIDEr; tables in the paper show them
        x100) and `num_samples`; `per_sample` has, one float per sample in input order, `bleu_1` .. `bleu_4`
        (pycocoevalcap's per-sentence BLEU, brevity penalty included), `rouge_l`, `cider` (CIDEr-D), and
        `meteor` and `similarity` where they were computed.

    Raises:
        TypeError, ValueError: bad input (see `check_references`), an unknown tokenizer, an embedder that
            does not return one unit-length row per text.
    """
    if tokenizer not in ("python", "java"):
        raise ValueError(f"tokenizer must be 'python' or 'java', got {tokenizer!r}")
    if embed is not None and not callable(embed):
        raise TypeError(f"embed must be a function from texts to embeddings, got {type(embed).__name__}")
    references_per_image = check_references(predictions, references)
    reference_lists = ReferenceLists(references)
    num_samples = len(predictions)

    flat_references, tokenized_predictions = tokenize_corpora(
        [[ref for refs in reference_lists for ref in refs], predictions], mode=tokenizer
    )
    tokenized_references, start = [], 0
    for count in references_per_image:
        tokenized_references.append(flat_references[start : start + count])
        start += count
    del flat_references, references_per_image
    corpus = encode_corpus(tokenized_predictions, tokenized_references)

    meteor_score, meteor_per_segment = None, None
    if meteor:
        reason = meteor_unavailable_reason()
        if reason is None:
            meteor_result = corpus_meteor(tokenized_predictions, tokenized_references, jobs=meteor_jobs)
            meteor_score = meteor_result.score
            meteor_per_segment = np.asarray(meteor_result.per_segment, dtype=np.float64)
        else:
            logger.warning("METEOR not computed: %s", reason)
    # the token strings are the largest Python objects of a split (~100 MB at 200k prompts) and the n-gram
    # scores, whose arrays peak next, need only the encoded corpus
    del tokenized_predictions, tokenized_references

    scores = corpus_ngram_scores(corpus)
    del corpus
    if num_samples == 1:
        logger.warning("CIDEr is 0 for a one-sample corpus: its document frequencies come from the scored corpus, "
                       "so with one sample every n-gram weight ln(N / df) is ln(1) = 0")
    per_sample: dict[str, Any] = {f"bleu_{n + 1}": scores.bleu_per_image[:, n] for n in range(4)}
    if meteor_per_segment is not None:
        per_sample["meteor"] = meteor_per_segment
    per_sample["rouge_l"] = scores.rouge_l_per_image
    per_sample["cider"] = scores.cider_per_image

    similarity = None
    if embed is not None:
        per_sample["similarity"] = similarity_per_sample(list(predictions), reference_lists, embed)
        similarity = float(np.mean(per_sample["similarity"]))

    corpus_scores = {
        "bleu_1": scores.bleu[0],
        "bleu_2": scores.bleu[1],
        "bleu_3": scores.bleu[2],
        "bleu_4": scores.bleu[3],
        "meteor": meteor_score,
        "rouge_l": scores.rouge_l,
        "cider": scores.cider,
        "similarity": similarity,
        "num_samples": num_samples,
    }
    return ScoredCorpus(corpus=corpus_scores, per_sample=per_sample)
