"""Input checks for the `evaluate` modules under `metrics/`, run before evaluate's own feature encoding.

evaluate casts every `add`/`add_batch` (and `compute(predictions=..., references=...)`, which goes through
`add_batch`) to the module's declared features before `_compute` sees it: a number where a string belongs would
silently become a string, and a bad nested item would surface as an Arrow error. Each module names the scoring
layer's check for its inputs; this mixin runs it first, so bad input gets the scoring layer's `TypeError`/`ValueError`
naming the index (within the batch). No `evaluate` import here: the mixin only wraps the methods it overrides.
"""

from __future__ import annotations

from typing import Any, Callable


class CheckedInputs:
    """Mixin for `evaluate.Metric` subclasses (list it first): set `check_inputs` to a function
    `(predictions, references) -> (predictions, references)` that raises on bad input and returns what to encode."""

    check_inputs: Callable[[Any, Any], tuple[Any, Any]]

    def add_batch(self, *, predictions: Any = None, references: Any = None, **kwargs: Any) -> None:
        """Add a batch of predictions and references (checked first)."""
        if predictions is not None or references is not None:
            predictions, references = self.check_inputs(predictions, references)
        super().add_batch(predictions=predictions, references=references, **kwargs)  # type: ignore[misc]

    def add(self, *, prediction: Any = None, reference: Any = None, **kwargs: Any) -> None:
        """Add one prediction and its reference (checked first)."""
        if prediction is not None or reference is not None:
            predictions, references = self.check_inputs([prediction], [reference])
            prediction, reference = predictions[0], references[0]
        super().add(prediction=prediction, reference=reference, **kwargs)  # type: ignore[misc]
