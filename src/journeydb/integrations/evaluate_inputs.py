"""Input checks for the `evaluate` modules under `metrics/`, run before evaluate's own feature encoding.

evaluate casts every `add`/`add_batch` (and `compute(predictions=..., references=...)`, which goes through
`add_batch`) to the module's declared features before `_compute` sees it: a number where a string belongs would
silently become a string, and a bad nested item would surface as an Arrow error. Each module names the scoring
layer's check for its inputs; this mixin runs it first, so bad input gets the scoring layer's `TypeError`/`ValueError`
naming the index (within the batch). No `evaluate` import here: the mixin only wraps the methods it overrides.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from journeydb.scoring.scored import ScoredCorpus


class CheckedInputs:
    """Mixin for `evaluate.Metric` subclasses (list it first): set `check_inputs` to a function
    `(predictions, references) -> (predictions, references)` that raises on bad input and returns what to encode.

    `optional_inputs` maps per-sample features beside predictions and references that a caller may leave out to
    the value stored for "not given" (evaluate requires every declared feature and rejects None as a string, so
    a missing column, or a None in it, is stored as that value; `_compute` reads it back with `given`)."""

    check_inputs: Callable[[Any, Any], tuple[Any, Any]]
    optional_inputs: Mapping[str, Any] = {}

    def _fill_optional(self, n: int, kwargs: dict[str, Any], one: bool = False) -> dict[str, Any]:
        filled = dict(kwargs)
        for name, empty in self.optional_inputs.items():
            column = kwargs.get(name)
            if one:
                filled[name] = empty if column is None else column
            else:
                filled[name] = [empty] * n if column is None else [empty if v is None else v for v in column]
        return filled

    def compute(self, *, predictions: Any = None, references: Any = None, **kwargs: Any) -> Any:
        """Compute the scores (of the given inputs, or of everything added so far)."""
        if predictions is not None:
            kwargs = self._fill_optional(len(predictions), kwargs)
        return super().compute(predictions=predictions, references=references, **kwargs)  # type: ignore[misc]

    def add_batch(self, *, predictions: Any = None, references: Any = None, **kwargs: Any) -> None:
        """Add a batch of predictions and references (checked first)."""
        if predictions is not None or references is not None:
            predictions, references = self.check_inputs(predictions, references)
            kwargs = self._fill_optional(len(predictions), kwargs)
        super().add_batch(predictions=predictions, references=references, **kwargs)  # type: ignore[misc]

    def add(self, *, prediction: Any = None, reference: Any = None, **kwargs: Any) -> None:
        """Add one prediction and its reference (checked first)."""
        if prediction is not None or reference is not None:
            predictions, references = self.check_inputs([prediction], [reference])
            prediction, reference = predictions[0], references[0]
            kwargs = self._fill_optional(1, kwargs, one=True)
        super().add(prediction=prediction, reference=reference, **kwargs)  # type: ignore[misc]


def given(column: Any, empty: Any) -> Any:
    """A stored optional column back as the scorer takes it: None per "not given" item, None if none was given."""
    items = [None if v is None or v == empty else v for v in column]
    return None if all(v is None for v in items) else items


def scores_of(scored: ScoredCorpus, return_per_sample: bool) -> dict[str, Any]:
    """What a module returns: the corpus scores, plus with `return_per_sample=True` a `per_sample` dict of plain
    lists (one value per input, in input order; NaN or None where a sample has no value of that kind)."""
    result = dict(scored.corpus)
    if return_per_sample:
        result["per_sample"] = {key: _plain(values) for key, values in scored.per_sample.items()}
    return result


def _plain(values: Any) -> list:
    tolist = getattr(values, "tolist", None)
    return tolist() if callable(tolist) else list(values)
