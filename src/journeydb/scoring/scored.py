"""The one return shape of every scorer: the corpus's headline numbers and what each sample contributed to them.

Both come from the same pass over the inputs, so per-sample values never need a second scoring run. A per-sample
value is NaN (float arrays) or None (lists) where a sample has no value of that kind, e.g. an image with no gold
style phrase has no recall, an image without style questions no QAS_s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import numpy as np

PerSampleValues = Union[np.ndarray, list]


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays has no single truth value
class ScoredCorpus:
    """A scorer's result.

    Attributes:
        corpus: the headline scores, exactly what the `evaluate` modules return (key order kept).
        per_sample: per key, one value per sample (image or question) in input order.
    """

    corpus: dict[str, Any]
    per_sample: dict[str, PerSampleValues]
